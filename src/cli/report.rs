//! `pictor report`: the daily report (JSON and a self-contained HTML page) of an output
//! directory, written to DIR/reports/.

use super::{open_store, EXIT_OK};
use anyhow::Context;
use pictor_core::local::FsBlobStore;
use pictor_core::report::{self, CostModel, Window};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Output directory of `pictor process`/`watch`.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Report on this UTC day (YYYY-MM-DD) instead of the last 24 hours.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    date: Option<time::Date>,
    /// Lambda memory size to estimate the cost at.
    #[arg(long, default_value_t = 1769, value_name = "MB")]
    memory_mb: u32,
    /// Lambda architecture to estimate the cost for (arm64 or x86_64).
    #[arg(long, default_value = "arm64")]
    arch: String,
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
    let window = match args.date {
        Some(day) => Window::day(day),
        None => Window::last_24_hours(time::OffsetDateTime::now_utc()),
    };
    let store = open_store(&args.out)?;
    let mut built = report::build(&store, window, cost)
        .await
        .context("reading the asset store")?;
    let blobs = FsBlobStore::new(&args.out);
    built.reconcile = pictor_core::reconcile::latest(&blobs).await?;
    let published = report::publish(&blobs, pictor_core::layout::REPORTS, &built)
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
    Ok(EXIT_OK)
}
