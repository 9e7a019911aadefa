//! The function's configuration, all from the environment.

use pictor_aws::config::{EnvError, StoreVars};
use pictor_core::app::report::{self, CostModel};
use pictor_core::domain::layout;
use serde::Deserialize;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 8] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_REPORTS_PREFIX",
    "PICTOR_COST_MEMORY_MB",
    "PICTOR_COST_ARCH",
    "PICTOR_REPORT_SENDER",
    "PICTOR_REPORT_RECIPIENTS",
    "PICTOR_REPORT_LINK_BASE",
];

/// The ingest function's usual size: 1769 MB is where Lambda gives a whole vCPU.
pub const DEFAULT_MEMORY_MB: u32 = 1769;

/// The variables as read, `PICTOR_` left off.
#[derive(Deserialize)]
struct Vars {
    #[serde(flatten)]
    stores: StoreVars,
    reports_prefix: Option<String>,
    cost_memory_mb: Option<String>,
    cost_arch: Option<String>,
    report_sender: Option<String>,
    report_recipients: Option<String>,
    report_link_base: Option<String>,
}

/// Who gets the report by mail, and where its link points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailing {
    /// A verified SES identity (`reports@example.com`, or `Name <...>`).
    pub sender: String,
    pub recipients: Vec<String>,
    /// `<base>/<key>` is the mail's link to the page; without one, the object in the S3
    /// console.
    pub link_base: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub output_bucket: String,
    pub table: String,
    /// Default `reports/`.
    pub reports_prefix: String,
    /// The ingest function's memory and architecture, for the cost estimate.
    pub cost: CostModel,
    /// Mail the report when recipients are set.
    pub mailing: Option<Mailing>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("{name}: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("PICTOR_REPORT_RECIPIENTS needs PICTOR_REPORT_SENDER, a verified SES identity")]
    NoSender,
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
        let mailing = match (vars.report_recipients, vars.report_sender) {
            (None, _) => None,
            (Some(_), None) => return Err(ConfigError::NoSender),
            (Some(list), Some(sender)) => {
                let invalid = |reason: String| ConfigError::Invalid {
                    name: "PICTOR_REPORT_RECIPIENTS/PICTOR_REPORT_SENDER",
                    reason,
                };
                let recipients =
                    report::mail::recipients(&list).map_err(|e| invalid(e.to_string()))?;
                report::mail::mailbox(&sender).map_err(|e| invalid(e.to_string()))?;
                Some(Mailing {
                    sender,
                    recipients,
                    link_base: vars
                        .report_link_base
                        .map(|b| b.trim_end_matches('/').to_string()),
                })
            }
        };
        Ok(Config {
            output_bucket: vars.stores.output_bucket,
            table: vars.stores.table,
            reports_prefix,
            cost,
            mailing,
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
        assert!(c.mailing.is_none());
    }

    #[test]
    fn mailing_needs_a_sender_and_real_addresses() {
        let env = [("PICTOR_OUTPUT_BUCKET", "out"), ("PICTOR_TABLE", "t")];
        let to = ("PICTOR_REPORT_RECIPIENTS", "a@example.test, b@example.test");
        let from = ("PICTOR_REPORT_SENDER", "Pictor <reports@example.test>");
        let mailing = config(&[env[0], env[1], to, from])
            .unwrap()
            .mailing
            .unwrap();
        assert_eq!(mailing.recipients, ["a@example.test", "b@example.test"]);
        assert_eq!(mailing.link_base, None);
        assert!(matches!(
            config(&[env[0], env[1], to]),
            Err(ConfigError::NoSender)
        ));
        let bad = ("PICTOR_REPORT_RECIPIENTS", "a@example.test, nobody");
        assert!(matches!(
            config(&[env[0], env[1], bad, from]),
            Err(ConfigError::Invalid { .. })
        ));
    }
}
