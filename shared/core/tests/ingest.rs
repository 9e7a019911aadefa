//! The ingest use case on the local adapters: one record per source, idempotent re-runs,
//! replacement on a new upload, cleanup of stale renditions, and duplicate concurrent delivery.

mod common;

use common::fixture;
use pictor_core::ingest::Outcome;
use pictor_core::local::{FsBlobStore, SqliteAssetStore};
use pictor_core::ports::{AssetStore, BlobStore};
use pictor_core::{AssetStatus, ErrorKind, Ingestor, Pipeline, SourceRef, Spec};
use std::sync::Arc;

fn source(name: &str) -> SourceRef {
    SourceRef {
        identity: format!("test://inbox/{name}"),
        display: name.to_string(),
        creator: Some("ana".to_string()),
        revision: None,
    }
}

fn ingestor(dir: &std::path::Path, spec: Spec) -> Ingestor<FsBlobStore, SqliteAssetStore> {
    let assets = SqliteAssetStore::open(&dir.join("assets.db")).unwrap();
    Ingestor::new(
        Arc::new(Pipeline::new(spec).unwrap()),
        FsBlobStore::new(dir),
        assets,
    )
}

#[tokio::test]
async fn one_record_per_source_updated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = ingestor(dir.path(), Spec::default());
    let src = source("photo.jpg");

    let first = ingest
        .ingest(&src, fixture("photos/coffee.jpg"))
        .await
        .unwrap();
    let Outcome::Written(asset) = &first else {
        panic!("expected a write")
    };
    assert_eq!(asset.status, AssetStatus::Ready);
    assert_eq!(asset.version, 1);
    assert_eq!(asset.variants.len(), 8);
    for v in &asset.variants {
        let meta = ingest
            .blobs()
            .head(&v.key)
            .await
            .unwrap()
            .expect("rendition stored");
        assert_eq!(meta.size, v.bytes);
    }
    let stored = ingest.assets().get(&asset.id).await.unwrap().unwrap();
    assert_eq!(&stored, asset);

    // Same bytes, same spec: nothing is redone.
    let again = ingest
        .ingest(&src, fixture("photos/coffee.jpg"))
        .await
        .unwrap();
    assert!(matches!(&again, Outcome::Unchanged(a) if a.version == 1));

    // A new upload to the same place replaces the asset, same id.
    let replaced = ingest
        .ingest(&src, fixture("photos/rocket.jpg"))
        .await
        .unwrap();
    let replaced = replaced.asset();
    assert_eq!(replaced.id, asset.id);
    assert_eq!(replaced.version, 2);
    assert_eq!(replaced.created_at, asset.created_at);
    assert_eq!(replaced.image.as_ref().map(|i| i.width), Some(640));
    assert_ne!(replaced.sha256, asset.sha256);

    // A broken re-upload fails the asset and takes the old renditions with it.
    let broken = ingest
        .ingest(&src, fixture("hostile/truncated.jpg"))
        .await
        .unwrap();
    let broken = broken.asset();
    assert_eq!(broken.status, AssetStatus::Failed);
    assert_eq!(
        broken.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Corrupt)
    );
    assert_eq!(broken.version, 3);
    assert!(broken.variants.is_empty());
    let left = ingest
        .blobs()
        .list(&format!("renditions/{}/", asset.id))
        .await
        .unwrap();
    assert!(left.is_empty(), "stale renditions left: {left:?}");
}

#[tokio::test]
async fn a_smaller_spec_removes_renditions_it_no_longer_makes() {
    let dir = tempfile::tempdir().unwrap();
    let src = source("a.jpg");
    let full = ingestor(dir.path(), Spec::default());
    let asset = full
        .ingest(&src, fixture("photos/coffee.jpg"))
        .await
        .unwrap()
        .asset()
        .clone();
    drop(full);
    let small = Spec::from_toml("[[variants]]\nname='md'\nwidth=512\nformat='webp'").unwrap();
    let ingest = ingestor(dir.path(), small);
    let redone = ingest
        .ingest(&src, fixture("photos/coffee.jpg"))
        .await
        .unwrap();
    let Outcome::Written(redone) = redone else {
        panic!("a changed spec must reprocess")
    };
    assert_ne!(redone.spec_hash, asset.spec_hash);
    let keys: Vec<String> = ingest
        .blobs()
        .list(&format!("renditions/{}/", asset.id))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(redone.variants.len(), 1);
    let md = &redone.variants[0];
    assert!(md.key.starts_with(&format!("renditions/{}/md-", asset.id)));
    assert!(md.key.ends_with(".webp"));
    assert_eq!(keys, std::slice::from_ref(&md.key));
}

#[tokio::test]
async fn duplicate_concurrent_delivery_makes_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = ingestor(dir.path(), Spec::default());
    let src = source("dup.jpg");
    let (a, b) = tokio::join!(
        ingest.ingest(&src, fixture("photos/astronaut.jpg")),
        ingest.ingest(&src, fixture("photos/astronaut.jpg")),
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    let written = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Written(_)))
        .count();
    assert!(written >= 1);
    let id = outcomes[0].asset().id.clone();
    let stored = ingest.assets().get(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, AssetStatus::Ready);
    assert_eq!(
        stored.version as usize, written,
        "each write is one version, no lost update"
    );
    let blobs = ingest.blobs().list("renditions/").await.unwrap();
    assert_eq!(blobs.len(), 8);
}

#[tokio::test]
async fn unreadable_sources_are_recorded_as_failed() {
    let dir = tempfile::tempdir().unwrap();
    let ingest = ingestor(dir.path(), Spec::default());
    let gone = pictor_core::ProcessError::new(ErrorKind::NotFound, "object is gone");
    let outcome = ingest
        .record_failure(&source("gone.jpg"), gone.clone())
        .await
        .unwrap();
    assert_eq!(outcome.asset().status, AssetStatus::Failed);
    assert_eq!(outcome.asset().error.as_ref(), Some(&gone));
}
