//! Originals read from this machine's files (`file://` locations).

use crate::asset::Revision;
use crate::error::{ErrorKind, ProcessError};
use crate::ports::{Original, OriginalStore, ReadError, StoreError};
use crate::source::SourceLocation;
use async_trait::async_trait;
use std::io::ErrorKind as IoKind;

/// Reads `file://` locations; the file system keeps no creator metadata and no versions.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsOriginals;

#[async_trait]
impl OriginalStore for FsOriginals {
    async fn read(&self, location: &SourceLocation, limit: u64) -> Result<Original, ReadError> {
        let SourceLocation::File(path) = location else {
            return Err(ReadError::Store(StoreError::InvalidKey {
                key: location.to_string(),
                reason: "not a local file".into(),
            }));
        };
        let io_error = |e: std::io::Error| match e.kind() {
            IoKind::NotFound => ReadError::NotFound,
            _ => ReadError::Unreadable(ProcessError::new(
                ErrorKind::Internal,
                format!("cannot read {}: {e}", path.display()),
            )),
        };
        let meta = tokio::fs::metadata(path).await.map_err(io_error)?;
        if !meta.is_file() {
            return Err(ReadError::Unreadable(ProcessError::unsupported(
                "not a regular file",
            )));
        }
        if meta.len() > limit {
            return Err(ReadError::TooLarge {
                size: meta.len(),
                limit,
            });
        }
        let bytes = tokio::fs::read(path).await.map_err(io_error)?;
        Ok(Original {
            bytes,
            creator: None,
            revision: Revision::default(),
        })
    }
}
