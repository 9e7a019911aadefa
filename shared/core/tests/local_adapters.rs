//! The local adapters against the shared port conformance suites.

use pictor_core::conformance::{asset_store_suite, blob_store_suite};
use pictor_core::local::{FsBlobStore, SqliteAssetStore};

#[tokio::test]
async fn filesystem_blob_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    blob_store_suite(&FsBlobStore::new(dir.path())).await;
    // Deleting the last file of a folder removes the emptied folder too.
    assert!(!dir.path().join("a/one.jpg").exists());
}

#[tokio::test]
async fn sqlite_asset_store_conforms() {
    asset_store_suite(&SqliteAssetStore::in_memory().unwrap()).await;
}

#[tokio::test]
async fn sqlite_asset_store_conforms_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    asset_store_suite(&SqliteAssetStore::open(&dir.path().join("assets.db")).unwrap()).await;
}
