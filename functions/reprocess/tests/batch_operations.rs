//! A spec change, end to end against the local S3/SQS/DynamoDB server: a plan selects exactly
//! the stale assets and writes their manifest; S3 Batch Operations tasks (schema 1.0 and 2.0
//! fixtures) regenerate them; planning again selects nothing.

use aws_sdk_s3::primitives::ByteStream;
use pictor_aws::config::AwsStores;
use pictor_aws::testing::{unique, LocalCloud};
use pictor_aws::{config, S3BlobStore, S3Originals};
use pictor_core::{
    Asset, AssetStatus, Converger, Intent, Outcome, Pipeline, SourceLocation, Spec, Upload,
};
use pictor_core::{Presets, SpecFile};
use pictor_reprocess::plan::Planner;
use pictor_reprocess::plan::{PlanRequest, Target};
use pictor_reprocess::{AwsReprocess, Config, Reprocess, ReprocessError};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

const OLD_SPEC: &str = "[[variants]]\nname = \"sm\"\nwidth = 160\nformat = \"jpeg\"\n";
const NEW_SPEC: &str = "[[variants]]\nname = \"md\"\nwidth = 240\nformat = \"jpeg\"\n";

const TRIP: &str = "uploads/ana/summer trip/café + bar.jpg";
const B: &str = "uploads/ana/b.jpg";
const BAD: &str = "uploads/bo/bad.jpg";
const FRESH: &str = "uploads/bo/fresh.jpg";

fn pipeline(spec: &str) -> Arc<Pipeline> {
    Arc::new(Pipeline::new(Spec::from_toml(spec).unwrap()).unwrap())
}

fn fixture(path: &str) -> Vec<u8> {
    pictor_core::ports::samples::testdata_bytes(path)
}

/// A batch event fixture for `bucket`, its one task naming `encoded_key`.
fn batch_event(fixture_name: &str, bucket: &str, encoded_key: &str) -> Value {
    let text = String::from_utf8(fixture(&format!("events/{fixture_name}"))).unwrap();
    let mut event: Value = serde_json::from_str(&text.replace("UPLOADS_BUCKET", bucket)).unwrap();
    event["tasks"][0]["s3Key"] = json!(encoded_key);
    event
}

/// The local cloud, with records seeded as an earlier spec made them.
struct Cloud {
    cloud: LocalCloud,
}

impl std::ops::Deref for Cloud {
    type Target = LocalCloud;
    fn deref(&self) -> &LocalCloud {
        &self.cloud
    }
}

impl Cloud {
    async fn new() -> Cloud {
        Cloud {
            cloud: LocalCloud::fresh().await,
        }
    }

    fn config(&self, queue: Option<String>) -> Config {
        Config {
            event_bus: None,
            output_bucket: self.resources.output_bucket.clone(),
            table: self.resources.table.clone(),
            upload_prefix: pictor_core::UploadPrefix::default(),
            presets: pipeline(NEW_SPEC).into(),
            ingest_queue_url: queue,
        }
    }

    /// Uploads `file` to `key` and records it as ingested under `spec`.
    async fn seed(&self, key: &str, file: &str, spec: &str) -> Asset {
        self.upload(key, fixture(file)).await;
        let converger = Converger::new(
            pipeline(spec),
            S3Originals::new(self.s3.clone()),
            S3BlobStore::new(self.s3.clone(), &self.resources.output_bucket),
            self.assets.clone(),
        );
        let upload =
            Upload::new(self.location(key)).with_creator(key.split('/').nth(1).map(str::to_string));
        match converger.ingest(&upload, Intent::Upload).await.unwrap() {
            Outcome::Written(a) => a,
            other => panic!("{key} was already there: {other:?}"),
        }
    }
}

fn plan(value: Value) -> Value {
    json!({ "plan": value })
}

async fn result_of(reprocess: &AwsReprocess, event: Value) -> (String, String) {
    let response = reprocess.handle(event.clone()).await.unwrap();
    assert_eq!(
        response["invocationSchemaVersion"],
        event["invocationSchemaVersion"]
    );
    assert_eq!(response["invocationId"], event["invocationId"]);
    assert_eq!(response["treatMissingKeysAs"], "PermanentFailure");
    let results = response["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["taskId"], event["tasks"][0]["taskId"]);
    (
        results[0]["resultCode"].as_str().unwrap().to_string(),
        results[0]["resultString"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_spec_change_is_planned_and_batch_tasks_regenerate_exactly_the_stale_assets() {
    let cloud = Cloud::new().await;
    for (key, file) in [
        (TRIP, "images/photos/coffee.jpg"),
        (B, "images/photos/rocket.jpg"),
        (BAD, "images/hostile/truncated.jpg"),
    ] {
        cloud.seed(key, file, OLD_SPEC).await;
    }
    let fresh = cloud
        .seed(FRESH, "images/photos/astronaut.jpg", NEW_SPEC)
        .await;
    let old_trip = cloud.asset(TRIP).await;
    let reprocess = reprocess_on(&cloud.sdk, cloud.config(None));
    let bucket = cloud.resources.uploads_bucket.clone();

    // A dry run counts and writes nothing.
    let dry = reprocess
        .handle(plan(json!({"select": {"staleSpec": true}, "dryRun": true})))
        .await
        .unwrap();
    assert_eq!(dry["selected"], 3);
    assert_eq!(dry["byReason"], json!({"stale_spec": 3}));
    assert!(dry.get("manifest").is_none());
    assert!(cloud.output_keys("manifests/").await.is_empty());
    let ana = reprocess
        .handle(plan(
            json!({"select": {"prefix": "uploads/ana/"}, "dryRun": true}),
        ))
        .await
        .unwrap();
    assert_eq!(ana["selected"], 2);

    // The manifest lists exactly the stale originals, keys URL-encoded.
    let planned = reprocess.handle(plan(json!({}))).await.unwrap();
    assert_eq!(planned["selected"], 3);
    let manifest = &planned["manifest"];
    assert_eq!(manifest["bucket"], cloud.resources.output_bucket.as_str());
    assert!(!manifest["etag"].as_str().unwrap().is_empty());
    let csv = cloud
        .s3
        .get_object()
        .bucket(&cloud.resources.output_bucket)
        .key(manifest["key"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let rows: BTreeSet<String> = String::from_utf8(csv.to_vec())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let expected: BTreeSet<String> = [
        "uploads/ana/summer%20trip/caf%C3%A9%20%2B%20bar.jpg",
        "uploads/ana/b.jpg",
        "uploads/bo/bad.jpg",
    ]
    .iter()
    .map(|k| format!("{bucket},{k}"))
    .collect();
    assert_eq!(rows, expected);

    // S3 Batch Operations runs one task per manifest row; alternate the two schemas.
    let mut codes = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let (_, encoded_key) = row.split_once(',').unwrap();
        let fixture = ["s3-batch-v1.json", "s3-batch-v2.json"][i % 2];
        let (code, reason) =
            result_of(&reprocess, batch_event(fixture, &bucket, encoded_key)).await;
        codes.push((encoded_key.to_string(), code, reason));
    }
    for (key, code, reason) in &codes {
        if key.ends_with("bad.jpg") {
            assert_eq!(code, "PermanentFailure", "{key}");
            assert!(reason.contains("corrupt"), "{reason}");
        } else {
            assert_eq!(code, "Succeeded", "{key}: {reason}");
            assert_eq!(reason, "ready: 1 renditions");
        }
    }

    let new_hash = pipeline(NEW_SPEC).spec_hash().to_string();
    for key in [TRIP, B] {
        let asset = cloud.asset(key).await;
        assert_eq!(asset.status, AssetStatus::Ready, "{key}");
        assert_eq!(asset.spec_hash, new_hash);
        assert_eq!(asset.version, 2);
        let names: Vec<&str> = asset.renditions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["md"]);
        assert_eq!(asset.renditions[0].width, 240);
    }
    let trip = cloud.asset(TRIP).await;
    assert_eq!(trip.creator.as_deref(), Some("ana"));
    // The old spec's rendition is gone, the new one is stored.
    let stored = cloud.output_keys("renditions/").await;
    assert!(!stored.contains(&old_trip.renditions[0].key));
    assert!(stored.contains(&trip.renditions[0].key));
    let bad = cloud.asset(BAD).await;
    assert_eq!(
        (bad.status, bad.spec_hash.as_str()),
        (AssetStatus::Failed, new_hash.as_str())
    );
    assert_eq!(cloud.asset(FRESH).await, fresh, "not stale, not touched");

    // Idempotent: the same task again downloads nothing, and a new plan selects nothing.
    let again = batch_event("s3-batch-v1.json", &bucket, "uploads/ana/b.jpg");
    assert_eq!(
        result_of(&reprocess, again).await,
        ("Succeeded".into(), "nothing to do: already current".into())
    );
    let again = batch_event("s3-batch-v2.json", &bucket, "uploads/bo/bad.jpg");
    assert_eq!(
        result_of(&reprocess, again).await.1,
        "nothing to do: this release recorded the same failure"
    );
    assert_eq!(cloud.asset(B).await.version, 2);
    let replanned = reprocess.handle(plan(json!({}))).await.unwrap();
    assert_eq!(replanned["selected"], 0);
    assert!(replanned.get("manifest").is_none());
}

#[tokio::test]
async fn tasks_that_cannot_succeed_fail_permanently_and_storage_trouble_temporarily() {
    let cloud = Cloud::new().await;
    let reprocess = reprocess_on(&cloud.sdk, cloud.config(None));
    let bucket = cloud.resources.uploads_bucket.clone();

    let gone = batch_event("s3-batch-v1.json", &bucket, "uploads/ana/gone.jpg");
    let (code, reason) = result_of(&reprocess, gone).await;
    assert_eq!(code, "PermanentFailure");
    assert!(reason.contains("gone"), "{reason}");
    let outside = batch_event("s3-batch-v2.json", &bucket, "renditions/x/md.jpg");
    let (code, reason) = result_of(&reprocess, outside).await;
    assert_eq!(code, "PermanentFailure");
    assert!(reason.contains("outside the upload prefix"), "{reason}");

    // An original that was never ingested (a manifest made from an inventory) is processed
    // as a first upload, its creator taken from the key.
    cloud
        .s3
        .put_object()
        .bucket(&bucket)
        .key("uploads/cy/new.jpg")
        .body(ByteStream::from(fixture("images/photos/coffee.jpg")))
        .send()
        .await
        .unwrap();
    let first = batch_event("s3-batch-v2.json", &bucket, "uploads/cy/new.jpg");
    assert_eq!(result_of(&reprocess, first).await.0, "Succeeded");
    assert_eq!(
        cloud.asset("uploads/cy/new.jpg").await.creator.as_deref(),
        Some("cy")
    );

    // The table's server is unreachable: S3 should retry the task later.
    let unreachable = pictor_aws::testing::unretried_sdk_config_at("http://127.0.0.1:9");
    let down = reprocess_on(&unreachable, cloud.config(None));
    let task = batch_event("s3-batch-v1.json", &bucket, "uploads/ana/a.jpg");
    assert_eq!(result_of(&down, task).await.0, "TemporaryFailure");

    // Events it cannot read are refused as a whole.
    for bad in [
        json!({"hello": 1}),
        json!({"invocationSchemaVersion": "3.0", "invocationId": "i", "tasks": []}),
        json!({"plan": {"select": {"stale": true}}}),
    ] {
        assert!(matches!(
            reprocess.handle(bad).await,
            Err(ReprocessError::BadEvent(_))
        ));
    }
}

#[tokio::test]
async fn a_queue_plan_sends_each_stale_original_to_ingest_once() {
    let cloud = Cloud::new().await;
    cloud
        .seed("uploads/ana/a+b.jpg", "images/photos/coffee.jpg", OLD_SPEC)
        .await;
    cloud
        .seed("uploads/ana/c.jpg", "images/photos/rocket.jpg", NEW_SPEC)
        .await;
    let no_queue = reprocess_on(&cloud.sdk, cloud.config(None));
    let request = PlanRequest {
        target: Target::Queue,
        ..PlanRequest::default()
    };
    assert!(no_queue.plan(&request).await.is_err());

    // A queue of its own: the pipeline's ingest queue also gets the uploads' notifications.
    let sqs = aws_sdk_sqs::Client::new(&cloud.sdk);
    let queue = sqs
        .create_queue()
        .queue_name(unique("replay"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let reprocess = reprocess_on(&cloud.sdk, cloud.config(Some(queue.clone())));
    let result = reprocess.plan(&request).await.unwrap();
    assert_eq!((result.selected, result.enqueued), (1, 1));

    let received = sqs
        .receive_message()
        .queue_url(&queue)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(bodies.len(), 1);
    let pictor_aws::events::Notification::Records(records) =
        pictor_aws::events::parse(bodies[0]).unwrap()
    else {
        panic!("a notification with records expected")
    };
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].bucket, cloud.resources.uploads_bucket);
    assert_eq!(records[0].key, "uploads/ana/a+b.jpg");
    assert_eq!(records[0].kind, pictor_aws::events::EventKind::Created);
}

/// The handler on the AWS adapters, wired as `main` wires it.
fn reprocess_on(sdk: &aws_config::SdkConfig, config: Config) -> AwsReprocess {
    let stores = AwsStores::new(sdk, &config.output_bucket, &config.table);
    let planner = Planner::new(
        config::s3_client(sdk),
        aws_sdk_sqs::Client::new(sdk),
        config.output_bucket.clone(),
        config.ingest_queue_url.clone(),
    );
    let (originals, renditions, assets) = (stores.originals, stores.renditions, stores.assets);
    Reprocess::new(config, originals, renditions, assets, planner)
}

/// `spec` as the default preset, plus an `avatars` preset making one `size`-pixel square.
fn with_avatars(spec: &str, size: u32) -> Presets {
    let text = format!(
        "{spec}[presets.avatars]\nprefix = 'avatars/'\n[[presets.avatars.variants]]\nname = 's{size}'\nwidth = {size}\nheight = {size}\nfit = 'cover'\nformat = 'webp'\n"
    );
    Presets::build(SpecFile::from_toml(&text, None).unwrap(), 1).unwrap()
}

#[tokio::test]
async fn a_plan_and_its_tasks_select_and_remake_one_preset() {
    let cloud = Cloud::new().await;
    let old = with_avatars(OLD_SPEC, 32);
    let prefix = pictor_core::UploadPrefix::default().with_routes(old.routes().clone());
    let converger = Converger::new(
        old,
        S3Originals::new(cloud.s3.clone()),
        S3BlobStore::new(cloud.s3.clone(), &cloud.resources.output_bucket),
        cloud.assets.clone(),
    );
    let avatar = "uploads/avatars/ana/me.jpg";
    for (key, file) in [
        (avatar, "images/photos/astronaut.jpg"),
        ("uploads/ana/post.jpg", "images/photos/coffee.jpg"),
    ] {
        cloud
            .s3
            .put_object()
            .bucket(&cloud.resources.uploads_bucket)
            .key(key)
            .body(ByteStream::from(fixture(file)))
            .send()
            .await
            .unwrap();
        let upload = Upload::new(SourceLocation::s3(&cloud.resources.uploads_bucket, key))
            .placed(prefix.place(key).unwrap());
        converger.ingest(&upload, Intent::Upload).await.unwrap();
    }
    assert_eq!(cloud.asset(avatar).await.preset, "avatars");
    assert_eq!(cloud.asset(avatar).await.creator.as_deref(), Some("ana"));

    // Both presets changed; the plan picks only the avatars.
    let new = with_avatars(NEW_SPEC, 64);
    let avatar_hash = new.hash_of("avatars").to_string();
    let mut config = cloud.config(None);
    config.upload_prefix = pictor_core::UploadPrefix::default().with_routes(new.routes().clone());
    config.presets = new;
    let reprocess = reprocess_on(&cloud.sdk, config);
    let planned = reprocess
        .handle(plan(
            json!({"select": {"preset": "avatars"}, "dryRun": true}),
        ))
        .await
        .unwrap();
    assert_eq!(planned["selected"], 1, "{planned}");
    assert_eq!(planned["specHash"], avatar_hash.as_str());
    assert!(planned["sample"][0]["source"]
        .as_str()
        .unwrap()
        .ends_with("avatars/ana/me.jpg"));

    let task = batch_event("s3-batch-v2.json", &cloud.resources.uploads_bucket, avatar);
    let (code, reason) = result_of(&reprocess, task).await;
    assert_eq!(code, "Succeeded", "{reason}");
    let remade = cloud.asset(avatar).await;
    assert_eq!(remade.preset, "avatars");
    assert_eq!(remade.spec_hash, avatar_hash);
    let sizes: Vec<_> = remade
        .renditions
        .iter()
        .map(|v| (v.width, v.height))
        .collect();
    assert_eq!(sizes, [(64, 64)]);
}
