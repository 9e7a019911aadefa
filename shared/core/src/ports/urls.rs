//! Where browsers fetch renditions from.

use super::StoreError;
use async_trait::async_trait;

/// Where browsers fetch renditions from: a CDN or bucket base URL, or presigned URLs.
#[async_trait]
pub trait RenditionUrls: Send + Sync {
    async fn url(&self, key: &str) -> Result<String, StoreError>;
}

#[async_trait]
impl<T: RenditionUrls + ?Sized> RenditionUrls for Box<T> {
    async fn url(&self, key: &str) -> Result<String, StoreError> {
        (**self).url(key).await
    }
}

/// `{base}/{key}`: a CDN in front of the output bucket, or the local file server.
pub struct BaseUrl(pub String);

#[async_trait]
impl RenditionUrls for BaseUrl {
    async fn url(&self, key: &str) -> Result<String, StoreError> {
        Ok(format!("{}/{key}", self.0.trim_end_matches('/')))
    }
}
