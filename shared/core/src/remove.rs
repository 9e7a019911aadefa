//! The other use case of a notification: an original was removed, so its renditions go and
//! its record becomes DELETED (kept, so the history of what existed stays queryable).

use crate::asset::{Asset, AssetStatus, Revision};
use crate::ports::{AssetStore, BlobStore, Expected, StoreError};
use crate::source::SourceLocation;
use std::cmp::Ordering;
use time::OffsetDateTime;

/// Removal over the two ports it touches; it never reads an original or runs the pipeline.
pub struct Remover<B, A> {
    renditions: B,
    assets: A,
}

impl<B: BlobStore, A: AssetStore> Remover<B, A> {
    pub fn new(renditions: B, assets: A) -> Self {
        Remover { renditions, assets }
    }

    /// Removes the renditions of the original at `location` and marks its record DELETED.
    /// Returns `None` when there is no record, when it says DELETED already, or when it
    /// reflects a later write of the original than `revision` (the removal is older than the
    /// upload that replaced it).
    pub async fn remove(
        &self,
        location: &SourceLocation,
        revision: Option<&Revision>,
    ) -> Result<Option<Asset>, StoreError> {
        let id = location.asset_id();
        let Some(existing) = self.assets.get(&id).await? else {
            return Ok(None);
        };
        if existing.status == AssetStatus::Deleted {
            return Ok(None);
        }
        if let Some(revision) = revision {
            let newer = existing
                .revision
                .as_ref()
                .and_then(|stored| stored.compare_sequencer(revision))
                == Some(Ordering::Greater);
            if newer {
                return Ok(None);
            }
        }
        let mut asset = existing.clone();
        asset.status = AssetStatus::Deleted;
        asset.variants = Vec::new();
        asset.updated_at = OffsetDateTime::now_utc();
        asset.version = existing.version + 1;
        if let Some(revision) = revision {
            asset.revision = Some(revision.clone());
        }
        // Files first: if a delete fails, the record still lists them and a retry finishes
        // the job; the other order could leave files behind that no record points to.
        for old in &existing.variants {
            self.renditions.delete(&old.key).await?;
        }
        self.assets
            .put(&asset, Expected::Version(existing.version))
            .await?;
        Ok(Some(asset))
    }
}
