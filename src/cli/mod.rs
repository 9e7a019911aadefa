//! Command-line interface. Exit codes are a contract: 0 all inputs ready, 2 some input failed
//! (the rest still processed), 1 usage or fatal error.

mod assets;
mod inputs;
mod parallel;
mod process;
mod reconcile;
mod report;
mod reprocess;
mod serve;
mod serve_auth;
mod serve_origin;
mod serve_page;
mod serve_renditions;
mod serve_uploads;
mod watch;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pictor_core::local::{FsBlobStore, FsOriginals, NdjsonEvents, SqliteAssetStore, EVENTS_FILE};
use pictor_core::{Converger, Presets, SpecFile};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const EXIT_OK: u8 = 0;
pub const EXIT_FATAL: u8 = 1;
pub const EXIT_SOME_FAILED: u8 = 2;

/// File name of the embedded asset store inside the output directory.
pub const STORE_FILE: &str = "pictor.db";

#[derive(Parser)]
#[command(
    name = "pictor",
    version,
    about = "Turn uploaded images into watermarked web renditions"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Process image files or directories (recursively) into DIR.
    Process(process::ProcessArgs),
    /// Process every file that lands in INBOX, as it arrives, until interrupted.
    Watch(watch::WatchArgs),
    /// Query processed assets.
    #[command(subcommand)]
    Assets(assets::AssetsCommand),
    /// Process again what a spec change left stale and what a new release may fix.
    Reprocess(reprocess::ReprocessArgs),
    /// Write the daily report (JSON and an HTML page) to DIR/reports/.
    Report(report::ReportArgs),
    /// Serve the query API (and, for --out, the renditions) over HTTP until interrupted.
    Serve(serve::ServeArgs),
    /// Find and repair drift between the originals, the records and the renditions.
    Reconcile(reconcile::ReconcileArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Process(args) => process::run(args).await,
        Command::Watch(args) => watch::run(args).await,
        Command::Assets(cmd) => assets::run(cmd).await,
        Command::Reprocess(args) => reprocess::run(args).await,
        Command::Report(args) => report::run(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Reconcile(args) => reconcile::run(args).await,
    }
}

pub type LocalIngestor = Converger<FsOriginals, FsBlobStore, Arc<SqliteAssetStore>>;

/// The presets of the spec file at `path`, or the built-in spec as the one default preset.
pub fn load_presets(path: Option<&Path>) -> anyhow::Result<Presets> {
    let file = match path {
        Some(p) => SpecFile::from_file(p)?,
        None => SpecFile::single(pictor_core::Spec::default()),
    };
    Ok(Presets::build(file, 1)?)
}

/// Opens (creating) the embedded stores in `out`: renditions as files, records in SQLite.
/// Returns the ingest use case over them, and the record store for queries beside it.
pub fn open_local(
    out: &Path,
    presets: Presets,
) -> anyhow::Result<(LocalIngestor, Arc<SqliteAssetStore>)> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create output directory {}", out.display()))?;
    let assets = Arc::new(open_store(out)?);
    let renditions = FsBlobStore::new(out);
    let events = NdjsonEvents::new(&out.join(EVENTS_FILE));
    let converger = Converger::new(presets, FsOriginals, renditions, Arc::clone(&assets))
        .with_events(Arc::new(events));
    Ok((converger, assets))
}

pub fn open_store(out: &Path) -> anyhow::Result<SqliteAssetStore> {
    let db = out.join(STORE_FILE);
    SqliteAssetStore::open(&db).with_context(|| format!("cannot open asset store {}", db.display()))
}

/// Arguments shared by `process` and `watch`.
#[derive(clap::Args, Clone)]
pub struct RunOptions {
    /// Rendition spec (TOML); the built-in default when omitted.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Output directory: renditions under DIR/renditions, the asset store in DIR.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Images processed at once (default: number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Creator recorded with every asset (and used by the `{creator}` text watermark).
    #[arg(long)]
    creator: Option<String>,
    /// `process`: the spec file's preset every input is made with (default: `default`).
    /// `watch` picks it from the folder a file lands in.
    #[arg(long)]
    preset: Option<String>,
}

impl RunOptions {
    fn jobs(&self) -> usize {
        self.jobs
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}
