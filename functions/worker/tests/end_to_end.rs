//! The worker on real servers: SeaweedFS for the buckets (configured region-less, as its users
//! do), PostgreSQL for the records, NATS JetStream for the notifications, the events and the
//! dead letters. Notifications are published in MinIO's shape of S3's event format.

use aws_sdk_s3::primitives::ByteStream;
use pictor_aws::testing::{s3_compatible_config, unique, unretried_sdk_config_at};
use pictor_core::ports::AssetStore;
use pictor_core::{AssetStatus, SourceLocation};
use pictor_nats::testing::{server_url, unique_prefix};
use pictor_postgres::PgAssetStore;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::watch;

fn photo(name: &str) -> Vec<u8> {
    pictor_core::ports::samples::testdata_bytes(&format!("images/photos/{name}"))
}

/// What MinIO publishes for one object event.
fn notification(event: &str, bucket: &str, key: &str, sequencer: u64) -> String {
    json!({
        "EventName": format!("s3:{event}"),
        "Key": format!("{bucket}/{key}"),
        "Records": [{
            "eventVersion": "2.0",
            "eventSource": "minio:s3",
            "awsRegion": "",
            "eventTime": "2026-12-07T12:00:00.000Z",
            "eventName": format!("s3:{event}"),
            "s3": {
                "s3SchemaVersion": "1.0",
                "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
                "object": {"key": key.replace('/', "%2F"), "sequencer": format!("{sequencer:016X}")}
            }
        }]
    })
    .to_string()
}

struct Target {
    uploads: String,
    output: String,
    db: String,
    prefix: String,
}

fn vars(t: &Target) -> Vec<(String, String)> {
    [
        ("PICTOR_NATS_URL", server_url()),
        ("PICTOR_NATS_PREFIX", t.prefix.clone()),
        ("PICTOR_DB", t.db.clone()),
        ("PICTOR_OUTPUT_BUCKET", t.output.clone()),
        ("PICTOR_MAX_DELIVERIES", "2".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

async fn target() -> Target {
    let s3 = pictor_aws::config::s3_client(&pictor_aws::testing::s3_compatible_config());
    let target = Target {
        uploads: unique("uploads"),
        output: unique("renditions"),
        db: pictor_postgres::testing::fresh_database().await,
        prefix: unique_prefix("w"),
    };
    for bucket in [&target.uploads, &target.output] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    target
}

/// A worker on `target`, reaching S3 as `sdk` says.
async fn worker(target: &Target, sdk: aws_config::SdkConfig) -> pictor_worker::Worker {
    let pairs = vars(target);
    let mut config =
        pictor_worker::Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .unwrap();
    config.broker.retry_delay = Duration::from_millis(100);
    pictor_worker::Worker::start_with(config, sdk)
        .await
        .unwrap()
}

async fn publish(worker: &pictor_worker::Worker, body: String) {
    let broker = worker.broker();
    let subject = broker.settings().subject.clone();
    broker
        .jetstream()
        .publish(subject, body.into())
        .await
        .unwrap()
        .await
        .unwrap();
}

#[tokio::test]
async fn uploads_on_an_s3_compatible_server_become_records_renditions_and_events() {
    let t = target().await;
    let s3 = pictor_aws::config::s3_client(&pictor_aws::testing::s3_compatible_config());
    let worker = worker(&t, s3_compatible_config()).await;
    let uploads = [
        ("uploads/ana/one.jpg", photo("coffee.jpg")),
        ("uploads/bo/bad.jpg", b"not a picture".to_vec()),
    ];
    for (n, (key, bytes)) in uploads.iter().enumerate() {
        s3.put_object()
            .bucket(&t.uploads)
            .key(*key)
            .body(ByteStream::from(bytes.clone()))
            .send()
            .await
            .unwrap();
        publish(
            &worker,
            notification("ObjectCreated:Put", &t.uploads, key, n as u64 + 1),
        )
        .await;
    }
    // A repeat, as at-least-once delivery sends them: nothing more happens.
    publish(
        &worker,
        notification("ObjectCreated:Put", &t.uploads, "uploads/ana/one.jpg", 1),
    )
    .await;

    let records = PgAssetStore::connect(&t.db).await.unwrap();
    let id = |key: &str| SourceLocation::s3(&t.uploads, key).asset_id();
    let (stop, stopped) = watch::channel(false);
    let watch = async {
        for _ in 0..300 {
            let one = records.get(&id("uploads/ana/one.jpg")).await.unwrap();
            let bad = records.get(&id("uploads/bo/bad.jpg")).await.unwrap();
            if one.is_some() && bad.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Time for the repeat to be seen and acknowledged.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = stop.send(true);
    };
    let (ran, ()) = tokio::join!(worker.run(stopped), watch);
    ran.unwrap();

    let one = records
        .get(&id("uploads/ana/one.jpg"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (one.status, one.creator.as_deref(), one.version),
        (AssetStatus::Ready, Some("ana"), 1)
    );
    let bad = records
        .get(&id("uploads/bo/bad.jpg"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bad.status, AssetStatus::Failed);
    assert_ne!(
        bad.error.as_ref().map(|e| e.kind),
        Some(pictor_core::ErrorKind::Transient)
    );

    let listed = s3
        .list_objects_v2()
        .bucket(&t.output)
        .prefix("renditions/")
        .send()
        .await
        .unwrap();
    let mut stored: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    stored.sort();
    let mut expected: Vec<String> = one.renditions.iter().map(|r| r.key.clone()).collect();
    expected.sort();
    assert_eq!(stored, expected);
    assert_eq!(stored.len(), 8, "the default spec's renditions");

    // One event per record written, on the events stream, in EventBridge's envelope.
    let settings = worker.broker().settings();
    let events = worker
        .broker()
        .jetstream()
        .get_stream(settings.events_stream())
        .await
        .unwrap();
    let ready = events
        .get_last_raw_message_by_subject(&format!("{}.AssetReady", settings.events))
        .await
        .unwrap();
    let ready: Value = serde_json::from_slice(&ready.payload).unwrap();
    assert_eq!(ready["detail"]["id"], one.id.as_str());
    let failed = events
        .get_last_raw_message_by_subject(&format!("{}.AssetFailed", settings.events))
        .await
        .unwrap();
    let failed: Value = serde_json::from_slice(&failed.payload).unwrap();
    assert_eq!(failed["detail"]["id"], bad.id.as_str());
    let mut info = events.clone();
    assert_eq!(
        info.info().await.unwrap().state.messages,
        2,
        "the repeat announced nothing"
    );
}

#[tokio::test]
async fn a_store_that_stays_down_ends_in_a_failed_record_and_a_dead_letter_its_redrive_repairs() {
    let t = target().await;
    let s3 = pictor_aws::config::s3_client(&s3_compatible_config());
    s3.put_object()
        .bucket(&t.uploads)
        .key("uploads/ana/x.jpg")
        .body(ByteStream::from(photo("coffee.jpg")))
        .send()
        .await
        .unwrap();
    // Nothing listens there: every read of the original fails, as in an outage.
    let down = worker(&t, unretried_sdk_config_at("http://127.0.0.1:9")).await;
    publish(
        &down,
        notification("ObjectCreated:Put", &t.uploads, "uploads/ana/x.jpg", 1),
    )
    .await;
    let settings = down.broker().settings().clone();
    let mut dead = down
        .broker()
        .jetstream()
        .get_stream(settings.dead_letter_stream())
        .await
        .unwrap();
    let (stop, stopped) = watch::channel(false);
    let watch = async {
        let mut dead = dead.clone();
        for _ in 0..100 {
            if dead.info().await.unwrap().state.messages == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = stop.send(true);
    };
    let (ran, ()) = tokio::join!(down.run(stopped), watch);
    ran.unwrap();
    assert_eq!(dead.info().await.unwrap().state.messages, 1);
    let letter = dead
        .get_last_raw_message_by_subject(&settings.dead_letters)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&letter.payload).contains("uploads%2Fana%2Fx.jpg"));

    // Its upload has a record with the reason before the dead letter is redriven.
    let records = PgAssetStore::connect(&t.db).await.unwrap();
    let id = SourceLocation::s3(&t.uploads, "uploads/ana/x.jpg").asset_id();
    let record = records
        .get(&id)
        .await
        .unwrap()
        .expect("a record of the failure");
    assert_eq!(record.status, AssetStatus::Failed);
    assert_eq!(
        record.error.map(|e| e.kind),
        Some(pictor_core::ErrorKind::Transient)
    );

    // The store is back; the operator publishes the dead letter again, as it was (the same
    // sequencer): the upload converges to READY.
    let healthy = worker(&t, s3_compatible_config()).await;
    publish(
        &healthy,
        String::from_utf8_lossy(&letter.payload).into_owned(),
    )
    .await;
    let (stop, stopped) = watch::channel(false);
    let watch = async {
        for _ in 0..100 {
            let now = records.get(&id).await.unwrap().map(|r| r.status);
            if now == Some(AssetStatus::Ready) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = stop.send(true);
    };
    let (ran, ()) = tokio::join!(healthy.run(stopped), watch);
    ran.unwrap();
    let record = records.get(&id).await.unwrap().expect("the record");
    assert_eq!(record.status, AssetStatus::Ready, "{:?}", record.error);
    assert_eq!(record.renditions.len(), 8);
}
