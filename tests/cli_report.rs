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
    pictor_core::ports::samples::testdata(&format!("images/{rel}"))
        .display()
        .to_string()
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

/// `report --mail-to` through a real SMTP server on 127.0.0.1: one multipart/alternative
/// message whose HTML part is the page (charts inline as SVG, nothing fetched, names escaped)
/// and whose text part carries the numbers and the link.
#[test]
fn the_report_is_mailed_over_smtp() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A file name a browser would read as markup if the mail did not escape it.
    let hostile = dir.path().join("<b>&x.jpg");
    std::fs::copy(testdata("hostile/truncated.jpg"), &hostile).unwrap();
    let run = pictor(
        &[
            "process",
            &testdata("photos/coffee.jpg"),
            hostile.to_str().unwrap(),
        ],
        &out,
    );
    assert_eq!(run.status.code(), Some(2));

    let maildir = dir.path().join("maildir");
    let smtp = pictor_aws::testing::smtp::SmtpServer::start(&maildir);
    let mailed = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["report", "--mail-to", "ops@example.test"])
        .args(["--mail-to", "Ana <ana@example.test>", "--out"])
        .arg(&out)
        .env("PICTOR_SMTP_URL", smtp.url())
        .env("PICTOR_MAIL_FROM", "Pictor <pictor@example.test>")
        .output()
        .unwrap();
    assert_eq!(
        mailed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&mailed.stderr)
    );
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one message for both recipients");
    use mail_parser::MimeHeaders;
    let mail = mail_parser::MessageParser::default()
        .parse(&messages[0])
        .unwrap();
    let subject = mail.subject().unwrap();
    assert!(
        subject.starts_with("Pictor report ") && subject.ends_with(": 1 ready, 1 failed"),
        "{subject}"
    );
    let to: Vec<&str> = mail
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, ["ops@example.test", "ana@example.test"]);
    let content_type = mail.content_type().unwrap();
    assert_eq!(
        (content_type.ctype(), content_type.subtype()),
        ("multipart", Some("alternative"))
    );
    let text = mail.body_text(0).unwrap();
    assert!(
        text.contains("Processed    2 (1 ready, 1 failed)"),
        "{text}"
    );
    assert!(text.contains("<b>&x.jpg (corrupt)"), "{text}");
    assert!(
        text.contains("The full report, with charts: file://"),
        "{text}"
    );
    let html = mail.body_html(0).unwrap();
    assert!(
        html.contains("&lt;b&gt;&amp;x.jpg"),
        "escaped in the HTML part"
    );
    assert!(!html.contains("<b>&x.jpg"));
    assert!(html.matches("<svg").count() >= 7, "charts inline");
    assert!(html.contains("Uploads per day, last 30 days"));
    assert!(!html.contains("src=\"http"), "nothing fetched");
    assert!(html.contains("Open this report in a browser"));

    // A missing setting is refused before any work, by name.
    let unset = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["report", "--mail-to", "ops@example.test", "--out"])
        .arg(&out)
        .env_remove("PICTOR_SMTP_URL")
        .env("PICTOR_MAIL_FROM", "pictor@example.test")
        .output()
        .unwrap();
    assert_eq!(unset.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unset.stderr).contains("PICTOR_SMTP_URL"));
    assert_eq!(smtp.messages().len(), 1);
}
