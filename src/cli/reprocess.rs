//! `pictor reprocess`: brings an output directory up to date with the current spec and
//! release, re-reading each selected asset's original from where it was first read.

use super::parallel::{run_all, Ingested};
use super::{load_presets, open_local, LocalIngestor, RecordsArgs};
use super::{EXIT_OK, EXIT_SOME_FAILED};
use pictor_core::app::reprocess::{Candidate, Selection};
use pictor_core::{AssetStatus, Intent, Outcome, SourceLocation};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct ReprocessArgs {
    /// Output directory of earlier `pictor process`/`watch` runs.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    records: RecordsArgs,
    /// The current rendition spec (TOML); the built-in default when omitted.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Only assets with this status (ready or failed).
    #[arg(long)]
    status: Option<AssetStatus>,
    /// Only assets made under another spec (leave retryable failures alone).
    #[arg(long)]
    stale_spec: bool,
    /// Only this creator's assets.
    #[arg(long)]
    creator: Option<String>,
    /// Only sources whose path, as first given, starts with this.
    #[arg(long)]
    prefix: Option<String>,
    /// Only assets made with this preset of the spec file.
    #[arg(long)]
    preset: Option<String>,
    /// List what would be processed again, and why, without doing it.
    #[arg(long)]
    dry_run: bool,
    /// Images processed at once (default: number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
}

pub async fn run(args: ReprocessArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let presets = load_presets(args.spec.as_deref())?;
    let (converger, assets) = open_local(&args.out, presets, args.records.db.as_deref()).await?;
    let converger = Arc::new(converger);
    let selection = Selection {
        status: args.status,
        stale_spec: args.stale_spec,
        creator: args.creator,
        prefix: args.prefix,
        preset: args.preset,
    };
    let candidates = selection
        .select_all(assets.as_ref(), converger.presets())
        .await?;

    if args.dry_run {
        for c in &candidates {
            println!("{}\t{}\t{}", c.reason.as_str(), c.id, c.source);
        }
        eprintln!("{} assets would be processed again", candidates.len());
        return Ok(EXIT_OK);
    }

    let jobs = args
        .jobs
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let summary = run_all(
        candidates,
        jobs,
        |c| c.source.clone(),
        |candidate| {
            let converger = Arc::clone(&converger);
            async move { reprocess_one(&converger, &candidate).await }
        },
    )
    .await;
    eprintln!("reprocessed: {}", summary.render(started.elapsed()));
    Ok(if summary.failed_total() == 0 {
        EXIT_OK
    } else {
        EXIT_SOME_FAILED
    })
}

/// Ingests the candidate's original again. One that is not a file on this machine is as good
/// as gone here: its record is left as it is.
async fn reprocess_one(converger: &LocalIngestor, candidate: &Candidate) -> Ingested {
    match candidate.upload() {
        Ok(upload) if matches!(upload.location, SourceLocation::File(_)) => {
            converger.ingest(&upload, Intent::Reprocess).await
        }
        _ => Ok(Outcome::SourceMissing(candidate.id.clone())),
    }
}
