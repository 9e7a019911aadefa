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

/// The function's configuration for `r`, with no grace and a small spec; repairs it has no
/// time for go to `repairs` when given.
fn config_for(r: &pictor_aws::provision::Resources, repairs: Option<&str>) -> Config {
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
        cdn_distribution_id: None,
        ingest_queue_url: repairs.map(str::to_string),
    }
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
    let handler = reconcile_on(&sdk, config_for(&r, None));

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
        .key(pictor_core::domain::layout::RECONCILE_LATEST)
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

/// A pass out of time: every difference goes to the ingest queue as a notification (at the
/// ingest function's scale, with its retries), and the orphans are still deleted, a thousand
/// per request, and the counts published.
#[tokio::test]
async fn out_of_time_a_pass_hands_its_repairs_to_the_ingest_queue() {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let s3 = config::s3_client(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = sqs
        .create_queue()
        .queue_name(pictor_aws::testing::unique("repairs"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let mut keys = Vec::new();
    for n in 0..25 {
        let key = format!("uploads/creator{}/lost-{n}.jpg", n % 4);
        s3.put_object()
            .bucket(&r.uploads_bucket)
            .key(&key)
            .body(ByteStream::from(vec![0xFF, 0xD8, n as u8]))
            .send()
            .await
            .unwrap();
        keys.push(key);
    }
    for n in 0..1_200 {
        s3.put_object()
            .bucket(&r.output_bucket)
            .key(format!("renditions/{n:032x}/sm-000000000000-00000000.jpg"))
            .body(ByteStream::from(vec![1]))
            .send()
            .await
            .unwrap();
    }
    let handler = reconcile_on(&sdk, config_for(&r, Some(&queue)))
        .with_repair_handoff(Arc::new(pictor_aws::SqsRepairs::new(&sdk, &queue)));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let done = handler
        .handle_until(json!({"dryRun": false}), Some(now_ms))
        .await
        .unwrap();
    let counts = &done["counts"];
    assert_eq!(counts["unrecorded"], 25, "{done}");
    assert_eq!(counts["handed_off"], 25, "{done}");
    assert_eq!(counts["orphans"], 1_200, "{done}");
    assert_eq!(counts["repaired"], 1_200, "{done}");
    assert_eq!(counts["failed"], 0, "{done}");
    let left = s3
        .list_objects_v2()
        .bucket(&r.output_bucket)
        .prefix("renditions/")
        .send()
        .await
        .unwrap();
    assert_eq!(left.key_count(), Some(0));

    let mut queued: Vec<String> = pictor_aws::testing::receive_bodies(&sqs, &queue, 25)
        .await
        .iter()
        .map(|body| match pictor_aws::events::parse(body).unwrap() {
            pictor_aws::events::Notification::Records(records) => records[0].key.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    queued.sort();
    keys.sort();
    assert_eq!(queued, keys);
}
