//! Uploads from apps: the API hands a signed-in creator a signed form for one new original,
//! with conditions the store itself enforces, and deletes a creator's original on request.
//! The pipeline does the rest, as for any upload.

use crate::ports::StoreError;
use crate::presets::Presets;
use crate::source::SourceLocation;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a form stays usable: long enough to pick and send a photo on a slow network,
/// short enough that a leaked form is soon worthless.
pub const FORM_EXPIRY: Duration = Duration::from_secs(600);

/// The one content type prefix a form accepts.
pub const IMAGE_TYPES: &str = "image/";

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

/// Each preset's folder and size limit, for the forms the API hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRules {
    /// name → (folder below the upload root, max bytes).
    presets: BTreeMap<String, (String, u64)>,
}

impl UploadRules {
    pub fn new(presets: &Presets) -> UploadRules {
        UploadRules {
            presets: presets
                .iter()
                .map(|p| {
                    let folder = p.prefix.clone().unwrap_or_default();
                    let limit = p.pipeline.spec().limits.max_file_bytes;
                    (p.name.clone(), (folder, limit))
                })
                .collect(),
        }
    }

    /// The target of a new upload by `creator` for `preset` in `content_type`, or why not.
    pub fn target(
        &self,
        creator: &str,
        preset: &str,
        content_type: &str,
    ) -> Result<UploadTarget, String> {
        let (folder, max_bytes) = self.presets.get(preset).ok_or_else(|| {
            let names: Vec<_> = self.presets.keys().map(String::as_str).collect();
            format!("no preset {preset:?} (one of {})", names.join(", "))
        })?;
        let extension = extension_of(content_type).ok_or_else(|| {
            format!("{content_type:?} is not an image type Pictor reads (image/jpeg, image/png, image/webp, image/gif, image/tiff, image/bmp)")
        })?;
        Ok(UploadTarget {
            relative: format!("{folder}{creator}/{}.{extension}", new_id()),
            max_bytes: *max_bytes,
            content_type_prefix: IMAGE_TYPES.to_string(),
            expires_in: FORM_EXPIRY,
        })
    }
}

/// The file extension new uploads of `content_type` get.
fn extension_of(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    Some(match essence.as_str() {
        "image/jpeg" | "image/jpg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "image/tiff" => "tif",
        "image/bmp" => "bmp",
        _ => return None,
    })
}

/// A random, unguessable name for a new original.
fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::SpecFile;

    #[test]
    fn targets_are_new_keys_in_the_preset_folder_of_the_creator() {
        let file = SpecFile::from_toml(
            "[limits]\nmax_file_bytes = 1000\n[presets.avatars]\nprefix='avatars/'\n[presets.avatars.limits]\nmax_file_bytes = 10",
            None,
        )
        .unwrap();
        let rules = UploadRules::new(&Presets::build(file, 1).unwrap());
        let a = rules.target("ana", "default", "image/jpeg").unwrap();
        let b = rules.target("ana", "default", "image/jpeg").unwrap();
        assert_ne!(a.relative, b.relative, "every form names a new original");
        assert!(a.relative.starts_with("ana/") && a.relative.ends_with(".jpg"));
        assert_eq!(a.max_bytes, 1000);
        let avatar = rules.target("ana", "avatars", "image/PNG").unwrap();
        assert!(avatar.relative.starts_with("avatars/ana/"), "{avatar:?}");
        assert_eq!(avatar.max_bytes, 10);
        assert!(rules.target("ana", "posts", "image/png").is_err());
        assert!(rules.target("ana", "default", "text/html").is_err());
        assert!(rules.target("ana", "default", "image/svg+xml").is_err());
    }
}
