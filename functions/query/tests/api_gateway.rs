//! The query function against the local S3/DynamoDB server, called with API Gateway HTTP API
//! (payload 2.0) event fixtures: every route and the error cases.

use lambda_http::{Body, Response};
use pictor_aws::testing::{fresh_resources, sdk_config};
use pictor_aws::{config, DynamoAssetStore, S3BlobStore, S3Originals};
use pictor_core::{AssetId, Ingestor, Intent, Pipeline, SourceLocation, Spec, Upload};
use pictor_query::{Config, Query, Urls};
use serde_json::Value;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

fn read(rel: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture event with `ASSET_ID` replaced and, optionally, its query parameters replaced.
fn event(name: &str, id: &str, query: Option<&[(&str, &str)]>) -> lambda_http::Request {
    let text = String::from_utf8(read(&format!("events/{name}")))
        .unwrap()
        .replace("ASSET_ID", id);
    let mut json: Value = serde_json::from_str(&text).unwrap();
    if let Some(query) = query {
        let map: serde_json::Map<String, Value> = query
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        json["queryStringParameters"] = Value::Object(map);
        json["rawQueryString"] = Value::String(
            query
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&"),
        );
    }
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

/// Percent-encodes what API Gateway would in `rawQueryString`.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn json_body(response: &Response<Body>) -> Value {
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "every answer is JSON"
    );
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

/// Plain HTTP GET of a URL on the local server; status code and body.
fn fetch(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, raw[split + 4..].to_vec())
}

struct Setup {
    query: Query,
    cdn: Query,
    ids: Vec<AssetId>,
}

async fn setup() -> Setup {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let ingestor = Ingestor::new(
        Arc::new(Pipeline::new(Spec::default()).unwrap()),
        S3Originals::new(config::s3_client(&sdk)),
        S3BlobStore::new(config::s3_client(&sdk), &r.output_bucket),
        DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table),
    );
    let mut ids = Vec::new();
    for (key, creator, file) in [
        ("uploads/ana/a.jpg", "ana", "images/photos/coffee.jpg"),
        ("uploads/bo/b.jpg", "bo", "images/photos/astronaut.jpg"),
        ("uploads/ana/c.jpg", "ana", "images/photos/rocket.jpg"),
        ("uploads/ana/d.jpg", "ana", "images/hostile/text.jpg"),
    ] {
        config::s3_client(&sdk)
            .put_object()
            .bucket(&r.uploads_bucket)
            .key(key)
            .body(read(file).into())
            .send()
            .await
            .unwrap();
        let upload = Upload::new(SourceLocation::s3(&r.uploads_bucket, key))
            .with_creator(Some(creator.into()));
        let outcome = ingestor.ingest(&upload, Intent::Upload).await.unwrap();
        ids.push(outcome.asset_id().clone());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let config = Config {
        output_bucket: r.output_bucket.clone(),
        table: r.table.clone(),
        cdn_base_url: None,
        url_expiry: Duration::from_secs(120),
    };
    Setup {
        query: query_on(&sdk, config.clone()),
        cdn: query_on(
            &sdk,
            Config {
                cdn_base_url: Some("https://img.example.test".into()),
                ..config
            },
        ),
        ids,
    }
}

#[tokio::test]
async fn get_asset_gives_presigned_urls_that_work_or_a_404() {
    let s = setup().await;
    let response = s
        .query
        .handle(event("apigw-get-asset.json", s.ids[0].as_str(), None))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json_body(&response);
    assert_eq!(body["status"], "ready");
    let variants = body["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 8);
    for v in variants {
        let url = v["url"].as_str().unwrap();
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(url.contains("X-Amz-Expires=120"), "{url}");
    }
    let jpeg = variants.iter().find(|v| v["format"] == "jpeg").unwrap();
    let (status, bytes) = fetch(jpeg["url"].as_str().unwrap());
    assert_eq!(status, 200);
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "not the JPEG rendition");

    let cdn = json_body(
        &s.cdn
            .handle(event("apigw-get-asset.json", s.ids[0].as_str(), None))
            .await,
    );
    let url = cdn["variants"][0]["url"].as_str().unwrap();
    let key = cdn["variants"][0]["key"].as_str().unwrap();
    assert_eq!(url, format!("https://img.example.test/{key}"));

    let unknown = AssetId::for_source("s3://nowhere/x.jpg");
    let missing = s
        .query
        .handle(event("apigw-get-asset.json", unknown.as_str(), None))
        .await;
    assert_eq!(missing.status(), 404);
    assert_eq!(json_body(&missing)["error"], "not_found");
    let bad = s
        .query
        .handle(event("apigw-get-asset.json", "not an id", None))
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(json_body(&bad)["parameter"], "id");
}

#[tokio::test]
async fn list_pages_by_creator_and_refuses_bad_parameters() {
    let s = setup().await;
    let first = s
        .query
        .handle(event("apigw-list-assets.json", "", None))
        .await;
    assert_eq!(first.status(), 200);
    let first = json_body(&first);
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&first), [s.ids[3].to_string(), s.ids[2].to_string()]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = s
        .query
        .handle(event(
            "apigw-list-assets.json",
            "",
            Some(&[("creator", "ana"), ("limit", "2"), ("cursor", cursor)]),
        ))
        .await;
    let second = json_body(&second);
    assert_eq!(ids(&second), [s.ids[0].to_string()]);
    assert!(second["next_cursor"].is_null());

    let bad_limit = s
        .query
        .handle(event("apigw-list-bad-limit.json", "", None))
        .await;
    assert_eq!(bad_limit.status(), 400);
    let body = json_body(&bad_limit);
    assert_eq!(body["error"], "bad_parameter");
    assert_eq!(body["parameter"], "limit");

    let mut tampered = cursor.to_string();
    tampered.insert(3, '!');
    for (name, value) in [
        ("cursor", tampered.as_str()),
        ("status", "gone"),
        ("since", "last week"),
    ] {
        let response = s
            .query
            .handle(event("apigw-list-assets.json", "", Some(&[(name, value)])))
            .await;
        assert_eq!(response.status(), 400, "{name}={value}");
        assert_eq!(json_body(&response)["parameter"], name);
    }
}

#[tokio::test]
async fn srcset_is_ready_to_use() {
    let s = setup().await;
    let response = s
        .cdn
        .handle(event("apigw-srcset.json", s.ids[1].as_str(), None))
        .await;
    assert_eq!(response.status(), 200);
    let body = json_body(&response);
    // astronaut.jpg is 512x512: xl, lg and md are all the source size; the 256 thumbnail
    // is a full-frame square too.
    let jpeg = &body["formats"]["jpeg"];
    let srcset = jpeg["srcset"].as_str().unwrap();
    assert!(
        srcset.starts_with("https://img.example.test/renditions/"),
        "{srcset}"
    );
    assert!(srcset.ends_with(" 512w"), "{srcset}");
    assert!(srcset.contains(" 256w, "), "{srcset}");
    assert_eq!(jpeg["sizes"], "(max-width: 512px) 100vw, 512px");
    assert_eq!(body["formats"]["webp"]["type"], "image/webp");
    let failed = s
        .query
        .handle(event("apigw-srcset.json", s.ids[3].as_str(), None))
        .await;
    assert_eq!(failed.status(), 409);
}

/// The handler on the AWS adapters, wired as `main` wires it.
fn query_on(sdk: &aws_config::SdkConfig, config: Config) -> Query {
    let assets = config::asset_store(sdk, &config.table);
    Query::new(assets, Urls::for_config(config::s3_client(sdk), &config))
}
