//! The reprocess function: brings renditions up to date after a spec change or an upgrade.
//!
//! Two kinds of invocation:
//! - S3 Batch Operations tasks (schema 1.0 or 2.0): each names one original; it is processed
//!   again and answered `Succeeded`, `TemporaryFailure` (S3 retries) or `PermanentFailure`
//!   (with the reason in the job's completion report) (`batch_ops` module).
//! - `{"plan": {...}}` from an operator: selects the assets to process again and writes the
//!   job's manifest, or sends the originals to the ingest queue (`plan` module).
//!
//! Idempotent: a task whose asset is already current under this spec and release is answered
//! `Succeeded` without downloading anything.

mod batch_ops;
mod config;
pub mod plan;

pub use batch_ops::{BatchEvent, BatchResponse, ResultCode, Task, TaskResult, SCHEMA_VERSIONS};
pub use config::{Config, ConfigError, ENV_VARS};
use pictor_aws::function::ErrorType;
use pictor_core::ports::{AssetStore, BlobStore, OriginalStore};
use pictor_core::Converger;
use plan::{PlanError, PlanRequest, PlanResult, Planner};
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ReprocessError {
    #[error("expected an S3 Batch Operations event or {{\"plan\": {{...}}}}: {0}")]
    BadEvent(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

impl ErrorType for ReprocessError {
    fn error_type(&self) -> &'static str {
        match self {
            ReprocessError::BadEvent(_) => "BadEvent",
            ReprocessError::Plan(_) => "PlanFailed",
        }
    }
}

impl From<ReprocessError> for lambda_runtime::Diagnostic {
    fn from(error: ReprocessError) -> Self {
        pictor_aws::function::diagnostic(&error)
    }
}

/// The handler on the AWS adapters, as the function runs it.
pub type AwsReprocess =
    Reprocess<pictor_aws::S3Originals, pictor_aws::S3BlobStore, pictor_aws::DynamoAssetStore>;

/// The handler, over any adapters of the three ports, with the planner's AWS outputs.
pub struct Reprocess<O, B, A> {
    converger: Converger<O, B, Arc<A>>,
    assets: Arc<A>,
    planner: Planner,
    config: Config,
}

impl<O: OriginalStore, B: BlobStore, A: AssetStore> Reprocess<O, B, A> {
    pub fn new(config: Config, originals: O, renditions: B, assets: A, planner: Planner) -> Self {
        let assets = Arc::new(assets);
        Reprocess {
            converger: Converger::new(
                config.presets.clone(),
                originals,
                renditions,
                Arc::clone(&assets),
            ),
            assets,
            planner,
            config,
        }
    }

    /// Publishes asset events to `sink` after each record write.
    pub fn with_events(mut self, sink: Arc<dyn pictor_core::ports::EventSink>) -> Self {
        self.converger = self.converger.with_events(sink);
        self
    }

    pub async fn handle(&self, event: Value) -> Result<Value, ReprocessError> {
        let bad = |e: serde_json::Error| ReprocessError::BadEvent(e.to_string());
        if event.get("invocationSchemaVersion").is_some() {
            let batch: BatchEvent = serde_json::from_value(event).map_err(bad)?;
            let response = batch_ops::run_batch(&self.converger, &self.config.upload_prefix, batch)
                .await
                .map_err(ReprocessError::BadEvent)?;
            return serde_json::to_value(response).map_err(bad);
        }
        if let Some(plan) = event.get("plan") {
            let request: PlanRequest = serde_json::from_value(plan.clone()).map_err(bad)?;
            let result = self.plan(&request).await?;
            return serde_json::to_value(result).map_err(bad);
        }
        Err(ReprocessError::BadEvent("neither shape".into()))
    }

    /// Selects against the current spec and hands the originals over as `request` says.
    pub async fn plan(&self, request: &PlanRequest) -> Result<PlanResult, PlanError> {
        self.planner
            .plan(self.assets.as_ref(), &self.config.presets, request)
            .await
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl<O, B, A> pictor_aws::function::Handler for Reprocess<O, B, A>
where
    O: OriginalStore + 'static,
    B: BlobStore + 'static,
    A: AssetStore + 'static,
{
    type Error = ReprocessError;

    async fn handle(
        &self,
        event: Value,
        _deadline_ms: Option<u64>,
    ) -> Result<Value, ReprocessError> {
        Reprocess::handle(self, event).await
    }
}
