//! The function's configuration, all from the environment.

use pictor_aws::config::{EnvError, PipelineSettingsError, PipelineVars, StoreVars};
use pictor_core::{Presets, SourceLocation};
use serde::Deserialize;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 11] = [
    "PICTOR_UPLOADS_BUCKET",
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_UPLOAD_PREFIX",
    "PICTOR_SPEC",
    "PICTOR_SPEC_FILE",
    "PICTOR_EVENT_BUS",
    "PICTOR_ENCODE_THREADS",
    "PICTOR_GRACE_MINUTES",
    "PICTOR_CDN_DISTRIBUTION_ID",
    "PICTOR_INGEST_QUEUE_URL",
];

/// Unreferenced renditions younger than this are left alone by default.
pub const DEFAULT_GRACE_MINUTES: i64 = 60;

/// The variables as read, `PICTOR_` left off.
#[derive(Deserialize)]
struct Vars {
    #[serde(flatten)]
    stores: StoreVars,
    #[serde(flatten)]
    pipeline: PipelineVars,
    uploads_bucket: String,
    event_bus: Option<String>,
    grace_minutes: Option<String>,
    cdn_distribution_id: Option<String>,
    ingest_queue_url: Option<String>,
}

#[derive(Clone)]
pub struct Config {
    /// The EventBridge bus asset events go to (`PICTOR_EVENT_BUS`); none when unset.
    pub event_bus: Option<String>,
    pub output_bucket: String,
    pub table: String,
    /// The uploads bucket and prefix: the originals the records are held to.
    pub root: SourceLocation,
    /// The spec the ingest function runs, so repairs make the same renditions.
    pub presets: Presets,
    pub grace: time::Duration,
    /// The CloudFront distribution in front of the renditions: what tombstones still owe it
    /// is purged by the pass. None: no CDN of the deployment's own.
    pub cdn_distribution_id: Option<String>,
    /// The ingest function's queue: repairs the pass has no time for are sent there. None:
    /// they wait for the next pass.
    pub ingest_queue_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Pipeline(#[from] PipelineSettingsError),
    #[error("PICTOR_GRACE_MINUTES must be a whole number of minutes, not {0:?}")]
    Grace(String),
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(pictor_aws::config::from_env()?)
    }

    fn from_vars(vars: Vars) -> Result<Config, ConfigError> {
        let minutes = match vars.grace_minutes.filter(|v| !v.is_empty()) {
            None => DEFAULT_GRACE_MINUTES,
            Some(v) => v
                .parse()
                .ok()
                .filter(|m: &i64| *m >= 0)
                .ok_or(ConfigError::Grace(v))?,
        };
        let (presets, prefix) = vars.pipeline.settings()?;
        Ok(Config {
            event_bus: vars.event_bus,
            root: SourceLocation::s3(vars.uploads_bucket, prefix.as_str()),
            output_bucket: vars.stores.output_bucket,
            table: vars.stores.table,
            presets,
            grace: time::Duration::minutes(minutes),
            cdn_distribution_id: vars.cdn_distribution_id.filter(|id| !id.is_empty()),
            ingest_queue_url: vars.ingest_queue_url.filter(|url| !url.is_empty()),
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
        let env = [
            ("PICTOR_UPLOADS_BUCKET", "up"),
            ("PICTOR_OUTPUT_BUCKET", "out"),
            ("PICTOR_TABLE", "t"),
        ];
        let c = config(&env).unwrap();
        assert_eq!(c.root.to_string(), "s3://up/uploads/");
        assert_eq!(c.grace, time::Duration::hours(1));
        let short = [env[0], env[1], env[2], ("PICTOR_GRACE_MINUTES", "5")];
        assert_eq!(config(&short).unwrap().grace, time::Duration::minutes(5));
        let bad = [env[0], env[1], env[2], ("PICTOR_GRACE_MINUTES", "-1")];
        assert!(matches!(config(&bad), Err(ConfigError::Grace(_))));
        let missing = config(&env[1..]).err().unwrap();
        assert_eq!(missing.to_string(), "PICTOR_UPLOADS_BUCKET must be set");
    }
}
