//! A CDN in front of the renditions.

use super::StoreError;
use async_trait::async_trait;

/// A CDN in front of the renditions, told to drop its copies of removed ones.
#[async_trait]
pub trait CdnPurge: Send + Sync {
    /// Invalidates the CDN's copies of the renditions at `keys` (output-store keys). `Ok`
    /// once the CDN has accepted the request; it may take a while to complete.
    async fn invalidate(&self, keys: &[String]) -> Result<(), StoreError>;
}
