//! The nightly run against the local S3/DynamoDB server: a seeded table, the scheduled event
//! fixture, and the report's numbers read back from the bucket.

use pictor_aws::testing::{fresh_resources, sdk_config};
use pictor_aws::{config, DynamoAssetStore};
use pictor_core::ports::{AssetStore, Expected};
use pictor_core::report::CostModel;
use pictor_core::samples::{check_report_json, report_sample};
use pictor_report::{AwsNightlyReport, Config, NightlyReport, ReportError};
use serde_json::Value;

#[tokio::test]
async fn the_scheduled_run_reports_the_previous_day_from_the_table() {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let assets = DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table);
    for asset in report_sample() {
        assets.put(&asset, Expected::Absent).await.unwrap();
    }
    let report = report_on(
        &sdk,
        Config {
            output_bucket: r.output_bucket.clone(),
            table: r.table.clone(),
            reports_prefix: "reports/".into(),
            cost: CostModel::lambda("arm64", 1024).unwrap(),
        },
    );
    let event: Value = serde_json::from_str(include_str!(
        "../../../testdata/events/eventbridge-scheduled.json"
    ))
    .unwrap();
    // Without a reconcile pass the report says so; with one it carries its counts.
    let first = report.handle(event.clone()).await.unwrap();
    assert_eq!(first["reconcile"], Value::Null);
    let pass = pictor_core::reconcile::ReconcileReport {
        originals: 9,
        gone: 2,
        orphans: 3,
        repaired: 5,
        ..Default::default()
    };
    let s3_reports = pictor_aws::S3BlobStore::new(config::s3_client(&sdk), &r.output_bucket);
    pictor_core::reconcile::publish(&s3_reports, &pass)
        .await
        .unwrap();
    let answer = report.handle(event).await.unwrap();
    assert_eq!(answer["reconcile"]["gone"], 2);
    assert_eq!(answer["reconcile"]["orphans"], 3);
    let json_url = format!("s3://{}/reports/2026-11-26.json", r.output_bucket);
    assert_eq!(answer["json"], json_url.as_str());
    assert_eq!(answer["counts"]["total"], 7);

    let s3 = config::s3_client(&sdk);
    let get = |key: &'static str| {
        let s3 = s3.clone();
        let bucket = r.output_bucket.clone();
        async move {
            s3.get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap()
        }
    };
    let json = get("reports/2026-11-26.json").await;
    let bytes = json.body.collect().await.unwrap().into_bytes();
    check_report_json(&serde_json::from_slice(&bytes).unwrap());
    let html = get("reports/2026-11-26.html").await;
    assert_eq!(html.content_type(), Some("text/html; charset=utf-8"));
    let page = String::from_utf8(html.body.collect().await.unwrap().to_vec()).unwrap();
    assert!(page.contains("Failures by kind") && page.contains("too_large"));
    assert!(page.contains("renditions no record references</td><td>3"));

    assert!(matches!(
        report.handle(serde_json::json!({"hello": 1})).await,
        Err(ReportError::BadEvent(_))
    ));
}

/// The handler on the AWS adapters, wired as `main` wires it.
fn report_on(sdk: &aws_config::SdkConfig, config: Config) -> AwsNightlyReport {
    let assets = pictor_aws::config::asset_store(sdk, &config.table);
    let reports =
        pictor_aws::S3BlobStore::new(pictor_aws::config::s3_client(sdk), &config.output_bucket)
            .with_cache_control("no-cache");
    NightlyReport::new(config, assets, reports)
}
