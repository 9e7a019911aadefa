//! The function's configuration, all from the environment.

use pictor_aws::config::EnvError;
use pictor_core::layout;
use pictor_core::report::CostModel;
use serde::Deserialize;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 5] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_REPORTS_PREFIX",
    "PICTOR_COST_MEMORY_MB",
    "PICTOR_COST_ARCH",
];

/// The ingest function's usual size: 1769 MB is where Lambda gives a whole vCPU.
pub const DEFAULT_MEMORY_MB: u32 = 1769;

/// The variables as read, `PICTOR_` left off.
#[derive(Deserialize)]
struct Vars {
    output_bucket: String,
    table: String,
    reports_prefix: Option<String>,
    cost_memory_mb: Option<String>,
    cost_arch: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub output_bucket: String,
    pub table: String,
    /// Default `reports/`.
    pub reports_prefix: String,
    /// The ingest function's memory and architecture, for the cost estimate.
    pub cost: CostModel,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("{name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(pictor_aws::config::from_env()?)
    }

    fn from_vars(vars: Vars) -> Result<Config, ConfigError> {
        let memory_mb = match vars.cost_memory_mb {
            None => DEFAULT_MEMORY_MB,
            Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "PICTOR_COST_MEMORY_MB",
                reason: format!("{raw:?} is not a number of megabytes"),
            })?,
        };
        let arch = vars.cost_arch.unwrap_or_else(|| "arm64".into());
        let cost = CostModel::lambda(&arch, memory_mb).map_err(|reason| ConfigError::Invalid {
            name: "PICTOR_COST_ARCH/PICTOR_COST_MEMORY_MB",
            reason,
        })?;
        let mut reports_prefix = vars
            .reports_prefix
            .unwrap_or_else(|| layout::REPORTS.into());
        if !reports_prefix.ends_with('/') {
            reports_prefix.push('/');
        }
        Ok(Config {
            output_bucket: vars.output_bucket,
            table: vars.table,
            reports_prefix,
            cost,
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
    fn config_defaults_and_refusals() {
        let env = [("PICTOR_OUTPUT_BUCKET", "out"), ("PICTOR_TABLE", "t")];
        let c = config(&env).unwrap();
        assert_eq!(c.reports_prefix, "reports/");
        assert_eq!(c.cost.memory_mb, DEFAULT_MEMORY_MB);
        assert_eq!(c.cost.architecture, "arm64");
        let bad_memory = [env[0], env[1], ("PICTOR_COST_MEMORY_MB", "lots")];
        assert!(matches!(
            config(&bad_memory),
            Err(ConfigError::Invalid { .. })
        ));
        let missing = config(&env[1..]).err().unwrap();
        assert_eq!(missing.to_string(), "PICTOR_OUTPUT_BUCKET must be set");
    }
}
