//! The function's configuration, all from the environment.

use pictor_aws::config::EnvError;
use pictor_core::UploadPrefix;
use serde::Deserialize;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 3] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_UPLOAD_PREFIX",
];

/// The variables as read, `PICTOR_` left off.
#[derive(Deserialize)]
struct Vars {
    output_bucket: String,
    table: String,
    upload_prefix: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub output_bucket: String,
    pub table: String,
    /// Only removals under it are acted on (default `uploads/`).
    pub upload_prefix: UploadPrefix,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Ok(Config::from_vars(pictor_aws::config::from_env()?))
    }

    fn from_vars(vars: Vars) -> Config {
        Config {
            output_bucket: vars.output_bucket,
            table: vars.table,
            upload_prefix: pictor_aws::config::upload_prefix(vars.upload_prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let vars = [("PICTOR_OUTPUT_BUCKET", "out"), ("PICTOR_TABLE", "t")];
        let config = Config::from_vars(pictor_aws::config::from_vars(vars).unwrap());
        assert_eq!(config.upload_prefix.as_str(), "uploads/");
        let missing = pictor_aws::config::from_vars::<Vars, _, _, _>([("PICTOR_TABLE", "t")]);
        assert_eq!(
            missing.err().map(|e| e.to_string()).as_deref(),
            Some("PICTOR_OUTPUT_BUCKET must be set")
        );
    }
}
