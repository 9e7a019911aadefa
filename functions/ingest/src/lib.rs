//! The ingest function: an upload lands in the uploads bucket, its notification arrives (in an
//! SQS batch, or directly from S3), and the object becomes renditions in the output bucket and
//! a READY or FAILED record in the asset table.
//!
//! Exactly once in effect: a notification for a write the record already reflects does
//! nothing; concurrent deliveries meet at the record's conditional write.

mod config;

pub use config::{Config, ConfigError, ENV_VARS};
pub use pictor_aws::batch::HandlerError;
use pictor_aws::batch::{dispatch, Retry};
use pictor_aws::events::{self, EventKind, Notification, ObjectEvent};
use pictor_aws::metrics::Emf;
use pictor_core::ports::{AssetStore, BlobStore, OriginalStore};
use pictor_core::{AssetId, AssetStatus, Ingestor, Intent, Outcome, ProcessError, Upload};
use serde_json::Value;
use std::sync::Arc;
use tracing::Instrument;

/// What happened to one object event.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    /// Not ours: a test event, a key outside the upload prefix, not a creation.
    Ignored(&'static str),
    /// The record already reflects this write (or a later one): nothing was done.
    Duplicate,
    /// Renditions written and the record is READY.
    Ready(AssetId),
    /// The upload cannot be processed; a FAILED record says why.
    Failed(AssetId, ProcessError),
    /// Same bytes under the same spec were READY already.
    Unchanged(AssetId),
    /// The object is gone and its record already says DELETED (a late notification).
    AlreadyDeleted(AssetId),
}

/// The handler on the AWS adapters, as the function runs it.
pub type AwsIngest =
    Ingest<pictor_aws::S3Originals, pictor_aws::S3BlobStore, pictor_aws::DynamoAssetStore>;

/// The handler, over any adapters of the three ports (`main` wires S3 and DynamoDB).
pub struct Ingest<O, B, A> {
    ingestor: Ingestor<O, B, A>,
    config: Config,
}

impl<O: OriginalStore, B: BlobStore, A: AssetStore> Ingest<O, B, A> {
    pub fn new(config: Config, originals: O, renditions: B, assets: A) -> Self {
        let pipeline = Arc::clone(&config.pipeline);
        Ingest {
            ingestor: Ingestor::new(pipeline, originals, renditions, assets),
            config,
        }
    }

    /// Entry point for any invocation: an SQS batch returns its `batchItemFailures`; a direct
    /// S3 notification succeeds or fails as a whole.
    pub async fn handle(&self, event: Value) -> Result<Value, HandlerError> {
        dispatch(event, |body| async move {
            self.handle_body(&body).await.map(|_| ())
        })
        .await
    }

    /// One notification body; `Err` when the message must be retried.
    pub async fn handle_body(&self, body: &str) -> Result<Vec<Handled>, Retry> {
        let records = match events::parse(body) {
            Ok(Notification::Test) => return Ok(vec![Handled::Ignored("test event")]),
            Ok(Notification::Records(records)) => records,
            Err(e) => {
                // No retry can make it parse; say so loudly and let it go.
                tracing::error!(error = %e, "unreadable notification dropped");
                return Ok(vec![Handled::Ignored("unreadable notification")]);
            }
        };
        let mut handled = Vec::with_capacity(records.len());
        for event in &records {
            let span = tracing::info_span!(
                "object",
                bucket = %event.bucket,
                key = %event.key,
                asset_id = %event.location().asset_id(),
            );
            // Boxed: the whole pipeline's future inline would make every caller's future huge.
            handled.push(Box::pin(self.handle_object(event)).instrument(span).await?);
        }
        Ok(handled)
    }

    async fn handle_object(&self, event: &ObjectEvent) -> Result<Handled, Retry> {
        if event.kind != EventKind::Created {
            return Ok(Handled::Ignored("not an object creation"));
        }
        let upload = match Upload::try_from(event.under(&self.config.upload_prefix)) {
            Ok(upload) => upload,
            Err(_) => return Ok(Handled::Ignored("outside the upload prefix")),
        };
        let outcome = self
            .ingestor
            .ingest(&upload, Intent::Upload)
            .await
            .map_err(|e| Retry(e.to_string()))?;
        Ok(report(&outcome))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// Logs the outcome and emits its metrics.
fn report(outcome: &Outcome) -> Handled {
    let id = outcome.asset_id().clone();
    let emf = Emf::new("ingest").property("assetId", id.as_str());
    match outcome {
        Outcome::Repeat(_) | Outcome::UpToDate(_) => {
            tracing::info!("duplicate or out-of-order notification: nothing to do");
            Handled::Duplicate
        }
        Outcome::AlreadyDeleted(_) | Outcome::SourceMissing(_) => {
            tracing::info!("the object is gone and its record says deleted");
            Handled::AlreadyDeleted(id)
        }
        Outcome::Unchanged(_) => {
            tracing::info!("same bytes under the same spec: unchanged");
            emf.count("Unchanged", 1.0).emit();
            Handled::Unchanged(id)
        }
        Outcome::Written(a) if a.status == AssetStatus::Ready => {
            let t = a.timings.clone().unwrap_or_default();
            tracing::info!(variants = a.variants.len(), total_ms = t.total_ms, "ready");
            let emf = t
                .by_stage()
                .fold(emf.count("Processed", 1.0), |emf, (stage, ms)| {
                    emf.millis(stage.metric_name(), ms)
                });
            emf.bytes("BytesIn", a.source_bytes.unwrap_or(0) as f64)
                .bytes("BytesOut", a.bytes_out() as f64)
                .emit();
            Handled::Ready(id)
        }
        Outcome::Written(a) => {
            let error = a
                .error
                .clone()
                .unwrap_or_else(|| ProcessError::internal("failed without a reason"));
            tracing::warn!(kind = %error.kind, reason = %error.message, "failed");
            emf.dimension("Kind", error.kind.as_str())
                .count("Failed", 1.0)
                .emit();
            Handled::Failed(id, error)
        }
    }
}
