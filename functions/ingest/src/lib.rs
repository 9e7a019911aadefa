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
use pictor_aws::events::{self, creator_from_key, EventKind, Notification, ObjectEvent};
use pictor_aws::metrics::Emf;
use pictor_aws::s3_blobs::{FetchError, S3BlobStore};
use pictor_aws::DynamoAssetStore;
use pictor_core::ingest::{Outcome, RENDITION_CACHE_CONTROL};
use pictor_core::ports::AssetStore;
use pictor_core::{AssetId, AssetStatus, Ingestor, ProcessError, SourceRef};
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

pub struct Ingest {
    ingestor: Ingestor<S3BlobStore, DynamoAssetStore>,
    uploads: S3BlobStore,
    config: Config,
}

impl Ingest {
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Ingest {
        let s3 = pictor_aws::config::s3_client(sdk);
        let renditions = S3BlobStore::new(s3.clone(), &config.output_bucket)
            .with_cache_control(RENDITION_CACHE_CONTROL);
        let assets = DynamoAssetStore::new(pictor_aws::config::dynamodb_client(sdk), &config.table);
        let pipeline = Arc::clone(&config.pipeline);
        Ingest {
            ingestor: Ingestor::new(pipeline, renditions, assets),
            // The bucket comes from each event; this client is reused for all of them.
            uploads: S3BlobStore::new(s3, ""),
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
                asset_id = %AssetId::for_source(&identity(event)),
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
        let Some(rest) = event.key.strip_prefix(&self.config.upload_prefix) else {
            // Outputs and anything else never re-trigger processing.
            return Ok(Handled::Ignored("outside the upload prefix"));
        };
        let mut source = SourceRef {
            identity: identity(event),
            display: event.key.clone(),
            creator: creator_from_key(rest),
            revision: Some(event.revision.clone()),
        };
        let id = AssetId::for_source(&source.identity);
        let existing = self.ingestor.assets().get(&id).await.map_err(retry)?;
        if existing
            .as_ref()
            .is_some_and(|a| self.ingestor.supersedes(a, &event.revision))
        {
            tracing::info!("duplicate or out-of-order notification: nothing to do");
            return Ok(Handled::Duplicate);
        }

        let limit = self.config.pipeline.spec().limits.max_file_bytes;
        let fetched = match event.size {
            Some(size) if size > limit => Err(FetchError::TooLarge { size, limit }),
            _ => {
                self.uploads_in(&event.bucket)
                    .fetch(&event.key, limit)
                    .await
            }
        };
        let outcome = match fetched {
            Ok(object) => {
                if source.creator.is_none() {
                    source.creator = object.metadata.get("creator").cloned();
                }
                let revision = source.revision.get_or_insert_with(Default::default);
                revision.version_id = revision.version_id.take().or(object.version_id);
                revision.etag = revision.etag.take().or(object.etag);
                self.ingestor.ingest(&source, object.bytes).await
            }
            Err(FetchError::NotFound)
                if existing
                    .as_ref()
                    .is_some_and(|a| a.status == AssetStatus::Deleted) =>
            {
                tracing::info!("the object is gone and its record says deleted");
                return Ok(Handled::AlreadyDeleted(id));
            }
            Err(FetchError::NotFound) => {
                let error = ProcessError::new(
                    pictor_core::ErrorKind::NotFound,
                    "the upload was deleted before it could be processed",
                );
                self.ingestor.record_failure(&source, error).await
            }
            Err(FetchError::TooLarge { size, limit }) => {
                let error = ProcessError::too_large(format!(
                    "the upload has {size} bytes; the limit is {limit}"
                ));
                self.ingestor.record_failure(&source, error).await
            }
            Err(FetchError::Store(e)) => return Err(retry(e)),
        };
        let outcome = outcome.map_err(|e| Retry(e.to_string()))?;
        Ok(report(&outcome))
    }

    fn uploads_in(&self, bucket: &str) -> S3BlobStore {
        S3BlobStore::new(self.uploads.client().clone(), bucket)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

fn identity(event: &ObjectEvent) -> String {
    format!("s3://{}/{}", event.bucket, event.key)
}

fn retry(e: impl std::fmt::Display) -> Retry {
    Retry(e.to_string())
}

/// Logs the outcome and emits its metrics.
fn report(outcome: &Outcome) -> Handled {
    let asset = outcome.asset();
    let emf = Emf::new("ingest").property("assetId", asset.id.as_str());
    match outcome {
        Outcome::Unchanged(_) => {
            tracing::info!("same bytes under the same spec: unchanged");
            emf.count("Unchanged", 1.0).emit();
            Handled::Unchanged(asset.id.clone())
        }
        Outcome::Written(a) if a.status == AssetStatus::Ready => {
            let t = a.timings.clone().unwrap_or_default();
            tracing::info!(variants = a.variants.len(), total_ms = t.total_ms, "ready");
            emf.count("Processed", 1.0)
                .millis("DecodeMs", t.decode_ms)
                .millis("OrientMs", t.orient_ms)
                .millis("ResizeMs", t.resize_ms)
                .millis("WatermarkMs", t.watermark_ms)
                .millis("EncodeMs", t.encode_ms)
                .millis("TotalMs", t.total_ms)
                .bytes("BytesIn", a.source_bytes.unwrap_or(0) as f64)
                .bytes("BytesOut", a.bytes_out() as f64)
                .emit();
            Handled::Ready(a.id.clone())
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
            Handled::Failed(a.id.clone(), error)
        }
    }
}
