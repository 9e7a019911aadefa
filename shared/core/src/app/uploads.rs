//! Uploads from apps: the API hands a signed-in creator a signed form for one new original,
//! with conditions the store itself enforces, and deletes a creator's original on request.
//! The pipeline does the rest, as for any upload.

use crate::domain::presets::Presets;
use crate::ports::UploadTarget;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a form stays usable: long enough to pick and send a photo on a slow network,
/// short enough that a leaked form is soon worthless.
pub const FORM_EXPIRY: Duration = Duration::from_secs(600);

/// The one content type prefix a form accepts.
pub const IMAGE_TYPES: &str = "image/";

/// Each preset's folder and size limit, for the forms the API hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRules {
    /// name → (folder below the upload root, max bytes).
    presets: BTreeMap<String, (String, u64)>,
    /// How an upload's place names its preset and creator, to check every new place.
    routes: crate::domain::presets::PresetRoutes,
}

/// Why no form is handed out; each names the request's field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefused {
    #[error("no preset {asked:?} (one of {known})")]
    UnknownPreset { asked: String, known: String },
    #[error("{0:?} is not an image type Pictor reads ({TYPES_READ})")]
    UnsupportedType(String),
    /// The creator's folder would read as another preset's folder: the upload would be
    /// processed under that preset and without its creator.
    #[error("creator {creator:?} cannot upload to preset {preset:?}: their folder is the preset folder {folder:?}")]
    CreatorIsAPresetFolder {
        creator: String,
        preset: String,
        folder: String,
    },
}

impl UploadRefused {
    /// The request field the refusal is about.
    pub fn parameter(&self) -> &'static str {
        match self {
            UploadRefused::UnknownPreset { .. } => "preset",
            UploadRefused::UnsupportedType(_) => "contentType",
            UploadRefused::CreatorIsAPresetFolder { .. } => "creator",
        }
    }
}

/// The content types a form is handed out for: the formats the pipeline decodes.
const TYPES_READ: &str =
    "image/jpeg, image/png, image/webp, image/gif, image/heic, image/heif, image/avif";

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
            routes: presets.routes().clone(),
        }
    }

    /// The target of a new upload by `creator` for `preset` in `content_type`, or why not.
    pub fn target(
        &self,
        creator: &str,
        preset: &str,
        content_type: &str,
    ) -> Result<UploadTarget, UploadRefused> {
        let (folder, max_bytes) =
            self.presets
                .get(preset)
                .ok_or_else(|| UploadRefused::UnknownPreset {
                    asked: preset.to_string(),
                    known: self
                        .presets
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
        let extension = extension_of(content_type)
            .ok_or_else(|| UploadRefused::UnsupportedType(content_type.to_string()))?;
        let relative = format!("{folder}{creator}/{}.{extension}", new_id());
        let placed = self.routes.place(&relative);
        if placed.preset != preset || placed.creator.as_deref() != Some(creator) {
            return Err(UploadRefused::CreatorIsAPresetFolder {
                creator: creator.to_string(),
                preset: preset.to_string(),
                folder: self
                    .routes
                    .prefix_of(&placed.preset)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        Ok(UploadTarget {
            relative,
            max_bytes: *max_bytes,
            content_type_prefix: IMAGE_TYPES.to_string(),
            expires_in: FORM_EXPIRY,
            name: None,
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
        "image/heic" => "heic",
        "image/heif" => "heif",
        "image/avif" => "avif",
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
    use crate::domain::presets::SpecFile;

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

    /// What the pipeline decodes is accepted (an iPhone's HEIC among them); what it always
    /// refuses is not handed a form.
    #[test]
    fn forms_are_for_the_formats_the_pipeline_decodes() {
        let file = SpecFile::from_toml("", None).unwrap();
        let rules = UploadRules::new(&Presets::build(file, 1).unwrap());
        for (content_type, extension) in [
            ("image/heic", ".heic"),
            ("image/heif", ".heif"),
            ("image/avif", ".avif"),
            ("image/gif", ".gif"),
        ] {
            let target = rules.target("ana", "default", content_type).unwrap();
            assert!(target.relative.ends_with(extension), "{target:?}");
        }
        for refused in ["image/tiff", "image/bmp"] {
            let error = rules.target("ana", "default", refused).unwrap_err();
            assert_eq!(error.parameter(), "contentType", "{refused}");
        }
    }

    /// A creator whose id is a preset's folder would have their uploads read as that
    /// preset's, with no creator: refused, naming the folder.
    #[test]
    fn a_creator_named_like_a_preset_folder_is_refused_not_misfiled() {
        let file = SpecFile::from_toml(
            "[presets.avatars]\nprefix='avatars/'\n[presets.team]\nprefix='avatars/team/'",
            None,
        )
        .unwrap();
        let rules = UploadRules::new(&Presets::build(file, 1).unwrap());
        let error = rules
            .target("avatars", "default", "image/jpeg")
            .unwrap_err();
        assert_eq!(error.parameter(), "creator");
        assert!(error.to_string().contains("avatars/"), "{error}");
        let nested = rules.target("team", "avatars", "image/jpeg").unwrap_err();
        assert!(matches!(
            nested,
            UploadRefused::CreatorIsAPresetFolder { .. }
        ));
        assert!(rules.target("ana", "avatars", "image/jpeg").is_ok());
        assert!(rules.target("team", "default", "image/jpeg").is_ok());
    }

    #[test]
    fn a_target_keeps_the_display_name_apart_from_its_key() {
        let file = SpecFile::from_toml("", None).unwrap();
        let rules = UploadRules::new(&Presets::build(file, 1).unwrap());
        let target = rules
            .target("ana", "default", "image/jpeg")
            .unwrap()
            .with_name(Some("/tmp/x/cat.jpg"));
        assert_eq!(target.name.as_deref(), Some("cat.jpg"));
        assert!(!target.relative.contains("cat"), "never part of the key");
    }
}
