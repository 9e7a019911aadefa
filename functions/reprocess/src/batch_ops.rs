//! S3 Batch Operations' `LambdaInvoke` payloads, schema 1.0 (bucket ARN) and 2.0 (bucket name,
//! user arguments), and the per-task answer S3 expects.
//!
//! Our own types rather than `aws_lambda_events::s3::batch_job`, which knows only schema 1.0.
//!
//! Each task's original is ingested again with [`Intent::Reprocess`]: a task whose asset is
//! already current under this spec and release is answered `Succeeded` without a download.

use futures::FutureExt;
use pictor_aws::events::decode_key;
use pictor_core::ports::{AssetStore, BlobStore, OriginalStore};
use pictor_core::{AssetStatus, Converger, Intent, Outcome, SourceLocation, Upload, UploadPrefix};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use tracing::Instrument;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchEvent {
    pub invocation_schema_version: String,
    pub invocation_id: String,
    #[serde(default)]
    pub job: Job,
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    #[serde(default)]
    pub id: Option<String>,
    /// Schema 2.0 only; logged, not acted on.
    #[serde(default)]
    pub user_arguments: HashMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_id: String,
    /// URL-encoded, as in the manifest.
    pub s3_key: String,
    #[serde(default)]
    pub s3_version_id: Option<String>,
    /// Schema 1.0.
    #[serde(default)]
    pub s3_bucket_arn: Option<String>,
    /// Schema 2.0.
    #[serde(default)]
    pub s3_bucket: Option<String>,
}

impl Task {
    /// The object the task is about, its key decoded.
    pub fn location(&self) -> Result<SourceLocation, String> {
        let bucket = match (&self.s3_bucket, &self.s3_bucket_arn) {
            (Some(name), _) if !name.is_empty() => name.clone(),
            // `arn:aws:s3:::bucket`; the bucket is what follows the last colon.
            (_, Some(arn)) if arn.starts_with("arn:") => arn
                .rsplit(':')
                .next()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| format!("no bucket in {arn:?}"))?
                .to_string(),
            _ => return Err("the task names no bucket".into()),
        };
        let key = decode_key(&self.s3_key).map_err(|e| e.to_string())?;
        if key.is_empty() {
            return Err("the task names no key".into());
        }
        Ok(SourceLocation::s3(bucket, key))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResultCode {
    Succeeded,
    /// S3 retries the task, then reports it failed: nothing is dropped silently.
    TemporaryFailure,
    /// Retrying cannot help; the completion report carries the reason.
    PermanentFailure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    pub task_id: String,
    pub result_code: ResultCode,
    pub result_string: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// Echoes the request's.
    pub invocation_schema_version: String,
    pub treat_missing_keys_as: ResultCode,
    pub invocation_id: String,
    pub results: Vec<TaskResult>,
}

/// Schema versions this function understands.
pub const SCHEMA_VERSIONS: [&str; 2] = ["1.0", "2.0"];

/// Answers every task of `batch`, each on its own: a panic becomes that task's permanent
/// failure, never the whole invocation's. `Err` names an unknown schema version.
pub async fn run_batch<O, B, A>(
    converger: &Converger<O, B, A>,
    prefix: &UploadPrefix,
    batch: BatchEvent,
) -> Result<BatchResponse, String>
where
    O: OriginalStore,
    B: BlobStore,
    A: AssetStore,
{
    if !SCHEMA_VERSIONS.contains(&batch.invocation_schema_version.as_str()) {
        return Err(format!(
            "invocationSchemaVersion {:?} (1.0 and 2.0 are understood)",
            batch.invocation_schema_version
        ));
    }
    let mut results = Vec::with_capacity(batch.tasks.len());
    for task in &batch.tasks {
        let span = tracing::info_span!(
            "task",
            job_id = batch.job.id.as_deref().unwrap_or(""),
            task_id = %task.task_id,
            key = %task.s3_key,
        );
        let (code, reason) = AssertUnwindSafe(run_task(converger, prefix, task).instrument(span))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                (
                    ResultCode::PermanentFailure,
                    "internal error while processing".to_string(),
                )
            });
        tracing::info!(task_id = %task.task_id, code = ?code, result = %reason, "task done");
        results.push(TaskResult {
            task_id: task.task_id.clone(),
            result_code: code,
            result_string: reason,
        });
    }
    Ok(BatchResponse {
        invocation_schema_version: batch.invocation_schema_version,
        treat_missing_keys_as: ResultCode::PermanentFailure,
        invocation_id: batch.invocation_id,
        results,
    })
}

async fn run_task<O, B, A>(
    converger: &Converger<O, B, A>,
    prefix: &UploadPrefix,
    task: &Task,
) -> (ResultCode, String)
where
    O: OriginalStore,
    B: BlobStore,
    A: AssetStore,
{
    let location = match task.location() {
        Ok(location) => location,
        Err(why) => return (ResultCode::PermanentFailure, why),
    };
    let SourceLocation::S3 { key, .. } = &location else {
        return (ResultCode::PermanentFailure, "not an S3 object".into());
    };
    let Some(placement) = prefix.place(key) else {
        return (
            ResultCode::PermanentFailure,
            format!("outside the upload prefix {prefix}"),
        );
    };
    // Never ingested (a manifest made from an inventory): the key names the preset and the
    // creator.
    let upload = Upload::new(location.clone()).placed(placement);
    match converger.ingest(&upload, Intent::Reprocess).await {
        Ok(Outcome::UpToDate(asset)) => {
            let why = match asset.status {
                AssetStatus::Deleted => "the asset was deleted",
                AssetStatus::Ready => "already current",
                AssetStatus::Failed => "this release recorded the same failure",
            };
            (ResultCode::Succeeded, format!("nothing to do: {why}"))
        }
        Ok(Outcome::SourceMissing(_)) => (
            ResultCode::PermanentFailure,
            "the original is gone; the record is left as it was".into(),
        ),
        Ok(Outcome::Written(asset)) => match asset.error {
            None => (
                ResultCode::Succeeded,
                format!("ready: {} renditions", asset.renditions.len()),
            ),
            Some(error) => (ResultCode::PermanentFailure, format!("failed: {error}")),
        },
        Ok(Outcome::Unchanged(_) | Outcome::Repeat(_)) => {
            (ResultCode::Succeeded, "unchanged".into())
        }
        Ok(Outcome::Deleted(_) | Outcome::AlreadyDeleted(_)) => (
            ResultCode::Succeeded,
            "the original is gone: the asset is deleted".into(),
        ),
        // Storage trouble: S3 retries the task when it may pass later.
        Err(e) if e.is_transient() => (ResultCode::TemporaryFailure, e.to_string()),
        Err(e) => (ResultCode::PermanentFailure, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(json: serde_json::Value) -> Task {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn both_schemas_name_the_bucket_and_keys_are_decoded() {
        let v1 = task(serde_json::json!({
            "taskId": "t", "s3Key": "uploads/ana/a%20b%2Bc.jpg", "s3VersionId": null,
            "s3BucketArn": "arn:aws:s3:::up"
        }));
        assert_eq!(
            v1.location().unwrap(),
            SourceLocation::s3("up", "uploads/ana/a b+c.jpg")
        );
        let v2 = task(serde_json::json!({"taskId": "t", "s3Key": "k.jpg", "s3Bucket": "up"}));
        assert_eq!(v2.location().unwrap(), SourceLocation::s3("up", "k.jpg"));
        let none = task(serde_json::json!({"taskId": "t", "s3Key": "k"}));
        assert!(none.location().is_err());
        let bad_key = task(serde_json::json!({"taskId": "t", "s3Key": "%FF", "s3Bucket": "up"}));
        assert!(bad_key.location().is_err());
    }

    #[test]
    fn the_response_has_the_documented_shape() {
        let response = BatchResponse {
            invocation_schema_version: "1.0".into(),
            treat_missing_keys_as: ResultCode::PermanentFailure,
            invocation_id: "i".into(),
            results: vec![TaskResult {
                task_id: "t".into(),
                result_code: ResultCode::TemporaryFailure,
                result_string: "throttled".into(),
            }],
        };
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            serde_json::json!({
                "invocationSchemaVersion": "1.0",
                "treatMissingKeysAs": "PermanentFailure",
                "invocationId": "i",
                "results": [{"taskId": "t", "resultCode": "TemporaryFailure", "resultString": "throttled"}]
            })
        );
    }
}
