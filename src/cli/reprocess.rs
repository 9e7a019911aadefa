//! `pictor reprocess`: brings an output directory up to date with the current spec and
//! release, re-reading each selected asset's original from where it was first read.

use super::process::{describe, progress_bar, Summary};
use super::{inputs, load_pipeline, open_local, LocalIngestor};
use super::{EXIT_OK, EXIT_SOME_FAILED};
use pictor_core::ingest::{IngestError, Outcome};
use pictor_core::reprocess::{Candidate, Selection};
use pictor_core::{AssetStatus, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

#[derive(clap::Args)]
pub struct ReprocessArgs {
    /// Output directory of earlier `pictor process`/`watch` runs.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
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
    /// List what would be processed again, and why, without doing it.
    #[arg(long)]
    dry_run: bool,
    /// Images processed at once (default: number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
}

/// What happened to one candidate.
#[allow(clippy::large_enum_variant)] // one per task, moved once
enum Done {
    Ingested(Result<Outcome, IngestError>),
    /// The original is gone (or was never a local file): the record is left as it is, since
    /// its renditions are still the best there is.
    SourceMissing(String),
}

async fn reprocess_one(ingestor: &LocalIngestor, candidate: &Candidate) -> Done {
    let Some(path) = candidate.source_identity.strip_prefix("file://") else {
        return Done::SourceMissing(format!("{} is not a local file", candidate.source_identity));
    };
    let source = candidate.source_ref();
    let max = ingestor.pipeline().spec().limits.max_file_bytes;
    match inputs::read(Path::new(path), max).await {
        Ok(bytes) => Done::Ingested(ingestor.ingest(&source, bytes).await),
        Err(e) if e.kind == ErrorKind::NotFound => {
            Done::SourceMissing(format!("the original {path} is gone"))
        }
        Err(error) => Done::Ingested(ingestor.record_failure(&source, error).await),
    }
}

pub async fn run(args: ReprocessArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let pipeline = load_pipeline(args.spec.as_deref())?;
    let ingestor = Arc::new(open_local(&args.out, Arc::clone(&pipeline))?);
    let selection = Selection {
        status: args.status,
        stale_spec: args.stale_spec,
        creator: args.creator,
        prefix: args.prefix,
    };
    let candidates = selection
        .select_all(ingestor.assets(), pipeline.spec_hash())
        .await?;

    if args.dry_run {
        for c in &candidates {
            println!("{}\t{}\t{}", c.reason.as_str(), c.id, c.source);
        }
        eprintln!("{} assets would be processed again", candidates.len());
        return Ok(EXIT_OK);
    }

    let bar = progress_bar(candidates.len());
    let jobs = args
        .jobs
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let permits = Arc::new(Semaphore::new(jobs));
    let mut tasks = tokio::task::JoinSet::new();
    for candidate in candidates {
        let ingestor = Arc::clone(&ingestor);
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let done = reprocess_one(&ingestor, &candidate).await;
            (candidate, done)
        });
    }
    let mut summary = Summary::default();
    while let Some(joined) = tasks.join_next().await {
        bar.inc(1);
        let (candidate, done) = match joined {
            Ok(done) => done,
            Err(e) => {
                *summary.failed.entry("internal".into()).or_default() += 1;
                bar.suspend(|| eprintln!("error: task failed: {e}"));
                continue;
            }
        };
        bar.set_message(candidate.source.clone());
        let result = match done {
            Done::Ingested(result) => result,
            Done::SourceMissing(why) => {
                *summary.failed.entry("source_missing".into()).or_default() += 1;
                bar.suspend(|| eprintln!("skipped {} {}: {why}", candidate.id, candidate.source));
                continue;
            }
        };
        summary.add(&result);
        if !matches!(&result, Ok(o) if o.asset().status == AssetStatus::Ready) {
            bar.suspend(|| eprintln!("{}", describe(Path::new(&candidate.source), &result)));
        }
    }
    bar.finish_and_clear();
    eprintln!("reprocessed: {}", summary.render(started.elapsed()));
    Ok(if summary.failed_total() == 0 {
        EXIT_OK
    } else {
        EXIT_SOME_FAILED
    })
}
