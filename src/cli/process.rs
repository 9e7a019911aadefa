//! `pictor process`: a batch over files and folders, in parallel, one bad file never stopping
//! the rest.

use super::{inputs, load_pipeline, open_local, LocalIngestor, RunOptions};
use super::{EXIT_OK, EXIT_SOME_FAILED};
use indicatif::{ProgressBar, ProgressStyle};
use pictor_core::ingest::{IngestError, Outcome};
use pictor_core::AssetStatus;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

#[derive(clap::Args)]
pub struct ProcessArgs {
    #[command(flatten)]
    options: RunOptions,
    /// Image files or directories (searched recursively).
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
}

/// Reads one file and ingests it; unreadable files become FAILED records too.
pub async fn process_one(
    ingestor: &LocalIngestor,
    path: &Path,
    creator: Option<&str>,
) -> Result<Outcome, IngestError> {
    let source = inputs::source_for(path, creator);
    let max = ingestor.pipeline().spec().limits.max_file_bytes;
    match inputs::read(path, max).await {
        Ok(bytes) => ingestor.ingest(&source, bytes).await,
        Err(error) => ingestor.record_failure(&source, error).await,
    }
}

/// Running totals for the end-of-run summary.
#[derive(Default)]
pub struct Summary {
    pub ready: usize,
    pub unchanged: usize,
    pub failed: BTreeMap<String, usize>,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Summary {
    pub fn add(&mut self, result: &Result<Outcome, IngestError>) {
        match result {
            Ok(outcome) => {
                let asset = outcome.asset();
                match (outcome, asset.status) {
                    (Outcome::Unchanged(_), _) => self.unchanged += 1,
                    (_, AssetStatus::Ready) => self.ready += 1,
                    _ => {
                        let kind = asset.error.as_ref().map_or("unknown", |e| e.kind.as_str());
                        *self.failed.entry(kind.to_string()).or_default() += 1;
                    }
                }
                self.bytes_in += asset.source_bytes.unwrap_or(0);
                self.bytes_out += asset.bytes_out();
            }
            Err(_) => *self.failed.entry("storage".to_string()).or_default() += 1,
        }
    }

    pub fn failed_total(&self) -> usize {
        self.failed.values().sum()
    }

    pub fn render(&self, elapsed: std::time::Duration) -> String {
        let mb = |b: u64| b as f64 / 1e6;
        let mut line = format!(
            "{} ready ({} unchanged), {} failed",
            self.ready + self.unchanged,
            self.unchanged,
            self.failed_total()
        );
        if !self.failed.is_empty() {
            let kinds: Vec<String> = self
                .failed
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            line.push_str(&format!(" ({})", kinds.join(", ")));
        }
        line.push_str(&format!(
            "; {:.1} MB in, {:.1} MB out; {:.1} s",
            mb(self.bytes_in),
            mb(self.bytes_out),
            elapsed.as_secs_f64()
        ));
        line
    }
}

/// The bar every batch command draws on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(len: usize) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// One line about a finished input, for failures and for `watch`.
pub fn describe(path: &Path, result: &Result<Outcome, IngestError>) -> String {
    match result {
        Ok(Outcome::Unchanged(a)) => format!("unchanged {} {}", a.id, path.display()),
        Ok(Outcome::Written(a)) => match &a.error {
            None => format!(
                "ready {} {} ({} variants)",
                a.id,
                path.display(),
                a.variants.len()
            ),
            Some(e) => format!("failed {} {}: {e}", a.id, path.display()),
        },
        Err(e) => format!("error {}: {e}", path.display()),
    }
}

pub async fn run(args: ProcessArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let options = args.options;
    let pipeline = load_pipeline(options.spec.as_deref())?;
    let ingestor = Arc::new(open_local(&options.out, pipeline)?);
    let files = inputs::collect(&args.inputs, &options.out);

    let bar = progress_bar(files.len());
    let permits = Arc::new(Semaphore::new(options.jobs()));
    let mut tasks = tokio::task::JoinSet::new();
    for path in files {
        let ingestor = Arc::clone(&ingestor);
        let permits = Arc::clone(&permits);
        let creator = options.creator.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = process_one(&ingestor, &path, creator.as_deref()).await;
            (path, result)
        });
    }
    let mut summary = Summary::default();
    while let Some(joined) = tasks.join_next().await {
        let (path, result) = match joined {
            Ok(done) => done,
            Err(e) => {
                // Only a bug gets here (panics inside the pipeline are caught earlier).
                *summary.failed.entry("internal".into()).or_default() += 1;
                bar.suspend(|| eprintln!("error: task failed: {e}"));
                bar.inc(1);
                continue;
            }
        };
        summary.add(&result);
        let failed = !matches!(&result, Ok(o) if o.asset().status == AssetStatus::Ready);
        if failed {
            bar.suspend(|| eprintln!("{}", describe(&path, &result)));
        }
        bar.set_message(path.display().to_string());
        bar.inc(1);
    }
    bar.finish_and_clear();
    eprintln!("{}", summary.render(started.elapsed()));
    Ok(if summary.failed_total() == 0 {
        EXIT_OK
    } else {
        EXIT_SOME_FAILED
    })
}
