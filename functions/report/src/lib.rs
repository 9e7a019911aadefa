//! The report function: run nightly by an EventBridge schedule, it reports on the previous
//! UTC day of the asset table (`pictor_core::report`) and writes `<prefix><day>.json` and
//! `.html` to the output bucket. Invoked by hand with `{"date": "YYYY-MM-DD"}`, it reports
//! on that day instead (to fill a gap, or to redo one).

use pictor_aws::{DynamoAssetStore, S3BlobStore};
use pictor_core::ports::StoreError;
use pictor_core::report::{self, CostModel, Window};
use serde::Deserialize;
use serde_json::{json, Value};

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 5] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_REPORTS_PREFIX",
    "PICTOR_COST_MEMORY_MB",
    "PICTOR_COST_ARCH",
];

/// The ingest function's usual size: 1769 MB is where Lambda gives a whole vCPU.
const DEFAULT_MEMORY_MB: u32 = 1769;

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
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let memory_mb = match get("PICTOR_COST_MEMORY_MB") {
            None => DEFAULT_MEMORY_MB,
            Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "PICTOR_COST_MEMORY_MB",
                reason: format!("{raw:?} is not a number of megabytes"),
            })?,
        };
        let arch = get("PICTOR_COST_ARCH").unwrap_or_else(|| "arm64".into());
        let cost = CostModel::lambda(&arch, memory_mb).map_err(|reason| ConfigError::Invalid {
            name: "PICTOR_COST_ARCH/PICTOR_COST_MEMORY_MB",
            reason,
        })?;
        let mut reports_prefix = get("PICTOR_REPORTS_PREFIX").unwrap_or_else(|| "reports/".into());
        if !reports_prefix.ends_with('/') {
            reports_prefix.push('/');
        }
        Ok(Config {
            output_bucket: required("PICTOR_OUTPUT_BUCKET")?,
            table: required("PICTOR_TABLE")?,
            reports_prefix,
            cost,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("expected a scheduled event (with `time`) or {{\"date\": \"YYYY-MM-DD\"}}: {0}")]
    BadEvent(String),
    /// Lambda retries an asynchronous (scheduled) invocation that fails.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// The two shapes the function is invoked with.
#[derive(Deserialize)]
struct Trigger {
    /// EventBridge's scheduled event: when the schedule fired.
    #[serde(default, with = "time::serde::rfc3339::option")]
    time: Option<time::OffsetDateTime>,
    /// By hand.
    #[serde(default)]
    date: Option<String>,
}

/// The window an event asks for.
pub fn window_for(event: &Value) -> Result<Window, ReportError> {
    let trigger: Trigger =
        serde_json::from_value(event.clone()).map_err(|e| ReportError::BadEvent(e.to_string()))?;
    match (trigger.date, trigger.time) {
        (Some(date), _) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let day = time::Date::parse(&date, format)
                .map_err(|e| ReportError::BadEvent(format!("date {date:?}: {e}")))?;
            Ok(Window::day(day))
        }
        (None, Some(fired)) => Ok(Window::day_before(fired)),
        (None, None) => Err(ReportError::BadEvent("neither `time` nor `date`".into())),
    }
}

pub struct Report {
    assets: DynamoAssetStore,
    reports: S3BlobStore,
    config: Config,
}

impl Report {
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Report {
        Report {
            assets: DynamoAssetStore::new(pictor_aws::config::dynamodb_client(sdk), &config.table),
            reports: S3BlobStore::new(pictor_aws::config::s3_client(sdk), &config.output_bucket)
                .with_cache_control("no-cache"),
            config,
        }
    }

    pub async fn handle(&self, event: Value) -> Result<Value, ReportError> {
        let window = window_for(&event)?;
        let built = report::build(&self.assets, window, self.config.cost.clone()).await?;
        let published = report::publish(&self.reports, &self.config.reports_prefix, &built).await?;
        let bucket = &self.config.output_bucket;
        tracing::info!(
            json = %published.json_key,
            ready = built.counts.ready,
            failed = built.counts.failed,
            "report written"
        );
        Ok(json!({
            "json": format!("s3://{bucket}/{}", published.json_key),
            "html": format!("s3://{bucket}/{}", published.html_key),
            "counts": built.counts,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_from_events() {
        let scheduled = json!({"detail-type": "Scheduled Event", "time": "2026-11-27T00:05:00Z"});
        assert_eq!(window_for(&scheduled).unwrap().name(), "2026-11-26");
        let by_hand = json!({"date": "2026-10-01"});
        assert_eq!(window_for(&by_hand).unwrap().name(), "2026-10-01");
        for bad in [
            json!({}),
            json!({"date": "yesterday"}),
            json!({"time": "noon"}),
        ] {
            assert!(matches!(window_for(&bad), Err(ReportError::BadEvent(_))));
        }
    }

    #[test]
    fn config_defaults_and_refusals() {
        let env = |k: &str| match k {
            "PICTOR_OUTPUT_BUCKET" => Some("out".to_string()),
            "PICTOR_TABLE" => Some("t".to_string()),
            _ => None,
        };
        let config = Config::from_lookup(env).unwrap();
        assert_eq!(config.reports_prefix, "reports/");
        assert_eq!(config.cost.memory_mb, DEFAULT_MEMORY_MB);
        assert_eq!(config.cost.architecture, "arm64");
        let bad_memory = |k: &str| {
            if k == "PICTOR_COST_MEMORY_MB" {
                Some("lots".to_string())
            } else {
                env(k)
            }
        };
        assert!(matches!(
            Config::from_lookup(bad_memory),
            Err(ConfigError::Invalid { .. })
        ));
    }
}
