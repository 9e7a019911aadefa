//! The local adapters against the shared port conformance suites.

use async_trait::async_trait;
use pictor_core::local::{FsBlobStore, FsOriginals, SqliteAssetStore};
use pictor_core::ports::conformance::{
    asset_store_suite, blob_store_suite, original_store_suite, OriginalsFixture,
};
use pictor_core::SourceLocation;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
/// opener must get it, none may fail on the other's first setup. Separate processes, as in
/// use: this test binary run again as the opener, each waiting for a start file so that all
/// eight open together.
#[test]
fn many_processes_opening_one_new_store_at_once_all_get_it() {
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("assets.db");
        let go = dir.path().join("go");
        let openers: Vec<_> = (0..8)
            .map(|_| {
                Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", "opener_of_the_store_in_the_environment"])
                    .args(["--quiet", "--test-threads=1", "--nocapture"])
                    .env(OPENER_STORE, &db)
                    .env(OPENER_GO, &go)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::fs::write(&go, b"").unwrap();
        let failures: Vec<String> = openers
            .into_iter()
            .filter_map(|opener| {
                let out = opener.wait_with_output().unwrap();
                let said = String::from_utf8_lossy(&out.stdout).into_owned();
                (!out.status.success() || !said.contains("opened")).then_some(said)
            })
            .collect();
        assert!(failures.is_empty(), "round {round}: {failures:?}");
    }
}

const OPENER_STORE: &str = "PICTOR_TEST_OPENER_STORE";
const OPENER_GO: &str = "PICTOR_TEST_OPENER_GO";

/// The opener of the test above; does nothing when run as a test of its own.
#[test]
fn opener_of_the_store_in_the_environment() {
    let (Some(db), Some(go)) = (std::env::var_os(OPENER_STORE), std::env::var_os(OPENER_GO)) else {
        return;
    };
    let started = std::time::Instant::now();
    while !Path::new(&go).exists() {
        assert!(started.elapsed().as_secs() < 30, "no start file");
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    match SqliteAssetStore::open(Path::new(&db)) {
        Ok(_) => println!("opened"),
        Err(e) => panic!("{e}"),
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
    async fn place_named(&self, name: &str, bytes: Vec<u8>, display: &str) -> SourceLocation {
        let location = self.place(name, bytes, None).await;
        let path = self.0.join(name);
        std::fs::write(pictor_core::local::name_file(&path).unwrap(), display).unwrap();
        location
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
