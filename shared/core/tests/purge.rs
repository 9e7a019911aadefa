//! Deleted means gone from the CDN: a tombstone lists the renditions it removed until the CDN
//! has been asked to drop them, a failed request leaves them listed, and the reconciler
//! finishes what a purge did not.

mod common;

use common::place;
use pictor_core::app::purge::purge_cdn;
use pictor_core::app::reconcile::{ReconcileOptions, Reconciler};
use pictor_core::local::{FsBlobStore, FsOriginals, SqliteAssetStore};
use pictor_core::ports::{AssetStore, CdnPurge, StoreError};
use pictor_core::{AssetStatus, Converger, Intent, Outcome, Pipeline, SourceLocation, Spec};
use std::sync::{Arc, Mutex};

/// A CDN that records what it was asked to drop, or refuses while `down`.
#[derive(Default)]
struct RecordingCdn {
    requests: Mutex<Vec<Vec<String>>>,
    down: Mutex<bool>,
}

#[async_trait::async_trait]
impl CdnPurge for RecordingCdn {
    async fn invalidate(&self, keys: &[String]) -> Result<(), StoreError> {
        if *self.down.lock().unwrap() {
            return Err(StoreError::Unavailable("throttled".into()));
        }
        self.requests.lock().unwrap().push(keys.to_vec());
        Ok(())
    }
}

type LocalIngestor = Converger<FsOriginals, FsBlobStore, Arc<SqliteAssetStore>>;

/// The ingest use case on the local adapters, with a CDN in front of the renditions.
fn with_cdn(
    dir: &std::path::Path,
    assets: &Arc<SqliteAssetStore>,
    cdn: &Arc<RecordingCdn>,
) -> LocalIngestor {
    Converger::new(
        Arc::new(Pipeline::new(Spec::default()).unwrap()),
        FsOriginals,
        FsBlobStore::new(dir.join("out")),
        Arc::clone(assets),
    )
    .with_cdn(Arc::clone(cdn) as Arc<dyn CdnPurge>)
}

#[tokio::test]
async fn a_deletion_owes_its_renditions_to_the_cdn_until_they_are_purged() {
    let dir = tempfile::tempdir().unwrap();
    let assets = Arc::new(SqliteAssetStore::open(&dir.path().join("assets.db")).unwrap());
    let cdn = Arc::new(RecordingCdn::default());
    let converger = with_cdn(dir.path(), &assets, &cdn);
    let inbox = dir.path().join("inbox");
    let a = place(&inbox, "a.jpg", "photos/coffee.jpg");
    let b = place(&inbox, "b.jpg", "photos/rocket.jpg");
    let mut made = Vec::new();
    for upload in [&a, &b] {
        let outcome = converger.ingest(upload, Intent::Upload).await.unwrap();
        made.push(outcome.asset().unwrap().clone());
        std::fs::remove_file(match &upload.location {
            SourceLocation::File(path) => path,
            other => panic!("{other}"),
        })
        .unwrap();
        let gone = converger.ingest(upload, Intent::Upload).await.unwrap();
        let Outcome::Deleted(tombstone) = gone else {
            panic!("{gone:?}")
        };
        let listed: Vec<&String> = made
            .last()
            .unwrap()
            .renditions
            .iter()
            .map(|v| &v.key)
            .collect();
        assert_eq!(tombstone.cdn_purge.iter().collect::<Vec<_>>(), listed);
    }

    // The CDN refuses: nothing is cleared.
    *cdn.down.lock().unwrap() = true;
    let ids = [a.asset_id(), b.asset_id()];
    assert!(purge_cdn(assets.as_ref(), cdn.as_ref(), &ids)
        .await
        .is_err());
    assert!(!assets
        .get(&ids[0])
        .await
        .unwrap()
        .unwrap()
        .cdn_purge
        .is_empty());

    // Back: both assets' renditions in one request, then nothing owed.
    *cdn.down.lock().unwrap() = false;
    let done = purge_cdn(assets.as_ref(), cdn.as_ref(), &ids)
        .await
        .unwrap();
    assert_eq!(done.assets, 2);
    let requests = cdn.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "one request for the batch");
    let mut expected: Vec<String> = made
        .iter()
        .flat_map(|m| m.renditions.iter().map(|v| v.key.clone()))
        .collect();
    expected.sort();
    assert_eq!(requests[0], expected);
    for id in &ids {
        let record = assets.get(id).await.unwrap().unwrap();
        assert_eq!(record.status, AssetStatus::Deleted);
        assert!(record.cdn_purge.is_empty());
    }
    // Nothing owed: no request at all.
    purge_cdn(assets.as_ref(), cdn.as_ref(), &ids)
        .await
        .unwrap();
    assert_eq!(cdn.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_reconciler_purges_what_a_failed_purge_left_owed() {
    let dir = tempfile::tempdir().unwrap();
    let assets = Arc::new(SqliteAssetStore::open(&dir.path().join("assets.db")).unwrap());
    let cdn = Arc::new(RecordingCdn::default());
    let converger = with_cdn(dir.path(), &assets, &cdn);
    let inbox = dir.path().join("inbox");
    let a = place(&inbox, "a.jpg", "photos/coffee.jpg");
    converger.ingest(&a, Intent::Upload).await.unwrap();
    std::fs::remove_file(inbox.join("a.jpg")).unwrap();
    converger.ingest(&a, Intent::Upload).await.unwrap();

    let root = SourceLocation::file(&inbox);
    let dry = ReconcileOptions {
        dry_run: true,
        ..ReconcileOptions::default()
    };
    let found = Reconciler::new(&converger).run(&root, dry).await.unwrap();
    assert_eq!(found.unpurged, 1);
    let pass = Reconciler::new(&converger)
        .run(&root, ReconcileOptions::default())
        .await
        .unwrap();
    assert_eq!(pass.failed, 0);
    assert_eq!(cdn.requests.lock().unwrap().len(), 1);
    let record = assets.get(&a.asset_id()).await.unwrap().unwrap();
    assert!(record.cdn_purge.is_empty());
    let again = Reconciler::new(&converger).run(&root, dry).await.unwrap();
    assert_eq!(again.unpurged, 0);
}
