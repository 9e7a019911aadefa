//! Turning command-line paths into sources, and reading them safely.

use pictor_core::domain::presets::Placement;
use pictor_core::{SourceLocation, Upload};
use std::path::{Path, PathBuf};

/// Expands files and directories (recursively, sorted, hidden entries skipped), leaving out
/// anything inside `exclude` (the output directory, which may sit inside an input folder).
pub fn collect(inputs: &[PathBuf], exclude: &Path) -> Vec<PathBuf> {
    let exclude = exclude.canonicalize().ok();
    let mut out = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            // Files, and paths that do not exist: the latter are recorded as DELETED and fail the run.
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

/// The upload of a local path: its location is the canonical path, so `./a.jpg` and
/// `/abs/a.jpg` are the same asset; it is displayed as the user typed it.
pub fn upload_for(path: &Path, placement: &Placement) -> Upload {
    Upload::new(SourceLocation::file(path))
        .with_display(path.display().to_string())
        .placed(placement.clone())
}
