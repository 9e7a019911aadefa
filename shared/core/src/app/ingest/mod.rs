//! The use case every runner shares: "read an original, then turn it into renditions and a
//! record, or record why not". The CLI, the watcher and the cloud functions each make one call
//! to [`Converger::ingest`]; only the adapters behind the ports differ.
//!
//! This module holds the runner and the way through one upload; `outcome` what an ingest
//! answers, `decide` what counts as done already, `record` how records and renditions are
//! written (and announced).

mod decide;
mod outcome;
mod record;

pub(crate) use decide::manual_focus;
pub use decide::owes_event;
use decide::reflects;
pub use outcome::{IngestError, Intent, Outcome};
use record::{GiveUp, Made, ReadFacts};

use crate::app::reprocess::Selection;
use crate::domain::asset::{Asset, AssetStatus, Revision};
use crate::domain::presets::Presets;
use crate::domain::source::Upload;
use crate::ports::EventSink;
use crate::ports::{AssetStore, BlobStore, Original, OriginalStore, ReadError};
use pictor_image::error::ProcessError;
use pictor_image::pipeline::Pipeline;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::OffsetDateTime;

/// Names the code that writes a record, so a failure recorded by an older release can be told
/// from one this release would repeat.
pub const ENGINE: &str = concat!("pictor-core/", env!("CARGO_PKG_VERSION"));

/// `Cache-Control` for renditions: safe to cache for a year, since a key never gets other
/// bytes (content hash and write tag).
pub const RENDITION_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// Converges assets to what their originals are now, over three ports: where originals are
/// read, where renditions are written, where records are kept. Ingesting an upload is its
/// one way in; the CLI, the watcher, every function, the reconciler and a focal point set by
/// hand all go through it.
pub struct Converger<O, B, A> {
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

impl<O: OriginalStore, B: BlobStore, A: AssetStore> Converger<O, B, A> {
    /// `presets`: every preset of the spec file, or one pipeline (`Arc<Pipeline>`) for all.
    pub fn new(presets: impl Into<Presets>, originals: O, renditions: B, assets: A) -> Self {
        Converger {
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
                        let removed = previous.renditions.iter().map(|v| v.key.clone());
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
