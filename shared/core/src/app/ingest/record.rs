//! How an ingest writes: renditions under keys no other write shares, the record
//! conditionally on the version it read, the removal of what the new record no longer lists,
//! and the event of the state written.

use super::decide::{is_ready_from, owes_event, reflects};
use super::{Converger, IngestError, Intent, Outcome, ENGINE};
use crate::domain::asset::{Asset, AssetId, AssetStatus, Revision, StoredRendition};
use crate::domain::events::AssetEvent;
use crate::domain::layout;
use crate::domain::source::Upload;
use crate::ports::{AssetStore, BlobStore, Expected, OriginalStore, StoreError};
use pictor_image::error::{ErrorKind, ProcessError};
use pictor_image::pipeline::Rendition;
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use time::OffsetDateTime;

/// The key of a rendition made by the write `write` (see [`layout::rendition_key`]).
fn rendition_key(id: &AssetId, rendition: &Rendition, write: &str) -> String {
    let digest = Sha256::digest(&rendition.data);
    layout::rendition_key(
        id,
        &rendition.name,
        &hex::encode(&digest[..6]),
        write,
        rendition.format.extension(),
    )
}

/// A tag for one write of renditions: random, so no two ingests ever put the same key.
fn write_tag() -> String {
    let mut tag = uuid::Uuid::new_v4().simple().to_string();
    tag.truncate(8);
    tag
}

impl<O: OriginalStore, B: BlobStore, A: AssetStore> Converger<O, B, A> {
    /// Publishes the event of the record's current state unless it is out already, then
    /// notes that on the record. A newer write meanwhile announces itself.
    pub async fn announce(&self, asset: &Asset) -> Result<bool, IngestError> {
        let Some(sink) = &self.events else {
            return Ok(false);
        };
        if !owes_event(asset) {
            return Ok(false);
        }
        sink.announce(&AssetEvent::of(asset))
            .await
            .map_err(IngestError::Announce)?;
        let mut noted = asset.clone();
        noted.announced = Some(asset.version);
        match self
            .assets
            .put(&noted, Expected::Version(asset.version))
            .await
        {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn record_give_up(
        &self,
        upload: &Upload,
        reason: &str,
        when: GiveUp,
    ) -> Result<Outcome, IngestError> {
        let id = upload.asset_id();
        let existing = self.assets.get(&id).await?;
        if when == GiveUp::BeforeLastAttempt {
            if let Some(asset) = existing.as_ref().filter(|a| !a.renditions.is_empty()) {
                return Ok(Outcome::Repeat(asset.clone()));
            }
        }
        let mut upload = self.with_preset(upload, existing.as_ref());
        if let Some(asset) = &existing {
            if upload
                .revision
                .as_ref()
                .is_some_and(|r| self.sequenced_after(&upload, asset, r))
            {
                return Ok(Outcome::Repeat(asset.clone()));
            }
        }
        match self.originals.head(&upload.location).await {
            Ok(None) => return self.absent(&upload, Intent::Upload, existing).await,
            Ok(Some(state)) => {
                let revision = upload.revision.get_or_insert_with(Revision::default);
                revision.version_id = state.revision.version_id;
                revision.etag = state.revision.etag;
                let pipeline = self.pipeline(&upload);
                if let Some(asset) = existing
                    .as_ref()
                    .filter(|a| reflects(pipeline, a, upload.revision.as_ref()))
                {
                    return Ok(Outcome::Repeat(asset.clone()));
                }
            }
            // Uncertain: keep a good record rather than overwrite it on a guess.
            Err(_) => {
                if let Some(asset) = existing
                    .as_ref()
                    .filter(|a| a.status != AssetStatus::Failed)
                {
                    return Ok(Outcome::Repeat(asset.clone()));
                }
            }
        }
        let error = ProcessError::new(
            ErrorKind::Transient,
            format!("gave up after the last allowed attempt: {reason}"),
        );
        self.record(&upload, None, Err(error), existing.as_ref())
            .await
    }

    /// The record already reflects the original's current bytes: keep the notification's
    /// place in the order on it (so older notifications are recognised without a look at
    /// the store), then answer `outcome`.
    pub(super) async fn note_revision(
        &self,
        upload: &Upload,
        asset: &Asset,
        outcome: fn(Asset) -> Outcome,
    ) -> Result<Outcome, IngestError> {
        let Some(revision) = upload.revision.as_ref() else {
            return Ok(outcome(asset.clone()));
        };
        let stored = asset.revision.clone().unwrap_or_default();
        let newer_order = match stored.compare_sequencer(revision) {
            Some(order) => order == Ordering::Less,
            None => revision.sequencer.is_some() && stored.sequencer.is_none(),
        };
        let newer_write = revision.version_id != stored.version_id
            || (revision.etag.is_some() && revision.etag != stored.etag);
        if !newer_order && !newer_write {
            return Ok(outcome(asset.clone()));
        }
        let mut noted = asset.clone();
        noted.revision = Some(Revision {
            sequencer: if newer_order {
                revision.sequencer.clone()
            } else {
                stored.sequencer
            },
            version_id: revision.version_id.clone(),
            etag: revision.etag.clone().or(stored.etag),
        });
        noted.updated_at = OffsetDateTime::now_utc();
        noted.version = asset.version + 1;
        // A newer write of the same bytes changes no state: announced stays announced.
        if asset.announced == Some(asset.version) {
            noted.announced = Some(noted.version);
        }
        self.assets
            .put(&noted, Expected::Version(asset.version))
            .await?;
        Ok(outcome(noted))
    }

    pub(crate) async fn store_renditions(
        &self,
        id: &AssetId,
        renditions: Vec<Rendition>,
    ) -> Result<Vec<StoredRendition>, StoreError> {
        let write = &write_tag();
        let puts = renditions.into_iter().map(|r| async move {
            let key = rendition_key(id, &r, write);
            let bytes = r.data.len() as u64;
            let (quality, ssimulacra2) = (r.quality, r.ssimulacra2);
            self.renditions
                .put(&key, r.data, r.format.content_type())
                .await?;
            Ok::<_, StoreError>(StoredRendition {
                name: r.name,
                format: r.format,
                width: r.width,
                height: r.height,
                bytes,
                key,
                quality,
                ssimulacra2,
            })
        });
        futures::future::try_join_all(puts).await
    }

    /// Writes the record of `upload`, READY from `made` or FAILED with its error, then
    /// removes renditions the previous record had and this one has not. `read` describes the
    /// original's bytes when they could be read.
    pub(super) async fn record(
        &self,
        upload: &Upload,
        read: Option<ReadFacts>,
        made: Result<Made, ProcessError>,
        existing: Option<&Asset>,
    ) -> Result<Outcome, IngestError> {
        let mut asset = self.next_record(upload, existing);
        if let Some(read) = read {
            asset.sha256 = Some(read.sha256);
            asset.source_bytes = Some(read.bytes);
            asset.name = read.name;
        }
        match made {
            Ok(made) => {
                asset.status = AssetStatus::Ready;
                asset.image = Some(made.info);
                asset.timings = Some(made.timings);
                asset.renditions = made.variants;
            }
            Err(error) => {
                asset.status = AssetStatus::Failed;
                asset.error = Some(error);
            }
        }
        self.write(asset, existing).await
    }

    /// A fresh record for the upload that keeps the identity fields of the previous one.
    pub(super) fn next_record(&self, upload: &Upload, existing: Option<&Asset>) -> Asset {
        let now = OffsetDateTime::now_utc();
        Asset {
            id: upload.asset_id(),
            source: upload.display.clone(),
            source_identity: upload.location.to_string(),
            creator: upload.creator.clone(),
            name: None,
            status: AssetStatus::Failed,
            error: None,
            sha256: None,
            source_bytes: None,
            image: None,
            renditions: Vec::new(),
            timings: None,
            preset: self.presets.get(upload.preset.as_deref()).name.clone(),
            spec_hash: self.pipeline(upload).spec_hash().to_string(),
            created_at: existing.map_or(now, |a| a.created_at),
            updated_at: now,
            version: existing.map_or(1, |a| a.version + 1),
            revision: upload.revision.clone(),
            engine: Some(ENGINE.to_string()),
            announced: None,
            // What a CDN still owes to drop stays owed through the next write.
            cdn_purge: existing.map_or_else(Vec::new, |a| a.cdn_purge.clone()),
        }
    }

    /// Writes the record conditionally on the version read before processing, then removes
    /// renditions the previous record had and this one has not (a smaller spec, a failed
    /// re-upload), so no stale files stay behind.
    pub(crate) async fn write(
        &self,
        mut asset: Asset,
        previous: Option<&Asset>,
    ) -> Result<Outcome, IngestError> {
        // A state written now owes its event (a record from before events existed did not).
        asset.announced = asset.announced.or(Some(0));
        let expected = previous.map_or(Expected::Absent, |p| Expected::Version(p.version));
        match self.assets.put(&asset, expected).await {
            Ok(()) => {}
            Err(StoreError::Conflict(what)) => {
                // Another worker wrote this asset meanwhile (a duplicate delivery). If it made
                // the same bytes under the same spec, the work is done; otherwise retry later.
                let current = self.assets.get(&asset.id).await?;
                // What this attempt uploaded and the winner does not reference must not stay
                // behind (a crop around another focal point, a tombstoned asset's files).
                let keep = current.as_ref().map_or(&[][..], |c| &c.renditions[..]);
                for made in &asset.renditions {
                    if !keep.iter().any(|k| k.key == made.key) {
                        self.renditions.delete(&made.key).await?;
                    }
                }
                if let Some(c) = current.as_ref().filter(|c| {
                    c.spec_hash == asset.spec_hash && is_ready_from(c, asset.sha256.as_deref())
                }) {
                    return Ok(Outcome::Unchanged(c.clone()));
                }
                // Two workers found the original gone (an upload's notification and its
                // removal's, handled at once): the winner's tombstone is this one's.
                if let Some(c) = current.as_ref().filter(|c| {
                    asset.status == AssetStatus::Deleted && c.status == AssetStatus::Deleted
                }) {
                    return Ok(Outcome::AlreadyDeleted(c.clone()));
                }
                // A newer state won (a tombstone, a later upload); the retry converges again.
                return Err(StoreError::Conflict(what).into());
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(previous) = previous {
            for old in &previous.renditions {
                if !asset.renditions.iter().any(|v| v.key == old.key) {
                    self.renditions.delete(&old.key).await?;
                }
            }
        }
        Ok(Outcome::Written(asset))
    }
}

/// When a failure after every allowed attempt is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GiveUp {
    /// Before the last attempt starts, in case it never ends.
    BeforeLastAttempt,
    /// The last attempt failed.
    Failed,
}

/// What is known of an original's bytes once they were read.
pub(super) struct ReadFacts {
    pub(super) sha256: String,
    pub(super) bytes: u64,
    /// The display name kept with the original.
    pub(super) name: Option<String>,
}

/// What the pipeline made of an original, once its renditions are stored.
pub(super) struct Made {
    pub(super) info: pictor_image::pipeline::SourceInfo,
    pub(super) timings: pictor_image::pipeline::Timings,
    pub(super) variants: Vec<StoredRendition>,
}
