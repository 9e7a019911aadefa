//! Uploads from apps straight to the uploads bucket: a presigned POST (browser-based upload
//! with a signed policy, Signature Version 4) whose conditions S3 enforces itself: the exact
//! key, an `image/` content type, a size range, an expiry, and the creator's file name as
//! `x-amz-meta-filename` when the app gave one. The SDK presigns GET/PUT only, so
//! the policy is built here and signed with the SDK's own signing-key derivation.

use crate::errors::store_error;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use base64::Engine;
use pictor_core::ports::StoreError;
use pictor_core::ports::{UploadDesk, UploadForm, UploadTarget};
use pictor_core::{SourceLocation, UploadPrefix};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::SystemTime;
use time::OffsetDateTime;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The uploads bucket as the API's upload desk.
pub struct S3Uploads {
    sdk: SdkConfig,
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefix: UploadPrefix,
}

impl S3Uploads {
    pub fn new(sdk: &SdkConfig, bucket: impl Into<String>, prefix: UploadPrefix) -> S3Uploads {
        S3Uploads {
            s3: crate::config::s3_client(sdk),
            sdk: sdk.clone(),
            bucket: bucket.into(),
            prefix,
        }
    }

    /// Where the form is posted: the local server's path-style bucket URL when the endpoint
    /// is overridden, else the bucket's regional virtual-host URL.
    fn url(&self, region: &str) -> String {
        match self.sdk.endpoint_url() {
            Some(endpoint) => format!("{}/{}", endpoint.trim_end_matches('/'), self.bucket),
            None => format!("https://{}.s3.{region}.amazonaws.com/", self.bucket),
        }
    }
}

/// The signed policy document of one form.
pub fn policy(
    bucket: &str,
    key: &str,
    target: &UploadTarget,
    credential: &str,
    amz_date: &str,
    token: Option<&str>,
    expires: OffsetDateTime,
) -> Value {
    let mut conditions = vec![
        json!({ "bucket": bucket }),
        json!({ "key": key }),
        json!(["starts-with", "$Content-Type", target.content_type_prefix]),
        json!(["content-length-range", 1, target.max_bytes]),
        json!({ "x-amz-algorithm": ALGORITHM }),
        json!({ "x-amz-credential": credential }),
        json!({ "x-amz-date": amz_date }),
    ];
    if let Some(token) = token {
        conditions.push(json!({ "x-amz-security-token": token }));
    }
    if let Some((field, value)) = name_field(target) {
        conditions.push(json!({ field: value }));
    }
    let expiration = expires
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
        ))
        .unwrap_or_default();
    json!({ "expiration": expiration, "conditions": conditions })
}

/// The form field that stores the display name as the object's metadata, exactly as signed.
fn name_field(target: &UploadTarget) -> Option<(String, String)> {
    let name = target.name.as_deref()?;
    Some((
        format!("x-amz-meta-{}", pictor_core::app::uploads::NAME_METADATA),
        pictor_core::app::uploads::encode_name(name),
    ))
}

#[async_trait]
impl UploadDesk for S3Uploads {
    async fn form(&self, target: &UploadTarget) -> Result<UploadForm, StoreError> {
        let credentials = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| StoreError::Other("no AWS credentials to sign uploads with".into()))?
            .provide_credentials()
            .await
            .map_err(|e| StoreError::Unavailable(format!("loading credentials: {e}")))?;
        let region = self
            .sdk
            .region()
            .map(|r| r.as_ref().to_string())
            .ok_or_else(|| StoreError::Other("no AWS region to sign uploads for".into()))?;
        let key = format!("{}{}", self.prefix.as_str(), target.relative);
        let now = SystemTime::now();
        let at = OffsetDateTime::from(now);
        let amz_date = at
            .format(&time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let credential = format!(
            "{}/{}/{region}/s3/aws4_request",
            credentials.access_key_id(),
            &amz_date[..8]
        );
        let policy = policy(
            &self.bucket,
            &key,
            target,
            &credential,
            &amz_date,
            credentials.session_token(),
            at + target.expires_in,
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        let signing_key = aws_sigv4::sign::v4::generate_signing_key(
            credentials.secret_access_key(),
            now,
            &region,
            "s3",
        );
        let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, encoded.as_bytes());
        let mut fields = BTreeMap::from([
            ("key".to_string(), key.clone()),
            ("policy".to_string(), encoded),
            ("x-amz-algorithm".to_string(), ALGORITHM.to_string()),
            ("x-amz-credential".to_string(), credential),
            ("x-amz-date".to_string(), amz_date),
            ("x-amz-signature".to_string(), signature),
        ]);
        if let Some(token) = credentials.session_token() {
            fields.insert("x-amz-security-token".to_string(), token.to_string());
        }
        if let Some((field, value)) = name_field(target) {
            fields.insert(field, value);
        }
        Ok(UploadForm {
            url: self.url(&region),
            fields,
            location: SourceLocation::s3(&self.bucket, key),
        })
    }

    async fn delete(&self, location: &SourceLocation) -> Result<(), StoreError> {
        let key = match location {
            SourceLocation::S3 { bucket, key }
                if *bucket == self.bucket && self.prefix.below(key).is_some() =>
            {
                key
            }
            _ => return Err(StoreError::NotFound(location.to_string())),
        };
        // In a versioned bucket every delete of a key adds a delete marker, gone or not: a
        // client repeating its DELETE until the record says DELETED would pile them up. An
        // object that is gone already is left alone.
        match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Ok(()),
            Ok(_) | Err(_) => {}
        }
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| store_error(&format!("deleting {location}"), e))?;
        Ok(())
    }
}
