//! A focal point set by hand.

use super::StoreError;
use crate::domain::asset::{Asset, AssetId, AssetStatus};
use async_trait::async_trait;
use pictor_image::error::ProcessError;
use pictor_image::pipeline::FocalPoint;

/// Why a focal point could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum RefocusError {
    #[error("no asset {0}")]
    NotFound(AssetId),
    /// Only a READY asset has crops to move.
    #[error("the asset is {0}, not ready")]
    NotReady(AssetStatus),
    /// The original was replaced or removed since the record was written; its own
    /// processing is on the way and decides the crops.
    #[error("the original changed since it was processed: {0}")]
    OriginalChanged(String),
    /// The original could not be processed again (it did before: a resource limit, or a
    /// store's trouble).
    #[error("processing the original again failed: {0}")]
    Processing(ProcessError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The record is written; its event is not out yet.
    #[error("publishing the asset's event: {0}")]
    Announce(StoreError),
}

/// Sets an asset's focal point by hand: what `PUT /assets/{id}/focus` calls.
#[async_trait]
pub trait Refocus: Send + Sync {
    /// Re-cuts the asset's `cover` renditions around `point` and returns the record as it
    /// now stands.
    async fn refocus(&self, id: &AssetId, point: FocalPoint) -> Result<Asset, RefocusError>;
}
