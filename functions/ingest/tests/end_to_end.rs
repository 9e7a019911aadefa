//! Upload with the SDK -> the bucket notification lands in SQS -> the ingest handler processes
//! the SQS batch -> renditions and a record exist. Against the local S3/SQS/DynamoDB server.

use aws_sdk_s3::primitives::ByteStream;
use pictor_aws::batch::sqs_event;
use pictor_aws::config::AwsStores;
use pictor_aws::provision::Resources;
use pictor_aws::testing::LocalCloud;
use pictor_aws::DynamoAssetStore;
use pictor_core::ports::AssetStore;
use pictor_core::{AssetId, AssetStatus, ErrorKind, Pipeline, Spec};
use pictor_ingest::{AwsIngest, Config, Handled, Ingest};
use serde_json::Value;
use std::sync::Arc;

const SPEC: &str = r#"
[[variants]]
name = "sm"
width = 160
format = "jpeg"

[[variants]]
name = "md"
width = 320
format = "webp"
"#;

/// The local cloud and the ingest handler over it.
struct Cloud {
    cloud: LocalCloud,
    ingest: AwsIngest,
}

impl std::ops::Deref for Cloud {
    type Target = LocalCloud;
    fn deref(&self) -> &LocalCloud {
        &self.cloud
    }
}

async fn cloud() -> Cloud {
    let cloud = LocalCloud::fresh().await;
    let ingest = ingest_on(&cloud.sdk, config_for(&cloud.resources));
    Cloud { cloud, ingest }
}

/// The handler on the AWS adapters, wired as `main` wires it.
fn ingest_on(sdk: &aws_config::SdkConfig, config: Config) -> AwsIngest {
    let stores = AwsStores::new(sdk, &config.output_bucket, &config.table);
    Ingest::new(config, stores.originals, stores.renditions, stores.assets)
}

fn config_for(r: &Resources) -> Config {
    Config {
        event_bus: None,
        output_bucket: r.output_bucket.clone(),
        table: r.table.clone(),
        upload_prefix: pictor_core::UploadPrefix::default(),
        presets: Arc::new(Pipeline::new(Spec::from_toml(SPEC).unwrap()).unwrap()).into(),
        max_receives: Some(3),
        cdn_purge: false,
    }
}

fn fixture(path: &str) -> Vec<u8> {
    pictor_core::ports::samples::testdata_bytes(path)
}

impl Cloud {
    /// Receives and deletes `n` S3 notifications (skipping test events) from `queue_url`, as
    /// one Lambda SQS event.
    async fn receive(&self, queue_url: &str, n: usize) -> Value {
        let bodies = pictor_aws::testing::receive_notifications(&self.sdk, queue_url, n).await;
        sqs_event(
            bodies
                .into_iter()
                .enumerate()
                .map(|(i, body)| (format!("m-{i}"), body)),
        )
    }

    fn assets(&self) -> DynamoAssetStore {
        self.cloud.assets.clone()
    }
}

/// A one-message batch as its `count`-th delivery, and the message's id.
fn delivery(mut batch: Value, count: &str) -> (Value, String) {
    batch["Records"][0]["attributes"]["ApproximateReceiveCount"] = count.into();
    let id = batch["Records"][0]["messageId"]
        .as_str()
        .unwrap()
        .to_string();
    (batch, id)
}

fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn batch_with_nasty_keys_and_a_poison_file() {
    let c = cloud().await;
    let keys = [
        "uploads/ana/my photo+1 100%.jpg",
        "uploads/bo/été ünï/猫.png",
        "uploads/ana/poison.jpg",
        "uploads/no-creator.jpg",
        "uploads/creator-in-metadata.jpg",
    ];
    c.upload(keys[0], fixture("images/photos/coffee.jpg")).await;
    c.upload(keys[1], fixture("images/png/alpha.png")).await;
    c.upload(keys[2], fixture("images/hostile/text.jpg")).await;
    c.upload(keys[3], fixture("images/photos/rocket.jpg")).await;
    c.upload_as(keys[4], fixture("images/photos/astronaut.jpg"), Some("cy"))
        .await;
    let batch = c.receive(&c.resources.ingest_queue_url, 5).await;

    let response = c.ingest.handle(batch.clone()).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");

    for key in [keys[0], keys[1], keys[3], keys[4]] {
        let asset = c.asset(key).await;
        assert_eq!(asset.status, AssetStatus::Ready, "{key}: {:?}", asset.error);
        assert_eq!(asset.source, key);
        assert_eq!(asset.renditions.len(), 2);
        assert!(asset
            .revision
            .as_ref()
            .and_then(|r| r.etag.clone())
            .is_some());
        for v in &asset.renditions {
            let head =
                c.s3.head_object()
                    .bucket(&c.resources.output_bucket)
                    .key(&v.key)
                    .send()
                    .await
                    .unwrap();
            assert_eq!(head.content_length(), Some(v.bytes as i64));
            assert_eq!(head.content_type(), Some(v.format.content_type()));
            assert_eq!(
                head.cache_control(),
                Some("public, max-age=31536000, immutable")
            );
        }
    }
    assert_eq!(c.asset(keys[0]).await.creator.as_deref(), Some("ana"));
    assert_eq!(c.asset(keys[1]).await.creator.as_deref(), Some("bo"));
    assert_eq!(c.asset(keys[3]).await.creator, None);
    assert_eq!(c.asset(keys[4]).await.creator.as_deref(), Some("cy"));

    let poison = c.asset(keys[2]).await;
    assert_eq!(poison.status, AssetStatus::Failed);
    let error = poison.error.unwrap();
    assert_eq!(error.kind, ErrorKind::Unsupported, "{}", error.message);
    assert_eq!(c.output_keys("").await.len(), 8);

    // The same batch again (at-least-once delivery): recognised before any download, nothing
    // is redone or rewritten.
    let before = versions(&c, &keys).await;
    let response = c.ingest.handle(batch.clone()).await.unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(versions(&c, &keys).await, before);
    for record in batch["Records"].as_array().unwrap() {
        let handled = c
            .ingest
            .handle_body(record["body"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(handled, [Handled::Duplicate]);
    }
}

async fn versions(c: &Cloud, keys: &[&str]) -> Vec<u64> {
    let mut out = Vec::new();
    for key in keys {
        out.push(c.asset(key).await.version);
    }
    out
}

#[tokio::test]
async fn concurrent_duplicate_delivery_makes_one_record_and_one_set() {
    let c = cloud().await;
    let key = "uploads/ana/twice.jpg";
    c.upload(key, fixture("images/photos/astronaut.jpg")).await;
    let batch = c.receive(&c.resources.ingest_queue_url, 1).await;
    let (a, b) = tokio::join!(c.ingest.handle(batch.clone()), c.ingest.handle(batch));
    assert!(failures(&a.unwrap()).is_empty());
    assert!(failures(&b.unwrap()).is_empty());
    let asset = c.asset(key).await;
    assert_eq!(asset.status, AssetStatus::Ready);
    assert_eq!(asset.version, 1);
    let keys: Vec<String> = asset.renditions.iter().map(|v| v.key.clone()).collect();
    assert_eq!(c.output_keys("").await, sorted(keys));
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn overwrite_replaces_renditions_and_older_events_are_ignored() {
    let c = cloud().await;
    let key = "uploads/ana/same-name.jpg";
    c.upload(key, fixture("images/photos/coffee.jpg")).await;
    let first = c.receive(&c.resources.ingest_queue_url, 1).await;
    c.ingest.handle(first.clone()).await.unwrap();
    let old = c.asset(key).await;

    c.upload(key, fixture("images/photos/rocket.jpg")).await;
    let second = c.receive(&c.resources.ingest_queue_url, 1).await;
    c.ingest.handle(second).await.unwrap();
    let new = c.asset(key).await;
    assert_eq!(new.version, old.version + 1);
    assert_ne!(new.sha256, old.sha256);
    let new_keys: Vec<String> = new.renditions.iter().map(|v| v.key.clone()).collect();
    assert_eq!(c.output_keys("").await, sorted(new_keys));

    // The first upload's notification, delivered late, must not roll the asset back.
    c.ingest.handle(first).await.unwrap();
    assert_eq!(c.asset(key).await, new);
}

#[tokio::test]
async fn transient_s3_failure_fails_only_that_message_and_a_retry_succeeds() {
    let c = cloud().await;
    let key = "uploads/bo/retry.jpg";
    c.upload(key, fixture("images/photos/coffee.jpg")).await;
    let batch = c.receive(&c.resources.ingest_queue_url, 1).await;

    // S3 unreachable (a closed port) for this attempt: the message is handed back to SQS.
    let down = pictor_aws::testing::unretried_sdk_config_at("http://127.0.0.1:9");
    let broken = ingest_on(&down, config_for(&c.resources));
    let response = broken.handle(batch.clone()).await.unwrap();
    let id = batch["Records"][0]["messageId"].as_str().unwrap();
    assert_eq!(failures(&response), [id]);

    // Redelivered once S3 is back: processed.
    let response = c.ingest.handle(batch).await.unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(c.asset(key).await.status, AssetStatus::Ready);
}

/// Retries run out (the output bucket is gone, say): the last allowed delivery records the
/// upload as FAILED `transient` with the error before the message moves to the DLQ; earlier
/// deliveries leave no record.
#[tokio::test]
async fn the_last_allowed_delivery_leaves_a_failed_record() {
    let c = cloud().await;
    let key = "uploads/bo/exhausted.jpg";
    c.upload(key, fixture("images/photos/coffee.jpg")).await;
    let (mut batch, id) = delivery(c.receive(&c.resources.ingest_queue_url, 1).await, "2");
    let mut config = config_for(&c.resources);
    config.output_bucket = pictor_aws::testing::unique("no-such-bucket");
    let broken = ingest_on(&c.sdk, config);

    let response = broken.handle(batch.clone()).await.unwrap();
    assert_eq!(failures(&response), std::slice::from_ref(&id));
    let asset_id = AssetId::for_source(&format!("s3://{}/{key}", c.resources.uploads_bucket));
    assert_eq!(c.assets().get(&asset_id).await.unwrap(), None);

    batch["Records"][0]["attributes"]["ApproximateReceiveCount"] = "3".into();
    let response = broken.handle(batch.clone()).await.unwrap();
    assert_eq!(
        failures(&response),
        [id],
        "still goes to the dead-letter queue"
    );
    let asset = c.asset(key).await;
    assert_eq!(asset.status, AssetStatus::Failed);
    let error = asset.error.unwrap();
    assert_eq!(error.kind, ErrorKind::Transient);
    // Creators and subscribers read this reason: the class of the trouble, not the SDK's
    // words nor a bucket's name (the log has those).
    assert!(error.message.contains("storage"), "{}", error.message);
    for internal in [
        "NoSuchBucket",
        "no-such-bucket",
        "s3://",
        &c.resources.uploads_bucket,
    ] {
        assert!(!error.message.contains(internal), "{}", error.message);
    }

    // Redriven from the DLQ once the bucket is back: the same message, with the same
    // sequencer, and a first receive count again. Processed.
    batch["Records"][0]["attributes"]["ApproximateReceiveCount"] = "1".into();
    let response = c.ingest.handle(batch).await.unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(c.asset(key).await.status, AssetStatus::Ready);
}

/// The last allowed delivery succeeds: the mark it leaves before it starts must not make it
/// look like a repeat of itself (S3 sends the same sequencer on every delivery).
#[tokio::test]
async fn a_last_allowed_delivery_that_succeeds_counts() {
    let c = cloud().await;
    let key = "uploads/bo/late-success.jpg";
    c.upload(key, fixture("images/photos/coffee.jpg")).await;
    let (batch, _) = delivery(c.receive(&c.resources.ingest_queue_url, 1).await, "3");
    let body: Value = serde_json::from_str(batch["Records"][0]["body"].as_str().unwrap()).unwrap();
    assert!(body["Records"][0]["s3"]["object"]["sequencer"].is_string());
    assert!(body["Records"][0]["s3"]["object"]["versionId"].is_string());

    let response = c.ingest.handle(batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    let asset = c.asset(key).await;
    assert_eq!(asset.status, AssetStatus::Ready, "{:?}", asset.error);
    assert_eq!(asset.renditions.len(), 2);
}

/// The last allowed delivery runs out of time: the attempt is stopped in time to record the
/// upload as FAILED `transient` (a process killed outright leaves the same record, written
/// before the attempt), and the message goes to the dead-letter queue.
#[tokio::test]
async fn a_last_attempt_out_of_time_leaves_a_failed_record() {
    let c = cloud().await;
    let key = "uploads/bo/slow.jpg";
    c.upload(key, fixture("images/photos/coffee.jpg")).await;
    let (batch, id) = delivery(c.receive(&c.resources.ingest_queue_url, 1).await, "3");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // 1.5 s kept to answer the runtime, 1 s to record the failure: none left to process.
    let response = c
        .ingest
        .handle_until(batch, Some(now_ms + 2_500))
        .await
        .unwrap();
    assert_eq!(failures(&response), [id]);
    let asset = c.asset(key).await;
    assert_eq!(asset.status, AssetStatus::Failed);
    let error = asset.error.unwrap();
    assert_eq!(error.kind, ErrorKind::Transient);
    assert!(error.message.contains("deadline"), "{}", error.message);
}

/// An original in an archive storage class cannot be read until it is restored: a FAILED
/// `archived` record, acknowledged (not retried), and `reprocess` picks it up later.
#[tokio::test]
async fn archived_originals_fail_permanently() {
    let c = cloud().await;
    let key = "uploads/bo/cold.jpg";
    c.s3.put_object()
        .bucket(&c.resources.uploads_bucket)
        .key(key)
        .storage_class(aws_sdk_s3::types::StorageClass::Glacier)
        .body(ByteStream::from(fixture("images/photos/coffee.jpg")))
        .send()
        .await
        .unwrap();
    let batch = c.receive(&c.resources.ingest_queue_url, 1).await;
    let response = c.ingest.handle(batch).await.unwrap();
    assert!(failures(&response).is_empty(), "not retried: {response}");
    let asset = c.asset(key).await;
    assert_eq!(asset.status, AssetStatus::Failed);
    assert_eq!(asset.error.unwrap().kind, ErrorKind::Archived);
}

#[tokio::test]
async fn direct_invocation_and_documented_event_shapes() {
    let c = cloud().await;
    // AWS's documented shape, pointed at this test's bucket.
    let key = "uploads/ana/summer trip/café + bar 100%.jpg";
    c.upload(key, fixture("images/photos/coffee.jpg")).await;
    let text = String::from_utf8(fixture("events/s3-put.json"))
        .unwrap()
        .replace("pictor-uploads", &c.resources.uploads_bucket);
    let event: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(c.ingest.handle(event).await.unwrap(), Value::Null);
    let asset = c.asset(key).await;
    assert_eq!(asset.status, AssetStatus::Ready);
    assert_eq!(asset.creator.as_deref(), Some("ana"));
    let stored = asset.revision.clone().unwrap();
    assert_eq!(stored.sequencer.as_deref(), Some("0055AED6DCD90281E5"));
    // The version the store holds, not the one the (documented) event names: the record
    // describes what was read.
    let head =
        c.s3.head_object()
            .bucket(&c.resources.uploads_bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    assert_eq!(stored.version_id.as_deref(), head.version_id());

    // The same event again, and an older write's event: no work, by sequencer alone.
    let older = text.replace("0055AED6DCD90281E5", "0055AED6DCD90281E4");
    for body in [text.as_str(), older.as_str()] {
        assert_eq!(
            c.ingest.handle_body(body).await.unwrap(),
            [Handled::Duplicate]
        );
    }
    // A newer event about the version the record already describes: nothing is read, and
    // the record keeps the newer place in the order.
    let newer = text.replace("0055AED6DCD90281E5", "0055AED6DCD9028300");
    assert_eq!(
        c.ingest.handle_body(&newer).await.unwrap(),
        [Handled::Duplicate]
    );
    let noted = c.asset(key).await.revision.unwrap();
    assert_eq!(noted.sequencer.as_deref(), Some("0055AED6DCD9028300"));

    // A batch with a test event and a key outside the upload prefix: acknowledged, no work.
    let batch: Value = serde_json::from_slice(&fixture("events/sqs-batch.json")).unwrap();
    let response = c.ingest.handle(batch).await.unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(c.output_keys("").await.len(), 2);
}

#[tokio::test]
async fn too_large_upload_is_failed_without_download() {
    let c = cloud().await;
    let r = &c.resources;
    let mut config = config_for(r);
    let mut spec = Spec::from_toml(SPEC).unwrap();
    spec.limits.max_file_bytes = 10_000;
    config.presets = Arc::new(Pipeline::new(spec).unwrap()).into();
    let small_limit = ingest_on(&c.sdk, config);
    let key = "uploads/ana/big.jpg";
    c.upload(key, fixture("images/photos/rocket.jpg")).await;
    let batch = c.receive(&r.ingest_queue_url, 1).await;
    let response = small_limit.handle(batch).await.unwrap();
    assert!(failures(&response).is_empty());
    let asset = c.asset(key).await;
    assert_eq!(asset.status, AssetStatus::Failed);
    assert_eq!(asset.error.unwrap().kind, ErrorKind::TooLarge);
}

/// Reads of originals and writes of renditions, in the order they happened, by file name.
#[derive(Clone, Default)]
struct Journal(Arc<std::sync::Mutex<Vec<String>>>);

impl Journal {
    fn note(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }

    fn has(&self, entry: &str) -> bool {
        self.0.lock().unwrap().iter().any(|e| e == entry)
    }

    fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// The bucket's originals, noting each read as `read <file name>`.
struct NotedOriginals(pictor_aws::S3Originals, Journal);

#[async_trait::async_trait]
impl pictor_core::ports::OriginalStore for NotedOriginals {
    async fn list(
        &self,
        root: &pictor_core::SourceLocation,
    ) -> Result<Vec<pictor_core::ports::ListedOriginal>, pictor_core::ports::StoreError> {
        self.0.list(root).await
    }

    async fn head(
        &self,
        location: &pictor_core::SourceLocation,
    ) -> Result<Option<pictor_core::ports::OriginalState>, pictor_core::ports::ReadError> {
        self.0.head(location).await
    }

    async fn read(
        &self,
        location: &pictor_core::SourceLocation,
        limit: u64,
    ) -> Result<pictor_core::ports::Original, pictor_core::ports::ReadError> {
        let original = self.0.read(location, limit).await?;
        let name = location.to_string();
        let name = name.rsplit('/').next().unwrap_or_default();
        self.1.note(format!("read {name}"));
        Ok(original)
    }
}

/// The output bucket. The first rendition is written only once `second.jpg` has been read (or
/// after ten seconds): a handler that took one message after the other would wait here.
struct GatedRenditions(pictor_aws::S3BlobStore, Journal);

#[async_trait::async_trait]
impl pictor_core::ports::BlobStore for GatedRenditions {
    async fn get(&self, key: &str) -> Result<Vec<u8>, pictor_core::ports::StoreError> {
        self.0.get(key).await
    }

    async fn head(
        &self,
        key: &str,
    ) -> Result<Option<pictor_core::ports::BlobMeta>, pictor_core::ports::StoreError> {
        self.0.head(key).await
    }

    async fn put(
        &self,
        key: &str,
        data: Vec<u8>,
        content_type: &str,
    ) -> Result<(), pictor_core::ports::StoreError> {
        let first_write = !self.1.entries().iter().any(|e| e.starts_with("put"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while first_write && !self.1.has("read second.jpg") && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.1.note(format!("put {key}"));
        self.0.put(key, data, content_type).await
    }

    async fn list(
        &self,
        prefix: &str,
    ) -> Result<Vec<pictor_core::ports::BlobMeta>, pictor_core::ports::StoreError> {
        self.0.list(prefix).await
    }

    async fn delete(&self, key: &str) -> Result<(), pictor_core::ports::StoreError> {
        self.0.delete(key).await
    }
}

#[tokio::test]
async fn the_next_original_is_read_while_the_first_is_processed() {
    let c = cloud().await;
    let names = ["first.jpg", "second.jpg", "third.jpg"];
    for (name, photo) in names
        .iter()
        .zip(["coffee.jpg", "rocket.jpg", "astronaut.jpg"])
    {
        c.upload(
            &format!("uploads/ana/{name}"),
            fixture(&format!("images/photos/{photo}")),
        )
        .await;
    }
    // In the order of `names`, whatever order the queue gave them in.
    let mut bodies =
        pictor_aws::testing::receive_notifications(&c.sdk, &c.resources.ingest_queue_url, 3).await;
    bodies.sort_by_key(|body| names.iter().position(|name| body.contains(name)));
    let batch = sqs_event(
        bodies
            .into_iter()
            .enumerate()
            .map(|(i, b)| (format!("m-{i}"), b)),
    );
    let journal = Journal::default();
    let stores = AwsStores::new(&c.sdk, &c.resources.output_bucket, &c.resources.table);
    let ingest = Ingest::new(
        config_for(&c.resources),
        NotedOriginals(stores.originals, journal.clone()),
        GatedRenditions(stores.renditions, journal.clone()),
        stores.assets,
    );
    let response = ingest.handle(batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    for name in names {
        let asset = c.asset(&format!("uploads/ana/{name}")).await;
        assert_eq!(asset.status, AssetStatus::Ready, "{name}: {asset:?}");
    }
    let entries = journal.entries();
    let position = |wanted: &dyn Fn(&String) -> bool| entries.iter().position(wanted);
    let second_read = position(&|e| e == "read second.jpg").unwrap();
    let first_write = position(&|e| e.starts_with("put")).unwrap();
    assert!(second_read < first_write, "{entries:?}");
    assert_eq!(entries.iter().filter(|e| e.starts_with("put")).count(), 6);
}

/// The same notification twice in one batch: the two messages run at once (two in flight), meet
/// at the record's conditional write, and leave one record and exactly its renditions.
#[tokio::test]
async fn one_notification_twice_in_a_batch_makes_one_record_and_one_set() {
    let c = cloud().await;
    let key = "uploads/ana/twice-in-a-batch.jpg";
    c.upload(key, fixture("images/photos/rocket.jpg")).await;
    let body = pictor_aws::testing::receive_notifications(&c.sdk, &c.resources.ingest_queue_url, 1)
        .await
        .remove(0);
    let batch = sqs_event([("m-0", body.as_str()), ("m-1", body.as_str())]);
    let response = c.ingest.handle(batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    let asset = c.asset(key).await;
    assert_eq!(asset.status, AssetStatus::Ready);
    assert_eq!(asset.version, 1);
    let keys: Vec<String> = asset.renditions.iter().map(|v| v.key.clone()).collect();
    assert_eq!(c.output_keys("").await, sorted(keys));
}

/// An upload and its removal in one batch, run at once: both find the object gone, both write
/// a tombstone, and the one that loses the conditional write finds the asset deleted already
/// instead of asking for a retry.
#[tokio::test]
async fn an_upload_and_its_removal_in_one_batch_end_deleted_without_a_retry() {
    let c = cloud().await;
    let key = "uploads/ana/gone-in-a-batch.jpg";
    c.upload(key, fixture("images/photos/coffee.jpg")).await;
    c.s3.delete_object()
        .bucket(&c.resources.uploads_bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let r = &c.resources;
    let created = pictor_aws::testing::receive_notifications(&c.sdk, &r.ingest_queue_url, 1)
        .await
        .remove(0);
    // The bucket is versioned: S3 reports a delete marker, which the local server does not send.
    let removed = created.replace("ObjectCreated:Put", "ObjectRemoved:DeleteMarkerCreated");
    assert_ne!(removed, created);
    let batch = sqs_event([("m-0", created.as_str()), ("m-1", removed.as_str())]);
    let response = c.ingest.handle(batch).await.unwrap();
    assert!(failures(&response).is_empty(), "{response}");
    let asset = c.asset(key).await;
    assert_eq!(asset.status, AssetStatus::Deleted);
    assert_eq!(asset.version, 1);
    assert!(c.output_keys("").await.is_empty());
}
