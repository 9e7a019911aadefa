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

/// When and for whom a form is signed: its `x-amz-date` and its `x-amz-credential` (the
/// access key and the day, region and service the signing key is derived for).
struct Scope {
    amz_date: String,
    credential: String,
}

impl Scope {
    fn new(access_key_id: &str, at: SystemTime, region: &str) -> Result<Scope, StoreError> {
        let amz_date = OffsetDateTime::from(at)
            .format(&time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .map_err(|e| StoreError::Other(format!("formatting the signing date: {e}")))?;
        let credential = format!(
            "{access_key_id}/{}/{region}/s3/aws4_request",
            &amz_date[..8]
        );
        Ok(Scope {
            amz_date,
            credential,
        })
    }
}

/// The `x-amz-signature` of a base64-encoded policy: HMAC-SHA256 of the encoded text (not the
/// JSON) under the day's S3 signing key, hex-encoded.
fn signature(
    encoded_policy: &str,
    secret_access_key: &str,
    at: SystemTime,
    region: &str,
) -> String {
    let signing_key =
        aws_sigv4::sign::v4::generate_signing_key(secret_access_key, at, region, "s3");
    aws_sigv4::sign::v4::calculate_signature(signing_key, encoded_policy.as_bytes())
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
        format!(
            "x-amz-meta-{}",
            pictor_core::domain::display_name::NAME_METADATA
        ),
        pictor_core::domain::display_name::encode_name(name),
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
        let scope = Scope::new(credentials.access_key_id(), now, &region)?;
        let policy = policy(
            &self.bucket,
            &key,
            target,
            &scope.credential,
            &scope.amz_date,
            credentials.session_token(),
            OffsetDateTime::from(now) + target.expires_in,
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        let signature = signature(&encoded, credentials.secret_access_key(), now, &region);
        let Scope {
            amz_date,
            credential,
        } = scope;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// AWS's published known answer ("Example: Browser-Based Upload using HTTP POST (Using AWS
    /// Signature Version 4)" in the Amazon S3 API reference): its example credentials, its
    /// policy exactly as encoded there (CRLF line ends) and the signature it states. The local
    /// S3 server checks no signatures, so this is what holds the signing to S3's.
    const EXAMPLE_ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const EXAMPLE_POLICY: &str = concat!(
        "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7",
        "ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91",
        "c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3Qi",
        "OiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwi",
        "fSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRh",
        "LXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVT",
        "MjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNy",
        "ZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9",
        "LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAi",
        "MjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9",
    );
    const EXAMPLE_SIGNATURE: &str =
        "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e";

    /// 2015-12-29T00:00:00Z, the example's `x-amz-date`.
    fn example_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_451_347_200)
    }

    #[test]
    fn the_signature_of_aws_published_example_is_the_one_aws_states() {
        assert_eq!(
            signature(EXAMPLE_POLICY, EXAMPLE_SECRET, example_time(), "us-east-1"),
            EXAMPLE_SIGNATURE
        );
        // One byte more, another day or another region: another signature.
        let other = format!("{EXAMPLE_POLICY}=");
        assert_ne!(
            signature(&other, EXAMPLE_SECRET, example_time(), "us-east-1"),
            EXAMPLE_SIGNATURE
        );
        let next_day = example_time() + Duration::from_secs(86_400);
        assert_ne!(
            signature(EXAMPLE_POLICY, EXAMPLE_SECRET, next_day, "us-east-1"),
            EXAMPLE_SIGNATURE
        );
        assert_ne!(
            signature(EXAMPLE_POLICY, EXAMPLE_SECRET, example_time(), "eu-west-1"),
            EXAMPLE_SIGNATURE
        );
    }

    #[test]
    fn the_scope_is_the_one_the_example_policy_signs() {
        let scope = Scope::new(EXAMPLE_ACCESS_KEY, example_time(), "us-east-1").unwrap();
        let policy = base64::engine::general_purpose::STANDARD
            .decode(EXAMPLE_POLICY)
            .unwrap();
        let policy: Value = serde_json::from_slice(&policy).unwrap();
        let signed = |field: &str| {
            policy["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|c| c.get(field))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        assert_eq!(signed("x-amz-date"), Some(scope.amz_date));
        assert_eq!(signed("x-amz-credential"), Some(scope.credential));
        assert_eq!(signed("x-amz-algorithm").as_deref(), Some(ALGORITHM));
    }
}
