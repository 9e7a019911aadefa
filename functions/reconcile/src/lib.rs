//! The reconcile function: run on a schedule, it holds the asset table and the renditions to
//! the uploads bucket (`pictor_core::app::reconcile`) and repairs what drifted: uploads with no
//! record, records of gone or overwritten originals, READY records missing renditions, and
//! renditions no record references (past a grace period).
//!
//! Each pass publishes its counts as metrics (an alarm watches the drift) and writes its
//! report to `reports/reconcile/`, where the nightly report picks up the latest one. Invoked
//! by hand with `{"dryRun": true}`, it only counts.

mod config;

pub use config::{Config, ConfigError, DEFAULT_GRACE_MINUTES, ENV_VARS};
use pictor_aws::function::ErrorType;
use pictor_aws::metrics::Emf;
use pictor_core::app::reconcile::{self, ReconcileOptions, ReconcileReport, Reconciler};
use pictor_core::ports::{AssetStore, BlobStore, OriginalStore, StoreError};
use pictor_core::Converger;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("expected a scheduled event or {{\"dryRun\": true}}: {0}")]
    BadEvent(String),
    /// A listing failed: Lambda retries the scheduled invocation.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl ErrorType for ReconcileError {
    fn error_type(&self) -> &'static str {
        match self {
            ReconcileError::BadEvent(_) => "BadEvent",
            ReconcileError::Store(_) => "StorageUnavailable",
        }
    }
}

impl From<ReconcileError> for lambda_runtime::Diagnostic {
    fn from(error: ReconcileError) -> Self {
        pictor_aws::function::diagnostic(&error)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Trigger {
    #[serde(default)]
    dry_run: bool,
}

/// The handler on the AWS adapters, as the function runs it.
pub type AwsReconcile = Reconcile<
    pictor_aws::S3Originals,
    pictor_aws::S3BlobStore,
    pictor_aws::DynamoAssetStore,
    pictor_aws::S3BlobStore,
>;

/// The handler over the ingest use case's three ports, and a blob store for its reports.
pub struct Reconcile<O, B, A, R> {
    converger: Converger<O, B, A>,
    /// Where the repairs a pass has no time for go (the ingest queue).
    handoff: Option<std::sync::Arc<dyn pictor_core::ports::RepairHandoff>>,
    reports: R,
    config: Config,
}

impl<O: OriginalStore, B: BlobStore, A: AssetStore, R: BlobStore> Reconcile<O, B, A, R> {
    pub fn new(config: Config, originals: O, renditions: B, assets: A, reports: R) -> Self {
        Reconcile {
            converger: Converger::new(config.presets.clone(), originals, renditions, assets),
            handoff: None,
            reports,
            config,
        }
    }

    /// Purges from `cdn` the removed renditions tombstones still list as owed.
    pub fn with_cdn(mut self, cdn: std::sync::Arc<dyn pictor_core::ports::CdnPurge>) -> Self {
        self.converger = self.converger.with_cdn(cdn);
        self
    }

    /// Publishes asset events to `sink`, and re-emits those a failed publish left owed.
    pub fn with_events(mut self, sink: std::sync::Arc<dyn pictor_core::ports::EventSink>) -> Self {
        self.converger = self.converger.with_events(sink);
        self
    }

    /// Hands the repairs a pass has no time for to `handoff` (the ingest queue).
    pub fn with_repair_handoff(
        mut self,
        handoff: std::sync::Arc<dyn pictor_core::ports::RepairHandoff>,
    ) -> Self {
        self.handoff = Some(handoff);
        self
    }

    pub async fn handle(&self, event: Value) -> Result<Value, ReconcileError> {
        self.handle_until(event, None).await
    }

    /// [`Self::handle`] within the invocation's deadline (milliseconds since the epoch, as
    /// the runtime gives it): repairs stop in time to hand off what is left, delete the
    /// orphans and publish the counts.
    pub async fn handle_until(
        &self,
        event: Value,
        deadline_ms: Option<u64>,
    ) -> Result<Value, ReconcileError> {
        let trigger: Trigger =
            serde_json::from_value(event).map_err(|e| ReconcileError::BadEvent(e.to_string()))?;
        let options = ReconcileOptions {
            dry_run: trigger.dry_run,
            grace: self.config.grace,
            repair_for: deadline_ms.map(repair_time),
        };
        let mut reconciler = Reconciler::new(&self.converger);
        if let Some(handoff) = &self.handoff {
            reconciler = reconciler.with_handoff(std::sync::Arc::clone(handoff));
        }
        let report = reconciler.run(&self.config.root, options).await?;
        emit_metrics(&report);
        let key = reconcile::publish(&self.reports, &report).await?;
        tracing::info!(
            drift = report.drift(),
            repaired = report.repaired,
            failed = report.failed,
            %key,
            "reconcile pass done"
        );
        Ok(json!({ "report": key, "counts": report }))
    }
}

/// How long repairs may run before the deadline `deadline_ms`: the listings were made; what
/// follows repairs (handing off the rest, deleting orphans in batches, publishing the
/// report) is kept a third of the time left, at most three minutes.
fn repair_time(deadline_ms: u64) -> std::time::Duration {
    let deadline = std::time::UNIX_EPOCH + std::time::Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    let reserve = (left / 3).min(std::time::Duration::from_secs(180));
    left.saturating_sub(reserve)
}

/// One metric per class (zero included, so the alarm sees a steady series).
fn emit_metrics(report: &ReconcileReport) {
    Emf::new("reconcile")
        .count("Unrecorded", report.unrecorded as f64)
        .count("Outdated", report.outdated as f64)
        .count("Gone", report.gone as f64)
        .count("Broken", report.broken as f64)
        .count("Orphans", report.orphans as f64)
        .count("Unannounced", report.unannounced as f64)
        .count("Unpurged", report.unpurged as f64)
        .count("Drift", report.drift() as f64)
        .count("Repaired", report.repaired as f64)
        .count("HandedOff", report.handed_off as f64)
        .count("Deferred", report.deferred as f64)
        .count("RepairFailed", report.failed as f64)
        .property("dryRun", report.dry_run)
        .emit();
}

impl<O, B, A, R> pictor_aws::function::Handler for Reconcile<O, B, A, R>
where
    O: OriginalStore + 'static,
    B: BlobStore + 'static,
    A: AssetStore + 'static,
    R: BlobStore + 'static,
{
    type Error = ReconcileError;

    async fn handle(
        &self,
        event: Value,
        deadline_ms: Option<u64>,
    ) -> Result<Value, ReconcileError> {
        self.handle_until(event, deadline_ms).await
    }
}
