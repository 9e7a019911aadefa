//! S3 Batch Operations' `LambdaInvoke` payloads, schema 1.0 (bucket ARN) and 2.0 (bucket name,
//! user arguments), and the per-task answer S3 expects.
//!
//! Our own types rather than `aws_lambda_events::s3::batch_job`, which knows only schema 1.0.

use pictor_aws::events::decode_key;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

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
    /// The bucket and decoded key the task is about.
    pub fn location(&self) -> Result<(String, String), String> {
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
        Ok((bucket, key))
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
            ("up".to_string(), "uploads/ana/a b+c.jpg".to_string())
        );
        let v2 = task(serde_json::json!({"taskId": "t", "s3Key": "k.jpg", "s3Bucket": "up"}));
        assert_eq!(v2.location().unwrap().0, "up");
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
