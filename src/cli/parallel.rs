//! The one parallel runner of `process` and `reprocess`: every item ingested (at most
//! `jobs` at once) with a progress bar, one bad item never stopping the rest, and a summary.

use indicatif::{ProgressBar, ProgressStyle};
use pictor_core::app::ingest::IngestError;
use pictor_core::{AssetStatus, Outcome};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Semaphore;

pub type Ingested = Result<Outcome, IngestError>;

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
    pub fn add(&mut self, result: &Ingested) {
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(_) => return self.fail("storage"),
        };
        match outcome {
            Outcome::Unchanged(_) | Outcome::Repeat(_) | Outcome::UpToDate(_) => {
                self.unchanged += 1
            }
            // Asked to process what does not exist: the record says DELETED, the run failed.
            Outcome::Deleted(_) | Outcome::AlreadyDeleted(_) => self.fail("not_found"),
            Outcome::SourceMissing(_) => self.fail("source_missing"),
            Outcome::Written(asset) if asset.status == AssetStatus::Ready => self.ready += 1,
            Outcome::Written(asset) => {
                let kind = asset.error.as_ref().map_or("unknown", |e| e.kind.as_str());
                self.fail(kind);
            }
        }
        if let Some(asset) = outcome.asset() {
            self.bytes_in += asset.source_bytes.unwrap_or(0);
            self.bytes_out += asset.bytes_out();
        }
    }

    fn fail(&mut self, kind: &str) {
        *self.failed.entry(kind.to_string()).or_default() += 1;
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

/// One line about a finished item, for failures and for `watch`.
pub fn describe(label: &str, result: &Ingested) -> String {
    match result {
        Ok(Outcome::Written(a)) => match &a.error {
            None => format!("ready {} {label} ({} variants)", a.id, a.renditions.len()),
            Some(e) => format!("failed {} {label}: {e}", a.id),
        },
        Ok(Outcome::SourceMissing(id)) => {
            format!("skipped {id} {label}: the original is gone; its record is left as it was")
        }
        Ok(Outcome::Deleted(a) | Outcome::AlreadyDeleted(a)) => {
            format!(
                "deleted {} {label}: the original does not exist (any more)",
                a.id
            )
        }
        Ok(other) => format!("unchanged {} {label}", other.asset_id()),
        Err(e) => format!("error {label}: {e}"),
    }
}

/// Runs `work` on every item, `jobs` at a time, and returns the totals. Items that do not end
/// READY are described on stderr as they finish.
pub async fn run_all<T, F, Fut>(
    items: Vec<T>,
    jobs: usize,
    label: impl Fn(&T) -> String,
    work: F,
) -> Summary
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Ingested> + Send + 'static,
{
    let bar = progress_bar(items.len());
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for item in items {
        let name = label(&item);
        let permits = Arc::clone(&permits);
        let job = work(item);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (name, job.await)
        });
    }
    let mut summary = Summary::default();
    while let Some(joined) = tasks.join_next().await {
        bar.inc(1);
        let (name, result) = match joined {
            Ok(done) => done,
            Err(e) => {
                // Only a bug gets here (panics inside the pipeline are caught earlier).
                summary.fail("internal");
                bar.suspend(|| eprintln!("error: task failed: {e}"));
                continue;
            }
        };
        summary.add(&result);
        if !matches!(&result, Ok(o) if o.is_ready()) {
            bar.suspend(|| eprintln!("{}", describe(&name, &result)));
        }
        bar.set_message(name);
    }
    bar.finish_and_clear();
    summary
}

/// The bar every batch command draws on stderr (hidden when stderr is not a terminal).
fn progress_bar(len: usize) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
