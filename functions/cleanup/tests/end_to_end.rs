//! Upload -> ingest -> delete the original -> the removal notification reaches cleanup ->
//! renditions gone, record DELETED. Against the local S3/SQS/DynamoDB server.

use aws_sdk_s3::primitives::ByteStream;
use pictor_aws::config::{asset_store, rendition_store, AwsStores};
use pictor_aws::testing::{fresh_resources, sdk_config};
use pictor_aws::{config, DynamoAssetStore};
use pictor_cleanup::{AwsCleanup, Cleanup, Config, Handled};
use pictor_core::ports::AssetStore;
use pictor_core::samples::SampleAsset;
use pictor_core::SourceLocation;
use pictor_core::{AssetId, AssetStatus, Pipeline, Spec};
use serde_json::{json, Value};
use std::sync::Arc;

async fn receive_one(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> String {
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            let body = m.body().unwrap_or_default();
            if !body.contains("s3:TestEvent") {
                return body.to_string();
            }
        }
    }
    panic!("no notification on {queue_url}");
}

fn sqs_event(bodies: &[&str]) -> Value {
    pictor_aws::batch::sqs_event(
        bodies
            .iter()
            .enumerate()
            .map(|(i, body)| (format!("m{i}"), body.to_string())),
    )
}

#[tokio::test]
async fn delete_removes_renditions_and_marks_the_record() {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let s3 = config::s3_client(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let key = "uploads/ana/gone soon+.jpg";
    let photo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/images/photos/coffee.jpg"
    ))
    .unwrap();
    let put = s3
        .put_object()
        .bucket(&r.uploads_bucket)
        .key(key)
        .body(ByteStream::from(photo))
        .send()
        .await
        .unwrap();
    let created = receive_one(&sqs, &r.ingest_queue_url).await;
    let ingest = ingest_on(
        &sdk,
        pictor_ingest::Config {
            output_bucket: r.output_bucket.clone(),
            table: r.table.clone(),
            upload_prefix: pictor_core::UploadPrefix::default(),
            pipeline: Arc::new(
                Pipeline::new(
                    Spec::from_toml("[[variants]]\nname='sm'\nwidth=128\nformat='jpeg'").unwrap(),
                )
                .unwrap(),
            ),
        },
    );
    ingest.handle(sqs_event(&[&created])).await.unwrap();
    let assets = DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table);
    let id = AssetId::for_source(&format!("s3://{}/{key}", r.uploads_bucket));
    let ready = assets.get(&id).await.unwrap().unwrap();
    assert_eq!(ready.status, AssetStatus::Ready);
    let listed = s3
        .list_objects_v2()
        .bucket(&r.output_bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 1);

    // The uploads bucket is versioned: deleting the only version removes the object. (A plain
    // delete would add a delete marker, which S3 reports as ObjectRemoved:DeleteMarkerCreated;
    // the local server sends no notification for that.)
    s3.delete_object()
        .bucket(&r.uploads_bucket)
        .key(key)
        .set_version_id(put.version_id().map(String::from))
        .send()
        .await
        .unwrap();
    let removed = receive_one(&sqs, &r.cleanup_queue_url).await;
    let cleanup = cleanup_on(
        &sdk,
        Config {
            output_bucket: r.output_bucket.clone(),
            table: r.table.clone(),
            upload_prefix: pictor_core::UploadPrefix::default(),
        },
    );
    assert_eq!(
        cleanup.handle_body(&removed).await.unwrap(),
        [Handled::Deleted(id.clone())]
    );
    let deleted = assets.get(&id).await.unwrap().unwrap();
    assert_eq!(deleted.status, AssetStatus::Deleted);
    assert!(deleted.variants.is_empty());
    let listed = s3
        .list_objects_v2()
        .bucket(&r.output_bucket)
        .send()
        .await
        .unwrap();
    assert!(listed.contents().is_empty());

    // Delivered again: nothing left to do, no error.
    let response = cleanup.handle(sqs_event(&[&removed])).await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]));
    assert_eq!(
        cleanup.handle_body(&removed).await.unwrap(),
        [Handled::Nothing]
    );
    // A late creation notification for the deleted write changes nothing either.
    ingest.handle(sqs_event(&[&created])).await.unwrap();
    assert_eq!(
        assets.get(&id).await.unwrap().unwrap().status,
        AssetStatus::Deleted
    );
}

#[tokio::test]
async fn a_delete_older_than_the_current_upload_is_ignored() {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let cleanup = cleanup_on(
        &sdk,
        Config {
            output_bucket: r.output_bucket.clone(),
            table: r.table.clone(),
            upload_prefix: pictor_core::UploadPrefix::default(),
        },
    );
    // No record at all: nothing to do.
    let delete = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/events/s3-delete.json"
    ))
    .unwrap()
    .replace("pictor-uploads", &r.uploads_bucket);
    assert_eq!(
        cleanup.handle_body(&delete).await.unwrap(),
        [Handled::Nothing]
    );

    // A record written by a later upload (greater sequencer) survives the older delete.
    let key = "uploads/ana/summer trip/café + bar 100%.jpg";
    let id = AssetId::for_source(&format!("s3://{}/{key}", r.uploads_bucket));
    let assets = DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table);
    let newer = SampleAsset::at(&SourceLocation::s3(&r.uploads_bucket, key))
        .creator("ana")
        .revision(pictor_core::Revision {
            sequencer: Some("0055AED6DCD9028201".into()),
            ..Default::default()
        })
        .build();
    assets
        .put(&newer, pictor_core::ports::Expected::Absent)
        .await
        .unwrap();
    assert_eq!(
        cleanup.handle_body(&delete).await.unwrap(),
        [Handled::Nothing]
    );
    assert_eq!(assets.get(&id).await.unwrap().unwrap(), newer);
}

/// The handlers on the AWS adapters, wired as their `main`s wire them.
fn cleanup_on(sdk: &aws_config::SdkConfig, config: Config) -> AwsCleanup {
    let renditions = rendition_store(sdk, &config.output_bucket);
    let assets = asset_store(sdk, &config.table);
    Cleanup::new(config, renditions, assets)
}

fn ingest_on(
    sdk: &aws_config::SdkConfig,
    config: pictor_ingest::Config,
) -> pictor_ingest::AwsIngest {
    let stores = AwsStores::new(sdk, &config.output_bucket, &config.table);
    pictor_ingest::Ingest::new(config, stores.originals, stores.renditions, stores.assets)
}
