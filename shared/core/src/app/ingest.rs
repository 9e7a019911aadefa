//! The use case every runner shares: "read an original, then turn it into renditions and a
//! record, or record why not". The CLI, the watcher and the cloud functions each make one call
//! to [`Ingestor::ingest`]; only the adapters behind the ports differ.

use crate::app::reprocess::Selection;
use crate::domain::asset::{Asset, AssetId, AssetStatus, Revision, StoredRendition};
use crate::domain::events::AssetEvent;
use crate::domain::layout;
use crate::domain::presets::Presets;
use crate::domain::source::Upload;
use crate::ports::EventSink;
use crate::ports::{
    AssetStore, BlobStore, Expected, Original, OriginalStore, ReadError, StoreError,
};
use pictor_image::error::{ErrorKind, ProcessError};
use pictor_image::pipeline::{Pipeline, Rendition};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::sync::Arc;
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

/// Names the code that writes a record, so a failure recorded by an older release can be told
/// from one this release would repeat.
pub const ENGINE: &str = concat!("pictor-core/", env!("CARGO_PKG_VERSION"));

/// `Cache-Control` for renditions: safe to cache for a year because keys are content-addressed.
pub const RENDITION_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

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
            IngestError::Announce(_) => "the asset's event could not be published",
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

/// The ingest use case over its three ports: where originals are read, where renditions are
/// written, where records are kept.
pub struct Ingestor<O, B, A> {
    pub(crate) presets: Presets,
    // The reconciler (`reconcile.rs`) lists the same stores.
    pub(crate) originals: O,
    pub(crate) renditions: B,
    pub(crate) assets: A,
    events: Option<Arc<dyn EventSink>>,
    /// When set, how many pipelines may run at once; other ingests wait their turn here,
    /// holding only the original's bytes, while their reads and writes go on.
    compute: Option<Arc<tokio::sync::Semaphore>>,
    /// Whether a CDN serves the renditions: a tombstone then lists what it must purge.
    cdn: bool,
    /// The CDN itself, where this runner may tell it to purge (the reconciler).
    pub(crate) purger: Option<Arc<dyn crate::ports::CdnPurge>>,
}

impl<O: OriginalStore, B: BlobStore, A: AssetStore> Ingestor<O, B, A> {
    /// `presets`: every preset of the spec file, or one pipeline (`Arc<Pipeline>`) for all.
    pub fn new(presets: impl Into<Presets>, originals: O, renditions: B, assets: A) -> Self {
        Ingestor {
            presets: presets.into(),
            originals,
            renditions,
            assets,
            events: None,
            compute: None,
            cdn: false,
            purger: None,
        }
    }

    /// [`Self::with_cdn_purge`], and the CDN to purge: the reconciler invalidates what
    /// tombstones still owe it.
    pub fn with_cdn(mut self, purger: Arc<dyn crate::ports::CdnPurge>) -> Self {
        self.purger = Some(purger);
        self.with_cdn_purge()
    }

    /// A CDN caches the renditions: each tombstone lists the removed renditions' keys
    /// (`Asset::cdn_purge`) until [`crate::app::purge::purge_cdn`] has invalidated them.
    pub fn with_cdn_purge(mut self) -> Self {
        self.cdn = true;
        self
    }

    /// Lets at most `slots` pipelines run at once, however many ingests are under way: a
    /// runner with several ingests in flight overlaps their reads and writes with one
    /// another's image work without splitting the CPU between images.
    pub fn with_compute_slots(mut self, slots: usize) -> Self {
        self.compute = Some(Arc::new(tokio::sync::Semaphore::new(slots.max(1))));
        self
    }

    /// Whether record writes are announced as events.
    pub fn announces(&self) -> bool {
        self.events.is_some()
    }

    /// Publishes an event to `sink` after each record write (see `events`).
    pub fn with_events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = Some(sink);
        self
    }

    /// Publishes the event of the record's current state unless it is out already, then
    /// notes that on the record. A newer write meanwhile announces itself.
    pub async fn announce(&self, asset: &Asset) -> Result<bool, IngestError> {
        let Some(sink) = &self.events else {
            return Ok(false);
        };
        if !owes_event(asset) {
            return Ok(false);
        }
        sink.publish(&AssetEvent::of(asset))
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

    /// Converges the asset of `upload` to the current state of its original, in one place:
    /// reads the record once, recognises a repeat by its sequencer (or, for a reprocess, an
    /// asset needing no work), looks at the original's current version, and then tombstones
    /// a gone original, notes a newer write of the same bytes, or reads the original, runs
    /// the pipeline, writes renditions and the record, and records failures.
    ///
    /// `Err` only when the outcome could not be recorded (a store failed, or a concurrent
    /// write won); see [`IngestError::is_transient`].
    pub async fn ingest(&self, upload: &Upload, intent: Intent) -> Result<Outcome, IngestError> {
        let outcome = self.converge(upload, intent).await?;
        if let Some(asset) = outcome.asset() {
            self.announce(asset).await?;
        }
        Ok(outcome)
    }

    async fn converge(&self, upload: &Upload, intent: Intent) -> Result<Outcome, IngestError> {
        let id = upload.asset_id();
        let existing = self.assets.get(&id).await?;
        let mut upload = self.with_preset(upload, existing.as_ref());
        match (intent, &existing) {
            (Intent::Upload, Some(asset))
                if upload
                    .revision
                    .as_ref()
                    .is_some_and(|r| self.sequenced_after(&upload, asset, r)) =>
            {
                return Ok(Outcome::Repeat(asset.clone()));
            }
            (Intent::Reprocess, Some(asset)) => {
                if Selection::default().reason(asset, &self.presets).is_none() {
                    return Ok(Outcome::UpToDate(asset.clone()));
                }
                // Same asset, same write of the original: notifications about it stay repeats.
                upload.display = asset.source.clone();
                upload.creator = asset.creator.clone().or(upload.creator);
                upload.revision = asset.revision.clone();
            }
            _ => {}
        }

        // The notification is a hint; what the store holds now decides.
        let state = match self.originals.head(&upload.location).await {
            Ok(Some(state)) => state,
            Ok(None) => return self.absent(&upload, intent, existing).await,
            Err(e) => return self.read_failed(&upload, e, intent, existing).await,
        };
        let revision = upload.revision.get_or_insert_with(Revision::default);
        revision.version_id = state.revision.version_id;
        revision.etag = state.revision.etag;
        if intent == Intent::Upload {
            let pipeline = self.pipeline(&upload);
            if let Some(asset) = existing
                .as_ref()
                .filter(|a| reflects(pipeline, a, upload.revision.as_ref()))
            {
                return self.note_revision(&upload, asset, Outcome::Repeat).await;
            }
        }

        let limit = self.pipeline(&upload).spec().limits.max_file_bytes;
        let read = match state.size {
            size if size > limit => Err(ReadError::TooLarge { size, limit }),
            _ => self.originals.read(&upload.location, limit).await,
        };
        match read {
            Ok(original) => {
                let redo = intent == Intent::Repair;
                self.process(upload, original, existing, redo).await
            }
            Err(e) => self.read_failed(&upload, e, intent, existing).await,
        }
    }

    /// Records that the upload could not be processed after every allowed attempt (the last
    /// delivery of a notification failed again), as FAILED `transient` with `reason`, so the
    /// upload is not left without a record. A record that already reflects the original as
    /// it stands, or a gone original, is left alone (or tombstoned).
    pub async fn give_up(&self, upload: &Upload, reason: &str) -> Result<Outcome, IngestError> {
        let outcome = self.record_give_up(upload, reason, GiveUp::Failed).await?;
        if let Some(asset) = outcome.asset() {
            self.announce(asset).await?;
        }
        Ok(outcome)
    }

    /// Before the last allowed attempt starts: makes sure the upload has a record should the
    /// process die during it (out of memory, the timeout), as FAILED `transient` with
    /// `reason`. Unlike [`Self::give_up`] it leaves a record that serves renditions alone
    /// (a READY record of an earlier write keeps its files until the attempt replaces them;
    /// the reconciler finds such a record outdated if the attempt never ends). Nothing is
    /// announced: the attempt decides what the asset becomes.
    pub async fn mark_last_attempt(
        &self,
        upload: &Upload,
        reason: &str,
    ) -> Result<Outcome, IngestError> {
        self.record_give_up(upload, reason, GiveUp::BeforeLastAttempt)
            .await
    }

    async fn record_give_up(
        &self,
        upload: &Upload,
        reason: &str,
        when: GiveUp,
    ) -> Result<Outcome, IngestError> {
        let id = upload.asset_id();
        let existing = self.assets.get(&id).await?;
        if when == GiveUp::BeforeLastAttempt {
            if let Some(asset) = existing.as_ref().filter(|a| !a.variants.is_empty()) {
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

    /// What a failed read of the original means: a store failure is retried, a gone original
    /// is converged to, anything else is recorded as FAILED.
    async fn read_failed(
        &self,
        upload: &Upload,
        error: ReadError,
        intent: Intent,
        existing: Option<Asset>,
    ) -> Result<Outcome, IngestError> {
        let error = match error {
            ReadError::Store(e) => return Err(e.into()),
            ReadError::NotFound => return self.absent(upload, intent, existing).await,
            ReadError::TooLarge { size, limit } => ProcessError::too_large(format!(
                "the original has {size} bytes; the limit is {limit}"
            )),
            ReadError::Unreadable(error) => error,
        };
        self.record(upload, None, Err(error), existing.as_ref())
            .await
    }

    /// The original is gone. A notification makes the record a DELETED tombstone (written
    /// even when there was none, so a late ingest cannot resurrect it); a reprocess leaves
    /// things as they are.
    async fn absent(
        &self,
        upload: &Upload,
        intent: Intent,
        existing: Option<Asset>,
    ) -> Result<Outcome, IngestError> {
        match (intent, existing) {
            (Intent::Reprocess, _) => Ok(Outcome::SourceMissing(upload.asset_id())),
            (_, Some(asset)) if asset.status == AssetStatus::Deleted => {
                Ok(Outcome::AlreadyDeleted(asset))
            }
            (Intent::Upload | Intent::Repair, existing) => {
                // Only the notification's place in the order is known of a gone write.
                let sequencer = upload.revision.as_ref().and_then(|r| r.sequencer.clone());
                let revision = Revision {
                    sequencer,
                    ..Revision::default()
                };
                // Deleted means gone: the tombstone keeps who and when, nothing of the picture.
                let mut tombstone = match &existing {
                    Some(previous) => Asset {
                        updated_at: OffsetDateTime::now_utc(),
                        version: previous.version + 1,
                        engine: Some(ENGINE.to_string()),
                        ..previous.clone()
                    },
                    None => self.next_record(upload, None),
                }
                .forget_content();
                if self.cdn {
                    if let Some(previous) = &existing {
                        let removed = previous.variants.iter().map(|v| v.key.clone());
                        tombstone.cdn_purge.extend(removed);
                    }
                }
                tombstone.revision = Some(revision);
                match self.write(tombstone, existing.as_ref()).await? {
                    Outcome::Written(asset) => Ok(Outcome::Deleted(asset)),
                    other => Ok(other),
                }
            }
        }
    }

    /// The record already reflects the original's current bytes: keep the notification's
    /// place in the order on it (so older notifications are recognised without a look at
    /// the store), then answer `outcome`.
    async fn note_revision(
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

    /// Runs the pipeline on `original` and records the result, unless the record already
    /// holds these bytes under this spec (and `redo`, a repair, is not asked for).
    async fn process(
        &self,
        mut upload: Upload,
        original: Original,
        existing: Option<Asset>,
        redo: bool,
    ) -> Result<Outcome, IngestError> {
        if upload.creator.is_none() {
            upload.creator = original.creator;
        }
        // What was read is what the record describes (a newer write may have landed since
        // the look at the store).
        let revision = upload.revision.get_or_insert_with(Revision::default);
        revision.version_id = original.revision.version_id.or(revision.version_id.take());
        revision.etag = original.revision.etag.or(revision.etag.take());

        let bytes = original.bytes;
        let name = original.name;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if let Some(current) = existing
            .as_ref()
            .filter(|c| !redo && self.is_current(&upload, c, Some(&sha256)))
        {
            return self
                .note_revision(&upload, current, Outcome::Unchanged)
                .await;
        }
        let source_bytes = bytes.len() as u64;
        let pipeline = Arc::clone(self.pipeline(&upload));
        let creator = upload.creator.clone();
        // A focal point set by hand belongs to these bytes: it stays through a reprocess or
        // a repair, and a new picture at the same place starts from its own.
        let manual_focus = existing
            .as_ref()
            .filter(|a| a.sha256.as_deref() == Some(sha256.as_str()))
            .and_then(manual_focus);
        // Held until the pipeline is done; never closed, so the error cannot happen.
        let slot = match &self.compute {
            Some(slots) => slots.acquire().await.ok(),
            None => None,
        };
        // CPU-bound: keep it off the async workers.
        let result = tokio::task::spawn_blocking(move || {
            pipeline.process_focused(&bytes, creator.as_deref(), manual_focus)
        })
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the processing task failed");
            Err(ProcessError::internal("processing stopped unexpectedly"))
        });
        drop(slot);
        let id = upload.asset_id();
        let made = match result {
            Ok(processed) => {
                let variants = self.store_renditions(&id, processed.renditions).await?;
                Ok(Made {
                    info: processed.info,
                    timings: processed.timings,
                    variants,
                })
            }
            Err(error) => Err(error),
        };
        let read = Some(ReadFacts {
            sha256,
            bytes: source_bytes,
            name,
        });
        self.record(&upload, read, made, existing.as_ref()).await
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
            })
        });
        futures::future::try_join_all(puts).await
    }

    /// Whether the stored record already reflects the write `revision` names or a later one,
    /// by the notifications' sequencers alone: the cheap check for a duplicate or out-of-order
    /// notification. Without sequencers nothing is concluded here.
    fn sequenced_after(&self, upload: &Upload, existing: &Asset, revision: &Revision) -> bool {
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

    /// Writes the record of `upload`, READY from `made` or FAILED with its error, then
    /// removes renditions the previous record had and this one has not. `read` describes the
    /// original's bytes when they could be read.
    async fn record(
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
                asset.variants = made.variants;
            }
            Err(error) => {
                asset.status = AssetStatus::Failed;
                asset.error = Some(error);
            }
        }
        self.write(asset, existing).await
    }

    /// A fresh record for the upload that keeps the identity fields of the previous one.
    fn next_record(&self, upload: &Upload, existing: Option<&Asset>) -> Asset {
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
            variants: Vec::new(),
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
                let keep = current.as_ref().map_or(&[][..], |c| &c.variants[..]);
                for made in &asset.variants {
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
            for old in &previous.variants {
                if !asset.variants.iter().any(|v| v.key == old.key) {
                    self.renditions.delete(&old.key).await?;
                }
            }
        }
        Ok(Outcome::Written(asset))
    }

    /// Whether `asset` is READY from these exact bytes under the upload's current spec.
    fn is_current(&self, upload: &Upload, asset: &Asset, sha256: Option<&str>) -> bool {
        is_ready_from(asset, sha256) && asset.spec_hash == self.pipeline(upload).spec_hash()
    }

    /// The pipeline of the upload's preset.
    pub(crate) fn pipeline(&self, upload: &Upload) -> &Arc<Pipeline> {
        &self.presets.get(upload.preset.as_deref()).pipeline
    }

    /// The upload with its preset settled: the one its place picked, else the record's.
    fn with_preset(&self, upload: &Upload, existing: Option<&Asset>) -> Upload {
        let mut upload = upload.clone();
        let name = upload
            .preset
            .as_deref()
            .or(existing.map(|a| a.preset.as_str()));
        upload.preset = Some(self.presets.get(name).name.clone());
        upload
    }

    /// The presets this ingest processes with.
    pub fn presets(&self) -> &Presets {
        &self.presets
    }
}

/// When a failure after every allowed attempt is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GiveUp {
    /// Before the last attempt starts, in case it never ends.
    BeforeLastAttempt,
    /// The last attempt failed.
    Failed,
}

/// Whether the record is a failure another attempt may fix (FAILED `transient`): it settles
/// nothing about the upload.
fn is_unsettled_failure(asset: &Asset) -> bool {
    asset.status == AssetStatus::Failed
        && asset.error.as_ref().is_some_and(|e| !e.kind.is_permanent())
}

/// Whether the record's latest state is still to be published as an event.
pub fn owes_event(asset: &Asset) -> bool {
    asset.announced.is_some_and(|v| v != asset.version)
}

/// Whether `asset` is READY from these exact bytes.
fn is_ready_from(asset: &Asset, sha256: Option<&str>) -> bool {
    asset.status == AssetStatus::Ready && sha256.is_some() && asset.sha256.as_deref() == sha256
}

/// Whether the record describes the original's current write (`revision`, as the store reports
/// it now) under `pipeline`'s spec, as READY or as a failure a retry would repeat. A versioned
/// store is compared by version id, another by ETag.
fn reflects(pipeline: &Pipeline, existing: &Asset, revision: Option<&Revision>) -> bool {
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

/// What is known of an original's bytes once they were read.
/// The focal point set by hand on `asset`, if one was.
pub(crate) fn manual_focus(asset: &Asset) -> Option<pictor_image::pipeline::FocalPoint> {
    asset
        .image
        .as_ref()
        .and_then(|i| i.focus)
        .filter(|f| f.origin == pictor_image::pipeline::FocusOrigin::Manual)
        .map(|f| f.point())
}

struct ReadFacts {
    sha256: String,
    bytes: u64,
    /// The display name kept with the original.
    name: Option<String>,
}

/// What the pipeline made of an original, once its renditions are stored.
struct Made {
    info: pictor_image::pipeline::SourceInfo,
    timings: pictor_image::pipeline::Timings,
    variants: Vec<StoredRendition>,
}
