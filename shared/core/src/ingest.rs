//! The use case every runner shares: one source in, renditions stored and exactly one record
//! (READY or FAILED with a reason) written. The CLI, the watcher and the cloud functions all
//! call this; only the adapters differ.

use crate::asset::{Asset, AssetId, AssetStatus, Revision, SourceRef, VariantRecord};
use crate::error::ProcessError;
use crate::pipeline::{Pipeline, Rendition};
use crate::ports::{AssetStore, BlobStore, Expected, StoreError};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::sync::Arc;
use time::OffsetDateTime;

/// Prefix under which renditions are stored: `renditions/<asset-id>/<variant>-<hash>.<ext>`.
pub const RENDITIONS_PREFIX: &str = "renditions";

/// Content-addressed key of a rendition: the hash of its bytes is part of the name, so a URL
/// never changes meaning and can be cached forever, and a re-upload writes new keys that
/// readers switch to only when the record does.
pub fn rendition_key(id: &AssetId, rendition: &Rendition) -> String {
    let digest = Sha256::digest(&rendition.data);
    format!(
        "{RENDITIONS_PREFIX}/{id}/{}-{}.{}",
        rendition.name,
        hex::encode(&digest[..6]),
        rendition.format.extension()
    )
}

/// Names the code that writes a record, so a failure recorded by an older release can be told
/// from one this release would repeat.
pub const ENGINE: &str = concat!("pictor-core/", env!("CARGO_PKG_VERSION"));

/// `Cache-Control` for renditions: safe to cache for a year because keys are content-addressed.
pub const RENDITION_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// Why a source could not even be recorded. Processing failures are not errors here: they
/// become FAILED records.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl IngestError {
    pub fn is_transient(&self) -> bool {
        match self {
            IngestError::Store(e) => e.is_transient() || matches!(e, StoreError::Conflict(_)),
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Renditions were (re)made or the failure recorded.
    Written(Asset),
    /// Same bytes under the same spec were already READY: nothing was done.
    Unchanged(Asset),
}

impl Outcome {
    pub fn asset(&self) -> &Asset {
        match self {
            Outcome::Written(a) | Outcome::Unchanged(a) => a,
        }
    }
}

pub struct Ingestor<B, A> {
    pipeline: Arc<Pipeline>,
    blobs: B,
    assets: A,
}

impl<B: BlobStore, A: AssetStore> Ingestor<B, A> {
    pub fn new(pipeline: Arc<Pipeline>, blobs: B, assets: A) -> Self {
        Ingestor {
            pipeline,
            blobs,
            assets,
        }
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    pub fn assets(&self) -> &A {
        &self.assets
    }

    pub fn blobs(&self) -> &B {
        &self.blobs
    }

    /// Processes `bytes` from `source` and records the result.
    pub async fn ingest(&self, source: &SourceRef, bytes: Vec<u8>) -> Result<Outcome, IngestError> {
        let id = AssetId::for_source(&source.identity);
        let existing = self.assets.get(&id).await?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if let Some(current) = existing
            .as_ref()
            .filter(|c| self.is_current(c, Some(&sha256)))
        {
            return Ok(Outcome::Unchanged(current.clone()));
        }
        let source_bytes = bytes.len() as u64;
        let pipeline = Arc::clone(&self.pipeline);
        let creator = source.creator.clone();
        // CPU-bound: keep it off the async workers.
        let result =
            tokio::task::spawn_blocking(move || pipeline.process(&bytes, creator.as_deref()))
                .await
                .unwrap_or_else(|e| {
                    Err(ProcessError::internal(format!(
                        "processing task failed: {e}"
                    )))
                });

        let mut asset = self.next_record(&id, source, existing.as_ref());
        asset.sha256 = Some(sha256);
        asset.source_bytes = Some(source_bytes);
        match result {
            Ok(processed) => {
                let id = &id;
                let puts = processed.renditions.into_iter().map(|r| async move {
                    let key = rendition_key(id, &r);
                    let bytes = r.data.len() as u64;
                    self.blobs
                        .put(&key, r.data, r.format.content_type())
                        .await?;
                    Ok::<_, StoreError>(VariantRecord {
                        name: r.name,
                        format: r.format,
                        width: r.width,
                        height: r.height,
                        bytes,
                        key,
                    })
                });
                let variants = futures::future::try_join_all(puts).await?;
                asset.status = AssetStatus::Ready;
                asset.image = Some(processed.info);
                asset.timings = Some(processed.timings);
                asset.variants = variants;
            }
            Err(error) => {
                asset.status = AssetStatus::Failed;
                asset.error = Some(error);
            }
        }
        self.write(asset, existing.as_ref()).await
    }

    /// Records that `source` could not be read at all (gone, unreadable, over the size limit).
    pub async fn record_failure(
        &self,
        source: &SourceRef,
        error: ProcessError,
    ) -> Result<Outcome, IngestError> {
        let id = AssetId::for_source(&source.identity);
        let existing = self.assets.get(&id).await?;
        let mut asset = self.next_record(&id, source, existing.as_ref());
        asset.status = AssetStatus::Failed;
        asset.error = Some(error);
        self.write(asset, existing.as_ref()).await
    }

    /// Whether the stored record already reflects `revision` of its source or a later one,
    /// under the current spec: a duplicate or out-of-order notification that needs no work.
    ///
    /// Sequencers order writes; without them an equal version id (versioned buckets) or ETag
    /// (same bytes) still identifies a repeat. Anything unidentified is processed again.
    pub fn supersedes(&self, existing: &Asset, revision: &Revision) -> bool {
        let Some(stored) = existing.revision.as_ref() else {
            return false;
        };
        let same_spec_or_gone = existing.status == AssetStatus::Deleted
            || existing.spec_hash == self.pipeline.spec_hash();
        if let Some(order) = stored.compare_sequencer(revision) {
            return match order {
                Ordering::Greater => true,
                // The same write again: done, unless the spec changed since.
                Ordering::Equal => same_spec_or_gone,
                Ordering::Less => false,
            };
        }
        if let (Some(a), Some(b)) = (&stored.version_id, &revision.version_id) {
            return a == b && same_spec_or_gone;
        }
        match (&stored.etag, &revision.etag) {
            // Same bytes; but after a delete, equal bytes may be a new upload.
            (Some(a), Some(b)) => {
                a == b
                    && existing.status != AssetStatus::Deleted
                    && existing.spec_hash == self.pipeline.spec_hash()
            }
            _ => false,
        }
    }

    /// The source was deleted: removes its renditions and marks the record DELETED. Returns
    /// `None` when there is no record, or when the record reflects a later write of the source
    /// than `source.revision` (the delete is older than the upload that replaced it).
    pub async fn remove(&self, source: &SourceRef) -> Result<Option<Asset>, IngestError> {
        let id = AssetId::for_source(&source.identity);
        let Some(existing) = self.assets.get(&id).await? else {
            return Ok(None);
        };
        if existing.status == AssetStatus::Deleted {
            return Ok(None);
        }
        if let Some(revision) = &source.revision {
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
        if source.revision.is_some() {
            asset.revision = source.revision.clone();
        }
        // Files first: if a delete fails, the record still lists them and a retry finishes
        // the job; the other order could leave files behind that no record points to.
        for old in &existing.variants {
            self.blobs.delete(&old.key).await?;
        }
        self.assets
            .put(&asset, Expected::Version(existing.version))
            .await?;
        Ok(Some(asset))
    }

    /// A fresh record for `id` that keeps the identity fields of the previous one.
    fn next_record(&self, id: &AssetId, source: &SourceRef, existing: Option<&Asset>) -> Asset {
        let now = OffsetDateTime::now_utc();
        Asset {
            id: id.clone(),
            source: source.display.clone(),
            source_identity: source.identity.clone(),
            creator: source.creator.clone(),
            status: AssetStatus::Failed,
            error: None,
            sha256: None,
            source_bytes: None,
            image: None,
            variants: Vec::new(),
            timings: None,
            spec_hash: self.pipeline.spec_hash().to_string(),
            created_at: existing.map_or(now, |a| a.created_at),
            updated_at: now,
            version: existing.map_or(1, |a| a.version + 1),
            revision: source.revision.clone(),
            engine: Some(ENGINE.to_string()),
        }
    }

    /// Writes the record conditionally on the version read before processing, then removes
    /// renditions the previous record had and this one has not (a smaller spec, a failed
    /// re-upload), so no stale files stay behind.
    async fn write(&self, asset: Asset, previous: Option<&Asset>) -> Result<Outcome, IngestError> {
        let expected = previous.map_or(Expected::Absent, |p| Expected::Version(p.version));
        match self.assets.put(&asset, expected).await {
            Ok(()) => {}
            Err(StoreError::Conflict(what)) => {
                // Another worker wrote this asset meanwhile (a duplicate delivery). If it made
                // the same bytes under the same spec, the work is done; otherwise retry later.
                let current = self.assets.get(&asset.id).await?;
                return match current {
                    Some(c) if self.is_current(&c, asset.sha256.as_deref()) => {
                        Ok(Outcome::Unchanged(c))
                    }
                    _ => Err(StoreError::Conflict(what).into()),
                };
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(previous) = previous {
            for old in &previous.variants {
                if !asset.variants.iter().any(|v| v.key == old.key) {
                    self.blobs.delete(&old.key).await?;
                }
            }
        }
        Ok(Outcome::Written(asset))
    }

    /// Whether `asset` is READY from these exact bytes under the current spec.
    fn is_current(&self, asset: &Asset, sha256: Option<&str>) -> bool {
        asset.status == AssetStatus::Ready
            && sha256.is_some()
            && asset.sha256.as_deref() == sha256
            && asset.spec_hash == self.pipeline.spec_hash()
    }
}
