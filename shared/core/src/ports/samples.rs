//! Sample records for tests: a builder for one `Asset`, and the records (with the expected
//! totals) a report is checked against. Test support, like the conformance suites.

use crate::domain::asset::{Asset, AssetId, AssetStatus, Revision};
use crate::domain::source::SourceLocation;
use pictor_image::error::ProcessError;
use std::path::PathBuf;
use time::{Duration, OffsetDateTime};

/// The spec hash samples are made under unless told otherwise.
pub const SAMPLE_SPEC: &str = "0123456789abcdef";

/// Builds a sample record: READY, under [`SAMPLE_SPEC`], version 1, written now, with nothing
/// else set until a method says so.
pub struct SampleAsset(Asset);

impl SampleAsset {
    /// The record of the original at `location`.
    pub fn at(location: &SourceLocation) -> SampleAsset {
        let now = OffsetDateTime::now_utc();
        SampleAsset(Asset {
            id: location.asset_id(),
            source: location.short_name(),
            source_identity: location.to_string(),
            creator: None,
            name: None,
            status: AssetStatus::Ready,
            error: None,
            sha256: None,
            source_bytes: None,
            image: None,
            renditions: Vec::new(),
            timings: None,
            preset: crate::domain::presets::DEFAULT_PRESET.to_string(),
            spec_hash: SAMPLE_SPEC.to_string(),
            created_at: now,
            updated_at: now,
            version: 1,
            revision: None,
            engine: None,
            announced: None,
            cdn_purge: Vec::new(),
        })
    }

    /// Sample `n` of `creator`: `s3://samples/<creator>/<n>.jpg`, with its creator.
    pub fn numbered(n: u32, creator: &str) -> SampleAsset {
        let location = SourceLocation::s3("samples", format!("{creator}/{n}.jpg"));
        SampleAsset::at(&location).creator(creator)
    }

    pub fn id(&self) -> &AssetId {
        &self.0.id
    }

    pub fn creator(mut self, creator: &str) -> Self {
        self.0.creator = Some(creator.to_string());
        self
    }

    pub fn status(mut self, status: AssetStatus) -> Self {
        self.0.status = status;
        self
    }

    /// FAILED with `error`.
    pub fn failed(mut self, error: ProcessError) -> Self {
        self.0.status = AssetStatus::Failed;
        self.0.error = Some(error);
        self
    }

    pub fn spec_hash(mut self, spec_hash: &str) -> Self {
        self.0.spec_hash = spec_hash.to_string();
        self
    }

    /// Created and last written at `at`.
    pub fn created(mut self, at: OffsetDateTime) -> Self {
        self.0.created_at = at;
        self.0.updated_at = at;
        self
    }

    pub fn updated(mut self, at: OffsetDateTime) -> Self {
        self.0.updated_at = at;
        self
    }

    pub fn source_bytes(mut self, bytes: u64) -> Self {
        self.0.source_bytes = Some(bytes);
        self
    }

    pub fn sha256(mut self, sha256: impl Into<String>) -> Self {
        self.0.sha256 = Some(sha256.into());
        self
    }

    pub fn revision(mut self, revision: Revision) -> Self {
        self.0.revision = Some(revision);
        self
    }

    pub fn engine(mut self, engine: Option<&str>) -> Self {
        self.0.engine = engine.map(str::to_string);
        self
    }

    pub fn build(self) -> Asset {
        self.0
    }
}

/// The day `report_sample` writes its records in.
pub fn report_sample_day() -> time::Date {
    time::Date::from_calendar_date(2026, time::Month::November, 26).unwrap()
}

/// Records for checking a report: written on `report_sample_day()` are 3 READY, 3 FAILED and
/// 1 DELETED; two more are written just outside it. `check_report_json` knows the totals.
pub fn report_sample() -> Vec<Asset> {
    use crate::domain::asset::StoredRendition;
    use pictor_image::error::ProcessError;
    use pictor_image::pipeline::Timings;
    use pictor_image::spec::OutputFormat;

    let day = report_sample_day()
        .with_time(time::Time::MIDNIGHT)
        .assume_utc();
    let at = |hour: i64| day + Duration::hours(hour);
    let variant = |name: &str, format: OutputFormat, bytes: u64| StoredRendition {
        name: name.to_string(),
        format,
        width: 100,
        height: 100,
        bytes,
        key: format!("renditions/x/{name}.{}", format.extension()),
        // WebP ones as a SSIMULACRA2 target writes them, so every store keeps those fields.
        quality: (format == OutputFormat::Webp).then_some(71),
        ssimulacra2: (format == OutputFormat::Webp).then_some(80.37),
    };
    let timings = |decode: f64, total: f64| Timings {
        decode_ms: decode,
        resize_ms: total / 4.0,
        encode_ms: total / 2.0,
        total_ms: total,
        ..Timings::default()
    };
    let record = |n: u32, status: AssetStatus, written: OffsetDateTime| {
        SampleAsset::numbered(n, "ana")
            .status(status)
            .created(written - Duration::days(3))
            .updated(written)
            .build()
    };
    let ready = |n: u32, written, source: u64, variants: Vec<StoredRendition>, t: Timings| {
        let mut a = record(n, AssetStatus::Ready, written);
        a.source_bytes = Some(source);
        a.renditions = variants;
        a.timings = Some(t);
        a
    };
    let failed = |n: u32, written, error: ProcessError| {
        let mut a = record(n, AssetStatus::Failed, written);
        a.error = Some(error);
        a
    };
    use OutputFormat::{Jpeg, Webp};
    vec![
        ready(
            1,
            at(1),
            1_000_000,
            vec![
                variant("lg", Jpeg, 200_000),
                variant("sm", Jpeg, 50_000),
                variant("lg-webp", Webp, 150_000),
            ],
            timings(20.0, 99.2),
        ),
        ready(
            2,
            at(5),
            2_000_000,
            vec![
                variant("lg", Jpeg, 300_000),
                variant("lg-webp", Webp, 250_000),
            ],
            timings(60.0, 300.0),
        ),
        // A rendition larger than its original: the saving is negative.
        ready(
            3,
            at(9),
            500_000,
            vec![variant("lg", Jpeg, 600_000)],
            timings(10.0, 50.0),
        ),
        failed(4, at(10), ProcessError::corrupt("truncated JPEG")),
        failed(
            5,
            at(11),
            ProcessError::corrupt("<script>alert(1)</script>"),
        ),
        failed(
            6,
            at(12),
            ProcessError::too_large("40000x40000 is over the limit"),
        ),
        record(7, AssetStatus::Deleted, at(13)),
        // Just outside the window on either side.
        ready(
            8,
            day - Duration::seconds(1),
            9_000_000,
            vec![],
            timings(1.0, 5000.0),
        ),
        failed(9, day + Duration::DAY, ProcessError::corrupt("tomorrow")),
    ]
}

/// Asserts the report JSON for `report_sample()` over `report_sample_day()`, at 1024 MB on
/// arm64.
pub fn check_report_json(report: &serde_json::Value) {
    use serde_json::json;
    assert_eq!(report["from"], "2026-11-26T00:00:00Z");
    assert_eq!(report["to"], "2026-11-27T00:00:00Z");
    assert_eq!(
        report["counts"],
        json!({"ready": 3, "failed": 3, "deleted": 1, "total": 7})
    );
    assert_eq!(
        report["failures_by_kind"],
        json!({"corrupt": 2, "too_large": 1})
    );
    let bytes = &report["bytes"];
    assert_eq!(bytes["bytes_in"], 3_500_000);
    assert_eq!(bytes["bytes_out"], 1_550_000);
    assert_eq!(
        bytes["per_format"]["jpeg"],
        json!({"assets": 3, "renditions": 4, "bytes_out": 1_150_000, "bytes_saved": 2_400_000})
    );
    assert_eq!(
        bytes["per_format"]["webp"],
        json!({"assets": 2, "renditions": 2, "bytes_out": 400_000, "bytes_saved": 2_600_000})
    );
    assert_eq!(
        report["timings"]["total"],
        json!({"count": 3, "p50_ms": 99.2, "p95_ms": 300.0})
    );
    assert_eq!(
        report["timings"]["decode"],
        json!({"count": 3, "p50_ms": 20.0, "p95_ms": 60.0})
    );
    let cost = &report["cost"];
    assert_eq!(cost["invocations"], 6);
    // 100 + 300 + 50 ms, and 1 ms per failure.
    assert_eq!(cost["billed_ms"], 453);
    let gb_seconds = cost["gb_seconds"].as_f64().unwrap();
    assert!((gb_seconds - 0.453).abs() < 1e-9, "{gb_seconds}");
    let total = cost["total_usd"].as_f64().unwrap();
    let expected = 0.453 * 0.000_013_333_4 + 6.0 * 0.20 / 1e6;
    assert!((total - expected).abs() < 1e-12, "{total} vs {expected}");
    let failures = report["recent_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 3);
    assert_eq!(failures[0]["kind"], "too_large", "newest first");
}

/// A file of the workspace's `testdata/` (fixtures and event JSON), for every crate's tests:
/// one place that knows where the fixtures live.
pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
}

/// The bytes of [`testdata`]`(rel)`; a missing fixture names its path.
pub fn testdata_bytes(rel: &str) -> Vec<u8> {
    let path = testdata(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `scripts/<name> start`, which installs and starts one of the servers the tests use
/// (`local-cloud`, `local-postgres`, `local-nats`, `local-s3compat`) unless it is running,
/// and returns what it printed: the server's address.
pub fn start_local_server(name: &str) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name);
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg("start")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} start failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
