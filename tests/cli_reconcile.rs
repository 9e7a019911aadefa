//! `pictor reconcile`: drift between the uploads, the records and the renditions is found and
//! repaired, on the local server's buckets and table (as on AWS) and on a local run.

use aws_sdk_s3::primitives::ByteStream;
use pictor_aws::testing::{endpoint, fresh_resources, sdk_config};
use pictor_aws::{config, DynamoAssetStore};
use pictor_core::ports::AssetStore;
use pictor_core::{AssetStatus, SourceLocation};
use serde_json::Value;
use std::process::Command;

fn pictor(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .output()
        .expect("pictor runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

fn photo(name: &str) -> Vec<u8> {
    let root = pictor_core::ports::samples::testdata("images/photos");
    std::fs::read(root.join(name)).unwrap()
}

#[tokio::test]
async fn lost_notifications_and_orphans_are_repaired_in_the_cloud() {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let s3 = config::s3_client(&sdk);
    // Uploads whose notifications nobody handled, and a rendition nothing references.
    for (key, file) in [
        ("uploads/ana/one.jpg", "coffee.jpg"),
        ("uploads/bo/two.jpg", "rocket.jpg"),
    ] {
        s3.put_object()
            .bucket(&r.uploads_bucket)
            .key(key)
            .body(ByteStream::from(photo(file)))
            .send()
            .await
            .unwrap();
    }
    let orphan = "renditions/0123456789abcdef0123456789abcdef/sm-000000000000.jpg";
    s3.put_object()
        .bucket(&r.output_bucket)
        .key(orphan)
        .body(ByteStream::from(vec![1, 2, 3]))
        .send()
        .await
        .unwrap();
    let cloud = [
        "reconcile",
        "--table",
        &r.table,
        "--bucket",
        &r.uploads_bucket,
        "--output-bucket",
        &r.output_bucket,
        "--grace",
        "0s",
    ];

    let mut dry = cloud.to_vec();
    dry.push("--dry-run");
    let counted = pictor(&dry);
    assert_eq!(counted["unrecorded"], 2);
    assert_eq!(counted["orphans"], 1);
    assert_eq!(counted["repaired"], 0);

    let repaired = pictor(&cloud);
    assert_eq!(repaired["unrecorded"], 2);
    assert_eq!(repaired["repaired"], 3);
    let assets = DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table);
    let one = SourceLocation::s3(&r.uploads_bucket, "uploads/ana/one.jpg").asset_id();
    let record = assets.get(&one).await.unwrap().unwrap();
    assert_eq!(record.status, AssetStatus::Ready);
    assert_eq!(record.creator.as_deref(), Some("ana"));
    let head = s3
        .head_object()
        .bucket(&r.output_bucket)
        .key(orphan)
        .send()
        .await;
    assert!(head.is_err(), "the orphan is deleted");

    // A delete whose notification was lost, and an overwrite whose notification was lost.
    s3.delete_object()
        .bucket(&r.uploads_bucket)
        .key("uploads/bo/two.jpg")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&r.uploads_bucket)
        .key("uploads/ana/one.jpg")
        .body(ByteStream::from(photo("astronaut.jpg")))
        .send()
        .await
        .unwrap();
    let repaired = pictor(&cloud);
    assert_eq!(
        (repaired["gone"].as_u64(), repaired["outdated"].as_u64()),
        (Some(1), Some(1))
    );
    let two = SourceLocation::s3(&r.uploads_bucket, "uploads/bo/two.jpg").asset_id();
    let gone = assets.get(&two).await.unwrap().unwrap();
    assert_eq!(gone.status, AssetStatus::Deleted);
    let replaced = assets.get(&one).await.unwrap().unwrap();
    assert_ne!(replaced.sha256, record.sha256);

    // Converged.
    let again = pictor(&cloud);
    for class in [
        "unrecorded",
        "outdated",
        "gone",
        "broken",
        "orphans",
        "failed",
    ] {
        assert_eq!(again[class], 0, "{class}: {again}");
    }
}

#[test]
fn a_local_run_is_reconciled_with_its_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let out = dir.path().join("out");
    std::fs::create_dir_all(inbox.join("ana")).unwrap();
    std::fs::write(inbox.join("ana/a.jpg"), photo("coffee.jpg")).unwrap();
    let (inbox_arg, out_arg) = (inbox.to_str().unwrap(), out.to_str().unwrap());
    let report = pictor(&["reconcile", "--out", out_arg, "--inbox", inbox_arg]);
    assert_eq!(report["unrecorded"], 1);
    assert_eq!(report["repaired"], 1);
    std::fs::remove_file(inbox.join("ana/a.jpg")).unwrap();
    let report = pictor(&["reconcile", "--out", out_arg, "--inbox", inbox_arg]);
    assert_eq!(report["gone"], 1);
    let again = pictor(&["reconcile", "--out", out_arg, "--inbox", inbox_arg]);
    assert_eq!(again["gone"], 0);
    assert_eq!(again["records"], 1);
}

/// `--every`: a folder nothing watches converges pass by pass, one JSON report per line.
#[test]
fn passes_on_a_schedule_converge_what_no_event_announced() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let out = dir.path().join("out");
    std::fs::create_dir_all(inbox.join("ana")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["reconcile", "--every", "200ms", "--grace", "0s", "--out"])
        .arg(&out)
        .arg("--inbox")
        .arg(&inbox)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_report = || -> Value {
        let line = lines.next().expect("a report per pass").unwrap();
        serde_json::from_str(&line).expect("one JSON report per line")
    };
    assert_eq!(next_report()["originals"], 0);
    // Whole or not at all: a pass must not read it half-written.
    std::fs::write(inbox.join("ana/.a.jpg.partial"), photo("coffee.jpg")).unwrap();
    std::fs::rename(inbox.join("ana/.a.jpg.partial"), inbox.join("ana/a.jpg")).unwrap();
    let mut repaired = Value::Null;
    for _ in 0..50 {
        let report = next_report();
        if report["repaired"] == 1 {
            repaired = report;
            break;
        }
    }
    assert_eq!(repaired["unrecorded"], 1, "no pass recorded the new file");
    let converged = next_report();
    assert_eq!(
        (
            converged["records"].as_u64(),
            converged["repaired"].as_u64()
        ),
        (Some(1), Some(0))
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Beyond AWS: uploads in a bucket of an S3-compatible server that sends no notifications,
/// records in PostgreSQL. Scheduled passes make every upload READY (or FAILED with its
/// reason) with its renditions in the output bucket, and a deleted upload DELETED.
#[tokio::test]
async fn scheduled_passes_converge_an_s3_compatible_bucket_into_postgres() {
    use pictor_aws::testing::{s3_compatible_config, s3_compatible_endpoint, unique};
    use std::io::{BufRead, BufReader};
    let s3 = config::s3_client(&s3_compatible_config());
    let (uploads, output) = (unique("uploads"), unique("renditions"));
    for bucket in [&uploads, &output] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let db = pictor_postgres::testing::fresh_database().await;
    for (key, bytes) in [
        ("uploads/ana/one.jpg", photo("coffee.jpg")),
        ("uploads/bo/two.jpg", photo("rocket.jpg")),
        ("uploads/bo/bad.jpg", b"not a picture".to_vec()),
    ] {
        s3.put_object()
            .bucket(&uploads)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap();
    }
    // As its users run it: an endpoint and keys, no region.
    let mut child = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args([
            "reconcile",
            "--every",
            "300ms",
            "--grace",
            "0s",
            "--db",
            &db,
        ])
        .args(["--bucket", &uploads, "--output-bucket", &output])
        .env("AWS_ENDPOINT_URL", s3_compatible_endpoint())
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_ACCESS_KEY_ID", "any")
        .env("AWS_SECRET_ACCESS_KEY", "any")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_report = || -> Value {
        let line = lines.next().expect("a report per pass").unwrap();
        serde_json::from_str(&line).expect("one JSON report per line")
    };
    let first = next_report();
    assert_eq!(
        (first["unrecorded"].as_u64(), first["repaired"].as_u64()),
        (Some(3), Some(3)),
        "{first}"
    );

    s3.delete_object()
        .bucket(&uploads)
        .key("uploads/bo/two.jpg")
        .send()
        .await
        .unwrap();
    let mut gone = Value::Null;
    for _ in 0..20 {
        let report = next_report();
        if report["gone"] == 1 {
            gone = report;
            break;
        }
    }
    assert_eq!(gone["repaired"], 1, "no pass saw the delete");
    child.kill().unwrap();
    child.wait().unwrap();

    let records = pictor_postgres::PgAssetStore::connect(&db).await.unwrap();
    let record = |key: &str| SourceLocation::s3(&uploads, key).asset_id();
    let one = records
        .get(&record("uploads/ana/one.jpg"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (one.status, one.creator.as_deref()),
        (AssetStatus::Ready, Some("ana"))
    );
    let bad = records
        .get(&record("uploads/bo/bad.jpg"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bad.status, AssetStatus::Failed);
    assert!(bad.error.is_some());
    let two = records
        .get(&record("uploads/bo/two.jpg"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(two.status, AssetStatus::Deleted);

    let mut stored = Vec::new();
    let listed = s3
        .list_objects_v2()
        .bucket(&output)
        .prefix("renditions/")
        .send()
        .await
        .unwrap();
    for object in listed.contents() {
        stored.push(object.key().unwrap_or_default().to_string());
    }
    stored.sort();
    let mut expected: Vec<String> = one.renditions.iter().map(|r| r.key.clone()).collect();
    expected.sort();
    assert_eq!(
        stored, expected,
        "exactly the READY asset's renditions remain"
    );
}
