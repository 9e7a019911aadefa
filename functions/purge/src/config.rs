//! The function's configuration, all from the environment.

use pictor_aws::config::EnvError;
use serde::Deserialize;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 2] = ["PICTOR_TABLE", "PICTOR_CDN_DISTRIBUTION_ID"];

/// The variables as read, `PICTOR_` left off.
#[derive(Deserialize)]
struct Vars {
    table: String,
    cdn_distribution_id: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    /// The CloudFront distribution in front of the output bucket.
    pub distribution_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        let vars: Vars = pictor_aws::config::from_env()?;
        Ok(Config {
            table: vars.table,
            distribution_id: vars.cdn_distribution_id,
        })
    }
}
