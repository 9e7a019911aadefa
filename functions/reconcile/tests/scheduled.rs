//! A scheduled pass against the local S3/DynamoDB server: a lost notification and a stray
//! rendition are found, repaired, and reported; a dry run only counts.

use aws_sdk_s3::primitives::ByteStream;
use pictor_aws::config::{self, AwsStores};
use pictor_aws::testing::{fresh_resources, sdk_config};
use pictor_aws::S3BlobStore;
use pictor_core::ports::AssetStore;
use pictor_core::{AssetStatus, Pipeline, SourceLocation, Spec};
use pictor_reconcile::{AwsReconcile, Config, Reconcile};
use serde_json::{json, Value};
use std::sync::Arc;

fn reconcile_on(sdk: &aws_config::SdkConfig, config: Config) -> AwsReconcile {
    let stores = AwsStores::new(sdk, &config.output_bucket, &config.table);
    let reports = S3BlobStore::new(config::s3_client(sdk), &config.output_bucket);
    Reconcile::new(
        config,
        stores.originals,
        stores.renditions,
        stores.assets,
        reports,
    )
}

#[tokio::test]
async fn a_scheduled_pass_repairs_and_reports() {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let s3 = config::s3_client(&sdk);
    let photo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/images/photos/coffee.jpg"
    ))
    .unwrap();
    let key = "uploads/ana/lost.jpg";
    s3.put_object()
        .bucket(&r.uploads_bucket)
        .key(key)
        .body(ByteStream::from(photo))
        .send()
        .await
        .unwrap();
    let stray = "renditions/0123456789abcdef0123456789abcdef/sm-000000000000.jpg";
    s3.put_object()
        .bucket(&r.output_bucket)
        .key(stray)
        .body(ByteStream::from(vec![1]))
        .send()
        .await
        .unwrap();
    let handler = reconcile_on(
        &sdk,
        Config {
            event_bus: None,
            output_bucket: r.output_bucket.clone(),
            table: r.table.clone(),
            root: SourceLocation::s3(&r.uploads_bucket, "uploads/"),
            presets: Arc::new(
                Pipeline::new(
                    Spec::from_toml("[[variants]]\nname='sm'\nwidth=96\nformat='jpeg'").unwrap(),
                )
                .unwrap(),
            )
            .into(),
            grace: time::Duration::ZERO,
        },
    );

    let counted = handler.handle(json!({"dryRun": true})).await.unwrap();
    assert_eq!(counted["counts"]["unrecorded"], 1);
    assert_eq!(counted["counts"]["orphans"], 1);
    assert_eq!(counted["counts"]["repaired"], 0);

    let scheduled: Value = serde_json::from_str(include_str!(
        "../../../testdata/events/eventbridge-scheduled.json"
    ))
    .unwrap();
    let done = handler.handle(scheduled).await.unwrap();
    assert_eq!(done["counts"]["repaired"], 2, "{done}");
    let assets = pictor_aws::DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table);
    let id = SourceLocation::s3(&r.uploads_bucket, key).asset_id();
    let record = assets.get(&id).await.unwrap().unwrap();
    assert_eq!(record.status, AssetStatus::Ready);

    let latest = s3
        .get_object()
        .bucket(&r.output_bucket)
        .key(pictor_core::layout::RECONCILE_LATEST)
        .send()
        .await
        .unwrap();
    let body = latest.body.collect().await.unwrap().into_bytes();
    let latest: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(latest, done["counts"]);

    let bad = handler.handle(json!({"dryRun": "yes"})).await;
    assert!(matches!(
        bad,
        Err(pictor_reconcile::ReconcileError::BadEvent(_))
    ));
}
