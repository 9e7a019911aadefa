//! An app on the platform, end to end on the local cloud with the real function binaries
//! (`pictor-query` and `pictor-ingest` under local Runtime APIs): a creator asks for an upload
//! form, uploads with it, the upload becomes READY with its preset and the deployment's own
//! logo, an `AssetReady` event arrives on the app's queue, and creators see only their own.

use base64::Engine;
use pictor_aws::batch::sqs_event;
use pictor_aws::provision::event_bus_to_queue;
use pictor_aws::testing::runtime_api::RuntimeApi;
use pictor_aws::testing::{
    endpoint, fresh_resources, post_form, receive_bodies, receive_notifications, sdk_config, unique,
};
use pictor_aws::{config, DynamoAssetStore};
use pictor_core::ports::AssetStore;
use pictor_core::{AssetId, AssetStatus};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const MAGENTA: [u8; 3] = [255, 0, 255];

/// A function binary of this workspace, built beside this test's own executable (cargo
/// builds every function's binary for the workspace's tests; a run of this package alone
/// builds the missing one first).
fn function_binary(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let dir = deps.parent().unwrap().parent().unwrap();
    let path = dir.join(name);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", name, "--bin", name])
            .status()
            .unwrap();
        assert!(status.success(), "building {name}");
    }
    path
}

struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a function binary as Lambda would, polling `api`.
fn start(binary: &Path, api: &str, env: &[(&str, &str)]) -> Function {
    let child = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "pictor")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/pictor")
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Function(child)
}

/// An HTTP API (payload 2.0) request as API Gateway's JWT authorizer passes it on.
fn http_event(method: &str, path: &str, query: &str, sub: &str, groups: &str, body: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "host": "api.example.test"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.test",
            "domainPrefix": "api", "requestId": "r", "routeKey": format!("{method} {path}"),
            "stage": "$default", "time": "28/Nov/2026:12:00:00 +0000", "timeEpoch": 1795780800000_i64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "app"},
            "authorizer": {"jwt": {"claims": {"sub": sub, "cognito:groups": groups}, "scopes": null}}
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// Sends one request through the query binary; status and JSON body.
async fn call(api: &RuntimeApi, event: Value) -> (u16, Value) {
    let request = api.invoke(&event);
    let answer = api
        .answer(&request, Duration::from_secs(30))
        .await
        .expect("the query function answers");
    assert!(answer.ok, "{:?}", answer.body);
    let status = answer.body["statusCode"].as_u64().unwrap() as u16;
    let body = answer.body["body"].as_str().unwrap_or("null");
    (status, serde_json::from_str(body).unwrap())
}

/// The deployment's spec, with its own logo beside it: a magenta block, fully opaque, a
/// quarter of each rendition's width, top left.
fn branding(dir: &Path) -> PathBuf {
    let logo = image::RgbaImage::from_pixel(40, 20, image::Rgba([255, 0, 255, 255]));
    logo.save(dir.join("logo.png")).unwrap();
    let spec = dir.join("pictor.toml");
    std::fs::write(
        &spec,
        r#"
        [[variants]]
        name = "md"
        width = 400
        format = "png"
        [watermark]
        min_width = 100
        [watermark.logo]
        path = "logo.png"
        anchor = "top-left"
        margin = 0.0
        scale = 0.25
        opacity = 1.0
        [watermark.text]
        enabled = false
        [presets.avatars]
        prefix = "avatars/"
        [[presets.avatars.variants]]
        name = "s128"
        width = 128
        height = 128
        fit = "cover"
        format = "webp"
        [presets.avatars.limits]
        max_file_bytes = 2000000
        "#,
    )
    .unwrap();
    spec
}

#[tokio::test]
async fn an_app_uploads_learns_it_is_ready_and_sees_only_its_own() {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let s3 = config::s3_client(&sdk);
    let bus = unique("bus");
    let app_queue = event_bus_to_queue(&sdk, &bus, &unique("app"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = branding(dir.path());
    let spec_file = spec.to_str().unwrap();

    let query_api = RuntimeApi::start().await.unwrap();
    let ingest_api = RuntimeApi::start().await.unwrap();
    let _query = start(
        &function_binary("pictor-query"),
        &query_api.address,
        &[
            ("PICTOR_OUTPUT_BUCKET", &r.output_bucket),
            ("PICTOR_TABLE", &r.table),
            ("PICTOR_UPLOADS_BUCKET", &r.uploads_bucket),
            ("PICTOR_SPEC_FILE", spec_file),
            ("PICTOR_ADMIN_GROUP", "admins"),
        ],
    );
    let _ingest = start(
        Path::new(env!("CARGO_BIN_EXE_pictor-ingest")),
        &ingest_api.address,
        &[
            ("PICTOR_OUTPUT_BUCKET", &r.output_bucket),
            ("PICTOR_TABLE", &r.table),
            ("PICTOR_SPEC_FILE", spec_file),
            ("PICTOR_EVENT_BUS", &bus),
        ],
    );

    // 1. The app asks for forms: a post of ana's, an avatar of ana's, a post of bo's.
    let form = |sub: &str, body: &str| http_event("POST", "/uploads", "", sub, "[creators]", body);
    let (status, post) = call(
        &query_api,
        form(
            "ana",
            r#"{"contentType":"image/jpeg","filename":"Café au lait.jpg"}"#,
        ),
    )
    .await;
    assert_eq!(status, 201, "{post}");
    let (_, avatar) = call(
        &query_api,
        form("ana", r#"{"contentType":"image/png","preset":"avatars"}"#),
    )
    .await;
    let (_, bos) = call(&query_api, form("bo", r#"{"contentType":"image/jpeg"}"#)).await;
    let key = |form: &Value| form["fields"]["key"].as_str().unwrap().to_string();
    assert!(key(&post).starts_with("uploads/ana/"), "{post}");
    assert!(key(&avatar).starts_with("uploads/avatars/ana/"), "{avatar}");
    assert!(key(&bos).starts_with("uploads/bo/"));

    // The bucket enforces what the form's signed policy says: the avatar preset's limit,
    // image types only. (The local server stores what it is sent; the policy is checked.)
    let policy: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(avatar["fields"]["policy"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let conditions = policy["conditions"].as_array().unwrap();
    assert!(conditions.contains(&json!(["content-length-range", 1, 2_000_000])));
    assert!(conditions.contains(&json!(["starts-with", "$Content-Type", "image/"])));
    assert!(conditions.contains(&json!({"key": key(&avatar)})));
    // The creator's file name is stored as signed, as ASCII metadata.
    let policy: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(post["fields"]["policy"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let signed_name = json!({"x-amz-meta-filename": "Caf%C3%A9%20au%20lait.jpg"});
    assert!(policy["conditions"]
        .as_array()
        .unwrap()
        .contains(&signed_name));
    assert_eq!(
        post["fields"]["x-amz-meta-filename"],
        signed_name["x-amz-meta-filename"]
    );

    // 2. Uploads with the forms, as a browser posts them.
    for (form, file, content_type) in [
        (&post, "photos/coffee.jpg", "image/jpeg"),
        (&avatar, "png/alpha.png", "image/png"),
        (&bos, "photos/rocket.jpg", "image/jpeg"),
    ] {
        let fields: Vec<(String, String)> = form["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let bytes = pictor_core::ports::samples::testdata_bytes(&format!("images/{file}"));
        let (status, body) =
            post_form(form["url"].as_str().unwrap(), &fields, content_type, &bytes);
        assert!((200..300).contains(&status), "{status} {body}");
    }

    // 3. The bucket's notifications reach the real ingest binary.
    let notifications = receive_notifications(&sdk, &r.ingest_queue_url, 3).await;
    let event = sqs_event(
        notifications
            .into_iter()
            .enumerate()
            .map(|(i, body)| (format!("m-{i}"), body)),
    );
    let request = ingest_api.invoke(&event);
    let answer = ingest_api
        .answer(&request, Duration::from_secs(90))
        .await
        .unwrap();
    assert_eq!(answer.body, json!({"batchItemFailures": []}));

    let assets = DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table);
    let id = |form: &Value| AssetId::parse(form["id"].as_str().unwrap()).unwrap();
    let posted = assets.get(&id(&post)).await.unwrap().unwrap();
    assert_eq!(posted.status, AssetStatus::Ready);
    assert_eq!(posted.creator.as_deref(), Some("ana"));
    assert_eq!(posted.preset, "default");
    assert_eq!(posted.name.as_deref(), Some("Café au lait.jpg"));
    let avatar_record = assets.get(&id(&avatar)).await.unwrap().unwrap();
    assert_eq!(
        avatar_record.status,
        AssetStatus::Ready,
        "{avatar_record:?}"
    );
    assert_eq!(avatar_record.preset, "avatars");
    assert_eq!(avatar_record.name, None, "no file name was given");
    assert_eq!(avatar_record.creator.as_deref(), Some("ana"));
    let sizes: Vec<_> = avatar_record
        .renditions
        .iter()
        .map(|v| (v.width, v.height))
        .collect();
    assert_eq!(sizes, [(128, 128)]);

    // 4. The deployment's logo, read from the spec's folder, is in the rendition.
    let md = &posted.renditions[0];
    let png = s3
        .get_object()
        .bucket(&r.output_bucket)
        .key(&md.key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let rendition = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(rendition.width(), 400);
    // The logo is 100x50 at the top left; its centre is magenta, the photo's middle is not.
    assert_eq!(
        rendition.get_pixel(50, 25).0,
        MAGENTA,
        "the custom logo is missing"
    );
    assert_eq!(rendition.get_pixel(10, 10).0, MAGENTA);
    assert_ne!(rendition.get_pixel(200, 130).0, MAGENTA);

    // 5. The app learns it from its queue, without polling the API.
    let delivered: Vec<Value> = receive_bodies(&sqs, &app_queue, 3)
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let ready: Vec<&Value> = delivered
        .iter()
        .filter(|e| e["detail-type"] == "AssetReady")
        .collect();
    assert_eq!(ready.len(), 3, "{delivered:?}");
    let mine = ready
        .iter()
        .find(|e| e["detail"]["id"] == id(&post).as_str())
        .expect("an AssetReady with the upload's id");
    assert_eq!(mine["source"], "pictor");
    assert_eq!(mine["detail"]["creator"], "ana");
    assert_eq!(mine["detail"]["asset"]["status"], "ready");
    let text = mine.to_string();
    assert!(
        !text.contains(&r.uploads_bucket),
        "no bucket in events: {text}"
    );

    // 6. Each creator sees only their own; an admin sees everyone's.
    let get = |path: String, sub: &str, groups: &str| http_event("GET", &path, "", sub, groups, "");
    let (status, list) = call(
        &query_api,
        http_event("GET", "/assets", "", "ana", "[creators]", ""),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let (status, _) = call(
        &query_api,
        http_event("GET", "/assets", "creator=bo", "ana", "[creators]", ""),
    )
    .await;
    assert_eq!(status, 403);
    let bos_id = id(&bos);
    for path in [
        format!("/assets/{bos_id}"),
        format!("/assets/{bos_id}/srcset"),
    ] {
        let (status, _) = call(&query_api, get(path.clone(), "ana", "[creators]")).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = call(
        &query_api,
        http_event(
            "DELETE",
            &format!("/assets/{bos_id}"),
            "",
            "ana",
            "[creators]",
            "",
        ),
    )
    .await;
    assert_eq!(status, 404);
    let (status, srcset) = call(
        &query_api,
        get(
            format!("/assets/{}/srcset", id(&avatar)),
            "ana",
            "[creators]",
        ),
    )
    .await;
    assert_eq!(status, 200, "srcset of the avatar preset: {srcset}");
    assert!(srcset["formats"]["webp"]["srcset"]
        .as_str()
        .unwrap()
        .ends_with(" 128w"));
    let (status, all) = call(
        &query_api,
        http_event("GET", "/assets", "", "root", "[admins]", ""),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(all["items"].as_array().unwrap().len(), 3);

    // 7. The owner deletes: 202, the original goes, and the pipeline's removal notification
    //    tombstones the record.
    let delete_as_owner = || {
        call(
            &query_api,
            http_event(
                "DELETE",
                &format!("/assets/{}", id(&post)),
                "",
                "ana",
                "[creators]",
                "",
            ),
        )
    };
    assert_eq!(delete_as_owner().await.0, 202);
    assert!(s3
        .head_object()
        .bucket(&r.uploads_bucket)
        .key(key(&post))
        .send()
        .await
        .is_err());
    // The app repeats its DELETE before the record says DELETED: still 202, and still one
    // delete marker.
    assert_eq!(delete_as_owner().await.0, 202);
    let versions = s3
        .list_object_versions()
        .bucket(&r.uploads_bucket)
        .prefix(key(&post))
        .send()
        .await
        .unwrap();
    assert_eq!(versions.delete_markers().len(), 1);
    // S3 reports a versioned bucket's delete as `ObjectRemoved:DeleteMarkerCreated`; the local
    // server sends no notification for a delete marker, so the test sends S3's.
    let removal = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-28T12:00:00.000Z", "eventName": "ObjectRemoved:DeleteMarkerCreated",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": r.uploads_bucket},
               "object": {"key": key(&post)}}
    }]});
    let removal = pictor_aws::testing::as_s3_sends(&s3, &removal.to_string()).await;
    assert!(removal.contains("versionId"), "{removal}");
    let request = ingest_api.invoke(&sqs_event([("d-1".to_string(), removal)]));
    let answer = ingest_api
        .answer(&request, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(answer.body, json!({"batchItemFailures": []}));
    let deleted = assets.get(&id(&post)).await.unwrap().unwrap();
    assert_eq!(deleted.status, AssetStatus::Deleted);
    let gone = s3
        .head_object()
        .bucket(&r.output_bucket)
        .key(&md.key)
        .send()
        .await;
    assert!(gone.is_err(), "the renditions are removed");
    let events: Vec<Value> = receive_bodies(&sqs, &app_queue, 1)
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(events[0]["detail-type"], "AssetDeleted");
}
