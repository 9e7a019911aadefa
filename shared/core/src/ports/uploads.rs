//! Where apps' uploads go: a signed form for one new original, and deletes on request.

use super::StoreError;
use crate::domain::source::SourceLocation;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::time::Duration;

/// One new original's place and the conditions on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTarget {
    /// Below the upload root: `[<preset folder>]<creator>/<new id>.<ext>`.
    pub relative: String,
    /// The most bytes the store accepts (the preset's `limits.max_file_bytes`).
    pub max_bytes: u64,
    /// The content type must start with this.
    pub content_type_prefix: String,
    pub expires_in: Duration,
    /// What the creator's file was called ([`crate::domain::display_name::display_name`]), kept with the original as its
    /// [`NAME_METADATA`](crate::domain::display_name::NAME_METADATA) so the record can show it. Never part of the key.
    pub name: Option<String>,
}

impl UploadTarget {
    /// The same target, carrying the creator's file name as given (sanitised here).
    pub fn with_name(mut self, raw: Option<&str>) -> UploadTarget {
        self.name = raw.and_then(crate::domain::display_name::display_name);
        self
    }
}

/// A form an app sends with the file as `multipart/form-data` `POST` to `url`: every field
/// as given, then the file as the field `file`, last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadForm {
    pub url: String,
    pub fields: BTreeMap<String, String>,
    /// Where the original will be: its asset id is known before it is sent.
    pub location: SourceLocation,
}

/// Where apps' uploads go: the uploads bucket, or a local inbox.
#[async_trait]
pub trait UploadDesk: Send + Sync {
    /// A signed form for `target`.
    async fn form(&self, target: &UploadTarget) -> Result<UploadForm, StoreError>;
    /// Deletes the original at `location`; `Ok` when it was already gone. Refuses a location
    /// outside the upload root.
    async fn delete(&self, location: &SourceLocation) -> Result<(), StoreError>;
}
