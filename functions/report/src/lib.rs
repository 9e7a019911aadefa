//! The report function: run nightly by an EventBridge schedule, it reports on the previous
//! UTC day of the asset table (`pictor_core::app::report`) and writes `<prefix><day>.json` and
//! `.html` to the output bucket. Invoked by hand with `{"date": "YYYY-MM-DD"}`, it reports
//! on that day instead (to fill a gap, or to redo one).

mod config;

pub use config::{Config, ConfigError, Mailing, DEFAULT_MEMORY_MB, ENV_VARS};
use pictor_aws::function::ErrorType;
use pictor_aws::ses_mail::SesError;
use pictor_aws::SesMailer;
use pictor_core::app::reconcile;
use pictor_core::app::report::{self, Window};
use pictor_core::ports::{AssetStore, BlobStore, StoreError};
use pictor_core::SourceLocation;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("expected a scheduled event (with `time`) or {{\"date\": \"YYYY-MM-DD\"}}: {0}")]
    BadEvent(String),
    /// Lambda retries an asynchronous (scheduled) invocation that fails.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The report is written; only the mail failed. A retry rewrites it and mails again.
    #[error("mailing the report: {0}")]
    Mail(#[from] SesError),
    #[error("building the report mail: {0}")]
    Compose(#[from] report::mail::MailError),
}

impl ErrorType for ReportError {
    fn error_type(&self) -> &'static str {
        match self {
            ReportError::BadEvent(_) => "BadEvent",
            ReportError::Store(_) => "StorageUnavailable",
            ReportError::Mail(SesError::Rejected { .. }) => "MailRejected",
            ReportError::Mail(SesError::Unavailable(_)) => "MailUnavailable",
            ReportError::Compose(_) => "MailInvalid",
        }
    }
}

impl From<ReportError> for lambda_runtime::Diagnostic {
    fn from(error: ReportError) -> Self {
        pictor_aws::function::diagnostic(&error)
    }
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

/// The handler on the AWS adapters, as the function runs it.
pub type AwsNightlyReport = NightlyReport<pictor_aws::DynamoAssetStore, pictor_aws::S3BlobStore>;

/// The handler, over any asset store to read and blob store to write the report to.
pub struct NightlyReport<A, B> {
    assets: A,
    reports: B,
    config: Config,
    mailer: Option<SesMailer>,
}

impl<A: AssetStore, B: BlobStore> NightlyReport<A, B> {
    pub fn new(config: Config, assets: A, reports: B) -> Self {
        NightlyReport {
            assets,
            reports,
            config,
            mailer: None,
        }
    }

    /// Mails each report to `config.mailing`'s recipients through SES.
    pub fn with_mailer(mut self, mailer: SesMailer) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Where the mail links to: `<link base>/<key>`, or the object in the S3 console.
    fn link(&self, mailing: &Mailing, key: &str) -> String {
        match &mailing.link_base {
            Some(base) => format!("{base}/{key}"),
            None => format!(
                "https://s3.console.aws.amazon.com/s3/object/{}?prefix={key}",
                self.config.output_bucket
            ),
        }
    }

    pub async fn handle(&self, event: Value) -> Result<Value, ReportError> {
        let window = window_for(&event)?;
        let mut built = report::build(&self.assets, window, self.config.cost.clone()).await?;
        built.reconcile = reconcile::latest(&self.reports).await?;
        let published = report::publish(&self.reports, &self.config.reports_prefix, &built).await?;
        let mut mailed = 0;
        if let (Some(mailing), Some(mailer)) = (&self.config.mailing, &self.mailer) {
            let link = self.link(mailing, &published.html_key);
            let message =
                report::mail::message(&built, Some(&link), &mailing.sender, &mailing.recipients)?;
            let id = mailer
                .send_raw(&mailing.sender, &mailing.recipients, message.formatted())
                .await?;
            mailed = mailing.recipients.len();
            tracing::info!(message_id = %id, recipients = mailed, "report mailed");
        }
        let bucket = &self.config.output_bucket;
        tracing::info!(
            json = %published.json_key,
            ready = built.counts.ready,
            failed = built.counts.failed,
            "report written"
        );
        Ok(json!({
            "json": SourceLocation::s3(bucket, &published.json_key).to_string(),
            "html": SourceLocation::s3(bucket, &published.html_key).to_string(),
            "counts": built.counts,
            "reconcile": built.reconcile,
            "mailed": mailed,
        }))
    }
}

impl<A, B> pictor_aws::function::Handler for NightlyReport<A, B>
where
    A: AssetStore + 'static,
    B: BlobStore + 'static,
{
    type Error = ReportError;

    async fn handle(&self, event: Value, _deadline_ms: Option<u64>) -> Result<Value, ReportError> {
        NightlyReport::handle(self, event).await
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
}
