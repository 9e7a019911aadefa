//! Where an original lives, parsed once at the edge: after an adapter has built a
//! [`SourceLocation`] or an [`Upload`], no code builds or splits location strings by hand.

use crate::domain::asset::{AssetId, Revision};
use crate::domain::presets::{Placement, PresetRoutes};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The canonical location of an original. Its text form (`s3://bucket/key`,
/// `file:///abs/path`) is what records store as `source_identity`, and the asset id is derived
/// from it, so the text form must never change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SourceLocation {
    /// An object in a bucket (the key as stored, not URL-encoded).
    S3 { bucket: String, key: String },
    /// A file on this machine, by its absolute path.
    File(PathBuf),
}

/// Why a text is not a source location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceLocationError {
    #[error("{0:?} is not a source location (s3://bucket/key or file:///absolute/path)")]
    UnknownScheme(String),
    #[error("{0:?} names no bucket and key")]
    NoKey(String),
    #[error("{0:?} is not an absolute path")]
    RelativePath(String),
}

const S3_SCHEME: &str = "s3://";
const FILE_SCHEME: &str = "file://";

impl SourceLocation {
    pub fn s3(bucket: impl Into<String>, key: impl Into<String>) -> SourceLocation {
        SourceLocation::S3 {
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    /// A local file, by its canonical path when it exists (so `./a.jpg` and `/abs/a.jpg` are
    /// the same asset), else by its absolute path.
    pub fn file(path: &Path) -> SourceLocation {
        let canonical = path
            .canonicalize()
            .or_else(|_| std::path::absolute(path))
            .unwrap_or_else(|_| path.to_path_buf());
        SourceLocation::File(canonical)
    }

    /// The asset this location's uploads are recorded as.
    pub fn asset_id(&self) -> AssetId {
        AssetId::for_source(&self.to_string())
    }

    /// The part of this location below `root` (a bucket and key prefix, or a directory), as
    /// a `/`-separated relative path; `None` when it is not below it.
    pub fn below(&self, root: &SourceLocation) -> Option<String> {
        match (self, root) {
            (
                SourceLocation::S3 { bucket, key },
                SourceLocation::S3 {
                    bucket: b,
                    key: prefix,
                },
            ) if bucket == b => key.strip_prefix(prefix.as_str()).map(str::to_string),
            (SourceLocation::File(path), SourceLocation::File(dir)) => {
                let relative = path.strip_prefix(dir).ok()?;
                let parts: Vec<_> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect();
                Some(parts.join("/"))
            }
            _ => None,
        }
    }

    /// The location as a person reads it: the key of an object, the path of a file.
    pub fn short_name(&self) -> String {
        match self {
            SourceLocation::S3 { key, .. } => key.clone(),
            SourceLocation::File(path) => path.display().to_string(),
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceLocation::S3 { bucket, key } => write!(f, "{S3_SCHEME}{bucket}/{key}"),
            SourceLocation::File(path) => write!(f, "{FILE_SCHEME}{}", path.display()),
        }
    }
}

impl FromStr for SourceLocation {
    type Err = SourceLocationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = text.strip_prefix(S3_SCHEME) {
            return match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
                    Ok(SourceLocation::s3(bucket, key))
                }
                _ => Err(SourceLocationError::NoKey(text.to_string())),
            };
        }
        if let Some(path) = text.strip_prefix(FILE_SCHEME) {
            let path = PathBuf::from(path);
            return if path.is_absolute() {
                Ok(SourceLocation::File(path))
            } else {
                Err(SourceLocationError::RelativePath(text.to_string()))
            };
        }
        Err(SourceLocationError::UnknownScheme(text.to_string()))
    }
}

/// One upload to process: where the original is and what the notifier said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub location: SourceLocation,
    /// The location as the uploader gave it (an object key, a path as typed), for display.
    pub display: String,
    /// Who uploaded it, when the location or the caller says; otherwise the original's own
    /// metadata may.
    pub creator: Option<String>,
    /// Which write of the original this is, when the store reports one.
    pub revision: Option<Revision>,
    /// The preset its place below the upload root picks; the default one when `None`.
    pub preset: Option<String>,
}

impl Upload {
    pub fn new(location: SourceLocation) -> Upload {
        Upload {
            display: location.short_name(),
            location,
            creator: None,
            revision: None,
            preset: None,
        }
    }

    pub fn with_display(mut self, display: impl Into<String>) -> Upload {
        self.display = display.into();
        self
    }

    pub fn with_creator(mut self, creator: Option<String>) -> Upload {
        self.creator = creator;
        self
    }

    pub fn with_revision(mut self, revision: Option<Revision>) -> Upload {
        self.revision = revision;
        self
    }

    pub fn with_preset(mut self, preset: Option<String>) -> Upload {
        self.preset = preset;
        self
    }

    /// Creator and preset from where the upload sits below its root.
    pub fn placed(self, placement: crate::domain::presets::Placement) -> Upload {
        self.with_creator(placement.creator)
            .with_preset(Some(placement.preset))
    }

    pub fn asset_id(&self) -> AssetId {
        self.location.asset_id()
    }
}

/// Uploads are filed as `<creator>/<file>` below an upload root (a key prefix, an inbox
/// folder): the first folder of `relative` names the creator. A file directly in the root
/// has none.
pub fn creator_from_first_folder(relative: &str) -> Option<String> {
    match relative.split_once('/') {
        Some((creator, file)) if !creator.is_empty() && !file.is_empty() => {
            Some(creator.to_string())
        }
        _ => None,
    }
}

/// The key prefix uploads arrive under: `uploads/` by default, and always ending in `/` so
/// that `uploads` cannot match `uploads-old/...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPrefix(String, PresetRoutes);

impl UploadPrefix {
    pub const DEFAULT: &'static str = "uploads/";

    pub fn new(prefix: impl Into<String>) -> UploadPrefix {
        let mut prefix = prefix.into();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        UploadPrefix(prefix, PresetRoutes::default())
    }

    /// The same prefix, placing uploads in the presets' folders below it.
    pub fn with_routes(mut self, routes: PresetRoutes) -> UploadPrefix {
        self.1 = routes;
        self
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part of `key` below the prefix, or `None` when `key` is not an upload.
    pub fn below<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(self.0.as_str())
    }

    /// The preset and creator of the upload at `key`, or `None` when it is not below the
    /// prefix.
    pub fn place(&self, key: &str) -> Option<Placement> {
        self.below(key).map(|relative| self.1.place(relative))
    }

    /// The creator named by `key`'s first folder below the prefix (and its preset's folder).
    pub fn creator_of(&self, key: &str) -> Option<String> {
        self.place(key).and_then(|p| p.creator)
    }
}

impl Default for UploadPrefix {
    fn default() -> Self {
        UploadPrefix::new(Self::DEFAULT)
    }
}

impl fmt::Display for UploadPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_strings_read_back_to_the_same_location() {
        for text in [
            "s3://uploads-bucket/uploads/ana/summer trip/café.jpg",
            "file:///home/ana/photos/a b.jpg",
        ] {
            let location: SourceLocation = text.parse().unwrap();
            assert_eq!(location.to_string(), text);
            assert_eq!(location.asset_id(), AssetId::for_source(text));
        }
        assert_eq!(
            "s3://b/uploads/x.jpg".parse::<SourceLocation>().unwrap(),
            SourceLocation::s3("b", "uploads/x.jpg")
        );
    }

    #[test]
    fn malformed_locations_are_refused() {
        assert!(matches!(
            "test://x".parse::<SourceLocation>(),
            Err(SourceLocationError::UnknownScheme(_))
        ));
        for bad in ["s3://", "s3://bucket", "s3://bucket/", "s3:///key"] {
            assert!(
                matches!(
                    bad.parse::<SourceLocation>(),
                    Err(SourceLocationError::NoKey(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            "file://relative/a.jpg".parse::<SourceLocation>(),
            Err(SourceLocationError::RelativePath(_))
        ));
    }

    #[test]
    fn the_first_folder_names_the_creator() {
        assert_eq!(
            creator_from_first_folder("ana/x.jpg").as_deref(),
            Some("ana")
        );
        assert_eq!(
            creator_from_first_folder("ana/trip/x.jpg").as_deref(),
            Some("ana")
        );
        assert_eq!(creator_from_first_folder("x.jpg"), None);
        assert_eq!(creator_from_first_folder("/x.jpg"), None);
        assert_eq!(creator_from_first_folder("ana/"), None);
    }

    #[test]
    fn upload_prefixes_always_end_in_a_slash() {
        assert_eq!(UploadPrefix::default().as_str(), "uploads/");
        assert_eq!(UploadPrefix::new("incoming").as_str(), "incoming/");
        assert_eq!(UploadPrefix::new("a/b/").as_str(), "a/b/");
        let prefix = UploadPrefix::default();
        assert_eq!(prefix.below("uploads-old/x.jpg"), None);
        assert_eq!(
            prefix.creator_of("uploads/ana/x.jpg").as_deref(),
            Some("ana")
        );
        assert_eq!(prefix.creator_of("uploads/x.jpg"), None);
    }
}
