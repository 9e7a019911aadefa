//! The function's configuration, all from the environment.

use pictor_core::Pipeline;
use std::sync::Arc;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 6] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_UPLOAD_PREFIX",
    "PICTOR_SPEC",
    "PICTOR_ENCODE_THREADS",
    "PICTOR_INGEST_QUEUE_URL",
];

#[derive(Clone)]
pub struct Config {
    /// Renditions, and the manifests plans write (under `manifests/`).
    pub output_bucket: String,
    pub table: String,
    /// Batch tasks outside it are refused (default `uploads/`).
    pub upload_prefix: String,
    /// The current spec: what "stale" is measured against.
    pub pipeline: Arc<Pipeline>,
    /// Where plans with `"target": "queue"` send the originals; those plans fail without it.
    pub ingest_queue_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error(transparent)]
    Pipeline(#[from] pictor_aws::config::PipelineSettingsError),
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// `lookup` returns a variable's value; empty counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        Ok(Config {
            output_bucket: required("PICTOR_OUTPUT_BUCKET")?,
            table: required("PICTOR_TABLE")?,
            upload_prefix: pictor_aws::config::upload_prefix(get("PICTOR_UPLOAD_PREFIX")),
            pipeline: pictor_aws::config::pipeline(get)?,
            ingest_queue_url: get("PICTOR_INGEST_QUEUE_URL"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_aws::config::PipelineSettingsError;

    #[test]
    fn the_queue_is_optional_and_the_table_is_not() {
        let env = |k: &str| match k {
            "PICTOR_OUTPUT_BUCKET" => Some("out".to_string()),
            "PICTOR_TABLE" => Some("t".to_string()),
            _ => None,
        };
        let config = Config::from_lookup(env).unwrap();
        assert_eq!(config.ingest_queue_url, None);
        assert_eq!(config.upload_prefix, "uploads/");
        assert_eq!(config.pipeline.threads(), 1);
        let bad_threads = |k: &str| match k {
            "PICTOR_ENCODE_THREADS" => Some("0".to_string()),
            _ => env(k),
        };
        assert!(matches!(
            Config::from_lookup(bad_threads),
            Err(ConfigError::Pipeline(PipelineSettingsError::Threads(_)))
        ));
        let no_table = |k: &str| env(k).filter(|_| k != "PICTOR_TABLE");
        assert!(matches!(
            Config::from_lookup(no_table),
            Err(ConfigError::Missing("PICTOR_TABLE"))
        ));
    }
}
