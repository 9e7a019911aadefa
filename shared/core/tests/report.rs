//! The daily report from a seeded store: every number checked, then both files published.

use pictor_core::local::{FsBlobStore, SqliteAssetStore};
use pictor_core::ports::{AssetStore, BlobStore, Expected};
use pictor_core::report::{self, CostModel, Window};
use pictor_core::samples::{check_report_json, report_sample, report_sample_day};

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
