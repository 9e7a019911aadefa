//! What counts as done already: a repeated or older notification, a record that reflects the
//! original's current write, a failure that settles nothing.

use super::Converger;
use crate::domain::asset::{Asset, AssetStatus, Revision};
use crate::domain::source::Upload;
use crate::ports::{AssetStore, BlobStore, OriginalStore};
use pictor_image::pipeline::Pipeline;
use std::cmp::Ordering;

impl<O: OriginalStore, B: BlobStore, A: AssetStore> Converger<O, B, A> {
    /// Whether the stored record already reflects the write `revision` names or a later one,
    /// by the notifications' sequencers alone: the cheap check for a duplicate or out-of-order
    /// notification. Without sequencers nothing is concluded here.
    pub(super) fn sequenced_after(
        &self,
        upload: &Upload,
        existing: &Asset,
        revision: &Revision,
    ) -> bool {
        let Some(stored) = existing.revision.as_ref() else {
            return false;
        };
        // A transient failure settles nothing: it is what a last attempt leaves before it
        // starts, and what a dead letter's record says until it is redriven. The attempt,
        // the redrive and any later notification must look again.
        if is_unsettled_failure(existing) {
            return false;
        }
        match stored.compare_sequencer(revision) {
            Some(Ordering::Greater) => true,
            // The same notification again: done, unless the spec changed since.
            Some(Ordering::Equal) => {
                existing.status == AssetStatus::Deleted
                    || existing.spec_hash == self.pipeline(upload).spec_hash()
            }
            _ => false,
        }
    }

    /// Whether `asset` is READY from these exact bytes under the upload's current spec.
    pub(super) fn is_current(&self, upload: &Upload, asset: &Asset, sha256: Option<&str>) -> bool {
        is_ready_from(asset, sha256) && asset.spec_hash == self.pipeline(upload).spec_hash()
    }
}

/// Whether the record is a failure another attempt may fix (FAILED `transient`): it settles
/// nothing about the upload.
pub(super) fn is_unsettled_failure(asset: &Asset) -> bool {
    asset.status == AssetStatus::Failed
        && asset.error.as_ref().is_some_and(|e| !e.kind.is_permanent())
}

/// Whether the record's latest state is still to be published as an event.
pub fn owes_event(asset: &Asset) -> bool {
    asset.announced.is_some_and(|v| v != asset.version)
}

/// Whether `asset` is READY from these exact bytes.
pub(super) fn is_ready_from(asset: &Asset, sha256: Option<&str>) -> bool {
    asset.status == AssetStatus::Ready && sha256.is_some() && asset.sha256.as_deref() == sha256
}

/// Whether the record describes the original's current write (`revision`, as the store reports
/// it now) under `pipeline`'s spec, as READY or as a failure a retry would repeat. A versioned
/// store is compared by version id, another by ETag.
pub(super) fn reflects(pipeline: &Pipeline, existing: &Asset, revision: Option<&Revision>) -> bool {
    let (Some(stored), Some(revision)) = (existing.revision.as_ref(), revision) else {
        return false;
    };
    let settled = match existing.status {
        AssetStatus::Ready => true,
        AssetStatus::Failed => existing
            .error
            .as_ref()
            .is_some_and(|e| e.kind.is_permanent()),
        AssetStatus::Deleted => false,
    };
    if !settled || existing.spec_hash != pipeline.spec_hash() {
        return false;
    }
    match (&stored.version_id, &revision.version_id) {
        (Some(a), Some(b)) => a == b,
        (None, None) => stored.etag.is_some() && stored.etag == revision.etag,
        _ => false,
    }
}

/// The focal point set by hand on `asset`, if one was.
pub(crate) fn manual_focus(asset: &Asset) -> Option<pictor_image::pipeline::FocalPoint> {
    asset
        .image
        .as_ref()
        .and_then(|i| i.focus)
        .filter(|f| f.origin == pictor_image::pipeline::FocusOrigin::Manual)
        .map(|f| f.point())
}
