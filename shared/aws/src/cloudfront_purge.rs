//! The core's `CdnPurge` port on CloudFront: one invalidation request per batch of removed
//! renditions, each rendition by its exact path (CloudFront allows 3,000 such paths in
//! progress per distribution, against 15 wildcard paths).

use crate::errors::store_error;
use async_trait::async_trait;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use pictor_core::ports::{CdnPurge, StoreError};
use sha2::{Digest, Sha256};

/// Paths one request names at most: CloudFront takes up to 3,000 in progress.
const PATHS_PER_REQUEST: usize = 1000;

/// Invalidates removed renditions in one CloudFront distribution, whose origin is the output
/// bucket (a key `renditions/...` is the path `/renditions/...`).
#[derive(Clone)]
pub struct CloudFrontPurge {
    client: aws_sdk_cloudfront::Client,
    distribution_id: String,
}

impl CloudFrontPurge {
    pub fn new(sdk: &aws_config::SdkConfig, distribution_id: &str) -> CloudFrontPurge {
        CloudFrontPurge {
            client: aws_sdk_cloudfront::Client::new(sdk),
            distribution_id: distribution_id.to_string(),
        }
    }
}

#[async_trait]
impl CdnPurge for CloudFrontPurge {
    async fn invalidate(&self, keys: &[String]) -> Result<(), StoreError> {
        for chunk in keys.chunks(PATHS_PER_REQUEST) {
            let paths: Vec<String> = chunk.iter().map(|k| path_of(k)).collect();
            // The same paths make the same reference: a retry of a request CloudFront took
            // is answered with that invalidation instead of making another.
            let reference = hex::encode(&Sha256::digest(paths.join("\n").as_bytes())[..16]);
            let batch = InvalidationBatch::builder()
                .caller_reference(reference)
                .paths(
                    Paths::builder()
                        .quantity(paths.len() as i32)
                        .set_items(Some(paths))
                        .build()
                        .map_err(|e| StoreError::Other(format!("invalidation paths: {e}")))?,
                )
                .build()
                .map_err(|e| StoreError::Other(format!("invalidation batch: {e}")))?;
            self.client
                .create_invalidation()
                .distribution_id(&self.distribution_id)
                .invalidation_batch(batch)
                .send()
                .await
                .map_err(|e| {
                    store_error(
                        &format!("invalidating in distribution {}", self.distribution_id),
                        e,
                    )
                })?;
        }
        Ok(())
    }
}

/// The CDN path of an output-bucket key; the key's characters are those Pictor writes
/// (asset ids, variant names, hex), which need no escaping.
fn path_of(key: &str) -> String {
    format!("/{}", key.trim_start_matches('/'))
}
