//! Conformance suites for the storage ports. Every adapter's tests call these against a fresh,
//! empty store, so all backends honour one contract. They panic (assert) on a violation.

use crate::domain::asset::{Asset, AssetStatus, StoredRendition};
use crate::domain::source::SourceLocation;
use crate::ports::samples::{SampleAsset, SAMPLE_SPEC};
use crate::ports::{
    AssetQuery, AssetStore, BlobStore, Expected, OriginalStore, ReadError, StoreError,
};
use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

/// How a test puts originals where an [`OriginalStore`] under test reads them.
#[async_trait]
pub trait OriginalsFixture: Send + Sync {
    /// Stores `bytes` as the original `name` (with `creator` as its metadata, where the store
    /// keeps metadata) and returns its location. Placing the same name again overwrites it.
    async fn place(&self, name: &str, bytes: Vec<u8>, creator: Option<&str>) -> SourceLocation;
    /// Stores `bytes` as the original `name` with the display name `display`, kept where the
    /// store's upload desk keeps it (object metadata, a name file).
    async fn place_named(&self, name: &str, bytes: Vec<u8>, display: &str) -> SourceLocation;
    /// A location in the same store where nothing is.
    fn missing(&self, name: &str) -> SourceLocation;
    /// A location this store does not serve.
    fn foreign(&self) -> SourceLocation;
    /// The folder every `place`d original is under, as `OriginalStore::list` takes it.
    fn root(&self) -> SourceLocation;
    /// Whether the store keeps a creator with the original.
    fn keeps_metadata(&self) -> bool;
}

/// Checks the read contract of an original store: bytes and metadata as placed, `NotFound`,
/// the size limit checked before the body is read, overwrites, awkward names.
pub async fn original_store_suite<O: OriginalStore, F: OriginalsFixture>(store: &O, fixture: &F) {
    let bytes: Vec<u8> = (0..100u8).collect();
    let location = fixture.place("ana/a.jpg", bytes.clone(), Some("ana")).await;
    let original = store.read(&location, 1000).await.unwrap();
    assert_eq!(original.bytes, bytes);
    let expected_creator = fixture.keeps_metadata().then(|| "ana".to_string());
    assert_eq!(original.creator, expected_creator);

    // The limit is inclusive, and a larger original is refused by its size.
    assert_eq!(store.read(&location, 100).await.unwrap().bytes.len(), 100);
    assert!(matches!(
        store.read(&location, 99).await,
        Err(ReadError::TooLarge {
            size: 100,
            limit: 99
        })
    ));

    assert!(matches!(
        store.read(&fixture.missing("ana/nothing.jpg"), 1000).await,
        Err(ReadError::NotFound)
    ));
    assert!(matches!(
        store.read(&fixture.foreign(), 1000).await,
        Err(ReadError::Store(StoreError::InvalidKey { .. }))
    ));

    // An overwrite is read as the new bytes, and a store that tells writes apart says so.
    let replaced = fixture.place("ana/a.jpg", vec![7; 10], None).await;
    assert_eq!(replaced, location);
    let again = store.read(&location, 1000).await.unwrap();
    assert_eq!(again.bytes, vec![7; 10]);
    if original.revision.etag.is_some() {
        assert_ne!(again.revision.etag, original.revision.etag);
    }

    let odd = fixture
        .place("bo/summer trip/ünï cødé +%.png", vec![9], None)
        .await;
    assert_eq!(store.read(&odd, 10).await.unwrap().bytes, [9]);

    // A display name comes back as kept, whatever its characters, and sanitised again when
    // whoever wrote it did not; none was kept for the others.
    let display = "Été à Paris – “best” +%.jpg";
    let named = fixture.place_named("ana/b.jpg", vec![5; 3], display).await;
    let read = store.read(&named, 10).await.unwrap();
    assert_eq!(read.name.as_deref(), Some(display));
    let crafted = fixture
        .place_named("ana/c.jpg", vec![6; 2], "../x/\u{202E}gpj\n.exe")
        .await;
    let read = store.read(&crafted, 10).await.unwrap();
    assert_eq!(read.name.as_deref(), Some("gpj .exe"));
    assert_eq!(again.name, None);

    // A listing finds exactly the originals there are now (a name file is none), with their
    // sizes, and agrees with `head`.
    let mut listed = store.list(&fixture.root()).await.unwrap();
    listed.sort_by_key(|l| l.location.to_string());
    let mut expected = vec![
        (location.clone(), 10),
        (odd.clone(), 1),
        (named.clone(), 3),
        (crafted.clone(), 2),
    ];
    expected.sort_by_key(|(l, _)| l.to_string());
    let found: Vec<_> = listed
        .iter()
        .map(|l| (l.location.clone(), l.state.size))
        .collect();
    assert_eq!(found, expected);
    let head = store.head(&location).await.unwrap().unwrap();
    assert_eq!(head.size, 10);
    if let Some(etag) = &head.revision.etag {
        let listed_etag = listed.iter().find(|l| l.location == location);
        assert_eq!(
            listed_etag.and_then(|l| l.state.revision.etag.as_ref()),
            Some(etag)
        );
    }
    let gone = fixture.missing("ana/nothing.jpg");
    assert_eq!(store.head(&gone).await.unwrap(), None);
}

/// Checks get/head/put/list/delete semantics on an empty blob store.
pub async fn blob_store_suite<B: BlobStore>(store: &B) {
    assert!(matches!(
        store.get("a/missing.bin").await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.head("a/missing.bin").await.unwrap(), None);

    store
        .put("a/one.jpg", b"first".to_vec(), "image/jpeg")
        .await
        .unwrap();
    store
        .put("a/one.jpg", b"second!".to_vec(), "image/jpeg")
        .await
        .unwrap();
    assert_eq!(store.get("a/one.jpg").await.unwrap(), b"second!");
    assert_eq!(
        store.head("a/one.jpg").await.unwrap().map(|m| m.size),
        Some(7)
    );

    store
        .put("a/b/two.webp", vec![0; 1000], "image/webp")
        .await
        .unwrap();
    store
        .put("ab/three.png", vec![1, 2, 3], "image/png")
        .await
        .unwrap();
    store
        .put("z/ünï cødé +%.png", vec![9], "image/png")
        .await
        .unwrap();
    let keys = |v: Vec<crate::ports::BlobMeta>| v.into_iter().map(|m| m.key).collect::<Vec<_>>();
    assert_eq!(
        keys(store.list("a/").await.unwrap()),
        ["a/b/two.webp", "a/one.jpg"]
    );
    assert_eq!(
        keys(store.list("a").await.unwrap()),
        ["a/b/two.webp", "a/one.jpg", "ab/three.png"]
    );
    assert_eq!(keys(store.list("z/").await.unwrap()), ["z/ünï cødé +%.png"]);
    assert_eq!(store.get("z/ünï cødé +%.png").await.unwrap(), [9]);
    assert!(store.list("nothing/").await.unwrap().is_empty());

    store.delete("a/one.jpg").await.unwrap();
    store.delete("a/one.jpg").await.unwrap(); // idempotent
    assert_eq!(store.head("a/one.jpg").await.unwrap(), None);
    assert_eq!(keys(store.list("a/").await.unwrap()), ["a/b/two.webp"]);

    for bad in ["../escape", "/abs", "a//b", ""] {
        assert!(
            matches!(
                store.put(bad, vec![1], "x").await,
                Err(StoreError::InvalidKey { .. })
            ),
            "put accepted {bad:?}"
        );
        assert!(matches!(
            store.get(bad).await,
            Err(StoreError::InvalidKey { .. })
        ));
    }
}

const OLD_SPEC: &str = "fedcba9876543210";

/// Sample `n`: every fourth is under an old spec.
pub fn sample(n: u32, creator: &str, status: AssetStatus, created: OffsetDateTime) -> Asset {
    let spec = if n.is_multiple_of(4) {
        OLD_SPEC
    } else {
        SAMPLE_SPEC
    };
    SampleAsset::numbered(n, creator)
        .status(status)
        .spec_hash(spec)
        .created(created)
        .sha256(format!("{n:064x}"))
        .source_bytes(u64::from(n))
        .build()
}

/// Checks conditional writes, consistent reads and cursor paging on an empty asset store.
pub async fn asset_store_suite<A: AssetStore>(store: &A) {
    // Whole milliseconds: stores need not keep finer timestamps.
    let base = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let mut first = sample(1, "ana", AssetStatus::Ready, base);
    // One rendition made to a SSIMULACRA2 target (its quality and score kept), one fixed.
    let rendition = |name: &str, target: Option<(u8, f64)>| StoredRendition {
        name: name.to_string(),
        format: pictor_image::spec::OutputFormat::Webp,
        width: 640,
        height: 480,
        bytes: 41_234,
        key: format!("renditions/1/{name}.webp"),
        quality: target.map(|t| t.0),
        ssimulacra2: target.map(|t| t.1),
    };
    first.renditions = vec![rendition("lg", Some((67, 80.43))), rendition("md", None)];
    assert_eq!(store.get(&first.id).await.unwrap(), None);
    store.put(&first, Expected::Absent).await.unwrap();
    assert_eq!(store.get(&first.id).await.unwrap().as_ref(), Some(&first));

    // Conditional writes: a second create and a stale version both lose.
    assert!(matches!(
        store.put(&first, Expected::Absent).await,
        Err(StoreError::Conflict(_))
    ));
    let mut updated = first.clone();
    updated.version = 2;
    updated.status = AssetStatus::Failed;
    updated.error = Some(crate::ProcessError::corrupt("bad bytes"));
    assert!(matches!(
        store.put(&updated, Expected::Version(7)).await,
        Err(StoreError::Conflict(_))
    ));
    store.put(&updated, Expected::Version(1)).await.unwrap();
    assert_eq!(store.get(&first.id).await.unwrap().as_ref(), Some(&updated));
    assert!(matches!(
        store.put(&updated, Expected::Version(1)).await,
        Err(StoreError::Conflict(_))
    ));

    // Twelve more assets across two creators and two statuses, one second apart.
    for n in 2..=13u32 {
        let creator = if n % 2 == 0 { "bo" } else { "ana" };
        let status = if n % 3 == 0 {
            AssetStatus::Failed
        } else {
            AssetStatus::Ready
        };
        let at = base + Duration::seconds(i64::from(n));
        store
            .put(&sample(n, creator, status, at), Expected::Absent)
            .await
            .unwrap();
    }

    // Page through everything of one creator, newest first, 4 at a time.
    let mut seen = Vec::new();
    let mut query = AssetQuery {
        creator: Some("ana".into()),
        limit: 4,
        ..AssetQuery::default()
    };
    loop {
        let page = store.list(&query).await.unwrap();
        assert!(page.items.len() <= 4);
        seen.extend(page.items.iter().map(|a| a.source.clone()));
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    let expected: Vec<String> = [13, 11, 9, 7, 5, 3, 1]
        .iter()
        .map(|n| format!("ana/{n}.jpg"))
        .collect();
    assert_eq!(seen, expected);

    // By status (first asset is FAILED now): 3, 6, 9, 12 and 1.
    let failed = store
        .list(&AssetQuery {
            status: Some(AssetStatus::Failed),
            ..AssetQuery::default()
        })
        .await
        .unwrap();
    let names: Vec<&str> = failed.items.iter().map(|a| a.source.as_str()).collect();
    assert_eq!(
        names,
        [
            "bo/12.jpg",
            "ana/9.jpg",
            "bo/6.jpg",
            "ana/3.jpg",
            "ana/1.jpg"
        ]
    );
    assert_eq!(failed.next_cursor, None);

    // Both filters at once.
    let both = store
        .list(&AssetQuery {
            status: Some(AssetStatus::Ready),
            creator: Some("bo".into()),
            ..AssetQuery::default()
        })
        .await
        .unwrap();
    let names: Vec<&str> = both.items.iter().map(|a| a.source.as_str()).collect();
    assert_eq!(names, ["bo/10.jpg", "bo/8.jpg", "bo/4.jpg", "bo/2.jpg"]);

    // By spec hash, paged two at a time: 12, 8, 4.
    let mut query = AssetQuery {
        spec_hash: Some(OLD_SPEC.into()),
        limit: 2,
        ..AssetQuery::default()
    };
    let mut stale = Vec::new();
    loop {
        let page = store.list(&query).await.unwrap();
        stale.extend(page.items.iter().map(|a| a.source.clone()));
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(stale, ["bo/12.jpg", "bo/8.jpg", "bo/4.jpg"]);

    // Foreign or tampered cursors are refused, never misread.
    for bad in ["garbage", "djE6MTo", ""] {
        let q = AssetQuery {
            cursor: Some(bad.to_string()),
            ..AssetQuery::default()
        };
        assert!(
            matches!(store.list(&q).await, Err(StoreError::InvalidCursor)),
            "accepted cursor {bad:?}"
        );
    }
}
