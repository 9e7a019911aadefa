//! The one directory walk of the local adapters.

use crate::ports::StoreError;
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};

/// Every regular file below `dir` with its metadata, recursively. Hidden files and folders
/// (`.name`: temporary writes, partial uploads) are skipped; a missing `dir` is empty.
pub(crate) fn regular_files(dir: &Path) -> Result<Vec<(PathBuf, std::fs::Metadata)>, StoreError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == IoKind::NotFound => continue,
            Err(e) => return Err(StoreError::Other(format!("{}: {e}", dir.display()))),
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else if let Some(meta) = entry.metadata().ok().filter(|_| kind.is_file()) {
                out.push((entry.path(), meta));
            }
        }
    }
    Ok(out)
}
