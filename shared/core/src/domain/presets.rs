//! Presets: several named specs in one spec file, chosen by the folder an upload arrives in.
//!
//! ```toml
//! # The top level is the `default` preset, and what every named preset inherits.
//! [watermark.text]
//! template = "© {creator} on Example"
//!
//! [presets.avatars]
//! prefix = "avatars/"          # below the upload root: uploads/avatars/<creator>/<file>
//! [[presets.avatars.variants]]
//! name = "s256"
//! width = 256
//! height = 256
//! fit = "cover"
//! format = "webp"
//! ```
//!
//! A preset's table is laid over the top level: a table it sets merges key by key, an array
//! (`variants`) or a value replaces the inherited one. An upload's key below the upload root
//! picks the preset whose `prefix` it starts with (the longest wins); the first folder after
//! that prefix names the creator, as it does for the default preset.

use pictor_image::pipeline::Pipeline;
use pictor_image::spec::{Spec, SpecError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The name of the preset the top level of a spec file defines.
pub const DEFAULT_PRESET: &str = "default";

/// One named spec and the folder (below the upload root) it applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetSpec {
    pub name: String,
    /// `None` for the default preset; otherwise a relative folder ending in `/`.
    pub prefix: Option<String>,
    pub spec: Spec,
}

/// A parsed spec file: the default preset first, then the named ones.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecFile {
    pub presets: Vec<PresetSpec>,
}

impl SpecFile {
    /// Parses a spec file's text; relative paths in it resolve against `base_dir`.
    pub fn from_toml(text: &str, base_dir: Option<&Path>) -> Result<SpecFile, SpecError> {
        let mut top: toml::Table = toml::from_str(text)?;
        let named = match top.remove("presets") {
            None => toml::Table::new(),
            Some(toml::Value::Table(t)) => t,
            Some(_) => return Err(invalid("`presets` must be a table of named presets")),
        };
        let parse = |table: toml::Table| -> Result<Spec, SpecError> {
            let mut spec = Spec::from_toml(&toml::to_string(&table).map_err(|e| {
                SpecError::Invalid(format!("cannot re-encode the spec table: {e}"))
            })?)?;
            spec.base_dir = base_dir.map(Path::to_path_buf);
            Ok(spec)
        };
        let mut presets = vec![PresetSpec {
            name: DEFAULT_PRESET.to_string(),
            prefix: None,
            spec: parse(top.clone())?,
        }];
        for (name, value) in named {
            let toml::Value::Table(mut table) = value else {
                return Err(invalid(format!("preset {name:?} must be a table")));
            };
            check_name(&name)?;
            let prefix = match table.remove("prefix") {
                Some(toml::Value::String(p)) => check_prefix(&name, &p)?,
                _ => {
                    return Err(invalid(format!(
                        "preset {name:?} needs a `prefix` (a folder below the upload root, like \"avatars/\")"
                    )))
                }
            };
            if let Some(other) = presets
                .iter()
                .find(|p| p.prefix.as_deref() == Some(prefix.as_str()))
            {
                return Err(invalid(format!(
                    "presets {:?} and {name:?} have the same prefix {prefix:?}",
                    other.name
                )));
            }
            let mut merged = top.clone();
            merge(&mut merged, table);
            let spec = parse(merged).map_err(|e| match e {
                SpecError::Invalid(m) => invalid(format!("preset {name:?}: {m}")),
                SpecError::Parse(p) => invalid(format!("preset {name:?}: {p}")),
                other => other,
            })?;
            presets.push(PresetSpec {
                name,
                prefix: Some(prefix),
                spec,
            });
        }
        Ok(SpecFile { presets })
    }

    /// Reads a spec file; relative paths inside it resolve against its directory.
    pub fn from_file(path: &Path) -> Result<SpecFile, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        SpecFile::from_toml(&text, path.parent())
    }

    /// One default preset with `spec`.
    pub fn single(spec: Spec) -> SpecFile {
        SpecFile {
            presets: vec![PresetSpec {
                name: DEFAULT_PRESET.to_string(),
                prefix: None,
                spec,
            }],
        }
    }

    /// Every file the presets name (logos), resolved: what a deployment must ship with them.
    pub fn referenced_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self
            .presets
            .iter()
            .filter(|p| p.spec.watermark.logo.enabled)
            .filter_map(|p| p.spec.logo_path())
            .collect();
        files.sort();
        files.dedup();
        files
    }
}

fn invalid(message: impl Into<String>) -> SpecError {
    SpecError::Invalid(message.into())
}

fn check_name(name: &str) -> Result<(), SpecError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok || name == DEFAULT_PRESET {
        return Err(invalid(format!(
            "preset name {name:?} must be 1-64 characters of a-z, 0-9, '-' or '_', and not {DEFAULT_PRESET:?}"
        )));
    }
    Ok(())
}

/// A relative folder of plain segments, always ending in `/`.
fn check_prefix(name: &str, prefix: &str) -> Result<String, SpecError> {
    let trimmed = prefix.trim_end_matches('/');
    let ok = !trimmed.is_empty()
        && !prefix.starts_with('/')
        && trimmed
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'));
    if !ok {
        return Err(invalid(format!(
            "preset {name:?}: prefix {prefix:?} must be a relative folder such as \"avatars/\""
        )));
    }
    Ok(format!("{trimmed}/"))
}

/// Lays `over` onto `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Where an upload belongs, from its path below the upload root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub preset: String,
    /// The first folder after the preset's prefix.
    pub creator: Option<String>,
}

/// The presets' prefixes, without their pipelines: enough to place an upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresetRoutes {
    /// (prefix, name), longest prefix first.
    routes: Vec<(String, String)>,
}

impl PresetRoutes {
    fn new(mut routes: Vec<(String, String)>) -> PresetRoutes {
        routes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        PresetRoutes { routes }
    }

    /// The preset and creator of the upload at `relative` (its path below the upload root,
    /// `/`-separated).
    pub fn place(&self, relative: &str) -> Placement {
        for (prefix, name) in &self.routes {
            if let Some(rest) = relative.strip_prefix(prefix.as_str()) {
                return Placement {
                    preset: name.clone(),
                    creator: crate::domain::source::creator_from_first_folder(rest),
                };
            }
        }
        Placement {
            preset: DEFAULT_PRESET.to_string(),
            creator: crate::domain::source::creator_from_first_folder(relative),
        }
    }

    /// The folder (below the upload root) uploads of `preset` go to; empty for the default.
    pub fn prefix_of(&self, preset: &str) -> Option<&str> {
        if preset == DEFAULT_PRESET {
            return Some("");
        }
        self.routes
            .iter()
            .find(|(_, name)| name == preset)
            .map(|(prefix, _)| prefix.as_str())
    }
}

/// One preset made ready to run.
#[derive(Clone)]
pub struct Preset {
    pub name: String,
    pub prefix: Option<String>,
    pub pipeline: Arc<Pipeline>,
}

/// Every preset of a deployment, ready to run: what the ingest use case processes with.
#[derive(Clone)]
pub struct Presets {
    /// The default preset first.
    presets: Vec<Preset>,
    routes: PresetRoutes,
}

impl Presets {
    /// Builds every preset's pipeline (loading logos) with `threads` encode threads each.
    pub fn build(file: SpecFile, threads: usize) -> Result<Presets, SpecError> {
        let mut presets = Vec::with_capacity(file.presets.len());
        for preset in file.presets {
            let pipeline = Pipeline::new(preset.spec)
                .map_err(|e| match e {
                    SpecError::Invalid(m) => invalid(format!("preset {:?}: {m}", preset.name)),
                    other => other,
                })?
                .with_threads(threads);
            presets.push(Preset {
                name: preset.name,
                prefix: preset.prefix,
                pipeline: Arc::new(pipeline),
            });
        }
        Ok(Presets::from_presets(presets))
    }

    fn from_presets(presets: Vec<Preset>) -> Presets {
        let routes = PresetRoutes::new(
            presets
                .iter()
                .filter_map(|p| Some((p.prefix.clone()?, p.name.clone())))
                .collect(),
        );
        Presets { presets, routes }
    }

    /// The default preset alone.
    pub fn single(pipeline: Arc<Pipeline>) -> Presets {
        Presets::from_presets(vec![Preset {
            name: DEFAULT_PRESET.to_string(),
            prefix: None,
            pipeline,
        }])
    }

    pub fn default_preset(&self) -> &Preset {
        &self.presets[0]
    }

    /// The preset called `name`; the default one when there is none by that name (a record
    /// of a preset the spec no longer has is processed with the default).
    pub fn get(&self, name: Option<&str>) -> &Preset {
        name.and_then(|n| self.presets.iter().find(|p| p.name == n))
            .unwrap_or(self.default_preset())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Preset> {
        self.presets.iter()
    }

    pub fn routes(&self) -> &PresetRoutes {
        &self.routes
    }

    /// The current spec hash of the preset a record names.
    pub fn hash_of(&self, preset: &str) -> &str {
        self.get(Some(preset)).pipeline.spec_hash()
    }

    /// The encode threads of every preset (they are built alike).
    pub fn threads(&self) -> usize {
        self.default_preset().pipeline.threads()
    }
}

impl From<Arc<Pipeline>> for Presets {
    fn from(pipeline: Arc<Pipeline>) -> Presets {
        Presets::single(pipeline)
    }
}

impl From<Pipeline> for Presets {
    fn from(pipeline: Pipeline) -> Presets {
        Presets::single(Arc::new(pipeline))
    }
}

/// The spec hash a record is compared with: one for every preset (a single spec), or per
/// preset.
pub trait CurrentSpecs {
    fn hash_of(&self, preset: &str) -> &str;
}

impl CurrentSpecs for str {
    fn hash_of(&self, _preset: &str) -> &str {
        self
    }
}

impl CurrentSpecs for Presets {
    fn hash_of(&self, preset: &str) -> &str {
        Presets::hash_of(self, preset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_image::spec::Fit;

    const FILE: &str = r#"
        [watermark.text]
        template = "© {creator} on Example"
        [presets.avatars]
        prefix = "avatars"
        [[presets.avatars.variants]]
        name = "s64"
        width = 64
        height = 64
        fit = "cover"
        format = "webp"
        [presets.avatars.watermark]
        min_width = 1000
        [presets.team-avatars]
        prefix = "avatars/team/"
        [[presets.team-avatars.variants]]
        name = "s32"
        width = 32
        height = 32
        fit = "cover"
        format = "png"
    "#;

    #[test]
    fn presets_inherit_the_top_level_and_override_what_they_set() {
        let file = SpecFile::from_toml(FILE, None).unwrap();
        let names: Vec<_> = file.presets.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["default", "avatars", "team-avatars"]);
        let default = &file.presets[0].spec;
        assert_eq!(default.variants.len(), 8);
        let avatars = &file.presets[1];
        assert_eq!(avatars.prefix.as_deref(), Some("avatars/"));
        assert_eq!(avatars.spec.variants.len(), 1);
        assert_eq!(avatars.spec.variants[0].fit, Fit::Cover);
        assert_eq!(avatars.spec.watermark.min_width, 1000);
        assert_eq!(
            avatars.spec.watermark.text.template, "© {creator} on Example",
            "the inherited part of a merged table stays"
        );
    }

    #[test]
    fn the_longest_prefix_places_an_upload_and_the_next_folder_is_the_creator() {
        let presets = Presets::build(SpecFile::from_toml(FILE, None).unwrap(), 1).unwrap();
        let place = |r: &str| presets.routes().place(r);
        assert_eq!(
            place("avatars/ana/me.jpg"),
            Placement {
                preset: "avatars".into(),
                creator: Some("ana".into())
            }
        );
        assert_eq!(place("avatars/team/bo/x.png").preset, "team-avatars");
        assert_eq!(
            place("avatars/team/bo/x.png").creator.as_deref(),
            Some("bo")
        );
        assert_eq!(place("ana/trip.jpg").preset, "default");
        assert_eq!(place("ana/trip.jpg").creator.as_deref(), Some("ana"));
        assert_eq!(place("avatarsx/ana/a.jpg").preset, "default");
        let hashes: std::collections::HashSet<_> =
            presets.iter().map(|p| p.pipeline.spec_hash()).collect();
        assert_eq!(hashes.len(), 3, "each preset has its own hash");
        assert_eq!(presets.get(Some("gone")).name, "default");
        assert_eq!(presets.routes().prefix_of("avatars"), Some("avatars/"));
    }

    #[test]
    fn bad_presets_are_refused_with_their_name() {
        let cases = [
            ("[presets.x]\n", "needs a `prefix`"),
            ("[presets.default]\nprefix='d/'", "not \"default\""),
            ("[presets.x]\nprefix='../up/'", "relative folder"),
            ("[presets.x]\nprefix='/abs/'", "relative folder"),
            (
                "[presets.a]\nprefix='p/'\n[presets.b]\nprefix='p'",
                "same prefix",
            ),
            ("[presets.x]\nprefix='x/'\nvariants=[]", "preset \"x\""),
            ("presets = 3", "table of named presets"),
        ];
        for (text, expected) in cases {
            let err = SpecFile::from_toml(text, None).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?} gave {err:?}");
        }
    }

    #[test]
    fn a_plain_spec_is_one_default_preset() {
        let file = SpecFile::from_toml("", None).unwrap();
        assert_eq!(file, SpecFile::single(Spec::default()));
    }
}
