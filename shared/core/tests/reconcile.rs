//! The reconciler on the local adapters: every class of drift is found, counted, repaired,
//! and a second pass finds nothing; a dry run changes nothing.

mod common;

use common::place;
use pictor_core::app::reconcile::{ReconcileOptions, ReconcileReport, Reconciler};
use pictor_core::local::{FsBlobStore, FsOriginals, SqliteAssetStore};
use pictor_core::ports::{AssetStore, BlobStore};
use pictor_core::{AssetStatus, Converger, Intent, Pipeline, SourceLocation, Spec};
use std::sync::Arc;
use time::Duration;

const SMALL: &str = "[[variants]]\nname='sm'\nwidth=96\nformat='jpeg'\n[[variants]]\nname='md'\nwidth=160\nformat='webp'";

#[tokio::test]
async fn every_kind_of_drift_is_found_and_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let out = dir.path().join("out");
    let assets = Arc::new(SqliteAssetStore::open(&dir.path().join("assets.db")).unwrap());
    let blobs = FsBlobStore::new(&out);
    let converger = Converger::new(
        Arc::new(Pipeline::new(Spec::from_toml(SMALL).unwrap()).unwrap()),
        FsOriginals,
        FsBlobStore::new(&out),
        Arc::clone(&assets),
    );
    let root = SourceLocation::file(&inbox);

    // In step: ingested as it arrived.
    let fine = place(&inbox, "ana/fine.jpg", "photos/coffee.jpg");
    converger.ingest(&fine, Intent::Upload).await.unwrap();
    // Its notification lost: no record.
    let unrecorded = place(&inbox, "ana/unrecorded.jpg", "photos/rocket.jpg");
    // Deleted without a notification: a live record of nothing.
    let gone = place(&inbox, "bo/gone.jpg", "photos/rocket.jpg");
    converger.ingest(&gone, Intent::Upload).await.unwrap();
    std::fs::remove_file(inbox.join("bo/gone.jpg")).unwrap();
    // A rendition lost (a failed write the record did not notice): READY but broken.
    let broken = place(&inbox, "bo/broken.jpg", "photos/astronaut.jpg");
    let outcome = converger.ingest(&broken, Intent::Upload).await.unwrap();
    let lost = outcome.asset().unwrap().renditions[0].key.clone();
    blobs.delete(&lost).await.unwrap();
    // Left by a crash between a record write and the deletion of what it replaced.
    let orphan = "renditions/0123456789abcdef0123456789abcdef/sm-000000000000.jpg";
    blobs
        .put(orphan, vec![1, 2, 3], "image/jpeg")
        .await
        .unwrap();

    let expected = ReconcileReport {
        originals: 3,
        records: 3,
        unrecorded: 1,
        gone: 1,
        broken: 1,
        orphans: 1,
        ..ReconcileReport::default()
    };

    // A dry run counts, and changes nothing.
    let dry = ReconcileOptions {
        dry_run: true,
        grace: Duration::ZERO,
        repair_for: None,
    };
    let counted = Reconciler::new(&converger).run(&root, dry).await.unwrap();
    assert_eq!(
        counted,
        ReconcileReport {
            at: counted.at,
            dry_run: true,
            ..expected.clone()
        }
    );
    assert_eq!(assets.get(&unrecorded.asset_id()).await.unwrap(), None);
    assert!(blobs.head(orphan).await.unwrap().is_some());

    // Within the grace period an unreferenced rendition may belong to an ingest in flight.
    let young = ReconcileOptions {
        dry_run: true,
        grace: Duration::hours(1),
        repair_for: None,
    };
    let counted = Reconciler::new(&converger).run(&root, young).await.unwrap();
    assert_eq!((counted.orphans, counted.young_orphans), (0, 1));

    let options = ReconcileOptions {
        dry_run: false,
        grace: Duration::ZERO,
        repair_for: None,
    };
    let repaired = Reconciler::new(&converger)
        .run(&root, options)
        .await
        .unwrap();
    assert_eq!(
        repaired,
        ReconcileReport {
            at: repaired.at,
            repaired: 4,
            ..expected
        }
    );
    let status = |id| {
        let assets = Arc::clone(&assets);
        async move { assets.get(&id).await.unwrap().map(|a| a.status) }
    };
    assert_eq!(
        status(unrecorded.asset_id()).await,
        Some(AssetStatus::Ready)
    );
    let creator = assets.get(&unrecorded.asset_id()).await.unwrap().unwrap();
    assert_eq!(creator.creator.as_deref(), Some("ana"));
    assert_eq!(status(gone.asset_id()).await, Some(AssetStatus::Deleted));
    let remade = assets.get(&broken.asset_id()).await.unwrap().unwrap();
    for v in &remade.renditions {
        assert!(blobs.head(&v.key).await.unwrap().is_some(), "{}", v.key);
    }
    assert_eq!(blobs.head(orphan).await.unwrap(), None);
    assert_eq!(status(fine.asset_id()).await, Some(AssetStatus::Ready));

    // Converged: the next pass finds nothing.
    let again = Reconciler::new(&converger)
        .run(&root, options)
        .await
        .unwrap();
    assert_eq!(again.drift(), 0, "{again:?}");
    assert_eq!(again.repaired, 0);
}

/// A bucket listing of `n` originals no record knows of (their notifications lost), as a
/// large deployment's backlog; nothing is read from it in this test.
struct Backlog(usize);

#[async_trait::async_trait]
impl pictor_core::ports::OriginalStore for Backlog {
    async fn list(
        &self,
        _root: &SourceLocation,
    ) -> Result<Vec<pictor_core::ports::ListedOriginal>, pictor_core::ports::StoreError> {
        Ok((0..self.0)
            .map(|n| pictor_core::ports::ListedOriginal {
                location: SourceLocation::s3("up", format!("uploads/creator{}/{n}.jpg", n % 97)),
                state: pictor_core::ports::OriginalState::default(),
            })
            .collect())
    }
    async fn head(
        &self,
        _location: &SourceLocation,
    ) -> Result<Option<pictor_core::ports::OriginalState>, pictor_core::ports::ReadError> {
        Ok(None)
    }
    async fn read(
        &self,
        _location: &SourceLocation,
        _limit: u64,
    ) -> Result<pictor_core::ports::Original, pictor_core::ports::ReadError> {
        Err(pictor_core::ports::ReadError::NotFound)
    }
}

/// Records what a pass hands off.
#[derive(Default)]
struct Handoff(std::sync::Mutex<Vec<usize>>, std::sync::Mutex<usize>);

#[async_trait::async_trait]
impl pictor_core::ports::RepairHandoff for Handoff {
    async fn hand_off(
        &self,
        repairs: &[pictor_core::ports::Repair],
    ) -> Result<(), pictor_core::ports::StoreError> {
        self.0.lock().unwrap().push(repairs.len());
        *self.1.lock().unwrap() += repairs.iter().filter(|r| r.redo).count();
        Ok(())
    }
}

/// A backlog of 100,000 unrecorded uploads and 2,500 orphans, with no time left for repairs
/// in the pass: every difference is handed off in chunks, the orphans are still deleted, and
/// the counts say so.
#[tokio::test]
async fn a_backlog_beyond_the_pass_is_handed_off_and_the_orphans_still_go() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let blobs = FsBlobStore::new(&out);
    for n in 0..2_500 {
        let key = format!("renditions/{:032x}/sm-{n:012x}-00000000.jpg", n);
        blobs.put(&key, vec![1], "image/jpeg").await.unwrap();
    }
    let handoff = Arc::new(Handoff::default());
    let converger = Converger::new(
        Arc::new(Pipeline::new(Spec::from_toml(SMALL).unwrap()).unwrap()),
        Backlog(100_000),
        FsBlobStore::new(&out),
        Arc::new(SqliteAssetStore::open(&dir.path().join("assets.db")).unwrap()),
    );
    let options = ReconcileOptions {
        dry_run: false,
        grace: Duration::ZERO,
        repair_for: Some(std::time::Duration::ZERO),
    };
    let root = SourceLocation::s3("up", "uploads/");
    let report = Reconciler::new(&converger)
        .with_handoff(Arc::clone(&handoff) as Arc<dyn pictor_core::ports::RepairHandoff>)
        .run(&root, options)
        .await
        .unwrap();
    assert_eq!(report.originals, 100_000);
    assert_eq!(report.unrecorded, 100_000);
    assert_eq!(report.handed_off, 100_000);
    assert_eq!(report.deferred, 0);
    assert_eq!(report.orphans, 2_500);
    assert_eq!(report.repaired, 2_500, "the orphans were deleted");
    assert_eq!(report.failed, 0);
    let chunks = handoff.0.lock().unwrap().clone();
    assert_eq!(chunks.iter().sum::<usize>(), 100_000);
    assert!(chunks.iter().all(|&c| c <= 500), "{chunks:?}");
    assert_eq!(
        *handoff.1.lock().unwrap(),
        0,
        "uploads, not repairs of renditions"
    );
    assert!(blobs.list("renditions/").await.unwrap().is_empty());

    // Without a handoff, what the pass has no time for waits for the next one.
    let alone = Converger::new(
        Arc::new(Pipeline::new(Spec::from_toml(SMALL).unwrap()).unwrap()),
        Backlog(1_000),
        FsBlobStore::new(&out),
        Arc::new(SqliteAssetStore::open(&dir.path().join("other.db")).unwrap()),
    );
    let report = Reconciler::new(&alone).run(&root, options).await.unwrap();
    assert_eq!(report.deferred, 1_000);
    assert_eq!(report.handed_off, 0);
}
