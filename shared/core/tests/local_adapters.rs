//! The local adapters against the shared port conformance suites.

use async_trait::async_trait;
use pictor_core::conformance::{
    asset_store_suite, blob_store_suite, original_store_suite, OriginalsFixture,
};
use pictor_core::local::{FsBlobStore, FsOriginals, SqliteAssetStore};
use pictor_core::SourceLocation;
use std::path::PathBuf;

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

/// `pictor watch` and `pictor serve` started together open one fresh store at once: every
/// opener must get it, none may fail on the other's first setup.
#[test]
fn many_processes_opening_one_new_store_at_once_all_get_it() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("assets.db");
        let start = std::sync::Barrier::new(8);
        let failures: Vec<String> = std::thread::scope(|s| {
            let openers: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        SqliteAssetStore::open(&db).err().map(|e| e.to_string())
                    })
                })
                .collect();
            openers
                .into_iter()
                .filter_map(|o| o.join().unwrap())
                .collect()
        });
        assert!(failures.is_empty(), "round {round}: {failures:?}");
    }
}

/// Originals as files in a folder.
struct Folder(PathBuf);

#[async_trait]
impl OriginalsFixture for Folder {
    async fn place(&self, name: &str, bytes: Vec<u8>, _creator: Option<&str>) -> SourceLocation {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        SourceLocation::file(&path)
    }
    fn missing(&self, name: &str) -> SourceLocation {
        SourceLocation::file(&self.0.join(name))
    }
    fn foreign(&self) -> SourceLocation {
        SourceLocation::s3("bucket", "uploads/a.jpg")
    }
    fn root(&self) -> SourceLocation {
        SourceLocation::file(&self.0)
    }
    fn keeps_metadata(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn filesystem_originals_conform() {
    let dir = tempfile::tempdir().unwrap();
    original_store_suite(&FsOriginals, &Folder(dir.path().to_path_buf())).await;
}
