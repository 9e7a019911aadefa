//! SDK configuration from the standard sources (environment, profile, instance role), so the
//! same code talks to AWS or to a local server given `AWS_ENDPOINT_URL`.

use aws_config::{BehaviorVersion, SdkConfig};

pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An S3 client; path-style addressing whenever the endpoint is overridden, because local
/// servers on `127.0.0.1:PORT` cannot answer virtual-host-style requests.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// The key prefix uploads arrive under (`PICTOR_UPLOAD_PREFIX`): `uploads/` when unset, and
/// always ending in `/` so that `uploads` cannot match `uploads-old/...`.
pub fn upload_prefix(configured: Option<String>) -> String {
    let mut prefix = configured.unwrap_or_else(|| "uploads/".into());
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    prefix
}

/// Why the pipeline settings of a function that processes images are refused.
#[derive(Debug, thiserror::Error)]
pub enum PipelineSettingsError {
    #[error("PICTOR_SPEC is not a valid spec: {0}")]
    Spec(String),
    #[error("{0}")]
    Threads(String),
}

/// The pipeline of a function that processes images, from the two variables it reads through
/// `get`: `PICTOR_SPEC` (a TOML spec; the built-in default when unset) and
/// `PICTOR_ENCODE_THREADS` (see [`encode_threads`]).
pub fn pipeline(
    get: impl Fn(&str) -> Option<String>,
) -> Result<std::sync::Arc<pictor_core::Pipeline>, PipelineSettingsError> {
    let threads =
        encode_threads(get("PICTOR_ENCODE_THREADS")).map_err(PipelineSettingsError::Threads)?;
    let spec = match get("PICTOR_SPEC") {
        Some(toml) => pictor_core::Spec::from_toml(&toml)
            .map_err(|e| PipelineSettingsError::Spec(e.to_string()))?,
        None => pictor_core::Spec::default(),
    };
    let pipeline = pictor_core::Pipeline::new(spec)
        .map_err(|e| PipelineSettingsError::Spec(e.to_string()))?
        .with_threads(threads);
    Ok(std::sync::Arc::new(pipeline))
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
    use super::{encode_threads, upload_prefix};

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
        assert_eq!(upload_prefix(None), "uploads/");
        assert_eq!(upload_prefix(Some("incoming".into())), "incoming/");
        assert_eq!(upload_prefix(Some("a/b/".into())), "a/b/");
    }
}
