//! `pictor assets --table`: the CLI reads the DynamoDB asset table the cloud functions write,
//! here on the local S3/DynamoDB server.

use pictor_aws::testing::{endpoint, sdk_config, unique};
use pictor_aws::{config, table, DynamoAssetStore};
use pictor_core::ports::samples::SampleAsset;
use pictor_core::ports::{AssetStore, Expected};
use pictor_core::{Asset, AssetId, AssetStatus, ProcessError, SourceLocation};
use serde_json::Value;
use std::process::Command;

fn asset(n: i64, status: AssetStatus) -> Asset {
    let at = time::OffsetDateTime::from_unix_timestamp(1_790_000_000 + n).unwrap();
    let location = SourceLocation::s3("up", format!("uploads/ana/{n}.jpg"));
    let sample = SampleAsset::at(&location)
        .creator("ana")
        .created(at)
        .source_bytes(10);
    match status {
        AssetStatus::Failed => sample.failed(ProcessError::corrupt("truncated JPEG")),
        other => sample.status(other),
    }
    .build()
}

fn pictor(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .output()
        .expect("pictor runs")
}

#[tokio::test]
async fn assets_list_and_get_read_a_dynamodb_table() {
    let client = config::dynamodb_client(&sdk_config());
    let name = unique("cli");
    table::create(&client, &name).await.unwrap();
    let store = DynamoAssetStore::new(client, &name);
    for (n, status) in [
        (1, AssetStatus::Ready),
        (2, AssetStatus::Failed),
        (3, AssetStatus::Ready),
    ] {
        store
            .put(&asset(n, status), Expected::Absent)
            .await
            .unwrap();
    }

    let out = pictor(&["assets", "list", "--table", &name, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sources: Vec<&str> = listed
        .iter()
        .map(|a| a["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        [
            "uploads/ana/3.jpg",
            "uploads/ana/2.jpg",
            "uploads/ana/1.jpg"
        ]
    );

    let out = pictor(&[
        "assets", "list", "--table", &name, "--status", "failed", "--json",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.contains("truncated JPEG"));

    let id = asset(3, AssetStatus::Ready).id;
    let out = pictor(&["assets", "get", "--table", &name, id.as_str()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("uploads/ana/3.jpg"));

    // Unknown id: exit 1 with the table named; a table that does not exist: a clear error.
    let missing = AssetId::for_source("nowhere");
    let out = pictor(&["assets", "get", "--table", &name, missing.as_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("table {name}")));
    let out = pictor(&["assets", "list", "--table", "no-such-table"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot list assets in table no-such-table")
    );
    // --out and --table together are a usage error.
    let out = pictor(&["assets", "list", "--table", &name, "--out", "x"]);
    assert_eq!(out.status.code(), Some(1));
}
