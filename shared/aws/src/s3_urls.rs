//! Presigned GET URLs for renditions in a private bucket: the API hands them to browsers.

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use pictor_core::ports::RenditionUrls;
use pictor_core::ports::StoreError;
use std::time::Duration;

pub struct PresignedUrls {
    client: aws_sdk_s3::Client,
    bucket: String,
    expires_in: Duration,
}

impl PresignedUrls {
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, expires_in: Duration) -> PresignedUrls {
        PresignedUrls {
            client,
            bucket: bucket.to_string(),
            expires_in,
        }
    }
}

#[async_trait]
impl RenditionUrls for PresignedUrls {
    /// Signing is local (no request is sent), so this fails only on a bad expiry or missing
    /// credentials.
    async fn url(&self, key: &str) -> Result<String, StoreError> {
        let config = PresigningConfig::expires_in(self.expires_in)
            .map_err(|e| StoreError::Other(format!("presigning: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| StoreError::Other(format!("presigning {key}: {e}")))?;
        Ok(request.uri().to_string())
    }
}
