//! Removals and the other orders events arrive in, against the local S3/SQS/DynamoDB server:
//! whatever the order, the asset converges to what the (versioned) uploads bucket holds.

use pictor_aws::config::AwsStores;
use pictor_aws::testing::LocalCloud;
use pictor_core::ports::samples::SampleAsset;
use pictor_core::ports::AssetStore;
use pictor_core::{Asset, AssetStatus, Pipeline, SourceLocation, Spec};
use pictor_ingest::{AwsIngest, Config, Handled, Ingest};
use serde_json::{json, Value};
use std::sync::Arc;

const PHOTO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/images/photos/coffee.jpg"
);
const OTHER_PHOTO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/images/photos/rocket.jpg"
);

/// One notification from the local queue, in the shape S3 sends it.
async fn receive_one(
    sqs: &aws_sdk_sqs::Client,
    s3: &aws_sdk_s3::Client,
    queue_url: &str,
) -> String {
    let body = pictor_aws::testing::receive_bodies(sqs, queue_url, 1)
        .await
        .remove(0);
    pictor_aws::testing::as_s3_sends(s3, &body).await
}

fn sqs_event(bodies: &[&str]) -> Value {
    pictor_aws::batch::sqs_event(
        bodies
            .iter()
            .enumerate()
            .map(|(i, body)| (format!("m{i}"), body.to_string())),
    )
}

/// A notification as S3 sends it (for the events the local server does not send, such as
/// delete markers, and to deliver events in any order).
fn notification(name: &str, bucket: &str, key: &str, version: Option<&str>, seq: &str) -> String {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-28T12:00:00.000Z", "eventName": name,
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": {
            "key": pictor_aws::events::encode_key(key), "versionId": version, "sequencer": seq
        }}
    }]})
    .to_string()
}

fn config(r: &pictor_aws::provision::Resources) -> Config {
    Config {
        event_bus: None,
        output_bucket: r.output_bucket.clone(),
        table: r.table.clone(),
        upload_prefix: pictor_core::UploadPrefix::default(),
        presets: Arc::new(
            Pipeline::new(
                Spec::from_toml("[[variants]]\nname='sm'\nwidth=128\nformat='jpeg'").unwrap(),
            )
            .unwrap(),
        )
        .into(),
        max_receives: Some(5),
        // A CDN fronts the renditions, as the CDK app deploys it.
        cdn_purge: true,
    }
}

/// The handler on the AWS adapters, wired as `main` wires it (the ingest and cleanup
/// functions run the same one).
fn handler_on(sdk: &aws_config::SdkConfig, config: Config) -> AwsIngest {
    let stores = AwsStores::new(sdk, &config.output_bucket, &config.table);
    Ingest::new(config, stores.originals, stores.renditions, stores.assets)
}

/// The local cloud and the ingest handler (as the cleanup binary runs it) over it.
struct World {
    cloud: LocalCloud,
    handler: AwsIngest,
}

impl std::ops::Deref for World {
    type Target = LocalCloud;
    fn deref(&self) -> &LocalCloud {
        &self.cloud
    }
}

impl World {
    async fn new() -> World {
        let cloud = LocalCloud::fresh().await;
        let handler = handler_on(&cloud.sdk, config(&cloud.resources));
        World { cloud, handler }
    }

    /// Puts the fixture file `path` at `key`; its version id.
    async fn put(&self, key: &str, path: &str) -> String {
        self.upload(key, std::fs::read(path).unwrap()).await
    }

    async fn delete(&self, key: &str, version: Option<&str>) -> String {
        self.delete_upload(key, version).await
    }

    async fn handle(&self, body: &str) -> Vec<Handled> {
        self.handler.handle_body(body).await.unwrap()
    }

    fn created(&self, key: &str, version: &str, seq: &str) -> String {
        notification(
            "ObjectCreated:Put",
            &self.resources.uploads_bucket,
            key,
            Some(version),
            seq,
        )
    }

    fn removed(&self, key: &str, version: &str, seq: &str) -> String {
        notification(
            "ObjectRemoved:Delete",
            &self.resources.uploads_bucket,
            key,
            Some(version),
            seq,
        )
    }
}

fn variant_keys(asset: &Asset) -> Vec<String> {
    let mut keys: Vec<String> = asset.renditions.iter().map(|v| v.key.clone()).collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn delete_removes_renditions_and_marks_the_record() {
    let w = World::new().await;
    let key = "uploads/ana/gone soon+.jpg";
    let version = w.put(key, PHOTO).await;
    let created = receive_one(&w.sqs, &w.s3, &w.resources.ingest_queue_url).await;
    w.handler.handle(sqs_event(&[&created])).await.unwrap();
    let id = w.id(key);
    let ready = w.asset(key).await;
    assert_eq!(ready.status, AssetStatus::Ready);
    assert_eq!(w.output_keys("").await.len(), 1);

    // Deleting the only version removes the object. (A plain delete would add a delete
    // marker, which S3 reports as ObjectRemoved:DeleteMarkerCreated; the local server sends
    // no notification for that.)
    w.delete(key, Some(&version)).await;
    let removed = receive_one(&w.sqs, &w.s3, &w.resources.cleanup_queue_url).await;
    assert_eq!(w.handle(&removed).await, [Handled::Deleted(id.clone())]);
    let deleted = w.asset(key).await;
    assert_eq!(deleted.status, AssetStatus::Deleted);
    assert!(deleted.renditions.is_empty());
    assert!(w.output_keys("").await.is_empty());
    // Gone from the record too: nothing of the picture stays, and the CDN's copies are
    // owed a purge.
    assert_eq!(deleted.sha256, None);
    assert_eq!(deleted.image, None);
    assert_eq!(deleted.creator.as_deref(), Some("ana"));
    assert_eq!(deleted.cdn_purge, variant_keys(&ready));

    // Delivered again: nothing left to do, no error.
    let response = w.handler.handle(sqs_event(&[&removed])).await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]));
    // A late creation notification for the deleted write changes nothing either.
    w.handler.handle(sqs_event(&[&created])).await.unwrap();
    assert_eq!(w.asset(key).await.status, AssetStatus::Deleted);
}

/// A delete handled before the upload's own notification: the tombstone is written although
/// no record existed, and the late creation (in order, or replayed without a sequencer)
/// cannot bring the deleted photo back.
#[tokio::test]
async fn a_delete_before_the_record_leaves_a_tombstone_the_late_ingest_respects() {
    let w = World::new().await;
    let key = "uploads/ana/early delete.jpg";
    let version = w.put(key, PHOTO).await;
    w.delete(key, Some(&version)).await;
    let id = w.id(key);
    assert_eq!(
        w.handle(&w.removed(key, &version, "0B")).await,
        [Handled::Deleted(id.clone())]
    );
    let tombstone = w.asset(key).await;
    assert_eq!(tombstone.status, AssetStatus::Deleted);
    assert_eq!(tombstone.creator.as_deref(), Some("ana"));

    assert_eq!(
        w.handle(&w.created(key, &version, "0A")).await,
        [Handled::Duplicate]
    );
    let replay = pictor_aws::events::replay_notification(&w.resources.uploads_bucket, key);
    assert_eq!(w.handle(&replay).await, [Handled::AlreadyDeleted(id)]);
    assert_eq!(w.asset(key).await.status, AssetStatus::Deleted);
    assert!(w.output_keys("").await.is_empty());
}

/// Delete, then the same bytes uploaded again, and the notifications handled newest first:
/// the record notes the new write, so the older delete leaves it READY.
#[tokio::test]
async fn identical_bytes_after_a_delete_keep_the_asset() {
    let w = World::new().await;
    let key = "uploads/ana/again.jpg";
    let first = w.put(key, PHOTO).await;
    w.handle(&w.created(key, &first, "0A")).await;
    let ready = w.asset(key).await;
    let marker = w.delete(key, None).await;
    let second = w.put(key, PHOTO).await;

    let id = w.id(key);
    assert_eq!(
        w.handle(&w.created(key, &second, "0C")).await,
        [Handled::Unchanged(id.clone())]
    );
    let noted = w.asset(key).await;
    assert_eq!(noted.status, AssetStatus::Ready);
    assert_eq!(
        noted
            .revision
            .as_ref()
            .and_then(|r| r.version_id.as_deref()),
        Some(second.as_str())
    );
    assert_eq!(variant_keys(&noted), variant_keys(&ready));

    let delete = notification(
        "ObjectRemoved:DeleteMarkerCreated",
        &w.resources.uploads_bucket,
        key,
        Some(&marker),
        "0B",
    );
    w.handle(&delete).await;
    let after = w.asset(key).await;
    assert_eq!(after.status, AssetStatus::Ready);
    assert_eq!(w.output_keys("").await, variant_keys(&ready));
}

/// Versions: removing a noncurrent one changes nothing; removing the current one makes the
/// previous one the asset; a delete marker tombstones it; removing the marker restores it.
#[tokio::test]
async fn versions_noncurrent_current_and_restore() {
    let w = World::new().await;
    let key = "uploads/bo/versions.jpg";
    let v1 = w.put(key, PHOTO).await;
    let v2 = w.put(key, OTHER_PHOTO).await;
    w.handle(&w.created(key, &v2, "0B")).await;
    let two = w.asset(key).await;
    assert_eq!(two.status, AssetStatus::Ready);

    // A noncurrent version removed for good (a lifecycle expiry, say): nothing changes.
    let v0 = w.put(key, PHOTO).await;
    let current = w.put(key, OTHER_PHOTO).await;
    w.handle(&w.created(key, &current, "0D")).await;
    let before = w.asset(key).await;
    w.delete(key, Some(&v0)).await;
    assert_eq!(
        w.handle(&w.removed(key, &v0, "0E")).await,
        [Handled::Duplicate]
    );
    let after = w.asset(key).await;
    assert_eq!(after.status, AssetStatus::Ready);
    assert_eq!(variant_keys(&after), variant_keys(&before));
    assert_eq!(w.output_keys("").await, variant_keys(&before));

    // The current version removed: with v0 gone, v2 is current again and becomes the asset
    // (the same bytes as the removed one, so only its revision is noted).
    w.delete(key, Some(&current)).await;
    w.handle(&w.removed(key, &current, "0F")).await;
    let back = w.asset(key).await;
    assert_eq!(back.status, AssetStatus::Ready);
    assert_eq!(back.sha256, two.sha256);
    assert_eq!(
        back.revision.as_ref().and_then(|r| r.version_id.as_deref()),
        Some(v2.as_str())
    );

    // A delete marker: the asset is deleted. Removing the marker (a restore): it is back.
    let marker = w.delete(key, None).await;
    let hidden = notification(
        "ObjectRemoved:DeleteMarkerCreated",
        &w.resources.uploads_bucket,
        key,
        Some(&marker),
        "10",
    );
    assert_eq!(w.handle(&hidden).await, [Handled::Deleted(w.id(key))]);
    assert!(w.output_keys("").await.is_empty());
    w.delete(key, Some(&marker)).await;
    w.handle(&w.removed(key, &marker, "11")).await;
    let restored = w.asset(key).await;
    assert_eq!(restored.status, AssetStatus::Ready);
    assert_eq!(restored.sha256, two.sha256);
    assert_eq!(w.output_keys("").await, variant_keys(&restored));
    let _ = v1;
}

/// A restore (the delete marker removed) on the removal queue's last allowed delivery: the
/// mark left before the attempt must not make the attempt a repeat of itself.
#[tokio::test]
async fn a_restore_on_its_last_delivery_ends_ready() {
    let w = World::new().await;
    let key = "uploads/ana/restored.jpg";
    let version = w.put(key, PHOTO).await;
    w.handle(&w.created(key, &version, "0A")).await;
    let marker = w.delete(key, None).await;
    let marked = notification(
        "ObjectRemoved:DeleteMarkerCreated",
        &w.resources.uploads_bucket,
        key,
        Some(&marker),
        "0B",
    );
    assert_eq!(w.handle(&marked).await, [Handled::Deleted(w.id(key))]);
    w.delete(key, Some(&marker)).await;
    let restore = w.removed(key, &marker, "0C");
    let mut last = sqs_event(&[&restore]);
    last["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5".into();
    let response = w.handler.handle(last).await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]));
    let record = w.asset(key).await;
    assert_eq!(record.status, AssetStatus::Ready, "{:?}", record.error);
    assert_eq!(w.output_keys("").await, variant_keys(&record));
}

/// A removal replayed from a queue (no sequencer) after the key was written again changes
/// nothing: the object is there.
#[tokio::test]
async fn a_stale_replayed_delete_does_not_apply() {
    let w = World::new().await;
    let key = "uploads/ana/summer trip/café + bar 100%.jpg";
    let version = w.put(key, PHOTO).await;
    w.handle(&w.created(key, &version, "0A")).await;
    let ready = w.asset(key).await;
    // As S3 sent it, less the sequencer a replay loses.
    let stale = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-28T12:00:00.000Z", "eventName": "ObjectRemoved:Delete",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": w.resources.uploads_bucket}, "object": {
            "key": pictor_aws::events::encode_key(key), "versionId": version
        }}
    }]})
    .to_string();
    assert_eq!(w.handle(&stale).await, [Handled::Duplicate]);
    assert_eq!(w.asset(key).await, ready);

    // The shipped fixture, an older removal by sequencer, against a record of a later upload.
    let delete = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/events/s3-delete.json"
    ))
    .unwrap()
    .replace("pictor-uploads", &w.resources.uploads_bucket);
    let newer = SampleAsset::at(&SourceLocation::s3(&w.resources.uploads_bucket, key))
        .creator("ana")
        .revision(pictor_core::Revision {
            sequencer: Some("0055AED6DCD9028201".into()),
            ..Default::default()
        })
        .build();
    let id = newer.id.clone();
    w.assets
        .put(&newer, pictor_core::ports::Expected::Version(ready.version))
        .await
        .unwrap();
    assert_eq!(w.handle(&delete).await, [Handled::Duplicate]);
    assert_eq!(w.assets.get(&id).await.unwrap().unwrap(), newer);
}

/// Folder markers and keys outside the prefix are not uploads.
#[tokio::test]
async fn folder_markers_are_ignored() {
    let w = World::new().await;
    let marker = notification(
        "ObjectCreated:Put",
        &w.resources.uploads_bucket,
        "uploads/ana/holiday/",
        None,
        "0A",
    );
    assert_eq!(
        w.handle(&marker).await,
        [Handled::Ignored("a folder marker")]
    );
}
