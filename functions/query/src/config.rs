//! The function's configuration, all from the environment.

use pictor_aws::config::EnvError;
use serde::Deserialize;
use std::time::Duration;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 4] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_CDN_BASE_URL",
    "PICTOR_URL_EXPIRY_SECONDS",
];

const DEFAULT_EXPIRY: Duration = Duration::from_secs(300);
/// SigV4 presigned URLs cannot live longer than a week.
const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The variables as read, `PICTOR_` left off.
#[derive(Deserialize)]
struct Vars {
    output_bucket: String,
    table: String,
    cdn_base_url: Option<String>,
    url_expiry_seconds: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub output_bucket: String,
    pub table: String,
    /// Serve `<base>/<key>` instead of presigned URLs.
    pub cdn_base_url: Option<String>,
    pub url_expiry: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("PICTOR_URL_EXPIRY_SECONDS must be a number of seconds from 1 to 604800, not {0:?}")]
    Expiry(String),
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(pictor_aws::config::from_env()?)
    }

    fn from_vars(vars: Vars) -> Result<Config, ConfigError> {
        let url_expiry = match vars.url_expiry_seconds {
            None => DEFAULT_EXPIRY,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs)
                .filter(|d| !d.is_zero() && *d <= MAX_EXPIRY)
                .ok_or(ConfigError::Expiry(raw))?,
        };
        Ok(Config {
            output_bucket: vars.output_bucket,
            table: vars.table,
            cdn_base_url: vars.cdn_base_url,
            url_expiry,
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
        let base = [("PICTOR_OUTPUT_BUCKET", "out"), ("PICTOR_TABLE", "t")];
        let c = config(&base).unwrap();
        assert_eq!(c.url_expiry, Duration::from_secs(300));
        assert!(c.cdn_base_url.is_none());
        let missing = config(&base[..1]).err().unwrap();
        assert_eq!(missing.to_string(), "PICTOR_TABLE must be set");
        for bad in ["0", "-1", "soon", "604801"] {
            let mut env = base.to_vec();
            env.push(("PICTOR_URL_EXPIRY_SECONDS", bad));
            assert!(matches!(config(&env), Err(ConfigError::Expiry(_))), "{bad}");
        }
    }
}
