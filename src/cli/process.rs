//! `pictor process`: a batch over files and folders, in parallel, one bad file never stopping
//! the rest.

use super::batch::{run_all, Ingested};
use super::{inputs, load_pipeline, open_local, LocalIngestor, RunOptions};
use super::{EXIT_OK, EXIT_SOME_FAILED};
use pictor_core::Intent;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct ProcessArgs {
    #[command(flatten)]
    options: RunOptions,
    /// Image files or directories (searched recursively).
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
}

/// Ingests one file; unreadable files become FAILED records too.
pub async fn process_one(ingestor: &LocalIngestor, path: &Path, creator: Option<&str>) -> Ingested {
    let upload = inputs::upload_for(path, creator);
    ingestor.ingest(&upload, Intent::Upload).await
}

pub async fn run(args: ProcessArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let options = args.options;
    let pipeline = load_pipeline(options.spec.as_deref())?;
    let (ingestor, _) = open_local(&options.out, pipeline)?;
    let ingestor = Arc::new(ingestor);
    let files = inputs::collect(&args.inputs, &options.out);
    let creator = options.creator.clone();
    let summary = run_all(
        files,
        options.jobs(),
        |path| path.display().to_string(),
        |path| {
            let ingestor = Arc::clone(&ingestor);
            let creator = creator.clone();
            async move { process_one(&ingestor, &path, creator.as_deref()).await }
        },
    )
    .await;
    eprintln!("{}", summary.render(started.elapsed()));
    Ok(if summary.failed_total() == 0 {
        EXIT_OK
    } else {
        EXIT_SOME_FAILED
    })
}
