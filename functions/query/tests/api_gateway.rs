//! The query function against the local S3/DynamoDB server, called with API Gateway HTTP API
//! (payload 2.0) event fixtures: every route and the error cases.

use base64::Engine;
use lambda_http::{Body, Response};
use pictor_aws::config;
use pictor_aws::testing::{post_form, LocalCloud};
use pictor_core::app::uploads::UploadRules;
use pictor_core::domain::identity::AdminPolicy;
use pictor_core::http::suite::{router_suite, Answer, ApiUnderTest, Who, SEED};
use pictor_core::{AssetId, Converger, Intent, Pipeline, Presets, SourceLocation, Spec, Upload};
use pictor_query::{CdnSigning, Config, Query, Uploads};
use serde_json::Value;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

fn read(rel: &str) -> Vec<u8> {
    pictor_core::ports::samples::testdata_bytes(rel)
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

/// Whether `bucket` holds `key` now.
async fn object_exists(sdk: &aws_config::SdkConfig, bucket: &str, key: String) -> bool {
    config::s3_client(sdk)
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

/// The local cloud seeded with [`SEED`], and the function over it, wired as `main` wires it
/// (presigned URLs, or behind a CDN).
struct Setup {
    cloud: LocalCloud,
    query: Query,
    cdn: Query,
    config: Config,
    ids: Vec<AssetId>,
}

/// A fixture event as a creator signed in with a JWT sends it (`groups` in Cognito's
/// bracketed text form, as API Gateway passes claims).
fn as_creator(name: &str, id: &str, sub: &str, groups: &str) -> lambda_http::Request {
    let text = String::from_utf8(read(&format!("events/{name}")))
        .unwrap()
        .replace("ASSET_ID", id);
    let mut json: Value = serde_json::from_str(&text).unwrap();
    json["requestContext"]["authorizer"] = serde_json::json!({"jwt": {"claims": {
        "sub": sub, "iss": "https://issuer.example.test/", "cognito:groups": groups
    }, "scopes": null}});
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

/// `event` with another method and a JSON body (API Gateway passes it as text).
fn with_method(
    mut request: lambda_http::Request,
    method: &str,
    body: &str,
) -> lambda_http::Request {
    *request.method_mut() = method.parse().unwrap();
    *request.body_mut() = Body::Text(body.to_string());
    request
}

async fn setup() -> Setup {
    let cloud = LocalCloud::fresh().await;
    let stores = cloud.stores();
    let converger = Converger::new(
        Arc::new(Pipeline::new(Spec::default()).unwrap()),
        stores.originals,
        stores.renditions,
        stores.assets,
    );
    let mut ids = Vec::new();
    for (creator, name, file) in SEED {
        let key = format!("uploads/{creator}/{name}");
        cloud.upload(&key, read(&format!("images/{file}"))).await;
        let upload = Upload::new(cloud.location(&key)).with_creator(Some(creator.into()));
        let outcome = converger.ingest(&upload, Intent::Upload).await.unwrap();
        ids.push(outcome.asset_id().clone());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (sdk, r) = (&cloud.sdk, &cloud.resources);
    let presets = Presets::from(Pipeline::new(Spec::default()).unwrap());
    let config = Config {
        output_bucket: r.output_bucket.clone(),
        table: r.table.clone(),
        cdn_base_url: None,
        cdn_signing: None,
        url_expiry: Duration::from_secs(120),
        uploads: Some(Uploads {
            bucket: r.uploads_bucket.clone(),
            prefix: pictor_core::UploadPrefix::default(),
            rules: UploadRules::new(&presets),
        }),
        admins: AdminPolicy {
            scope: None,
            group: Some("admins".into()),
        },
        presets: presets.clone(),
        event_bus: None,
    };
    Setup {
        query: query_on(sdk, config.clone()).await,
        cdn: query_on(
            sdk,
            Config {
                cdn_base_url: Some("https://img.example.test".into()),
                ..config.clone()
            },
        )
        .await,
        config,
        ids,
        cloud,
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
    // API Gateway passes on what a URI cannot hold as the client sent it; the router still
    // sees, and refuses, it.
    let unescaped = s
        .query
        .handle(event("apigw-get-asset.json", "a<b>{c}|^[d]`e", None))
        .await;
    assert_eq!(unescaped.status(), 400);
    assert_eq!(json_body(&unescaped)["parameter"], "id");
}

/// The handler on the AWS adapters, wired as `main` wires it.
async fn query_on(sdk: &aws_config::SdkConfig, config: Config) -> Query {
    Query::on_aws(sdk, &config).await.unwrap()
}

/// Every fixture event, as API Gateway sends it, gets the answer its shape asks for.
#[tokio::test]
async fn the_fixture_events_are_answered_as_sent() {
    let s = setup().await;
    let first = s
        .query
        .handle(event("apigw-list-assets.json", "", None))
        .await;
    assert_eq!(first.status(), 200);
    let first = json_body(&first);
    let listed: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [s.ids[3].as_str(), s.ids[2].as_str()],
        "creator=ana&limit=2"
    );
    assert!(first["next_cursor"].is_string());
    let bad_limit = s
        .query
        .handle(event("apigw-list-bad-limit.json", "", None))
        .await;
    assert_eq!(bad_limit.status(), 400);
    assert_eq!(json_body(&bad_limit)["parameter"], "limit");
    let signed_in = s
        .query
        .handle(event("apigw-jwt-list-assets.json", "", None))
        .await;
    assert_eq!(
        signed_in.status(),
        200,
        "the fixture's own claims name a creator"
    );

    // Behind a CDN, srcset entries are CDN URLs.
    let response = s
        .cdn
        .handle(event("apigw-srcset.json", s.ids[1].as_str(), None))
        .await;
    assert_eq!(response.status(), 200);
    let srcset = json_body(&response)["formats"]["jpeg"]["srcset"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        srcset.starts_with("https://img.example.test/renditions/"),
        "{srcset}"
    );
}

/// The router suite under HTTP API events: callers are what the JWT authorizer put in the
/// request context (creators, admins by group), bodies arrive as text.
struct ApiGatewayEvents<'a>(&'a Query);

#[async_trait::async_trait]
impl ApiUnderTest for ApiGatewayEvents<'_> {
    async fn send(&self, who: Who, method: &str, path: &str, body: Option<&str>) -> Answer {
        let text = String::from_utf8(read("events/apigw-get-asset.json")).unwrap();
        let mut json: Value = serde_json::from_str(&text).unwrap();
        let (raw_path, raw_query) = path.split_once('?').unwrap_or((path, ""));
        json["routeKey"] = "$default".into();
        json["requestContext"]["routeKey"] = "$default".into();
        json["rawPath"] = raw_path.into();
        json["rawQueryString"] = raw_query.into();
        json["pathParameters"] = Value::Null;
        json["requestContext"]["http"]["method"] = method.into();
        json["requestContext"]["http"]["path"] = raw_path.into();
        json["requestContext"]["authorizer"] = match who {
            Who::Nobody => Value::Null,
            Who::Creator(sub) => serde_json::json!({"jwt": {"claims": {
                "sub": sub, "iss": "https://issuer.example.test/", "cognito:groups": "[creators]"
            }, "scopes": null}}),
            Who::Admin(sub) => serde_json::json!({"jwt": {"claims": {
                "sub": sub, "iss": "https://issuer.example.test/", "cognito:groups": "[creators admins]"
            }, "scopes": null}}),
        };
        if let Some(body) = body {
            json["body"] = body.into();
            json["headers"]["content-type"] = "application/json".into();
        }
        let response = self
            .0
            .handle(lambda_http::request::from_str(&json.to_string()).unwrap())
            .await;
        Answer {
            status: response.status().as_u16(),
            body: json_body(&response),
        }
    }
}

#[tokio::test]
async fn the_router_suite_holds_under_api_gateway_events() {
    let s = setup().await;
    let ids: [AssetId; 4] = s.ids.clone().try_into().unwrap();
    router_suite(&ApiGatewayEvents(&s.query), &ids).await;
}

/// A delete removes the caller's original from the uploads bucket, and nothing else.
#[tokio::test]
async fn a_delete_removes_only_the_callers_original_from_the_bucket() {
    let s = setup().await;
    let (anas, bos) = (s.ids[0].as_str(), s.ids[1].as_str());
    let delete = |id: &str, sub: &str, groups: &str| {
        with_method(
            as_creator("apigw-get-asset.json", id, sub, groups),
            "DELETE",
            "",
        )
    };
    let exists = |key: &'static str| s.cloud.upload_exists(key);
    assert_eq!(
        s.query
            .handle(delete(bos, "ana", "[creators]"))
            .await
            .status(),
        404
    );
    assert!(
        exists("uploads/bo/b.jpg").await,
        "bo's original is untouched"
    );
    assert_eq!(
        s.query
            .handle(delete(anas, "ana", "[creators]"))
            .await
            .status(),
        202
    );
    assert!(
        !exists("uploads/ana/a.jpg").await,
        "ana's original is deleted"
    );
    assert!(exists("uploads/ana/c.jpg").await, "only that one");
    assert_eq!(
        s.query
            .handle(delete(bos, "root", "[admins]"))
            .await
            .status(),
        202
    );
    assert!(!exists("uploads/bo/b.jpg").await);
}

#[tokio::test]
async fn an_upload_form_lands_in_the_uploads_bucket_under_its_conditions() {
    let s = setup().await;
    let text = String::from_utf8(read("events/apigw-list-assets.json")).unwrap();
    let mut json: Value = serde_json::from_str(&text).unwrap();
    json["rawPath"] = "/uploads".into();
    json["rawQueryString"] = "".into();
    json["queryStringParameters"] = Value::Null;
    json["requestContext"]["http"]["path"] = "/uploads".into();
    json["requestContext"]["authorizer"] =
        serde_json::json!({"jwt": {"claims": {"sub": "ana"}, "scopes": null}});
    let request = with_method(
        lambda_http::request::from_str(&json.to_string()).unwrap(),
        "POST",
        r#"{"contentType": "image/jpeg"}"#,
    );
    let response = s.query.handle(request).await;
    assert_eq!(response.status(), 201, "{:?}", json_body(&response));
    let form = json_body(&response);
    let fields: Vec<(String, String)> = form["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let key = form["fields"]["key"].as_str().unwrap().to_string();
    assert!(
        key.starts_with("uploads/ana/") && key.ends_with(".jpg"),
        "{key}"
    );
    assert_eq!(
        form["id"].as_str().unwrap(),
        SourceLocation::s3(&s.cloud.resources.uploads_bucket, &key)
            .asset_id()
            .as_str(),
        "the asset id is known before the upload"
    );

    // The conditions S3 enforces, as signed.
    let policy: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(form["fields"]["policy"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let conditions = policy["conditions"].as_array().unwrap();
    assert!(conditions.contains(&serde_json::json!({"bucket": s.cloud.resources.uploads_bucket})));
    assert!(conditions.contains(&serde_json::json!({"key": key})));
    assert!(conditions.contains(&serde_json::json!([
        "starts-with",
        "$Content-Type",
        "image/"
    ])));
    assert!(conditions.contains(&serde_json::json!(["content-length-range", 1, 50_000_000])));
    let expiration = time::OffsetDateTime::parse(
        policy["expiration"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expiration - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::minutes(5) && left <= time::Duration::minutes(10),
        "{left}"
    );
    assert!(form["fields"]["x-amz-signature"].as_str().unwrap().len() == 64);

    let photo = read("images/photos/coffee.jpg");
    let (status, body) = post_form(form["url"].as_str().unwrap(), &fields, "image/jpeg", &photo);
    assert!((200..300).contains(&status), "{status}: {body}");
    let stored = config::s3_client(&s.cloud.sdk)
        .get_object()
        .bucket(&s.cloud.resources.uploads_bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.content_type(), Some("image/jpeg"));
    assert_eq!(
        stored.body.collect().await.unwrap().into_bytes().len(),
        photo.len()
    );
}

/// `openssl` on the command line, in `dir`; panics with its stderr if it fails.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether OpenSSL verifies `signature` over `policy` with `public.pem`, all in `dir`.
fn verifies(dir: &std::path::Path) -> bool {
    std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify", "public.pem"])
        .args(["-signature", "signature", "policy"])
        .current_dir(dir)
        .output()
        .expect("openssl")
        .status
        .success()
}

/// Private renditions: the key from Secrets Manager signs every URL, and OpenSSL, an
/// implementation of its own, verifies each signature against the public key the CDK app puts
/// in the key group, over the policy CloudFront rebuilds from the URL.
#[tokio::test]
async fn private_renditions_get_cloudfront_signed_urls() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    openssl(dir.path(), &["genrsa", "-out", "private.pem", "2048"]);
    openssl(
        dir.path(),
        &["rsa", "-in", "private.pem", "-pubout", "-out", "public.pem"],
    );
    let pem = std::fs::read_to_string(dir.path().join("private.pem")).unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&s.cloud.sdk);
    let secret = format!("cdn-key-{}", s.cloud.resources.uploads_bucket);
    secrets
        .create_secret()
        .name(&secret)
        .secret_string(&pem)
        .send()
        .await
        .unwrap();
    let config = Config {
        cdn_base_url: Some("https://d111.example.test".into()),
        cdn_signing: Some(CdnSigning {
            key_pair_id: "K2EXAMPLE".into(),
            private_key_secret: secret.clone(),
        }),
        url_expiry: Duration::from_secs(3600),
        ..s.config.clone()
    };
    let private = query_on(&s.cloud.sdk, config.clone()).await;
    let before = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    let response = private
        .handle(event("apigw-get-asset.json", s.ids[1].as_str(), None))
        .await;
    assert_eq!(response.status(), 200);
    let body = json_body(&response);
    let variants = body["variants"].as_array().unwrap();
    assert!(!variants.is_empty());
    for variant in variants {
        let url = variant["url"].as_str().unwrap();
        let (resource, query) = url.split_once('?').unwrap();
        assert!(
            resource.starts_with("https://d111.example.test/renditions/"),
            "{url}"
        );
        let params: std::collections::HashMap<&str, &str> = query
            .split('&')
            .map(|pair| pair.split_once('=').unwrap())
            .collect();
        assert_eq!(params["Key-Pair-Id"], "K2EXAMPLE");
        assert_eq!(params["Hash-Algorithm"], "SHA256");
        let expires: u64 = params["Expires"].parse().unwrap();
        assert!(
            expires >= before + 3600 && expires <= before + 2 * 3600 + 1,
            "{expires} vs {before}"
        );
        let signature = params["Signature"]
            .replace('-', "+")
            .replace('_', "=")
            .replace('~', "/");
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .unwrap();
        std::fs::write(dir.path().join("signature"), signature).unwrap();
        let policy = format!(
            r#"{{"Statement":[{{"Resource":"{resource}","Condition":{{"DateLessThan":{{"AWS:EpochTime":{expires}}}}}}}]}}"#
        );
        std::fs::write(dir.path().join("policy"), &policy).unwrap();
        assert!(verifies(dir.path()), "{url}");
        // A policy for another object does not verify with that signature.
        std::fs::write(
            dir.path().join("policy"),
            policy.replace("/renditions/", "/renditions/other-"),
        )
        .unwrap();
        assert!(!verifies(dir.path()));
    }
    // Within one window the same URL comes back, so browsers keep their cached copy.
    let again = json_body(
        &private
            .handle(event("apigw-get-asset.json", s.ids[1].as_str(), None))
            .await,
    );
    assert_eq!(again["variants"], body["variants"]);

    // A secret that is not there stops the function at start, with the secret named.
    let missing = Config {
        cdn_signing: Some(CdnSigning {
            key_pair_id: "K2EXAMPLE".into(),
            private_key_secret: "no-such-secret".into(),
        }),
        ..config
    };
    let error = Query::on_aws(&s.cloud.sdk, &missing).await.err().unwrap();
    assert!(error.to_string().contains("no-such-secret"), "{error}");
}

/// The fixture's `PUT /assets/{id}/focus` by `sub`, with `body` (the fixture's own when None).
fn put_focus(id: &str, sub: &str, body: Option<&str>) -> lambda_http::Request {
    let request = as_creator("apigw-put-focus.json", id, sub, "[creators]");
    match body {
        Some(body) => with_method(request, "PUT", body),
        None => request,
    }
}

#[tokio::test]
async fn a_focal_point_recuts_only_the_cover_renditions_in_the_bucket() {
    let s = setup().await;
    let anas = s.ids[0].as_str();
    let before = json_body(
        &s.query
            .handle(as_creator(
                "apigw-get-asset.json",
                anas,
                "ana",
                "[creators]",
            ))
            .await,
    );
    assert_eq!(before["focus"]["origin"], "auto", "{before}");

    let response = s.query.handle(put_focus(anas, "ana", None)).await;
    assert_eq!(response.status(), 200, "{:?}", json_body(&response));
    let after = json_body(&response);
    assert_eq!(after["focus"]["x"], 0.1);
    assert_eq!(after["focus"]["y"], 0.5);
    assert_eq!(after["focus"]["origin"], "manual");
    assert_eq!(after["version"], before["version"].as_u64().unwrap() + 1);
    let key_of = |asset: &Value, name: &str, format: &str| -> String {
        asset["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name && v["format"] == format)
            .unwrap()["key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let exists = |key: String| object_exists(&s.cloud.sdk, &s.config.output_bucket, key);
    for format in ["jpeg", "webp"] {
        // The thumbnail moved to the left edge: a new file, and the old one is gone.
        let (old, new) = (
            key_of(&before, "thumb", format),
            key_of(&after, "thumb", format),
        );
        assert_ne!(old, new, "{format}");
        assert!(exists(new).await && !exists(old).await, "{format}");
        // Full frames do not depend on the focal point: the same files.
        for name in ["xl", "lg", "md"] {
            assert_eq!(key_of(&before, name, format), key_of(&after, name, format));
        }
    }

    let bos = s.ids[1].as_str();
    let not_hers = s.query.handle(put_focus(bos, "ana", None)).await;
    assert_eq!(not_hers.status(), 404, "ana may not move bo's crops");
    let outside = s
        .query
        .handle(put_focus(anas, "ana", Some(r#"{"x": 1.5, "y": 0.5}"#)))
        .await;
    assert_eq!(outside.status(), 400);
    assert_eq!(json_body(&outside)["parameter"], "x");
    let junk = s.query.handle(put_focus(anas, "ana", Some("left"))).await;
    assert_eq!(junk.status(), 400);
    let failed = s
        .query
        .handle(put_focus(s.ids[3].as_str(), "ana", None))
        .await;
    assert_eq!(failed.status(), 409, "a FAILED asset has no crops to move");
}
