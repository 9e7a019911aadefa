//! The router suite: every route's cases written once, run wherever the router is served (in
//! process, under API Gateway events in the query function, over HTTP from `pictor serve`).
//! Each setting seeds the same four uploads ([`SEED`]), says how it sends a request as a
//! caller ([`ApiUnderTest`]), and calls [`router_suite`]. It panics (asserts) on a violation.
//!
//! The setting must take uploads (an upload desk that deletes originals) and focal points (a
//! refocus over the same stores), make JWT callers of creators and admins (admin group
//! `admins`), and use the default spec.

use crate::domain::asset::AssetId;
use async_trait::async_trait;
use serde_json::{json, Value};

/// What every setting ingests, in this order and with distinct creation times: creator, the
/// original's file name in the creator's folder, the fixture under `testdata/images/`.
/// `coffee.jpg` is 600x400; `text.jpg` is refused (FAILED `unsupported`).
pub const SEED: [(&str, &str, &str); 4] = [
    ("ana", "a.jpg", "photos/coffee.jpg"),
    ("bo", "b.jpg", "photos/astronaut.jpg"),
    ("ana", "c.jpg", "photos/rocket.jpg"),
    ("ana", "d.jpg", "hostile/text.jpg"),
];

/// Who sends a request, as the setting expresses it (no credentials, a creator's token, an
/// admin's token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Nobody,
    Creator(&'static str),
    Admin(&'static str),
}

/// A status and a JSON body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// The router as one setting serves it.
#[async_trait]
pub trait ApiUnderTest: Send + Sync {
    /// Sends `method path_and_query` (the query already percent-encoded) with an optional JSON
    /// body as `who`. Every answer must be JSON: the setting asserts its content type.
    async fn send(
        &self,
        who: Who,
        method: &str,
        path_and_query: &str,
        body: Option<&str>,
    ) -> Answer;
}

const ANA: Who = Who::Creator("ana");
const BO: Who = Who::Creator("bo");
const ADMIN: Who = Who::Admin("root");

/// Runs every case against `api`, whose store holds [`SEED`] as `ids` (in seed order).
/// Deletes come last: they remove originals.
pub async fn router_suite(api: &dyn ApiUnderTest, ids: &[AssetId; 4]) {
    visibility(api, ids).await;
    listing(api, ids).await;
    one_asset(api, ids).await;
    srcset(api, ids).await;
    upload_forms(api).await;
    focus(api, ids).await;
    deletes(api, ids).await;
}

async fn get(api: &dyn ApiUnderTest, who: Who, path: &str) -> Answer {
    api.send(who, "GET", path, None).await
}

fn assert_bad(answer: &Answer, parameter: &str) {
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.body["error"], "bad_parameter", "{}", answer.body);
    assert_eq!(answer.body["parameter"], parameter, "{}", answer.body);
}

fn items(answer: &Answer, field: &str) -> Vec<String> {
    answer.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {}", answer.body))
        .iter()
        .map(|a| a[field].as_str().unwrap_or_default().to_string())
        .collect()
}

fn strings(ids: &[&AssetId]) -> Vec<String> {
    ids.iter().map(|id| id.as_str().to_string()).collect()
}

/// Creators see their own, admins everyone's; nobody nothing.
async fn visibility(api: &dyn ApiUnderTest, ids: &[AssetId; 4]) {
    let (anas, bos) = (&ids[0], &ids[1]);
    assert_eq!(get(api, Who::Nobody, "/assets").await.status, 401);
    let own = get(api, ANA, "/assets").await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(items(&own, "creator"), ["ana", "ana", "ana"]);
    assert_eq!(get(api, ANA, "/assets?creator=bo").await.status, 403);
    assert_eq!(get(api, ANA, "/assets?creator=ana").await.status, 200);
    for path in [format!("/assets/{bos}"), format!("/assets/{bos}/srcset")] {
        let hidden = get(api, ANA, &path).await;
        assert_eq!(hidden.status, 404, "{path}: {}", hidden.body);
    }
    assert_eq!(get(api, ANA, &format!("/assets/{anas}")).await.status, 200);
    assert_eq!(get(api, ADMIN, &format!("/assets/{bos}")).await.status, 200);
    let all = get(api, ADMIN, "/assets").await;
    assert_eq!(items(&all, "id").len(), 4, "{}", all.body);
}

/// Newest first, pages that follow their cursor, filters, and every bad parameter named.
async fn listing(api: &dyn ApiUnderTest, ids: &[AssetId; 4]) {
    let all = get(api, ADMIN, "/assets").await;
    assert_eq!(
        items(&all, "id"),
        strings(&[&ids[3], &ids[2], &ids[1], &ids[0]])
    );

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/assets?creator=ana&limit=1&cursor={}", encode(c)),
            None => "/assets?creator=ana&limit=1".to_string(),
        };
        let page = get(api, ADMIN, &path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(items(&page, "id"));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, strings(&[&ids[3], &ids[2], &ids[0]]));

    let failed = get(api, ADMIN, "/assets?status=failed").await;
    assert_eq!(items(&failed, "id"), strings(&[&ids[3]]));

    let third = get(api, ADMIN, &format!("/assets/{}", ids[2])).await;
    let since = third.body["created_at"].as_str().unwrap_or_default();
    let recent = get(api, ADMIN, &format!("/assets?since={}", encode(since))).await;
    assert_eq!(items(&recent, "id"), strings(&[&ids[3], &ids[2]]));

    let huge = get(api, ADMIN, "/assets?limit=100000").await;
    assert_eq!(huge.status, 200, "a large limit is capped, not refused");

    for (query, parameter) in [
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("status=lost", "status"),
        ("since=yesterday", "since"),
        ("cursor=not-a-cursor", "cursor"),
        ("sort=size", "sort"),
    ] {
        assert_bad(
            &get(api, ADMIN, &format!("/assets?{query}")).await,
            parameter,
        );
    }
}

/// One record: its documented shape with a URL per rendition, the reason of a failure, 404
/// for what is not there, 400 for what cannot be an id, 405 for a method a route lacks.
async fn one_asset(api: &dyn ApiUnderTest, ids: &[AssetId; 4]) {
    let ready = get(api, ANA, &format!("/assets/{}", ids[0])).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.body["status"], "ready");
    for field in [
        "id", "creator", "width", "height", "sha256", "variants", "version",
    ] {
        assert!(ready.body.get(field).is_some(), "{field} missing");
    }
    assert!(ready.body.get("source_identity").is_none());
    let variants = ready.body["variants"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(variants.len(), 8, "{}", ready.body);
    for v in &variants {
        let key = v["key"].as_str().unwrap_or_default();
        let url = v["url"].as_str().unwrap_or_default();
        assert!(
            !key.is_empty() && url.contains(key),
            "{url} is not a URL of {key}"
        );
    }

    let failed = get(api, ANA, &format!("/assets/{}", ids[3])).await;
    assert_eq!(failed.body["status"], "failed");
    assert_eq!(failed.body["error"]["kind"], "unsupported");

    let unknown = AssetId::for_source("test://nobody/x.jpg");
    let missing = get(api, ANA, &format!("/assets/{unknown}")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"], "not_found");
    assert_bad(&get(api, ANA, "/assets/..%2Fetc").await, "id");
    assert_bad(&get(api, ANA, "/assets/not%20an%20id").await, "id");
    assert_eq!(get(api, ANA, "/nowhere").await.status, 404);
    assert_eq!(api.send(ANA, "POST", "/assets", None).await.status, 405);
}

/// The full-frame renditions per format, ready for `<img srcset>`; a failed asset has none.
async fn srcset(api: &dyn ApiUnderTest, ids: &[AssetId; 4]) {
    let answer = get(api, ANA, &format!("/assets/{}/srcset", ids[0])).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // xl and lg are the source's 600 px (one entry), md 512; the cover thumbnail is another
    // crop and is left out.
    for (format, ext) in [("jpeg", "jpg"), ("webp", "webp")] {
        let f = &answer.body["formats"][format];
        let srcset = f["srcset"].as_str().unwrap_or_default();
        let widths: Vec<&str> = srcset
            .split(", ")
            .filter_map(|e| e.rsplit(' ').next())
            .collect();
        assert_eq!(widths, ["512w", "600w"], "{srcset}");
        assert!(srcset.contains(&format!(".{ext}")), "{srcset}");
        assert_eq!(f["sizes"], "(max-width: 600px) 100vw, 600px");
        assert_eq!(
            (f["width"].as_u64(), f["height"].as_u64()),
            (Some(600), Some(400))
        );
    }
    assert_eq!(answer.body["order"], json!(["webp", "jpeg"]));
    let failed = get(api, ANA, &format!("/assets/{}/srcset", ids[3])).await;
    assert_eq!(failed.status, 409);
}

/// A form for the caller's own folder, with the file's name kept apart from the key.
async fn upload_forms(api: &dyn ApiUnderTest) {
    let post = |who: Who, body: &'static str| api.send(who, "POST", "/uploads", Some(body));
    let form = post(
        ANA,
        r#"{"contentType":"image/jpeg","filename":"../../Beach\u202e gpj.exe\nday.JPG"}"#,
    )
    .await;
    assert_eq!(form.status, 201, "{}", form.body);
    assert_eq!(form.body["method"], "POST");
    assert_eq!(form.body["name"], "Beach gpj.exe day.JPG");
    assert_eq!(form.body["id"].as_str().map(str::len), Some(32));
    let key = form.body["fields"]["key"].as_str().unwrap_or_default();
    assert!(
        key.contains("ana/") && key.ends_with(".jpg") && !key.contains("Beach"),
        "{key}"
    );
    let plain = post(ANA, r#"{"contentType":"image/png"}"#).await;
    assert_eq!(plain.status, 201, "{}", plain.body);
    assert!(plain.body["name"].is_null());

    assert_eq!(
        post(Who::Nobody, r#"{"contentType":"image/png"}"#)
            .await
            .status,
        401
    );
    for (body, parameter) in [
        (r#"{"contentType":"image/png","creator":"bo"}"#, "body"),
        (r#"{"contentType":"text/html"}"#, "contentType"),
        (r#"{"contentType":"image/png","preset":"nope"}"#, "preset"),
        (r#"{"contentType":"image/png","filename":7}"#, "body"),
    ] {
        assert_bad(&post(ANA, body).await, parameter);
    }
    assert_eq!(get(api, ANA, "/uploads").await.status, 405);
}

/// A focal point set by hand re-cuts the cover renditions only; others' assets stay hidden.
async fn focus(api: &dyn ApiUnderTest, ids: &[AssetId; 4]) {
    let path = format!("/assets/{}/focus", ids[0]);
    let put = |who: Who, body: &'static str| api.send(who, "PUT", &path, Some(body));
    let before = get(api, ANA, &format!("/assets/{}", ids[0])).await.body;
    assert_eq!(before["focus"]["origin"], "auto");

    let set = put(ANA, r#"{"x":0,"y":0.5}"#).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        set.body["focus"],
        json!({"x": 0.0, "y": 0.5, "origin": "manual"})
    );
    for format in ["jpeg", "webp"] {
        assert_ne!(
            rendition_key(&before, "thumb", format),
            rendition_key(&set.body, "thumb", format)
        );
        assert_eq!(
            rendition_key(&before, "md", format),
            rendition_key(&set.body, "md", format)
        );
    }
    let after = get(api, ANA, &format!("/assets/{}", ids[0])).await.body;
    assert_eq!(after["focus"]["origin"], "manual", "the record keeps it");

    let refused_path = format!("/assets/{}/focus", ids[3]);
    let refused = api
        .send(ANA, "PUT", &refused_path, Some(r#"{"x":0.5,"y":0.5}"#))
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(put(BO, r#"{"x":0,"y":0.5}"#).await.status, 404);
    assert_eq!(put(Who::Nobody, r#"{"x":0,"y":0.5}"#).await.status, 401);
    assert_bad(&put(ANA, r#"{"x":0.5,"y":-1}"#).await, "y");
    assert_eq!(put(ANA, r#"{"x":0.5}"#).await.status, 400);
}

/// The key of the `name` rendition in `format` of an asset as the API shows it.
pub fn rendition_key(asset: &Value, name: &str, format: &str) -> String {
    asset["variants"]
        .as_array()
        .and_then(|vs| {
            vs.iter()
                .find(|v| v["name"] == name && v["format"] == format)
        })
        .and_then(|v| v["key"].as_str())
        .unwrap_or_else(|| panic!("no {name} {format} in {asset}"))
        .to_string()
}

/// Creators delete their own originals (the pipeline does the rest), admins anyone's.
async fn deletes(api: &dyn ApiUnderTest, ids: &[AssetId; 4]) {
    let delete = |who: Who, id: &AssetId| {
        let path = format!("/assets/{id}");
        async move { api.send(who, "DELETE", &path, None).await }
    };
    assert_eq!(delete(Who::Nobody, &ids[0]).await.status, 401);
    assert_eq!(
        delete(ANA, &ids[1]).await.status,
        404,
        "bo's is hidden from ana"
    );
    let own = delete(ANA, &ids[0]).await;
    assert_eq!(own.status, 202, "{}", own.body);
    let theirs = delete(ADMIN, &ids[1]).await;
    assert_eq!(theirs.status, 202, "{}", theirs.body);
}

/// Percent-encodes a query value (cursors and timestamps hold `+`, `:` and `=`).
fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}
