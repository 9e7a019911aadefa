//! `pictor report`: the numbers of a real local run, and its two files.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn pictor(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("pictor runs")
}

fn testdata(rel: &str) -> String {
    format!("{}/testdata/images/{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_report_counts_what_was_processed_and_writes_json_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let photos = testdata("photos/coffee.jpg");
    let other = testdata("photos/rocket.jpg");
    let bad = testdata("hostile/truncated.jpg");
    let run = pictor(&["process", &photos, &other, &bad], &out);
    assert_eq!(run.status.code(), Some(2));

    let report = pictor(&["report", "--memory-mb", "2048", "--arch", "x86_64"], &out);
    assert_eq!(
        report.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let paths: Vec<String> = String::from_utf8(report.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(paths.len(), 2);
    assert!(paths[0].ends_with(".json") && paths[1].ends_with(".html"));
    let json: Value = serde_json::from_slice(&std::fs::read(&paths[0]).unwrap()).unwrap();
    assert_eq!(json["counts"]["ready"], 2);
    assert_eq!(json["counts"]["failed"], 1);
    assert_eq!(json["failures_by_kind"]["corrupt"], 1);
    let bytes_in =
        std::fs::metadata(&photos).unwrap().len() + std::fs::metadata(&other).unwrap().len();
    assert_eq!(json["bytes"]["bytes_in"], bytes_in);
    assert_eq!(json["timings"]["total"]["count"], 2);
    assert_eq!(json["cost"]["assumptions"]["memory_mb"], 2048);
    assert_eq!(json["cost"]["assumptions"]["architecture"], "x86_64");
    assert!(json["cost"]["total_usd"].as_f64().unwrap() > 0.0);
    let html = std::fs::read_to_string(&paths[1]).unwrap();
    assert!(html.contains("truncated.jpg"));

    // Another day has nothing; bad options are usage errors.
    let empty = pictor(&["report", "--date", "2020-01-01"], &out);
    assert_eq!(empty.status.code(), Some(0));
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("reports/2020-01-01.json")).unwrap())
            .unwrap();
    assert_eq!(json["counts"]["total"], 0);
    assert!(std::fs::read_to_string(out.join("reports/2020-01-01.html"))
        .unwrap()
        .contains("nothing in this window"));
    for bad in [
        &["report", "--arch", "sparc"][..],
        &["report", "--date", "yesterday"][..],
    ] {
        let run = pictor(bad, &out);
        assert_eq!(run.status.code(), Some(1));
        assert!(!run.stderr.is_empty());
    }
}
