//! The settings of a function that processes images: its presets (spec and encode threads)
//! and the upload prefix they route below.

use pictor_core::UploadPrefix;

/// The variables of a function that processes images: `PICTOR_SPEC` or `PICTOR_SPEC_FILE`,
/// `PICTOR_ENCODE_THREADS` and `PICTOR_UPLOAD_PREFIX`, flattened into its own.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PipelineVars {
    pub spec: Option<String>,
    pub spec_file: Option<String>,
    pub encode_threads: Option<String>,
    pub upload_prefix: Option<String>,
}

impl PipelineVars {
    /// The presets ([`presets`]) and the upload prefix they route below ([`upload_prefix`]).
    pub fn settings(self) -> Result<(pictor_core::Presets, UploadPrefix), PipelineSettingsError> {
        let presets = presets(self.spec, self.spec_file, self.encode_threads)?;
        let prefix = upload_prefix(self.upload_prefix, &presets);
        Ok((presets, prefix))
    }
}

/// `PICTOR_UPLOAD_PREFIX`, `uploads/` when unset; uploads below it are placed in the
/// presets' folders.
pub fn upload_prefix(configured: Option<String>, presets: &pictor_core::Presets) -> UploadPrefix {
    configured
        .map_or_else(UploadPrefix::default, UploadPrefix::new)
        .with_routes(presets.routes().clone())
}

/// Why the pipeline settings of a function that processes images are refused.
#[derive(Debug, thiserror::Error)]
pub enum PipelineSettingsError {
    #[error("PICTOR_SPEC is not a valid spec: {0}")]
    Spec(String),
    #[error("PICTOR_SPEC_FILE: {0}")]
    SpecFile(String),
    #[error("set PICTOR_SPEC_FILE or PICTOR_SPEC, not both")]
    BothSpecs,
    #[error("{0}")]
    Threads(String),
}

/// The presets of a function that processes images, from the variables it reads:
/// `PICTOR_SPEC_FILE` (a spec file shipped with the function, beside the logos and fonts it
/// names), or `PICTOR_SPEC` (a spec's TOML text, which can name no files); the built-in spec
/// when neither is set; and `PICTOR_ENCODE_THREADS` (see [`encode_threads`]).
pub fn presets(
    spec: Option<String>,
    spec_file: Option<String>,
    threads: Option<String>,
) -> Result<pictor_core::Presets, PipelineSettingsError> {
    let threads = encode_threads(threads).map_err(PipelineSettingsError::Threads)?;
    let file = match (spec, spec_file) {
        (Some(_), Some(_)) => return Err(PipelineSettingsError::BothSpecs),
        (Some(toml), None) => pictor_core::SpecFile::from_toml(&toml, None)
            .map_err(|e| PipelineSettingsError::Spec(e.to_string()))?,
        (None, Some(path)) => pictor_core::SpecFile::from_file(std::path::Path::new(&path))
            .map_err(|e| PipelineSettingsError::SpecFile(e.to_string()))?,
        (None, None) => pictor_core::SpecFile::single(pictor_core::Spec::default()),
    };
    pictor_core::Presets::build(file, threads)
        .map_err(|e| PipelineSettingsError::Spec(e.to_string()))
}

/// Lambda gives a function at most 6 vCPUs.
pub const MAX_ENCODE_THREADS: usize = 6;

/// `PICTOR_ENCODE_THREADS`: how many threads encode one image's renditions (default 1). The
/// functions handle one image at a time, so extra vCPUs (one per 1769 MB of memory) only help
/// through this; the CDK app sets it from the memory size.
pub fn encode_threads(value: Option<String>) -> Result<usize, String> {
    let Some(value) = value else { return Ok(1) };
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_ENCODE_THREADS).contains(&n) => Ok(n),
        _ => Err(format!(
            "PICTOR_ENCODE_THREADS must be a whole number from 1 to {MAX_ENCODE_THREADS}, not {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_threads_default_to_one_and_refuse_nonsense() {
        assert_eq!(encode_threads(None), Ok(1));
        assert_eq!(encode_threads(Some(" 3 ".into())), Ok(3));
        for bad in ["0", "7", "two", "-1", "1.5"] {
            let err = encode_threads(Some(bad.into())).unwrap_err();
            assert!(err.contains("PICTOR_ENCODE_THREADS"), "{err}");
        }
    }

    #[test]
    fn upload_prefix_defaults_and_always_ends_in_a_slash() {
        let presets = presets(None, None, None).unwrap();
        assert_eq!(upload_prefix(None, &presets).as_str(), "uploads/");
        assert_eq!(
            upload_prefix(Some("incoming".into()), &presets).as_str(),
            "incoming/"
        );
    }
}
