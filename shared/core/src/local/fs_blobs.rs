//! Blob store on a local directory. Writes go to a temporary file and are renamed into place,
//! so a reader (or a crash) never sees half a rendition.

use crate::ports::{validate_key, BlobMeta, BlobStore, StoreError};
use async_trait::async_trait;
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct FsBlobStore {
    root: PathBuf,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> FsBlobStore {
        FsBlobStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

fn io_error(key: &str, e: std::io::Error) -> StoreError {
    match e.kind() {
        IoKind::NotFound => StoreError::NotFound(key.to_string()),
        _ => StoreError::Other(format!("{key}: {e}")),
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path(key)?;
        tokio::fs::read(&path).await.map_err(|e| io_error(key, e))
    }

    async fn head(&self, key: &str) -> Result<Option<BlobMeta>, StoreError> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => Ok(Some(BlobMeta {
                key: key.to_string(),
                size: meta.len(),
                modified: meta.modified().ok().map(time::OffsetDateTime::from),
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == IoKind::NotFound => Ok(None),
            Err(e) => Err(io_error(key, e)),
        }
    }

    async fn put(&self, key: &str, data: Vec<u8>, _content_type: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let dir = path
            .parent()
            .ok_or_else(|| StoreError::Other(format!("{key}: no parent directory")))?;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io_error(key, e))?;
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
        tokio::fs::write(&temp, &data)
            .await
            .map_err(|e| io_error(key, e))?;
        if let Err(e) = tokio::fs::rename(&temp, &path).await {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(io_error(key, e));
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<BlobMeta>, StoreError> {
        // Walk only the directory the prefix points into, not the whole root.
        let start = match prefix.rfind('/') {
            Some(i) => self.root.join(&prefix[..i]),
            None => self.root.clone(),
        };
        let root = self.root.clone();
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for (path, meta) in super::walk::regular_files(&start)? {
                let Ok(rel) = path.strip_prefix(&root) else {
                    continue;
                };
                let key = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                if key.starts_with(&prefix) {
                    out.push(BlobMeta {
                        key,
                        size: meta.len(),
                        modified: meta.modified().ok().map(time::OffsetDateTime::from),
                    });
                }
            }
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Other(format!("list: {e}")))?
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == IoKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(key, e)),
        }
        // Tidy now-empty folders up to the root; failure just means they were not empty.
        let mut dir = path.parent().map(Path::to_path_buf);
        while let Some(d) = dir {
            if d == self.root || tokio::fs::remove_dir(&d).await.is_err() {
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        Ok(())
    }
}
