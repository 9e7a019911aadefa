//! Where the events of assets go.

use super::StoreError;
use crate::domain::events::AssetEvent;
use async_trait::async_trait;

/// Where events go: an event bus, a local file.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Announces `event` to whoever subscribes; `Err` when it may not have been delivered.
    async fn announce(&self, event: &AssetEvent) -> Result<(), StoreError>;
}

#[async_trait]
impl<T: EventSink + ?Sized> EventSink for std::sync::Arc<T> {
    async fn announce(&self, event: &AssetEvent) -> Result<(), StoreError> {
        (**self).announce(event).await
    }
}
