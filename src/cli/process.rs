//! `pictor process`: a batch over files and folders, in parallel, one bad file never stopping
//! the rest.

use super::parallel::{run_all, Ingested};
use super::{inputs, load_presets, open_local, LocalIngestor, RunOptions};
use super::{EXIT_OK, EXIT_SOME_FAILED};
use pictor_core::domain::presets::{Placement, DEFAULT_PRESET};
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
pub async fn process_one(
    converger: &LocalIngestor,
    path: &Path,
    placement: &Placement,
) -> Ingested {
    let upload = inputs::upload_for(path, placement);
    converger.ingest(&upload, Intent::Upload).await
}

pub async fn run(args: ProcessArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let options = args.options;
    let presets = load_presets(options.spec.as_deref())?;
    if let Some(name) = options.preset.as_deref() {
        if presets.get(Some(name)).name != name {
            anyhow::bail!("the spec has no preset {name:?}");
        }
    }
    let (converger, _) = open_local(&options.out, presets, options.records.db.as_deref()).await?;
    let converger = Arc::new(converger);
    let files = inputs::collect(&args.inputs, &options.out);
    let placement = Placement {
        preset: options
            .preset
            .clone()
            .unwrap_or_else(|| DEFAULT_PRESET.to_string()),
        creator: options.creator.clone(),
    };
    let summary = run_all(
        files,
        options.jobs(),
        |path| path.display().to_string(),
        |path| {
            let converger = Arc::clone(&converger);
            let placement = placement.clone();
            async move { process_one(&converger, &path, &placement).await }
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
