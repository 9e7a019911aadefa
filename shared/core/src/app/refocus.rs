//! A focal point set by hand: the asset's `cover` crops are cut again around it, and only
//! they. The other renditions do not depend on the focal point and stay as they are.
//!
//! The point is kept on the record (`image.focus`, origin `manual`), so processing the same
//! original again (a spec change, a repair) keeps it; a new picture at the same place starts
//! from its own measured point.

use crate::app::ingest::{Converger, IngestError, Outcome, ENGINE};
use crate::domain::asset::{Asset, AssetId, AssetStatus};
use crate::domain::source::SourceLocation;
use crate::ports::{
    AssetStore, BlobStore, OriginalStore, ReadError, Refocus, RefocusError, StoreError,
};
use async_trait::async_trait;
use pictor_image::error::ProcessError;
use pictor_image::pipeline::{FocalPoint, Focus};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::OffsetDateTime;

impl From<IngestError> for RefocusError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Store(e) => RefocusError::Store(e),
            IngestError::Announce(e) => RefocusError::Announce(e),
        }
    }
}

#[async_trait]
impl<O, B, A> Refocus for Converger<O, B, A>
where
    O: OriginalStore,
    B: BlobStore,
    A: AssetStore,
{
    async fn refocus(&self, id: &AssetId, point: FocalPoint) -> Result<Asset, RefocusError> {
        let asset = self
            .assets
            .get(id)
            .await?
            .ok_or_else(|| RefocusError::NotFound(id.clone()))?;
        if asset.status != AssetStatus::Ready {
            return Err(RefocusError::NotReady(asset.status));
        }
        let location: SourceLocation = asset.source_identity.parse().map_err(|_| {
            RefocusError::OriginalChanged("the record names no readable original".into())
        })?;
        let preset = self.presets.get(Some(asset.preset.as_str()));
        let pipeline = Arc::clone(&preset.pipeline);
        let limit = pipeline.spec().limits.max_file_bytes;
        let original = match self.originals.read(&location, limit).await {
            Ok(original) => original,
            Err(ReadError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(RefocusError::OriginalChanged(e.to_string())),
        };
        let sha256 = hex::encode(Sha256::digest(&original.bytes));
        if asset.sha256.as_deref() != Some(sha256.as_str()) {
            return Err(RefocusError::OriginalChanged(
                "its bytes are not the ones the record describes".into(),
            ));
        }

        let mut next = asset.clone();
        let creator = asset.creator.clone();
        let bytes = original.bytes;
        if asset.spec_hash == pipeline.spec_hash() {
            // Only the crops move.
            let recut =
                run_blocking(move || pipeline.recut(&bytes, creator.as_deref(), point)).await?;
            let made = self.store_renditions(id, recut).await?;
            for variant in &mut next.renditions {
                if let Some(new) = made
                    .iter()
                    .find(|m| m.name == variant.name && m.format == variant.format)
                {
                    *variant = new.clone();
                }
            }
        } else {
            // The record is from an older spec: everything is made again, as a reprocess
            // would, around the new point.
            let spec_hash = pipeline.spec_hash().to_string();
            let processed = run_blocking(move || {
                pipeline.process_focused(&bytes, creator.as_deref(), Some(point))
            })
            .await?;
            next.renditions = self.store_renditions(id, processed.renditions).await?;
            next.image = Some(processed.info);
            next.timings = Some(processed.timings);
            next.spec_hash = spec_hash;
        }
        if let Some(info) = next.image.as_mut() {
            info.focus = Some(Focus::manual(point));
        }
        next.version = asset.version + 1;
        next.updated_at = OffsetDateTime::now_utc();
        next.engine = Some(ENGINE.to_string());
        next.announced = None;
        let written = match self.write(next, Some(&asset)).await? {
            Outcome::Written(written) => written,
            // Another write of the asset won meanwhile; the caller may try again on it.
            _ => return Err(StoreError::Conflict(id.to_string()).into()),
        };
        self.announce(&written).await?;
        Ok(written)
    }
}

/// Runs CPU-bound pipeline work off the async workers.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ProcessError> + Send + 'static,
) -> Result<T, RefocusError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the processing task failed");
            Err(ProcessError::internal("processing stopped unexpectedly"))
        })
        .map_err(RefocusError::Processing)
}
