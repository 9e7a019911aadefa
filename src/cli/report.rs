//! `pictor report`: the daily report (JSON and a self-contained HTML page) of an output
//! directory, written to DIR/reports/.

use super::{open_records, EXIT_OK};
use anyhow::Context;
use pictor_core::app::report::{self, CostModel, Window};
use pictor_core::local::FsBlobStore;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Output directory of `pictor process`/`watch`.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The PostgreSQL database that holds the run's records (see `process --db`).
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// Report on this UTC day (YYYY-MM-DD) instead of the last 24 hours.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    date: Option<time::Date>,
    /// Lambda memory size to estimate the cost at.
    #[arg(long, default_value_t = 1769, value_name = "MB")]
    memory_mb: u32,
    /// Lambda architecture to estimate the cost for (arm64 or x86_64).
    #[arg(long, default_value = "arm64")]
    arch: String,
    /// Also mail the report to ADDR (repeatable), through the SMTP server in
    /// PICTOR_SMTP_URL (`smtp://host:port`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://...`), from PICTOR_MAIL_FROM.
    #[arg(long, value_name = "ADDR")]
    mail_to: Vec<String>,
}

/// Where the report mail goes through, from the environment.
struct SmtpSettings {
    url: String,
    from: String,
}

impl SmtpSettings {
    fn from_env() -> anyhow::Result<SmtpSettings> {
        let get = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .with_context(|| format!("--mail-to needs {name} to be set"))
        };
        Ok(SmtpSettings {
            url: get("PICTOR_SMTP_URL")?,
            from: get("PICTOR_MAIL_FROM")?,
        })
    }
}

/// Sends the report mail; the link is the page's `file://` URL on this machine.
async fn mail(
    settings: &SmtpSettings,
    to: &[String],
    report: &report::Report,
    page: &std::path::Path,
) -> anyhow::Result<()> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let page = std::path::absolute(page).unwrap_or_else(|_| page.to_path_buf());
    let link = format!("file://{}", page.display());
    let message = report::mail::message(report, Some(&link), &settings.from, to)?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
        .context("PICTOR_SMTP_URL")?
        .timeout(Some(std::time::Duration::from_secs(30)))
        .build();
    transport
        .send(message)
        .await
        .context("sending the report mail")?;
    Ok(())
}

fn parse_date(text: &str) -> Result<time::Date, String> {
    time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|e| format!("{text:?} is not a date like 2026-11-26: {e}"))
}

pub async fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let cost = CostModel::lambda(&args.arch, args.memory_mb).map_err(anyhow::Error::msg)?;
    // Settings are checked before the work, so a missing one costs nothing.
    let smtp = if args.mail_to.is_empty() {
        None
    } else {
        for address in &args.mail_to {
            report::mail::mailbox(address)?;
        }
        Some(SmtpSettings::from_env()?)
    };
    let window = match args.date {
        Some(day) => Window::day(day),
        None => Window::last_24_hours(time::OffsetDateTime::now_utc()),
    };
    let store = open_records(&args.out, args.db.as_deref()).await?;
    let mut built = report::build(&store, window, cost)
        .await
        .context("reading the asset store")?;
    let blobs = FsBlobStore::new(&args.out);
    built.reconcile = pictor_core::app::reconcile::latest(&blobs).await?;
    let published = report::publish(&blobs, pictor_core::domain::layout::REPORTS, &built)
        .await
        .context("writing the report")?;
    let c = &built.counts;
    eprintln!(
        "{} ready, {} failed, {} deleted; estimated Lambda cost ${:.6}",
        c.ready, c.failed, c.deleted, built.cost.total_usd
    );
    for key in [&published.json_key, &published.html_key] {
        println!("{}", args.out.join(key).display());
    }
    if let Some(smtp) = &smtp {
        mail(
            smtp,
            &args.mail_to,
            &built,
            &args.out.join(&published.html_key),
        )
        .await?;
        eprintln!("mailed to {}", args.mail_to.join(", "));
    }
    Ok(EXIT_OK)
}
