//! The reprocess function: brings renditions up to date after a spec change or an upgrade.
//!
//! Two kinds of invocation:
//! - S3 Batch Operations tasks (schema 1.0 or 2.0): each names one original; it is processed
//!   again and answered `Succeeded`, `TemporaryFailure` (S3 retries) or `PermanentFailure`
//!   (with the reason in the job's completion report).
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
use futures::FutureExt;
use pictor_aws::events::creator_from_key;
use pictor_aws::s3_blobs::{FetchError, S3BlobStore};
use pictor_aws::DynamoAssetStore;
use pictor_core::ingest::{IngestError, Outcome, RENDITION_CACHE_CONTROL};
use pictor_core::ports::AssetStore;
use pictor_core::reprocess::Selection;
use pictor_core::{AssetId, AssetStatus, Ingestor, ProcessError, SourceRef};
use plan::{PlanError, PlanRequest, PlanResult, Target};
use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tracing::Instrument;

#[derive(Debug, thiserror::Error)]
pub enum ReprocessError {
    #[error("expected an S3 Batch Operations event or {{\"plan\": {{...}}}}: {0}")]
    BadEvent(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

pub struct Reprocess {
    ingestor: Ingestor<S3BlobStore, DynamoAssetStore>,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    config: Config,
}

impl Reprocess {
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Reprocess {
        let s3 = pictor_aws::config::s3_client(sdk);
        let renditions = S3BlobStore::new(s3.clone(), &config.output_bucket)
            .with_cache_control(RENDITION_CACHE_CONTROL);
        let assets = DynamoAssetStore::new(pictor_aws::config::dynamodb_client(sdk), &config.table);
        Reprocess {
            ingestor: Ingestor::new(Arc::clone(&config.pipeline), renditions, assets),
            s3,
            sqs: aws_sdk_sqs::Client::new(sdk),
            config,
        }
    }

    pub async fn handle(&self, event: Value) -> Result<Value, ReprocessError> {
        let bad = |e: serde_json::Error| ReprocessError::BadEvent(e.to_string());
        if event.get("invocationSchemaVersion").is_some() {
            let batch: BatchEvent = serde_json::from_value(event).map_err(bad)?;
            let response = self.run_batch(batch).await?;
            return serde_json::to_value(response).map_err(bad);
        }
        if let Some(plan) = event.get("plan") {
            let request: PlanRequest = serde_json::from_value(plan.clone()).map_err(bad)?;
            let result = self.plan(&request).await?;
            return serde_json::to_value(result).map_err(bad);
        }
        Err(ReprocessError::BadEvent("neither shape".into()))
    }

    pub async fn run_batch(&self, batch: BatchEvent) -> Result<BatchResponse, ReprocessError> {
        if !SCHEMA_VERSIONS.contains(&batch.invocation_schema_version.as_str()) {
            return Err(ReprocessError::BadEvent(format!(
                "invocationSchemaVersion {:?} (1.0 and 2.0 are understood)",
                batch.invocation_schema_version
            )));
        }
        let mut results = Vec::with_capacity(batch.tasks.len());
        for task in &batch.tasks {
            let span = tracing::info_span!(
                "task",
                job_id = batch.job.id.as_deref().unwrap_or(""),
                task_id = %task.task_id,
                key = %task.s3_key,
            );
            // A panic becomes this task's permanent failure, never the whole invocation's.
            let outcome = AssertUnwindSafe(self.run_task(task).instrument(span))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    (
                        ResultCode::PermanentFailure,
                        "internal error while processing".to_string(),
                    )
                });
            tracing::info!(task_id = %task.task_id, code = ?outcome.0, result = %outcome.1, "task done");
            results.push(TaskResult {
                task_id: task.task_id.clone(),
                result_code: outcome.0,
                result_string: outcome.1,
            });
        }
        Ok(BatchResponse {
            invocation_schema_version: batch.invocation_schema_version,
            treat_missing_keys_as: ResultCode::PermanentFailure,
            invocation_id: batch.invocation_id,
            results,
        })
    }

    async fn run_task(&self, task: &Task) -> (ResultCode, String) {
        let (bucket, key) = match task.location() {
            Ok(location) => location,
            Err(why) => return (ResultCode::PermanentFailure, why),
        };
        let Some(below_prefix) = key.strip_prefix(&self.config.upload_prefix) else {
            return (
                ResultCode::PermanentFailure,
                format!("outside the upload prefix {}", self.config.upload_prefix),
            );
        };
        let identity = format!("s3://{bucket}/{key}");
        let id = AssetId::for_source(&identity);
        let existing = match self.ingestor.assets().get(&id).await {
            Ok(existing) => existing,
            Err(e) => return failure(&IngestError::Store(e)),
        };
        let spec_hash = self.ingestor.pipeline().spec_hash();
        let mut source = match &existing {
            Some(asset) if Selection::default().reason(asset, spec_hash).is_none() => {
                let why = match asset.status {
                    AssetStatus::Deleted => "the asset was deleted",
                    AssetStatus::Ready => "already current",
                    AssetStatus::Failed => "this release recorded the same failure",
                };
                return (ResultCode::Succeeded, format!("nothing to do: {why}"));
            }
            Some(asset) => SourceRef {
                identity,
                display: key.clone(),
                creator: asset.creator.clone(),
                revision: asset.revision.clone(),
            },
            // Never ingested (a manifest made from an inventory): a first upload.
            None => SourceRef {
                identity,
                display: key.clone(),
                creator: creator_from_key(below_prefix),
                revision: None,
            },
        };
        let limit = self.config.pipeline.spec().limits.max_file_bytes;
        let uploads = S3BlobStore::new(self.s3.clone(), &bucket);
        let outcome = match uploads.fetch(&key, limit).await {
            Ok(object) => {
                if source.creator.is_none() {
                    source.creator = object.metadata.get("creator").cloned();
                }
                self.ingestor.ingest(&source, object.bytes).await
            }
            // The record (and its renditions) is the best there is: leave it.
            Err(FetchError::NotFound) => {
                return (
                    ResultCode::PermanentFailure,
                    "the original is gone; the record is left as it was".into(),
                )
            }
            Err(FetchError::TooLarge { size, limit }) => {
                let error = ProcessError::too_large(format!(
                    "the upload has {size} bytes; the limit is {limit}"
                ));
                self.ingestor.record_failure(&source, error).await
            }
            Err(FetchError::Store(e)) => return failure(&IngestError::Store(e)),
        };
        match outcome {
            Ok(Outcome::Unchanged(_)) => (ResultCode::Succeeded, "unchanged".into()),
            Ok(Outcome::Written(asset)) => match asset.error {
                None => (
                    ResultCode::Succeeded,
                    format!("ready: {} renditions", asset.variants.len()),
                ),
                Some(error) => (ResultCode::PermanentFailure, format!("failed: {error}")),
            },
            Err(e) => failure(&e),
        }
    }

    /// Selects and hands the originals over as `request.target` says.
    pub async fn plan(&self, request: &PlanRequest) -> Result<PlanResult, PlanError> {
        let spec_hash = self.ingestor.pipeline().spec_hash().to_string();
        let queue = match (request.target, &self.config.ingest_queue_url) {
            (Target::Queue, None) => return Err(PlanError::NoQueue),
            (_, queue) => queue.clone(),
        };
        let mut result = PlanResult::new(&spec_hash, request);
        let mut manifest = String::new();
        let mut cursor = None;
        loop {
            let (page, next) = request
                .select
                .select_page(self.ingestor.assets(), &spec_hash, cursor)
                .await?;
            let originals = result.tally(page);
            match (request.dry_run, &queue) {
                (true, _) => {}
                (false, Some(url)) if request.target == Target::Queue => {
                    result.enqueued += self.enqueue(url, &originals).await?;
                }
                (false, _) => {
                    for (bucket, key) in &originals {
                        manifest.push_str(&plan::manifest_row(bucket, key));
                    }
                }
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        if !request.dry_run && request.target == Target::Manifest && result.selected > 0 {
            result.manifest = Some(self.write_manifest(manifest, result.selected).await?);
        }
        Ok(result)
    }

    async fn write_manifest(
        &self,
        csv: String,
        rows: usize,
    ) -> Result<plan::ManifestRef, PlanError> {
        let stamp = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .map_err(|e| PlanError::Manifest(e.to_string()))?;
        let spec = self.ingestor.pipeline().spec_hash();
        let key = format!(
            "{}reprocess-{stamp}-{}.csv",
            plan::MANIFEST_PREFIX,
            &spec[..spec.len().min(12)]
        );
        let out = self
            .s3
            .put_object()
            .bucket(&self.config.output_bucket)
            .key(&key)
            .content_type("text/csv")
            .body(csv.into_bytes().into())
            .send()
            .await
            .map_err(|e| {
                PlanError::Manifest(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
            })?;
        Ok(plan::ManifestRef {
            bucket: self.config.output_bucket.clone(),
            key,
            etag: out
                .e_tag()
                .unwrap_or_default()
                .trim_matches('"')
                .to_string(),
            rows,
        })
    }

    /// Sends one replayed notification per original, ten per request.
    async fn enqueue(
        &self,
        queue_url: &str,
        originals: &[(String, String)],
    ) -> Result<usize, PlanError> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        let mut sent = 0;
        for chunk in originals.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, (bucket, key))| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(plan::replay_notification(bucket, key))
                        .build()
                        .map_err(|e| PlanError::Queue(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .sqs
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    PlanError::Queue(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
                })?;
            if let Some(failed) = out.failed().first() {
                return Err(PlanError::Queue(format!(
                    "{} of {} messages refused, first: {}",
                    out.failed().len(),
                    chunk.len(),
                    failed.message().unwrap_or(failed.code())
                )));
            }
            sent += chunk.len();
        }
        Ok(sent)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// A storage failure: S3 retries the task when it may pass later.
fn failure(e: &IngestError) -> (ResultCode, String) {
    let code = if e.is_transient() {
        ResultCode::TemporaryFailure
    } else {
        ResultCode::PermanentFailure
    };
    (code, e.to_string())
}
