//! The function's configuration, all from the environment.

use pictor_core::Pipeline;
use std::sync::Arc;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 5] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_UPLOAD_PREFIX",
    "PICTOR_SPEC",
    "PICTOR_ENCODE_THREADS",
];

#[derive(Clone)]
pub struct Config {
    pub output_bucket: String,
    pub table: String,
    /// Only keys under it are processed (default `uploads/`).
    pub upload_prefix: String,
    pub pipeline: Arc<Pipeline>,
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
        let pipeline = pictor_aws::config::pipeline(get)?;
        Ok(Config {
            output_bucket: required("PICTOR_OUTPUT_BUCKET")?,
            table: required("PICTOR_TABLE")?,
            upload_prefix: pictor_aws::config::upload_prefix(get("PICTOR_UPLOAD_PREFIX")),
            pipeline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_aws::config::PipelineSettingsError;
    use std::collections::HashMap;

    #[test]
    fn defaults_and_errors() {
        let env = HashMap::from([("PICTOR_OUTPUT_BUCKET", "out"), ("PICTOR_TABLE", "t")]);
        let config = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(config.upload_prefix, "uploads/");
        assert_eq!(config.pipeline.threads(), 1);
        let mut two = env.clone();
        two.insert("PICTOR_ENCODE_THREADS", "2");
        let config = Config::from_lookup(|k| two.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(config.pipeline.threads(), 2);
        two.insert("PICTOR_ENCODE_THREADS", "lots");
        assert!(matches!(
            Config::from_lookup(|k| two.get(k).map(|v| v.to_string())),
            Err(ConfigError::Pipeline(PipelineSettingsError::Threads(_)))
        ));
        assert!(matches!(
            Config::from_lookup(|_| None),
            Err(ConfigError::Missing("PICTOR_OUTPUT_BUCKET"))
        ));
        let bad = HashMap::from([
            ("PICTOR_OUTPUT_BUCKET", "out"),
            ("PICTOR_TABLE", "t"),
            ("PICTOR_SPEC", "[[variants]]\nwidth = -3"),
        ]);
        assert!(matches!(
            Config::from_lookup(|k| bad.get(k).map(|v| v.to_string())),
            Err(ConfigError::Pipeline(PipelineSettingsError::Spec(_)))
        ));
    }
}
