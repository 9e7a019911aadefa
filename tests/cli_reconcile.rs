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
