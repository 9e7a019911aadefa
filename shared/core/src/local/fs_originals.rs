//! Originals read from this machine's files (`file://` locations). A file system keeps no
//! metadata, so an upload's display name travels in a hidden name file beside the original
//! ([`name_file`]), which listings skip like every hidden file.

use crate::domain::asset::Revision;
use crate::domain::source::SourceLocation;
use crate::ports::{ListedOriginal, Original, OriginalState, OriginalStore, ReadError, StoreError};
use async_trait::async_trait;
use pictor_image::error::{ErrorKind, ProcessError};
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};

/// Reads `file://` locations; the file system keeps no creator metadata and no versions.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsOriginals;

fn local_path(location: &SourceLocation) -> Result<&Path, ReadError> {
    match location {
        SourceLocation::File(path) => Ok(path),
        _ => Err(ReadError::Store(StoreError::InvalidKey {
            key: location.to_string(),
            reason: "not a local file".into(),
        })),
    }
}

/// The record's reason names no path (it reaches the page and events); the log keeps it.
fn io_error(path: &Path, e: std::io::Error) -> ReadError {
    if e.kind() == IoKind::NotFound {
        return ReadError::NotFound;
    }
    tracing::warn!(path = %path.display(), error = %e, "the original cannot be read");
    match e.kind() {
        IoKind::PermissionDenied => ReadError::Unreadable(ProcessError::new(
            ErrorKind::AccessDenied,
            "access to the original was denied; an operator must check its permissions",
        )),
        _ => ReadError::Unreadable(ProcessError::new(
            ErrorKind::Internal,
            "the original could not be read",
        )),
    }
}

/// The metadata of a regular file, or why it is none.
async fn file_meta(path: &Path) -> Result<std::fs::Metadata, ReadError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(ReadError::Unreadable(ProcessError::unsupported(
            "not a regular file",
        )));
    }
    Ok(meta)
}

#[async_trait]
impl OriginalStore for FsOriginals {
    async fn list(&self, root: &SourceLocation) -> Result<Vec<ListedOriginal>, StoreError> {
        let SourceLocation::File(dir) = root else {
            return Err(StoreError::InvalidKey {
                key: root.to_string(),
                reason: "not a local folder".into(),
            });
        };
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || list_files(&dir))
            .await
            .map_err(|e| StoreError::Other(format!("list: {e}")))?
    }

    async fn head(&self, location: &SourceLocation) -> Result<Option<OriginalState>, ReadError> {
        match file_meta(local_path(location)?).await {
            Ok(meta) => Ok(Some(OriginalState {
                size: meta.len(),
                revision: Revision::default(),
            })),
            Err(ReadError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn read(&self, location: &SourceLocation, limit: u64) -> Result<Original, ReadError> {
        let path = local_path(location)?;
        let meta = file_meta(path).await?;
        if meta.len() > limit {
            return Err(ReadError::TooLarge {
                size: meta.len(),
                limit,
            });
        }
        let bytes = tokio::fs::read(path).await.map_err(|e| io_error(path, e))?;
        Ok(Original {
            bytes,
            creator: None,
            name: read_name(path).await,
            revision: Revision::default(),
        })
    }
}

/// The hidden file beside `original` that holds its display name: `.<file name>.name`.
pub fn name_file(original: &Path) -> Option<PathBuf> {
    let file = original.file_name()?.to_string_lossy();
    Some(original.with_file_name(format!(".{file}.name")))
}

/// The display name kept beside `original`, sanitised again; `None` without one. A name
/// file never makes an original unreadable: one that cannot be read is logged and skipped.
async fn read_name(original: &Path) -> Option<String> {
    let file = name_file(original)?;
    match tokio::fs::read(&file).await {
        // Longer than any kept name can be: not a name file Pictor wrote.
        Ok(bytes) if bytes.len() > 4 * crate::domain::display_name::MAX_NAME_BYTES => None,
        Ok(bytes) => crate::domain::display_name::display_name(&String::from_utf8_lossy(&bytes)),
        Err(e) if e.kind() == IoKind::NotFound => None,
        Err(e) => {
            tracing::warn!(path = %file.display(), error = %e, "the name file cannot be read");
            None
        }
    }
}

/// Every original below `dir`.
fn list_files(dir: &Path) -> Result<Vec<ListedOriginal>, StoreError> {
    let files = super::walk::regular_files(dir)?;
    Ok(files
        .into_iter()
        .map(|(path, meta)| ListedOriginal {
            location: SourceLocation::file(&path),
            state: OriginalState {
                size: meta.len(),
                revision: Revision::default(),
            },
        })
        .collect())
}
