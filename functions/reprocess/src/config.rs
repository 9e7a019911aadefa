//! The function's configuration, all from the environment.

use pictor_aws::config::{EnvError, PipelineSettingsError, PipelineVars, StoreVars};
use pictor_core::{Presets, UploadPrefix};
use serde::Deserialize;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 8] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_UPLOAD_PREFIX",
    "PICTOR_SPEC",
    "PICTOR_SPEC_FILE",
    "PICTOR_EVENT_BUS",
    "PICTOR_ENCODE_THREADS",
    "PICTOR_INGEST_QUEUE_URL",
];

/// The variables as read, `PICTOR_` left off.
#[derive(Deserialize)]
struct Vars {
    #[serde(flatten)]
    stores: StoreVars,
    #[serde(flatten)]
    pipeline: PipelineVars,
    event_bus: Option<String>,
    ingest_queue_url: Option<String>,
}

#[derive(Clone)]
pub struct Config {
    /// The EventBridge bus asset events go to (`PICTOR_EVENT_BUS`); none when unset.
    pub event_bus: Option<String>,
    /// Renditions, and the manifests plans write (under `manifests/`).
    pub output_bucket: String,
    pub table: String,
    /// Batch tasks outside it are refused (default `uploads/`).
    pub upload_prefix: UploadPrefix,
    /// The current spec: what "stale" is measured against.
    pub presets: Presets,
    /// Where plans with `"target": "queue"` send the originals; those plans fail without it.
    pub ingest_queue_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Pipeline(#[from] PipelineSettingsError),
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(pictor_aws::config::from_env()?)
    }

    fn from_vars(vars: Vars) -> Result<Config, ConfigError> {
        let (presets, upload_prefix) = vars.pipeline.settings()?;
        Ok(Config {
            event_bus: vars.event_bus,
            output_bucket: vars.stores.output_bucket,
            table: vars.stores.table,
            upload_prefix,
            presets,
            ingest_queue_url: vars.ingest_queue_url,
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
    fn the_queue_is_optional_and_the_table_is_not() {
        let env = [("PICTOR_OUTPUT_BUCKET", "out"), ("PICTOR_TABLE", "t")];
        let c = config(&env).unwrap();
        assert_eq!(c.ingest_queue_url, None);
        assert_eq!(c.upload_prefix.as_str(), "uploads/");
        assert_eq!(c.presets.threads(), 1);
        let bad_threads = [env[0], env[1], ("PICTOR_ENCODE_THREADS", "0")];
        assert!(matches!(
            config(&bad_threads),
            Err(ConfigError::Pipeline(PipelineSettingsError::Threads(_)))
        ));
        let no_table = config(&env[..1]).err().unwrap();
        assert_eq!(no_table.to_string(), "PICTOR_TABLE must be set");
    }
}
