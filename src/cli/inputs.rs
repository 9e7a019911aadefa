//! Turning command-line paths into sources, and reading them safely.

use pictor_core::{ErrorKind, ProcessError, SourceRef};
use std::path::{Path, PathBuf};

/// Expands files and directories (recursively, sorted, hidden entries skipped), leaving out
/// anything inside `exclude` (the output directory, which may sit inside an input folder).
pub fn collect(inputs: &[PathBuf], exclude: &Path) -> Vec<PathBuf> {
    let exclude = exclude.canonicalize().ok();
    let mut out = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            // Files, and paths that do not exist: the latter become not_found failures.
            out.push(input.clone());
            continue;
        }
        let walker = walkdir::WalkDir::new(input)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !is_hidden(e.path()));
        for entry in walker.flatten() {
            let inside_out = exclude
                .as_ref()
                .is_some_and(|ex| entry.path().canonicalize().is_ok_and(|p| p.starts_with(ex)));
            if entry.file_type().is_file() && !inside_out {
                out.push(entry.into_path());
            }
        }
    }
    out
}

pub fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// The source for a local path: identity from the canonical path so `./a.jpg` and
/// `/abs/a.jpg` are the same asset; display as the user typed it.
pub fn source_for(path: &Path, creator: Option<&str>) -> SourceRef {
    let canonical = path
        .canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf());
    SourceRef {
        identity: format!("file://{}", canonical.display()),
        display: path.display().to_string(),
        creator: creator.map(str::to_string),
        revision: None,
    }
}

/// Reads a source, refusing oversized files from their size alone.
pub async fn read(path: &Path, max_bytes: u64) -> Result<Vec<u8>, ProcessError> {
    let meta = tokio::fs::metadata(path).await.map_err(io_error)?;
    if !meta.is_file() {
        return Err(ProcessError::unsupported("not a regular file"));
    }
    if meta.len() > max_bytes {
        return Err(ProcessError::too_large(format!(
            "file is {} bytes, the limit is {max_bytes}",
            meta.len()
        )));
    }
    tokio::fs::read(path).await.map_err(io_error)
}

fn io_error(e: std::io::Error) -> ProcessError {
    match e.kind() {
        std::io::ErrorKind::NotFound => ProcessError::new(ErrorKind::NotFound, "file not found"),
        _ => ProcessError::new(ErrorKind::Internal, format!("cannot read file: {e}")),
    }
}
