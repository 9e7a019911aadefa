//! What an ingest answers: its outcome, why it could not even record one, and why it ran.

use crate::domain::asset::{Asset, AssetId, AssetStatus};
use crate::ports::StoreError;

/// Why an upload could not even be recorded. Processing failures are not errors here: they
/// become FAILED records.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The record is written; its event is not out yet. A retry publishes it.
    #[error("publishing the asset's event: {0}")]
    Announce(StoreError),
}

impl IngestError {
    /// What a record may say of this error to creators and event subscribers: the class of
    /// the trouble, never the store's own words (they name buckets, keys and SDK errors).
    /// The full error belongs in the log.
    pub fn public_reason(&self) -> &'static str {
        match self {
            IngestError::Store(StoreError::Conflict(_)) => {
                "the asset kept changing while it was processed"
            }
            IngestError::Store(e) if e.is_transient() => "the storage service was unavailable",
            IngestError::Store(_) => "the storage service refused the request",
            IngestError::Announce(_) => "the asset's event could not be announced",
        }
    }

    /// Whether another attempt may succeed: the store was unavailable, or a concurrent write
    /// of the same asset won and may have left work to do.
    pub fn is_transient(&self) -> bool {
        match self {
            IngestError::Store(e) => e.is_transient() || matches!(e, StoreError::Conflict(_)),
            IngestError::Announce(_) => true,
        }
    }
}

/// Why the ingest runs, which decides what counts as work and what a missing original means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// A notification (creation or removal) or a watcher says the key changed. It is only a
    /// hint: the key's current state decides. An original that exists is ingested (or its
    /// newer revision noted), one that is gone leaves a DELETED tombstone.
    Upload,
    /// An existing asset again, after a spec change or an upgrade: only an asset that needs
    /// work is read (see [`Selection`]), its record's creator and revision are kept, and an
    /// original that is gone leaves the record and its renditions as they are.
    Reprocess,
    /// The reconciler found the record wrong in a way it cannot tell itself (renditions it
    /// lists are missing): like `Upload`, but the original is processed again even when the
    /// record claims to reflect it.
    Repair,
}

/// What an ingest did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Renditions were (re)made, or the failure recorded.
    Written(Asset),
    /// The same bytes under the same spec were READY already: nothing was made (the record
    /// may have noted the newer write of the same bytes).
    Unchanged(Asset),
    /// The record already reflects this write of the original or a later one (a repeated or
    /// late notification, or a removal of a version that is not the current one): nothing
    /// was read.
    Repeat(Asset),
    /// The original is gone: its record is now a DELETED tombstone and its renditions are
    /// removed (a record is written even when none existed, so an ingest finishing later
    /// cannot bring the asset back).
    Deleted(Asset),
    /// The original is gone and its record already says DELETED.
    AlreadyDeleted(Asset),
    /// Reprocess: the record needs no work (current, deleted, or a failure this release would
    /// only repeat). Nothing was read.
    UpToDate(Asset),
    /// Reprocess: the original is gone. The record (if any) and its renditions are left as
    /// they are: they are the best there is.
    SourceMissing(AssetId),
}

impl Outcome {
    /// The record as it stands after the ingest, when there is one.
    pub fn asset(&self) -> Option<&Asset> {
        match self {
            Outcome::Written(a)
            | Outcome::Unchanged(a)
            | Outcome::Repeat(a)
            | Outcome::Deleted(a)
            | Outcome::AlreadyDeleted(a)
            | Outcome::UpToDate(a) => Some(a),
            Outcome::SourceMissing(_) => None,
        }
    }

    pub fn asset_id(&self) -> &AssetId {
        match self {
            Outcome::SourceMissing(id) => id,
            Outcome::Written(a)
            | Outcome::Unchanged(a)
            | Outcome::Repeat(a)
            | Outcome::Deleted(a)
            | Outcome::AlreadyDeleted(a)
            | Outcome::UpToDate(a) => &a.id,
        }
    }

    /// Whether the asset is READY afterwards (made now, or found unchanged).
    pub fn is_ready(&self) -> bool {
        self.asset().is_some_and(|a| a.status == AssetStatus::Ready)
    }
}
