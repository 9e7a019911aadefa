//! The daily report from a seeded store: every number checked, then both files published.

use pictor_core::app::report::{self, CostModel, Window};
use pictor_core::local::{FsBlobStore, SqliteAssetStore};
use pictor_core::ports::samples::{check_report_json, report_sample, report_sample_day};
use pictor_core::ports::{AssetStore, BlobStore, Expected};

#[tokio::test]
async fn the_report_sums_exactly_the_records_written_in_the_window() {
    let store = SqliteAssetStore::in_memory().unwrap();
    for asset in report_sample() {
        store.put(&asset, Expected::Absent).await.unwrap();
    }
    let window = Window::day(report_sample_day());
    let cost = CostModel::lambda("arm64", 1024).unwrap();
    let built = report::build(&store, window, cost).await.unwrap();
    check_report_json(&serde_json::to_value(&built).unwrap());

    let dir = tempfile::tempdir().unwrap();
    let blobs = FsBlobStore::new(dir.path());
    let published = report::publish(&blobs, "reports/", &built).await.unwrap();
    assert_eq!(published.json_key, "reports/2026-11-26.json");
    assert_eq!(published.html_key, "reports/2026-11-26.html");
    let json: serde_json::Value =
        serde_json::from_slice(&blobs.get(&published.json_key).await.unwrap()).unwrap();
    check_report_json(&json);

    let html = String::from_utf8(blobs.get(&published.html_key).await.unwrap()).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    for expected in [
        "Records by status",
        "Failures by kind",
        "Stage timings",
        "too_large",
        "3.5 MB",
        // A failure message is shown as text, never as markup.
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ] {
        assert!(html.contains(expected), "{expected} missing");
    }
    assert!(!html.contains("<script"));
    // Self-contained: nothing is fetched from anywhere.
    assert!(!html.contains("src=") && !html.contains("href="));
}

#[test]
fn windows_are_named_after_the_day_or_their_end() {
    let day = Window::day(report_sample_day());
    assert_eq!(day.name(), "2026-11-26");
    let nightly = Window::day_before(day.to + time::Duration::minutes(5));
    assert_eq!(nightly, day);
    let rolling = Window::last_24_hours(
        day.to + time::Duration::minutes(71) - time::Duration::milliseconds(1500),
    );
    assert_eq!(rolling.name(), "2026-11-27T0110Z");
    assert_eq!(rolling.to.second(), 59);
    assert!(CostModel::lambda("sparc", 1024).is_err());
    assert!(CostModel::lambda("arm64", 64).is_err());
}

/// The trend: thirty days ending with the report's day, every day present, each record on the
/// day it was last written; its last day agrees with the report itself.
#[tokio::test]
async fn the_trend_has_thirty_days_each_record_on_its_day() {
    let store = SqliteAssetStore::in_memory().unwrap();
    let mut records = report_sample();
    // Written 40 days before: older than the trend.
    let mut old = records[0].clone();
    old.id = pictor_core::AssetId::for_source("uploads/ana/old.jpg");
    old.updated_at -= time::Duration::days(40);
    records.push(old);
    for asset in records {
        store.put(&asset, Expected::Absent).await.unwrap();
    }
    let window = Window::day(report_sample_day());
    let cost = CostModel::lambda("arm64", 1024).unwrap();
    let built = report::build(&store, window, cost).await.unwrap();
    let trend = &built.trend;
    assert_eq!(trend.len(), report::TREND_DAYS);
    assert_eq!(trend[0].date, "2026-10-28");
    let last = &trend[29];
    assert_eq!(last.date, "2026-11-26");
    assert_eq!((last.uploads, last.failures), (6, 3));
    assert_eq!((last.bytes_in, last.bytes_out), (3_500_000, 1_550_000));
    assert!((last.cost_usd - built.cost.total_usd).abs() < 1e-12);
    // The ready record written a second before midnight, and nothing else.
    let before = &trend[28];
    assert_eq!((before.uploads, before.failures), (1, 0));
    assert_eq!(before.bytes_in, 9_000_000);
    let quiet: u64 = trend[..28].iter().map(|d| d.uploads).sum();
    assert_eq!(quiet, 0, "the 40-day-old record and tomorrow's are outside");

    let html = report::render_html(&built);
    assert!(html.contains("Uploads per day, last 30 days"));
    assert!(html.contains("<title>2026-11-26: 6 uploads, 3 failed</title>"));
}
