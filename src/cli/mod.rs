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
use pictor_core::ports::AssetStore;
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

/// The records of a local run: the embedded store, or the database `--db` names.
pub type Records = Arc<dyn AssetStore>;

pub type LocalIngestor = Converger<FsOriginals, FsBlobStore, Records>;

/// Where a local run keeps its records.
#[derive(clap::Args, Clone, Default)]
pub struct RecordsArgs {
    /// Keep the records in this PostgreSQL database (postgres://user[:password]@host:port/db)
    /// instead of DIR/pictor.db, so several machines can share them; its tables are created or
    /// brought up to date on start.
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
}

/// Opens the records: the embedded store in `out`, or the database at `db`.
pub async fn open_records(out: &Path, db: Option<&str>) -> anyhow::Result<Records> {
    match db {
        None => Ok(Arc::new(open_store(out)?)),
        Some(url) => open_database(url).await,
    }
}

/// Opens the records in the database at `url` (`--db`).
pub async fn open_database(url: &str) -> anyhow::Result<Records> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        anyhow::bail!("--db takes a postgres:// URL (postgres://user@host:port/database)");
    }
    // The URL may hold a password: errors name the server by what they say, not by it.
    let store = pictor_postgres::PgAssetStore::connect(url)
        .await
        .context("cannot open the PostgreSQL asset store (--db)")?;
    Ok(Arc::new(store))
}

/// The presets of the spec file at `path`, or the built-in spec as the one default preset.
pub fn load_presets(path: Option<&Path>) -> anyhow::Result<Presets> {
    let file = match path {
        Some(p) => SpecFile::from_file(p)?,
        None => SpecFile::single(pictor_core::Spec::default()),
    };
    Ok(Presets::build(file, 1)?)
}

/// Opens (creating) the stores of a local run in `out`: renditions as files, records in SQLite
/// or in the database `db` names. Returns the ingest use case over them, and the record store
/// for queries beside it.
pub async fn open_local(
    out: &Path,
    presets: Presets,
    db: Option<&str>,
) -> anyhow::Result<(LocalIngestor, Records)> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create output directory {}", out.display()))?;
    let assets = open_records(out, db).await?;
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
    #[command(flatten)]
    records: RecordsArgs,
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
