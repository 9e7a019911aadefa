//! The daily report: what the pipeline did in a time window, from the asset records alone.
//!
//! An asset counts in the window its record was last written in (`updated_at`): processed,
//! failed, reprocessed or deleted then. Numbers are exact sums over those records; timings are
//! nearest-rank percentiles; the cost is an estimate whose assumptions travel with it.

mod html;
pub mod mail;

use crate::domain::asset::{Asset, AssetStatus};
use crate::ports::{AssetQuery, AssetStore, BlobStore, StoreError, MAX_PAGE};
use serde::Serialize;
use std::collections::BTreeMap;
use time::{Date, Duration, OffsetDateTime, Time};

pub use html::{render as render_html, render_with_link as render_html_with_link};

/// `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
}

impl Window {
    /// One whole UTC day.
    pub fn day(date: Date) -> Window {
        let from = date.with_time(Time::MIDNIGHT).assume_utc();
        Window {
            from,
            to: from + Duration::DAY,
        }
    }

    /// The UTC day before the one `now` falls in: what a nightly run reports on.
    pub fn day_before(now: OffsetDateTime) -> Window {
        Window::day(
            now.to_offset(time::UtcOffset::UTC)
                .date()
                .previous_day()
                .unwrap_or(Date::MIN),
        )
    }

    /// The 24 hours up to `now`, rounded up to the next whole second (so what was written
    /// this very second counts).
    pub fn last_24_hours(now: OffsetDateTime) -> Window {
        let now = now
            .replace_nanosecond(0)
            .map_or(now, |whole| whole + Duration::SECOND);
        Window {
            from: now - Duration::DAY,
            to: now,
        }
    }

    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.from <= at && at < self.to
    }

    /// `2026-11-26` for a whole UTC day, else the end time (`2026-11-27T2110Z`).
    pub fn name(&self) -> String {
        let whole_day = self.to - self.from == Duration::DAY
            && self.from.offset().is_utc()
            && self.from.time() == Time::MIDNIGHT;
        let format = if whole_day {
            time::macros::format_description!("[year]-[month]-[day]")
        } else {
            time::macros::format_description!("[year]-[month]-[day]T[hour][minute]Z")
        };
        let at = if whole_day { self.from } else { self.to };
        at.to_offset(time::UtcOffset::UTC)
            .format(&format)
            .unwrap_or_else(|_| "report".to_string())
    }
}

/// What a Lambda invocation costs, to turn processing time into money. Prices are the public
/// on-demand list prices (USD) when this was written; pass your own if yours differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostModel {
    pub architecture: String,
    pub memory_mb: u32,
    pub usd_per_gb_second: f64,
    pub usd_per_million_requests: f64,
    /// What the estimate leaves out.
    pub note: String,
}

impl CostModel {
    pub const ARCHITECTURES: [&'static str; 2] = ["arm64", "x86_64"];

    pub fn lambda(architecture: &str, memory_mb: u32) -> Result<CostModel, String> {
        let usd_per_gb_second = match architecture {
            "arm64" => 0.000_013_333_4,
            "x86_64" => 0.000_016_666_7,
            other => return Err(format!("unknown architecture {other:?} (arm64 or x86_64)")),
        };
        if !(128..=10_240).contains(&memory_mb) {
            return Err(format!(
                "memory {memory_mb} MB is outside Lambda's 128-10240"
            ));
        }
        Ok(CostModel {
            architecture: architecture.to_string(),
            memory_mb,
            usd_per_gb_second,
            usd_per_million_requests: 0.20,
            note: "one ingest invocation per READY or FAILED record, billed for its pipeline time \
                   rounded up to the millisecond; transfers, cold starts, retries and free tier \
                   not included"
                .to_string(),
        })
    }

    /// GB-seconds, compute and request charges of `invocations` billed `billed_ms` in all.
    fn charges(&self, billed_ms: u64, invocations: u64) -> (f64, f64, f64) {
        let gb_seconds = billed_ms as f64 / 1000.0 * f64::from(self.memory_mb) / 1024.0;
        let compute_usd = gb_seconds * self.usd_per_gb_second;
        let requests_usd = invocations as f64 / 1e6 * self.usd_per_million_requests;
        (gb_seconds, compute_usd, requests_usd)
    }
}

/// What the ingest function is billed for one record: its pipeline time, and at least the
/// millisecond Lambda bills a failure that had none.
fn billed_ms(asset: &Asset) -> u64 {
    match asset.status {
        AssetStatus::Ready => asset
            .timings
            .as_ref()
            .map_or(0, |t| t.total_ms.max(0.0).ceil() as u64),
        AssetStatus::Failed => 1,
        AssetStatus::Deleted => 0,
    }
}

/// Days the trend covers, ending with the report's last day.
pub const TREND_DAYS: usize = 30;

/// One UTC day of the trend, counted like the report: by the day a record was last written.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DayTotals {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// READY and FAILED records: uploads processed that day.
    pub uploads: u64,
    pub failures: u64,
    /// Originals of the READY ones.
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub cost_usd: f64,
}

/// Per-day sums for the trend, before the cost is priced.
#[derive(Default)]
struct DayCounter {
    uploads: u64,
    failures: u64,
    bytes_in: u64,
    bytes_out: u64,
    billed_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusCounts {
    pub ready: u64,
    pub failed: u64,
    pub deleted: u64,
    pub total: u64,
}

/// Per output format, over READY assets that have renditions in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FormatBytes {
    pub assets: u64,
    pub renditions: u64,
    pub bytes_out: u64,
    /// Original size minus the largest rendition in this format, summed: what serving the
    /// largest rendition instead of the original saves per view. Negative if it is larger.
    pub bytes_saved: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Bytes {
    /// Originals of READY assets.
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub per_format: BTreeMap<String, FormatBytes>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    pub invocations: u64,
    pub billed_ms: u64,
    pub gb_seconds: f64,
    pub compute_usd: f64,
    pub requests_usd: f64,
    pub total_usd: f64,
    pub assumptions: CostModel,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureSample {
    pub id: String,
    pub source: String,
    pub kind: String,
    pub message: String,
}

/// The report, as JSON and as the page's data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub counts: StatusCounts,
    pub failures_by_kind: BTreeMap<String, u64>,
    pub bytes: Bytes,
    /// Per pipeline stage (decode, orient, analyze, resize, watermark, encode, total), READY
    /// assets only.
    pub timings: BTreeMap<String, Percentiles>,
    pub cost: Cost,
    /// The most recently written failures, up to `FAILURE_SAMPLES`.
    pub recent_failures: Vec<FailureSample>,
    /// The latest reconcile pass, when one has run: drift found and repaired.
    pub reconcile: Option<crate::app::reconcile::ReconcileReport>,
    /// The `TREND_DAYS` UTC days up to the window's end, oldest first, every day present.
    pub trend: Vec<DayTotals>,
}

pub const FAILURE_SAMPLES: usize = 10;

/// Folds records into a report one at a time.
pub struct ReportBuilder {
    window: Window,
    cost: CostModel,
    counts: StatusCounts,
    failures_by_kind: BTreeMap<String, u64>,
    bytes: Bytes,
    stage_ms: BTreeMap<&'static str, Vec<f64>>,
    billed_ms: u64,
    failures: Vec<(OffsetDateTime, FailureSample)>,
    /// The trend's first day and its counters, one per day.
    trend_from: Date,
    trend: Vec<DayCounter>,
}

impl ReportBuilder {
    pub fn new(window: Window, cost: CostModel) -> Self {
        ReportBuilder {
            window,
            cost,
            counts: StatusCounts::default(),
            failures_by_kind: BTreeMap::new(),
            bytes: Bytes::default(),
            stage_ms: BTreeMap::new(),
            billed_ms: 0,
            failures: Vec::new(),
            trend_from: trend_start(window),
            trend: (0..TREND_DAYS).map(|_| DayCounter::default()).collect(),
        }
    }

    /// Counts `asset` if it was written in the window; returns whether it was. Records of the
    /// trend's days count there too.
    pub fn add(&mut self, asset: &Asset) -> bool {
        self.add_to_trend(asset);
        if !self.window.contains(asset.updated_at) {
            return false;
        }
        self.counts.total += 1;
        match asset.status {
            AssetStatus::Ready => self.add_ready(asset),
            AssetStatus::Failed => self.add_failed(asset),
            AssetStatus::Deleted => self.counts.deleted += 1,
        }
        true
    }

    fn add_to_trend(&mut self, asset: &Asset) {
        if asset.updated_at >= self.window.to || asset.status == AssetStatus::Deleted {
            return;
        }
        let date = asset.updated_at.to_offset(time::UtcOffset::UTC).date();
        let Ok(day) = usize::try_from((date - self.trend_from).whole_days()) else {
            return;
        };
        let Some(counter) = self.trend.get_mut(day) else {
            return;
        };
        counter.uploads += 1;
        counter.billed_ms += billed_ms(asset);
        if asset.status == AssetStatus::Failed {
            counter.failures += 1;
        } else {
            counter.bytes_in += asset.source_bytes.unwrap_or(0);
            counter.bytes_out += asset.bytes_out();
        }
    }

    fn add_ready(&mut self, asset: &Asset) {
        self.counts.ready += 1;
        let source = asset.source_bytes.unwrap_or(0);
        self.bytes.bytes_in += source;
        self.bytes.bytes_out += asset.bytes_out();
        let mut largest: BTreeMap<&str, u64> = BTreeMap::new();
        for v in &asset.renditions {
            let format = self
                .bytes
                .per_format
                .entry(v.format.as_str().to_string())
                .or_default();
            format.renditions += 1;
            format.bytes_out += v.bytes;
            let max = largest.entry(v.format.as_str()).or_default();
            *max = (*max).max(v.bytes);
        }
        for (format, max) in largest {
            if let Some(f) = self.bytes.per_format.get_mut(format) {
                f.assets += 1;
                f.bytes_saved += source as i64 - max as i64;
            }
        }
        if let Some(t) = &asset.timings {
            for (stage, ms) in t.by_stage() {
                self.stage_ms.entry(stage.as_str()).or_default().push(ms);
            }
        }
        self.billed_ms += billed_ms(asset);
    }

    fn add_failed(&mut self, asset: &Asset) {
        self.counts.failed += 1;
        let (kind, message) = asset
            .error
            .as_ref()
            .map_or(("unknown", ""), |e| (e.kind.as_str(), e.message.as_str()));
        *self.failures_by_kind.entry(kind.to_string()).or_default() += 1;
        self.billed_ms += billed_ms(asset);
        self.failures.push((
            asset.updated_at,
            FailureSample {
                id: asset.id.to_string(),
                source: asset.source.clone(),
                kind: kind.to_string(),
                message: message.to_string(),
            },
        ));
        // Keep only the newest few as they come.
        if self.failures.len() > FAILURE_SAMPLES * 4 {
            self.trim_failures();
        }
    }

    fn trim_failures(&mut self) {
        self.failures
            .sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        self.failures.truncate(FAILURE_SAMPLES);
    }

    pub fn finish(mut self, generated_at: OffsetDateTime) -> Report {
        self.trim_failures();
        let invocations = self.counts.ready + self.counts.failed;
        let (gb_seconds, compute_usd, requests_usd) =
            self.cost.charges(self.billed_ms, invocations);
        let trend = self
            .trend
            .iter()
            .enumerate()
            .map(|(day, c)| {
                let (_, compute, requests) = self.cost.charges(c.billed_ms, c.uploads);
                DayTotals {
                    date: day_name(self.trend_from + Duration::days(day as i64)),
                    uploads: c.uploads,
                    failures: c.failures,
                    bytes_in: c.bytes_in,
                    bytes_out: c.bytes_out,
                    cost_usd: compute + requests,
                }
            })
            .collect();
        let timings = self
            .stage_ms
            .into_iter()
            .map(|(stage, mut ms)| (stage.to_string(), percentiles(&mut ms)))
            .collect();
        Report {
            from: self.window.from,
            to: self.window.to,
            generated_at,
            counts: self.counts,
            failures_by_kind: self.failures_by_kind,
            bytes: self.bytes,
            timings,
            cost: Cost {
                invocations,
                billed_ms: self.billed_ms,
                gb_seconds,
                compute_usd,
                requests_usd,
                total_usd: compute_usd + requests_usd,
                assumptions: self.cost,
            },
            recent_failures: self.failures.into_iter().map(|(_, f)| f).collect(),
            reconcile: None,
            trend,
        }
    }
}

/// The first day of the trend: `TREND_DAYS` days ending with the one the window ends in (the
/// day before, when it ends at midnight).
fn trend_start(window: Window) -> Date {
    let last = (window.to.to_offset(time::UtcOffset::UTC) - Duration::NANOSECOND).date();
    last - Duration::days(TREND_DAYS as i64 - 1)
}

fn day_name(date: Date) -> String {
    date.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Nearest-rank percentiles: always a value that was measured.
fn percentiles(ms: &mut [f64]) -> Percentiles {
    ms.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let n = ms.len();
        let i = ((p * n as f64).ceil() as usize).clamp(1, n.max(1)) - 1;
        ms.get(i).copied().unwrap_or(0.0)
    };
    Percentiles {
        count: ms.len() as u64,
        p50_ms: rank(0.50),
        p95_ms: rank(0.95),
    }
}

/// Reads every record and reports on those written in `window`.
pub async fn build<S: AssetStore + ?Sized>(
    store: &S,
    window: Window,
    cost: CostModel,
) -> Result<Report, StoreError> {
    let mut builder = ReportBuilder::new(window, cost);
    let mut cursor = None;
    loop {
        let page = store
            .list(&AssetQuery {
                limit: MAX_PAGE,
                cursor,
                ..AssetQuery::default()
            })
            .await?;
        for asset in &page.items {
            builder.add(asset);
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(builder.finish(OffsetDateTime::now_utc())),
        }
    }
}

/// Where `publish` put the two files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    pub json_key: String,
    pub html_key: String,
}

/// Writes `<prefix><window name>.json` and `.html`.
pub async fn publish<B: BlobStore + ?Sized>(
    blobs: &B,
    prefix: &str,
    report: &Report,
) -> Result<Published, StoreError> {
    let name = Window {
        from: report.from,
        to: report.to,
    }
    .name();
    let json = serde_json::to_vec_pretty(report)
        .map_err(|e| StoreError::Other(format!("encoding the report: {e}")))?;
    let published = Published {
        json_key: format!("{prefix}{name}.json"),
        html_key: format!("{prefix}{name}.html"),
    };
    blobs
        .put(&published.json_key, json, "application/json")
        .await?;
    blobs
        .put(
            &published.html_key,
            render_html(report).into_bytes(),
            "text/html; charset=utf-8",
        )
        .await?;
    Ok(published)
}
