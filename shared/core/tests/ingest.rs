//! The ingest use case on the local adapters: one record per original, idempotent re-runs,
//! replacement on a new upload, cleanup of stale renditions, duplicate concurrent delivery,
//! repeated and late notifications, missing originals, and reprocessing.

mod common;

use common::place;
use pictor_core::local::{FsBlobStore, FsOriginals, SqliteAssetStore};
use pictor_core::ports::{
    AssetStore, BlobStore, ListedOriginal, Original, OriginalState, OriginalStore, ReadError,
    StoreError,
};
use pictor_core::{
    AssetStatus, Converger, ErrorKind, Intent, Outcome, Pipeline, Revision, SourceLocation, Spec,
    Upload,
};
use std::path::Path;
use std::sync::Arc;

type LocalIngestor = Converger<FsOriginals, FsBlobStore, Arc<SqliteAssetStore>>;

struct Local {
    ingest: LocalIngestor,
    blobs: FsBlobStore,
    assets: Arc<SqliteAssetStore>,
}

fn local(dir: &Path, spec: Spec) -> Local {
    let assets = Arc::new(SqliteAssetStore::open(&dir.join("assets.db")).unwrap());
    let out = dir.join("out");
    Local {
        ingest: Converger::new(
            Arc::new(Pipeline::new(spec).unwrap()),
            FsOriginals,
            FsBlobStore::new(&out),
            Arc::clone(&assets),
        ),
        blobs: FsBlobStore::new(&out),
        assets,
    }
}

fn by_ana(upload: Upload) -> Upload {
    upload.with_creator(Some("ana".into()))
}

fn sequenced(upload: Upload, sequencer: &str) -> Upload {
    upload.with_revision(Some(Revision {
        sequencer: Some(sequencer.into()),
        ..Revision::default()
    }))
}

#[tokio::test]
async fn one_record_per_source_updated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());
    let inbox = dir.path().join("inbox");
    let upload = by_ana(place(&inbox, "photo.jpg", "photos/coffee.jpg"));

    let first = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    let Outcome::Written(asset) = &first else {
        panic!("expected a write")
    };
    assert_eq!(asset.status, AssetStatus::Ready);
    assert_eq!(asset.version, 1);
    assert_eq!(asset.creator.as_deref(), Some("ana"));
    assert_eq!(asset.source, "photo.jpg");
    assert_eq!(asset.renditions.len(), 8);
    assert!(asset.sha256.is_some());
    for v in &asset.renditions {
        let meta = l
            .blobs
            .head(&v.key)
            .await
            .unwrap()
            .expect("rendition stored");
        assert_eq!(meta.size, v.bytes);
    }
    let stored = l.assets.get(&asset.id).await.unwrap().unwrap();
    assert_eq!(&stored, asset);

    // Same bytes, same spec: nothing is redone.
    let again = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    assert!(matches!(&again, Outcome::Unchanged(a) if a.version == 1));

    // A new upload to the same place replaces the asset, same id.
    let upload = by_ana(place(&inbox, "photo.jpg", "photos/rocket.jpg"));
    let replaced = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    let replaced = replaced.asset().unwrap();
    assert_eq!(replaced.id, asset.id);
    assert_eq!(replaced.version, 2);
    assert_eq!(replaced.created_at, asset.created_at);
    assert_eq!(replaced.image.as_ref().map(|i| i.width), Some(640));
    assert_ne!(replaced.sha256, asset.sha256);

    // A broken re-upload fails the asset and takes the old renditions with it.
    let upload = by_ana(place(&inbox, "photo.jpg", "hostile/truncated.jpg"));
    let broken = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    let broken = broken.asset().unwrap();
    assert_eq!(broken.status, AssetStatus::Failed);
    assert_eq!(
        broken.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Corrupt)
    );
    assert!(broken.sha256.is_some(), "the bytes were read");
    assert_eq!(broken.version, 3);
    assert!(broken.renditions.is_empty());
    let left = l
        .blobs
        .list(&format!("renditions/{}/", asset.id))
        .await
        .unwrap();
    assert!(left.is_empty(), "stale renditions left: {left:?}");
}

#[tokio::test]
async fn a_smaller_spec_removes_renditions_it_no_longer_makes() {
    let dir = tempfile::tempdir().unwrap();
    let upload = place(dir.path(), "a.jpg", "photos/coffee.jpg");
    let full = local(dir.path(), Spec::default());
    let asset = full
        .ingest
        .ingest(&upload, Intent::Upload)
        .await
        .unwrap()
        .asset()
        .cloned()
        .unwrap();
    drop(full);
    let small = Spec::from_toml("[[variants]]\nname='md'\nwidth=512\nformat='webp'").unwrap();
    let l = local(dir.path(), small);
    let redone = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    let Outcome::Written(redone) = redone else {
        panic!("a changed spec must reprocess")
    };
    assert_ne!(redone.spec_hash, asset.spec_hash);
    let keys: Vec<String> = l
        .blobs
        .list(&format!("renditions/{}/", asset.id))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(redone.renditions.len(), 1);
    let md = &redone.renditions[0];
    assert!(md.key.starts_with(&format!("renditions/{}/md-", asset.id)));
    assert!(md.key.ends_with(".webp"));
    assert_eq!(keys, std::slice::from_ref(&md.key));
}

#[tokio::test]
async fn duplicate_concurrent_delivery_makes_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());
    let upload = place(dir.path(), "dup.jpg", "photos/astronaut.jpg");
    let (a, b) = tokio::join!(
        l.ingest.ingest(&upload, Intent::Upload),
        l.ingest.ingest(&upload, Intent::Upload),
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    let written = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Written(_)))
        .count();
    assert!(written >= 1);
    let id = outcomes[0].asset_id().clone();
    let stored = l.assets.get(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, AssetStatus::Ready);
    assert_eq!(
        stored.version as usize, written,
        "each write is one version, no lost update"
    );
    let blobs = l.blobs.list("renditions/").await.unwrap();
    assert_eq!(blobs.len(), 8);
}

#[tokio::test]
async fn gone_originals_are_tombstoned_and_unreadable_ones_failed() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());

    // Gone before anything was recorded: a tombstone, not a failure.
    let gone = Upload::new(SourceLocation::file(&dir.path().join("gone.jpg")));
    let outcome = l.ingest.ingest(&gone, Intent::Upload).await.unwrap();
    let Outcome::Deleted(asset) = &outcome else {
        panic!("a tombstone expected: {outcome:?}")
    };
    assert_eq!(asset.status, AssetStatus::Deleted);
    assert_eq!(asset.error, None);
    assert_eq!(l.assets.get(&asset.id).await.unwrap().as_ref(), Some(asset));

    let folder = Upload::new(pictor_core::SourceLocation::file(dir.path()));
    let outcome = l.ingest.ingest(&folder, Intent::Upload).await.unwrap();
    let error = outcome.asset().unwrap().error.clone().unwrap();
    assert_eq!(error.kind, ErrorKind::Unsupported, "{error}");

    // Over the limit by the size the store reports: refused without a read.
    let small = Spec::from_toml("[limits]\nmax_file_bytes = 1000").unwrap();
    let l = local(dir.path(), small);
    let big = place(dir.path(), "big.jpg", "photos/coffee.jpg");
    let size = std::fs::metadata(dir.path().join("big.jpg")).unwrap().len();
    let outcome = l.ingest.ingest(&big, Intent::Upload).await.unwrap();
    let error = outcome.asset().unwrap().error.clone().unwrap();
    assert_eq!(error.kind, ErrorKind::TooLarge);
    assert!(error.message.contains(&size.to_string()), "{error}");
}

#[tokio::test]
async fn repeated_and_late_notifications_do_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());
    let upload = place(dir.path(), "a.jpg", "photos/coffee.jpg");

    let first = l
        .ingest
        .ingest(&sequenced(upload.clone(), "0A"), Intent::Upload)
        .await
        .unwrap();
    assert!(matches!(first, Outcome::Written(_)));
    // The same write again, and an older one: nothing is read, even after the file changed.
    place(dir.path(), "a.jpg", "photos/rocket.jpg");
    for sequencer in ["0A", "09"] {
        let outcome = l
            .ingest
            .ingest(&sequenced(upload.clone(), sequencer), Intent::Upload)
            .await
            .unwrap();
        assert!(
            matches!(&outcome, Outcome::Repeat(a) if a.version == 1),
            "{sequencer}: {outcome:?}"
        );
    }
    // A later write is processed.
    let later = l
        .ingest
        .ingest(&sequenced(upload.clone(), "0B"), Intent::Upload)
        .await
        .unwrap();
    assert_eq!(
        later.asset().unwrap().image.as_ref().map(|i| i.width),
        Some(640)
    );

    // Removed: the removal's notification tombstones the asset and removes its renditions;
    // a late notification of the last write, or the removal again, finds it DELETED.
    std::fs::remove_file(dir.path().join("a.jpg")).unwrap();
    let removal = l
        .ingest
        .ingest(&sequenced(upload.clone(), "0C"), Intent::Upload)
        .await
        .unwrap();
    let Outcome::Deleted(deleted) = removal else {
        panic!("a tombstone expected: {removal:?}")
    };
    assert!(deleted.renditions.is_empty());
    assert!(l.blobs.list("renditions/").await.unwrap().is_empty());
    for again in [upload.clone(), sequenced(upload.clone(), "0D")] {
        let late = l.ingest.ingest(&again, Intent::Upload).await.unwrap();
        assert!(matches!(late, Outcome::AlreadyDeleted(_)), "{late:?}");
    }
}

/// The creator's file name kept with the original is the record's display name, shown in
/// the asset's JSON; it belongs to that write, and a tombstone forgets it.
#[tokio::test]
async fn the_display_name_kept_with_an_original_is_the_records_until_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());
    let upload = by_ana(place(dir.path(), "ana/4f1c.jpg", "photos/coffee.jpg"));
    let path = dir.path().join("ana/4f1c.jpg");
    let name_file = pictor_core::local::name_file(&path).unwrap();
    std::fs::write(&name_file, "Summer in Porto.JPG").unwrap();

    let made = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    let asset = made.asset().unwrap();
    assert_eq!(asset.status, AssetStatus::Ready);
    assert_eq!(asset.name.as_deref(), Some("Summer in Porto.JPG"));
    let json = pictor_core::domain::asset_json::asset_json(asset);
    assert_eq!(json["name"], "Summer in Porto.JPG");
    assert_eq!(json["source"], "ana/4f1c.jpg", "the key stays the source");

    // A new write to the same place without a name is not shown under the old one.
    std::fs::remove_file(&name_file).unwrap();
    place(dir.path(), "ana/4f1c.jpg", "photos/rocket.jpg");
    let replaced = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    assert_eq!(replaced.asset().unwrap().name, None);

    std::fs::write(&name_file, "Rocket.png").unwrap();
    place(dir.path(), "ana/4f1c.jpg", "photos/astronaut.jpg");
    let named = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    assert_eq!(named.asset().unwrap().name.as_deref(), Some("Rocket.png"));

    std::fs::remove_file(&path).unwrap();
    let removal = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    let Outcome::Deleted(tombstone) = removal else {
        panic!("a tombstone expected: {removal:?}")
    };
    assert_eq!(tombstone.name, None);
    assert!(pictor_core::domain::asset_json::asset_json(&tombstone)["name"].is_null());
}

/// What another worker does while an ingest reads an original, given its location.
type Meanwhile =
    Box<dyn Fn(SourceLocation) -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

/// Reads originals from the file system, and lets another worker act on each one after it is
/// read and before the bytes are handed over: an ingest racing what happened meanwhile.
struct ChangedWhileRead {
    meanwhile: Meanwhile,
}

#[async_trait::async_trait]
impl OriginalStore for ChangedWhileRead {
    async fn list(&self, root: &SourceLocation) -> Result<Vec<ListedOriginal>, StoreError> {
        FsOriginals.list(root).await
    }

    async fn head(&self, location: &SourceLocation) -> Result<Option<OriginalState>, ReadError> {
        FsOriginals.head(location).await
    }

    async fn read(&self, location: &SourceLocation, limit: u64) -> Result<Original, ReadError> {
        let original = FsOriginals.read(location, limit).await?;
        (self.meanwhile)(location.clone()).await;
        Ok(original)
    }
}

/// The original is deleted and another worker ingests the removal.
fn deleted_by(other_worker: LocalIngestor) -> ChangedWhileRead {
    let other_worker = Arc::new(other_worker);
    ChangedWhileRead {
        meanwhile: Box::new(move |location| {
            let other_worker = Arc::clone(&other_worker);
            Box::pin(async move {
                let SourceLocation::File(path) = &location else {
                    panic!("a local file expected")
                };
                std::fs::remove_file(path).unwrap();
                let removal = other_worker
                    .ingest(&Upload::new(location.clone()), Intent::Upload)
                    .await
                    .unwrap();
                assert!(matches!(removal, Outcome::Deleted(_)), "{removal:?}");
            })
        }),
    }
}

/// Another worker sets the asset's focal point by hand (`PUT /assets/{id}/focus`).
fn refocused_by(other_worker: LocalIngestor) -> ChangedWhileRead {
    use pictor_core::ports::Refocus;
    let other_worker = Arc::new(other_worker);
    ChangedWhileRead {
        meanwhile: Box::new(move |location| {
            let other_worker = Arc::clone(&other_worker);
            Box::pin(async move {
                let id = Upload::new(location).asset_id();
                let point = pictor_image::pipeline::FocalPoint::new(0.0, 0.5).unwrap();
                other_worker.refocus(&id, point).await.unwrap();
            })
        }),
    }
}

#[tokio::test]
async fn an_ingest_that_read_a_deleted_original_cannot_bring_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());
    let upload = place(dir.path(), "a.jpg", "photos/coffee.jpg");
    let racing = Converger::new(
        Arc::new(Pipeline::new(Spec::default()).unwrap()),
        deleted_by(l.ingest),
        FsBlobStore::new(dir.path().join("out")),
        Arc::clone(&l.assets),
    );
    let lost = racing.ingest(&upload, Intent::Upload).await;
    let error = lost.expect_err("the tombstone must win");
    assert!(error.is_transient(), "{error}");
    let stored = l.assets.get(&upload.asset_id()).await.unwrap().unwrap();
    assert_eq!(stored.status, AssetStatus::Deleted);
    // What the losing ingest uploaded went with it.
    assert!(l.blobs.list("renditions/").await.unwrap().is_empty());
    // Its retry converges to the tombstone.
    let retry = racing.ingest(&upload, Intent::Upload).await.unwrap();
    assert!(matches!(retry, Outcome::AlreadyDeleted(_)), "{retry:?}");
}

#[tokio::test]
async fn an_ingest_that_loses_to_a_focal_point_leaves_no_crops_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());
    let upload = place(dir.path(), "a.jpg", "photos/coffee.jpg");
    l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    let racing = Converger::new(
        Arc::new(Pipeline::new(Spec::default()).unwrap()),
        refocused_by(l.ingest),
        FsBlobStore::new(dir.path().join("out")),
        Arc::clone(&l.assets),
    );
    let lost = racing.ingest(&upload, Intent::Repair).await.unwrap();
    assert!(matches!(lost, Outcome::Unchanged(_)), "{lost:?}");
    let stored = l.assets.get(&upload.asset_id()).await.unwrap().unwrap();
    let focus = stored.image.as_ref().and_then(|i| i.focus).unwrap();
    assert_eq!(focus.origin, pictor_image::pipeline::FocusOrigin::Manual);
    // Exactly the files the record names: the losing ingest's centred crops went with it.
    let mut files: Vec<String> = l
        .blobs
        .list("renditions/")
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.key)
        .collect();
    let mut named: Vec<String> = stored.renditions.iter().map(|v| v.key.clone()).collect();
    files.sort();
    named.sort();
    named.dedup();
    assert_eq!(files, named);
}

/// Stores renditions on the file system, and lets another worker act just before the first
/// delete: a writer deleting on a view of the record that went stale meanwhile.
struct ChangedBeforeDelete {
    files: FsBlobStore,
    meanwhile: std::sync::Mutex<Option<futures::future::BoxFuture<'static, ()>>>,
}

#[async_trait::async_trait]
impl BlobStore for ChangedBeforeDelete {
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.files.get(key).await
    }
    async fn head(&self, key: &str) -> Result<Option<pictor_core::ports::BlobMeta>, StoreError> {
        self.files.head(key).await
    }
    async fn put(&self, key: &str, data: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.files.put(key, data, content_type).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<pictor_core::ports::BlobMeta>, StoreError> {
        self.files.list(prefix).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let pending = self.meanwhile.lock().unwrap().take();
        if let Some(work) = pending {
            work.await;
        }
        self.files.delete(key).await
    }
}

fn worker_on(dir: &Path, assets: &Arc<SqliteAssetStore>) -> LocalIngestor {
    Converger::new(
        Arc::new(Pipeline::new(Spec::default()).unwrap()),
        FsOriginals,
        FsBlobStore::new(dir.join("out")),
        Arc::clone(assets),
    )
}

/// A slow ingest B of the same bytes as a newer ingest C: B loses to a tombstone, and C (the
/// bytes restored) writes its record between B's look at the tombstone and B's cleanup. What
/// B deletes must not be what C's record lists.
#[tokio::test]
async fn a_losing_writer_never_deletes_what_a_newer_writer_of_the_same_bytes_listed() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());
    let upload = place(dir.path(), "a.jpg", "photos/coffee.jpg");
    let newer = worker_on(dir.path(), &l.assets);
    let restore_path = dir.path().join("a.jpg");
    let restore_upload = upload.clone();
    let slow = Converger::new(
        Arc::new(Pipeline::new(Spec::default()).unwrap()),
        deleted_by(worker_on(dir.path(), &l.assets)),
        ChangedBeforeDelete {
            files: FsBlobStore::new(dir.path().join("out")),
            meanwhile: std::sync::Mutex::new(Some(Box::pin(async move {
                std::fs::write(&restore_path, common::fixture("photos/coffee.jpg")).unwrap();
                let made = newer.ingest(&restore_upload, Intent::Upload).await.unwrap();
                assert!(made.is_ready(), "{made:?}");
            }))),
        },
        Arc::clone(&l.assets),
    );
    let lost = slow.ingest(&upload, Intent::Upload).await;
    assert!(lost.expect_err("the tombstone won").is_transient());

    let stored = l.assets.get(&upload.asset_id()).await.unwrap().unwrap();
    assert_eq!(stored.status, AssetStatus::Ready);
    for v in &stored.renditions {
        assert!(
            l.blobs.head(&v.key).await.unwrap().is_some(),
            "{} is gone",
            v.key
        );
    }
    // Nothing of the loser's stays behind either.
    let files = l.blobs.list("renditions/").await.unwrap();
    assert_eq!(files.len(), stored.renditions.len(), "{files:?}");
    // B's retry converges to C's record.
    let retry = slow.ingest(&upload, Intent::Upload).await.unwrap();
    assert!(retry.is_ready(), "{retry:?}");
}

/// The last allowed attempt failed: a FAILED `transient` record says why, unless the record
/// already reflects the original as it stands.
#[tokio::test]
async fn giving_up_leaves_a_transient_failure() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());
    let upload = place(dir.path(), "a.jpg", "photos/coffee.jpg");
    let outcome = l.ingest.give_up(&upload, "timed out").await.unwrap();
    let error = outcome.asset().and_then(|a| a.error.clone()).unwrap();
    assert_eq!(error.kind, ErrorKind::Transient);
    assert!(error.message.contains("timed out"), "{error}");
    // A transient failure is not settled: the next notification processes the upload.
    let redone = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    assert!(redone.is_ready(), "{redone:?}");
}

/// S3 sends the same sequencer on every delivery of one notification. The mark left before
/// the last allowed delivery, or the give-up of a delivery that failed, must not make that
/// notification (its attempt, or its redrive from the dead-letter queue) look done.
#[tokio::test]
async fn a_last_attempt_and_a_redrive_with_the_notifications_sequencer_are_processed() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());
    let upload = sequenced(
        place(dir.path(), "a.jpg", "photos/coffee.jpg"),
        "0055AED6DCD90281E5",
    );

    let marked = l
        .ingest
        .mark_last_attempt(&upload, "in progress")
        .await
        .unwrap();
    let marked = marked.asset().unwrap();
    assert_eq!(marked.status, AssetStatus::Failed);
    assert_eq!(
        marked.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Transient)
    );
    let attempt = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    assert!(
        attempt.is_ready(),
        "the last attempt succeeded: {attempt:?}"
    );

    // The next write's last delivery failed; its dead letter is redriven later, unchanged.
    let next = sequenced(
        place(dir.path(), "a.jpg", "photos/rocket.jpg"),
        "0055AED6DCD90281E6",
    );
    let gave_up = l.ingest.give_up(&next, "throttled").await.unwrap();
    assert_eq!(gave_up.asset().unwrap().status, AssetStatus::Failed);
    let redriven = l.ingest.ingest(&next, Intent::Upload).await.unwrap();
    assert!(redriven.is_ready(), "the redrive converged: {redriven:?}");
    assert_eq!(
        redriven.asset().unwrap().image.as_ref().map(|i| i.width),
        Some(640)
    );
    // And once READY, the same notification again is a repeat, read from nothing.
    let again = l.ingest.ingest(&next, Intent::Upload).await.unwrap();
    assert!(matches!(again, Outcome::Repeat(_)), "{again:?}");
}

/// The mark before a last attempt leaves a READY record of an earlier write alone: its
/// renditions keep serving until the attempt replaces them.
#[tokio::test]
async fn the_mark_before_a_last_attempt_keeps_an_earlier_ready_record_and_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());
    let first = sequenced(place(dir.path(), "a.jpg", "photos/coffee.jpg"), "0A");
    let ready = l.ingest.ingest(&first, Intent::Upload).await.unwrap();
    let ready = ready.asset().unwrap().clone();

    let second = sequenced(place(dir.path(), "a.jpg", "photos/rocket.jpg"), "0B");
    let marked = l
        .ingest
        .mark_last_attempt(&second, "in progress")
        .await
        .unwrap();
    assert!(
        matches!(&marked, Outcome::Repeat(a) if a.version == ready.version),
        "{marked:?}"
    );
    let stored = l.assets.get(&ready.id).await.unwrap().unwrap();
    assert_eq!(stored.status, AssetStatus::Ready);
    for v in &ready.renditions {
        assert!(
            l.blobs.head(&v.key).await.unwrap().is_some(),
            "{} kept",
            v.key
        );
    }
    let attempt = l.ingest.ingest(&second, Intent::Upload).await.unwrap();
    assert!(attempt.is_ready(), "{attempt:?}");
    assert_ne!(attempt.asset().unwrap().sha256, ready.sha256);
}

#[tokio::test]
async fn reprocess_reads_only_what_needs_work_and_keeps_records_of_missing_originals() {
    let dir = tempfile::tempdir().unwrap();
    let l = local(dir.path(), Spec::default());
    let upload = by_ana(place(dir.path(), "a.jpg", "photos/coffee.jpg"));
    let first = l.ingest.ingest(&upload, Intent::Upload).await.unwrap();
    let first = first.asset().unwrap().clone();

    // Current under this spec: nothing to do, nothing read.
    let same = l
        .ingest
        .ingest(&Upload::new(upload.location.clone()), Intent::Reprocess)
        .await
        .unwrap();
    assert!(matches!(same, Outcome::UpToDate(_)), "{same:?}");

    // A new spec: processed again, keeping the record's creator and display name.
    let small = Spec::from_toml("[[variants]]\nname='md'\nwidth=512\nformat='webp'").unwrap();
    let l2 = local(dir.path(), small);
    let redone = l2
        .ingest
        .ingest(&Upload::new(upload.location.clone()), Intent::Reprocess)
        .await
        .unwrap();
    let redone = redone.asset().unwrap();
    assert_eq!(redone.creator.as_deref(), Some("ana"));
    assert_eq!(redone.source, "a.jpg");
    assert_eq!(redone.renditions.len(), 1);

    // Back to the default spec, but the original is gone: the record stays as it was.
    std::fs::remove_file(dir.path().join("a.jpg")).unwrap();
    let missing = l
        .ingest
        .ingest(&Upload::new(upload.location.clone()), Intent::Reprocess)
        .await
        .unwrap();
    assert_eq!(missing, Outcome::SourceMissing(first.id.clone()));
    let kept = l.assets.get(&first.id).await.unwrap().unwrap();
    assert_eq!(&kept, redone);
}

/// A bus that refuses while `down` is set, and keeps what it was given.
#[derive(Default)]
struct FlakyBus {
    down: std::sync::atomic::AtomicBool,
    seen: std::sync::Mutex<Vec<(String, String, u64)>>,
}

#[async_trait::async_trait]
impl pictor_core::ports::EventSink for FlakyBus {
    async fn announce(
        &self,
        event: &pictor_core::domain::events::AssetEvent,
    ) -> Result<(), StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("bus down".into()));
        }
        self.seen.lock().unwrap().push((
            event.kind.as_str().to_string(),
            event.detail["id"].as_str().unwrap().to_string(),
            event.detail["version"].as_u64().unwrap(),
        ));
        Ok(())
    }
}

#[tokio::test]
async fn a_failed_publish_keeps_the_record_and_the_event_follows_on_retry_or_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let bus = Arc::new(FlakyBus::default());
    let Local { ingest, assets, .. } = local(dir.path(), Spec::default());
    let ingest = ingest.with_events(Arc::clone(&bus) as Arc<dyn pictor_core::ports::EventSink>);
    let inbox = dir.path().join("inbox");

    bus.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let upload = place(&inbox, "ana/a.jpg", "photos/coffee.jpg");
    let err = ingest.ingest(&upload, Intent::Upload).await.unwrap_err();
    assert!(err.is_transient(), "a failed publish is retried: {err}");
    let id = upload.asset_id();
    let record = assets.get(&id).await.unwrap().expect("the record is kept");
    assert_eq!(record.status, AssetStatus::Ready);
    assert_ne!(record.announced, Some(record.version));

    // The retry finds the record done and publishes its event.
    bus.down.store(false, std::sync::atomic::Ordering::SeqCst);
    let again = ingest.ingest(&upload, Intent::Upload).await.unwrap();
    assert!(
        matches!(again, Outcome::Repeat(_) | Outcome::Unchanged(_)),
        "{again:?}"
    );
    let announced = assets.get(&id).await.unwrap().unwrap();
    assert_eq!(announced.announced, Some(announced.version));
    assert_eq!(
        bus.seen.lock().unwrap().as_slice(),
        [("AssetReady".to_string(), id.to_string(), record.version)]
    );
    // Once out, a repeat publishes nothing more.
    ingest.ingest(&upload, Intent::Upload).await.unwrap();
    assert_eq!(bus.seen.lock().unwrap().len(), 1);

    // A publish lost for good (the bus down through every retry) is found by the reconciler.
    bus.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let other = place(&inbox, "ana/b.jpg", "photos/rocket.jpg");
    assert!(ingest.ingest(&other, Intent::Upload).await.is_err());
    bus.down.store(false, std::sync::atomic::Ordering::SeqCst);
    let root = SourceLocation::File(inbox.canonicalize().unwrap());
    let report = pictor_core::app::reconcile::Reconciler::new(&ingest)
        .run(
            &root,
            pictor_core::app::reconcile::ReconcileOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(report.unannounced, 1, "{report:?}");
    assert_eq!(report.failed, 0);
    let seen = bus.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].1, other.asset_id().to_string());

    // A record from before events existed owes none: an upgrade does not replay history.
    let mut legacy = assets.get(&id).await.unwrap().unwrap();
    legacy.announced = None;
    assets
        .put(
            &legacy,
            pictor_core::ports::Expected::Version(legacy.version),
        )
        .await
        .unwrap();
    let report = pictor_core::app::reconcile::Reconciler::new(&ingest)
        .run(
            &root,
            pictor_core::app::reconcile::ReconcileOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(report.unannounced, 0, "{report:?}");
    ingest.ingest(&upload, Intent::Upload).await.unwrap();
    assert_eq!(bus.seen.lock().unwrap().len(), 2);
}
