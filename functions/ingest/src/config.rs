//! The function's configuration, all from the environment.

use pictor_aws::config::{EnvError, PipelineSettingsError, PipelineVars, StoreVars};
use pictor_core::{Presets, UploadPrefix};
use serde::Deserialize;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 9] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_UPLOAD_PREFIX",
    "PICTOR_SPEC",
    "PICTOR_SPEC_FILE",
    "PICTOR_EVENT_BUS",
    "PICTOR_ENCODE_THREADS",
    "PICTOR_MAX_RECEIVES",
    "PICTOR_CDN_DISTRIBUTION_ID",
];

/// The variables as read, `PICTOR_` left off.
#[derive(Deserialize)]
struct Vars {
    #[serde(flatten)]
    stores: StoreVars,
    #[serde(flatten)]
    pipeline: PipelineVars,
    event_bus: Option<String>,
    max_receives: Option<String>,
    cdn_distribution_id: Option<String>,
}

#[derive(Clone)]
pub struct Config {
    /// The EventBridge bus asset events go to (`PICTOR_EVENT_BUS`); none when unset.
    pub event_bus: Option<String>,
    pub output_bucket: String,
    pub table: String,
    /// Only keys under it are processed (default `uploads/`).
    pub upload_prefix: UploadPrefix,
    pub presets: Presets,
    /// The queue's `maxReceiveCount`: a notification failing on that delivery is recorded
    /// as FAILED `transient` before it moves to the dead-letter queue. `None`: never.
    pub max_receives: Option<u32>,
    /// Whether a CDN (this CloudFront distribution) caches the renditions: a tombstone then
    /// lists the renditions it removed until the purge function has invalidated them.
    pub cdn_purge: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Pipeline(#[from] PipelineSettingsError),
    #[error("PICTOR_MAX_RECEIVES must be a whole number of at least 1, not {0:?}")]
    MaxReceives(String),
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(pictor_aws::config::from_env()?)
    }

    fn from_vars(vars: Vars) -> Result<Config, ConfigError> {
        let (presets, upload_prefix) = vars.pipeline.settings()?;
        Ok(Config {
            cdn_purge: vars.cdn_distribution_id.is_some_and(|id| !id.is_empty()),
            event_bus: vars.event_bus,
            output_bucket: vars.stores.output_bucket,
            table: vars.stores.table,
            upload_prefix,
            presets,
            max_receives: match vars.max_receives.filter(|v| !v.is_empty()) {
                None => None,
                Some(v) => Some(
                    v.parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or(ConfigError::MaxReceives(v))?,
                ),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(pictor_aws::config::from_vars(vars.iter().copied())?)
    }

    #[test]
    fn defaults_and_errors() {
        let env = [("PICTOR_OUTPUT_BUCKET", "out"), ("PICTOR_TABLE", "t")];
        let c = config(&env).unwrap();
        assert_eq!(c.upload_prefix.as_str(), "uploads/");
        assert_eq!(c.presets.threads(), 1);
        let two = [env[0], env[1], ("PICTOR_ENCODE_THREADS", "2")];
        assert_eq!(config(&two).unwrap().presets.threads(), 2);
        let lots = [env[0], env[1], ("PICTOR_ENCODE_THREADS", "lots")];
        assert!(matches!(
            config(&lots),
            Err(ConfigError::Pipeline(PipelineSettingsError::Threads(_)))
        ));
        let five = [env[0], env[1], ("PICTOR_MAX_RECEIVES", "5")];
        assert_eq!(config(&five).unwrap().max_receives, Some(5));
        assert_eq!(c.max_receives, None);
        let zero = [env[0], env[1], ("PICTOR_MAX_RECEIVES", "0")];
        assert!(matches!(config(&zero), Err(ConfigError::MaxReceives(_))));
        let missing = config(&[]).err().unwrap();
        assert_eq!(missing.to_string(), "PICTOR_OUTPUT_BUCKET must be set");
        let bad = [env[0], env[1], ("PICTOR_SPEC", "[[variants]]\nwidth = -3")];
        assert!(matches!(
            config(&bad),
            Err(ConfigError::Pipeline(PipelineSettingsError::Spec(_)))
        ));
    }
}
