//! The storage ports, in the domain's words: where originals are read, where renditions are
//! kept, where records are kept, and the one error every port answers with.

use crate::domain::asset::{Asset, AssetId, AssetStatus, Revision};
use crate::domain::source::SourceLocation;
use async_trait::async_trait;
use std::sync::Arc;

/// Storage failures, independent of the backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `BlobStore::get` of a missing key.
    #[error("not found: {0}")]
    NotFound(String),
    /// A conditional write lost: the stored version is not the expected one.
    #[error("version conflict writing {0}")]
    Conflict(String),
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey { key: String, reason: String },
    /// A list cursor that this store did not issue, or that was altered.
    #[error("invalid cursor")]
    InvalidCursor,
    /// Throttling, timeouts, 5xx: retrying later may succeed.
    #[error("storage temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Other(String),
}

impl StoreError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub key: String,
    pub size: u64,
    /// When the blob was last written, where the store says: the reconciler leaves blobs
    /// younger than its grace period alone (an ingest may be about to reference them).
    pub modified: Option<time::OffsetDateTime>,
}

/// Flat key -> bytes storage (a bucket, a directory).
///
/// Keys are `/`-separated relative paths; `..`, empty segments and leading `/` are refused
/// with `InvalidKey` by every adapter.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// MUST return `NotFound` for a missing key.
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    /// `None` for a missing key.
    async fn head(&self, key: &str) -> Result<Option<BlobMeta>, StoreError>;
    /// Replaces any existing blob; readers never see a partial blob.
    async fn put(&self, key: &str, data: Vec<u8>, content_type: &str) -> Result<(), StoreError>;
    /// Every blob whose key starts with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<BlobMeta>, StoreError>;
    /// Succeeds whether or not the key existed.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes every key (missing ones included); a store that can deletes many per request.
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        for key in keys {
            self.delete(key).await?;
        }
        Ok(())
    }
}

/// The condition of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// The asset must not exist yet.
    Absent,
    /// The stored asset must have this version.
    Version(u64),
}

/// Filters and paging for listing assets, newest (by creation) first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetQuery {
    pub status: Option<AssetStatus>,
    pub creator: Option<String>,
    /// Only assets made under this spec hash (to find what a spec change left stale).
    pub spec_hash: Option<String>,
    /// Page size; adapters cap it at `MAX_PAGE`. 0 means the default.
    pub limit: usize,
    /// Opaque token from a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// Page sizes, in one place. A page when the caller names no size (the API's default too).
pub const DEFAULT_PAGE: usize = 50;
/// The most a store returns at once: what whole-store scans (reprocess, report, the CLI's
/// listing) page by.
pub const MAX_PAGE: usize = 1000;
/// The most an API client may ask for; larger `limit`s are capped, not refused.
pub const MAX_API_PAGE: usize = 100;

impl AssetQuery {
    pub fn page_size(&self) -> usize {
        match self.limit {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssetPage {
    pub items: Vec<Asset>,
    /// Present when more items may follow.
    pub next_cursor: Option<String>,
}

/// Asset records with optimistic concurrency.
#[async_trait]
pub trait AssetStore: Send + Sync {
    /// Strongly consistent read.
    async fn get(&self, id: &AssetId) -> Result<Option<Asset>, StoreError>;
    /// Writes `asset` if the stored state matches `expected`, else `Conflict`.
    async fn put(&self, asset: &Asset, expected: Expected) -> Result<(), StoreError>;
    /// MUST return `InvalidCursor` for a cursor it did not issue.
    async fn list(&self, query: &AssetQuery) -> Result<AssetPage, StoreError>;
}

/// A boxed store is a store, so callers can pick the backend at run time.
#[async_trait]
impl<T: AssetStore + ?Sized> AssetStore for Box<T> {
    async fn get(&self, id: &AssetId) -> Result<Option<Asset>, StoreError> {
        (**self).get(id).await
    }
    async fn put(&self, asset: &Asset, expected: Expected) -> Result<(), StoreError> {
        (**self).put(asset, expected).await
    }
    async fn list(&self, query: &AssetQuery) -> Result<AssetPage, StoreError> {
        (**self).list(query).await
    }
}

/// A shared store is a store, so one store can serve a use case and a query beside it.
#[async_trait]
impl<T: AssetStore + ?Sized> AssetStore for Arc<T> {
    async fn get(&self, id: &AssetId) -> Result<Option<Asset>, StoreError> {
        (**self).get(id).await
    }
    async fn put(&self, asset: &Asset, expected: Expected) -> Result<(), StoreError> {
        (**self).put(asset, expected).await
    }
    async fn list(&self, query: &AssetQuery) -> Result<AssetPage, StoreError> {
        (**self).list(query).await
    }
}

/// An original read whole, with what its store says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub bytes: Vec<u8>,
    /// The creator the store's metadata names (S3: `x-amz-meta-creator`), if any.
    pub creator: Option<String>,
    /// What the creator's file was called, when the upload kept it (S3: the
    /// `x-amz-meta-filename` an upload form sets; a local inbox: the name file beside it).
    pub name: Option<String>,
    /// The write that was read (version id, ETag), as far as the store reports it.
    pub revision: Revision,
}

/// Why an original could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// There is no original at the location (any more).
    #[error("the original does not exist (any more)")]
    NotFound,
    /// Refused from its size alone, before its body was read.
    #[error("the original has {size} bytes, more than the limit of {limit}")]
    TooLarge { size: u64, limit: u64 },
    /// It exists but cannot be read as a file (a folder, no permission): recorded as FAILED
    /// with this error, never retried.
    #[error("the original cannot be read: {0}")]
    Unreadable(pictor_image::error::ProcessError),
    /// The store failed; [`StoreError::is_transient`] says whether a retry may succeed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the store says about an original's current version, without its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginalState {
    pub size: u64,
    /// The current write (version id, ETag), as far as the store reports it.
    pub revision: Revision,
}

/// One original found by a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedOriginal {
    pub location: SourceLocation,
    /// Size and, where the store lists it, the ETag of the current version.
    pub state: OriginalState,
}

/// Where originals are read from (a bucket, this machine's files).
#[async_trait]
pub trait OriginalStore: Send + Sync {
    /// Every original currently under `root` (a bucket and key prefix, or a directory),
    /// recursively: what the reconciler holds the records to. Folder markers (keys ending in
    /// `/`) and hidden files are not originals.
    async fn list(&self, root: &SourceLocation) -> Result<Vec<ListedOriginal>, StoreError>;

    /// The current state of the original at `location`: `None` when there is none (never
    /// written, deleted, or hidden behind a delete marker).
    ///
    /// MUST agree with `read`: a location `head` finds is one `read` may read, and the same
    /// `Unreadable`/`Store` errors apply.
    async fn head(&self, location: &SourceLocation) -> Result<Option<OriginalState>, ReadError>;

    /// Reads the original at `location` whole.
    ///
    /// MUST return `NotFound` for a missing original, and `TooLarge` (without reading the
    /// body) for one of more than `limit` bytes; one of exactly `limit` bytes is read. A
    /// location this store does not serve is `Store(StoreError::InvalidKey)`.
    async fn read(&self, location: &SourceLocation, limit: u64) -> Result<Original, ReadError>;
}

/// Shared key rules, so every adapter refuses the same keys.
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    let bad = |reason: &str| {
        Err(StoreError::InvalidKey {
            key: key.to_string(),
            reason: reason.to_string(),
        })
    };
    if key.is_empty() || key.len() > 1024 {
        return bad("must be 1-1024 bytes");
    }
    if key.starts_with('/') || key.contains('\\') || key.contains('\0') {
        return bad("must be a relative path with '/' separators");
    }
    if key
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return bad("has an empty, '.' or '..' segment");
    }
    Ok(())
}

/// Cursor encoding shared by adapters that page by (created_at, id), and what such adapters
/// keep beside a record.
pub mod cursor {
    use super::{AssetPage, StoreError};
    use crate::domain::asset::{Asset, AssetId};
    use base64::Engine;

    /// Where a listing resumes: the creation time and id of the previous page's last asset,
    /// as SQL parameters (both `None` for the first page).
    pub fn resume_after(cursor: Option<&str>) -> Result<(Option<i64>, Option<String>), StoreError> {
        Ok(match cursor.map(decode).transpose()? {
            Some((ms, id)) => (Some(ms), Some(id.as_str().to_string())),
            None => (None, None),
        })
    }

    /// The creation time adapters order and page by, in whole milliseconds.
    pub fn created_ms(asset: &Asset) -> i64 {
        (asset.created_at.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// A record as an adapter that keeps it as JSON text reads it back.
    pub fn parse_record(json: &str) -> Result<Asset, StoreError> {
        serde_json::from_str(json)
            .map_err(|e| StoreError::Other(format!("stored record unreadable: {e}")))
    }

    /// A page of at most `size` from `items`, fetched as `size + 1` newest first: the extra
    /// one only says that more follow, and the cursor points after the page's last.
    pub fn page(mut items: Vec<Asset>, size: usize) -> AssetPage {
        let next_cursor = if items.len() > size {
            items.truncate(size);
            items.last().map(|a| encode(created_ms(a), &a.id))
        } else {
            None
        };
        AssetPage { items, next_cursor }
    }

    const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub fn encode(created_ms: i64, id: &AssetId) -> String {
        ENGINE.encode(format!("v1:{created_ms}:{id}"))
    }

    pub fn decode(cursor: &str) -> Result<(i64, AssetId), StoreError> {
        let raw = ENGINE
            .decode(cursor)
            .map_err(|_| StoreError::InvalidCursor)?;
        let text = String::from_utf8(raw).map_err(|_| StoreError::InvalidCursor)?;
        let mut parts = text.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("v1"), Some(ms), Some(id)) => {
                let ms = ms.parse().map_err(|_| StoreError::InvalidCursor)?;
                let id = AssetId::parse(id).map_err(|_| StoreError::InvalidCursor)?;
                Ok((ms, id))
            }
            _ => Err(StoreError::InvalidCursor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape() {
        for bad in ["", "/abs", "a/../b", "a//b", "..", "a\\b", "./a"] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_key("renditions/abc/xl.jpg").is_ok());
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = AssetId::for_source("x");
        let c = cursor::encode(1234, &id);
        assert_eq!(cursor::decode(&c).unwrap(), (1234, id));
        for bad in ["", "!!!", "djE6eDp5", "bm9wZQ"] {
            assert!(matches!(
                cursor::decode(bad),
                Err(StoreError::InvalidCursor)
            ));
        }
    }
}
