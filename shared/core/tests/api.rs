//! The query API on the local adapters, with real processed assets: every route and every
//! error case.

mod common;

use async_trait::async_trait;
use common::place;
use http_body_util::BodyExt;
use pictor_core::app::uploads::UploadRules;
use pictor_core::domain::identity::Caller;
use pictor_core::http::{router, Api, ApiResponse};
use pictor_core::local::{FsBlobStore, FsOriginals, SqliteAssetStore};
use pictor_core::ports::BaseUrl;
use pictor_core::ports::StoreError;
use pictor_core::ports::MAX_API_PAGE;
use pictor_core::ports::{UploadDesk, UploadForm, UploadTarget};
use pictor_core::{AssetId, Ingestor, Intent, Pipeline, Spec};
use pictor_core::{Presets, SourceLocation};
use serde_json::json;
use std::sync::Arc;
use std::sync::Mutex;
use tower::ServiceExt;

/// A request to send: method, path (as sent, still percent-encoded), query parameters, and
/// the caller the adapter established.
struct ApiRequest {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    caller: Option<Caller>,
    body: Vec<u8>,
}

impl ApiRequest {
    fn by(mut self, caller: Option<Caller>) -> ApiRequest {
        self.caller = caller;
        self
    }
}

/// The API's router, called as a server would call it.
struct Client(axum::Router);

impl Client {
    async fn handle(&self, request: &ApiRequest) -> ApiResponse {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&request.query)
            .finish();
        let uri = if query.is_empty() {
            request.path.clone()
        } else {
            format!("{}?{query}", request.path)
        };
        let mut http = axum::http::Request::builder()
            .method(request.method.as_str())
            .uri(uri)
            .body(axum::body::Body::from(request.body.clone()))
            .unwrap();
        if let Some(caller) = &request.caller {
            http.extensions_mut().insert(caller.clone());
        }
        let response = self.0.clone().oneshot(http).await.unwrap();
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "every answer is JSON"
        );
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        ApiResponse {
            status,
            body: serde_json::from_slice(&bytes).unwrap(),
        }
    }
}

fn get(path: &str, query: &[(&str, &str)]) -> ApiRequest {
    ApiRequest {
        method: "GET".into(),
        path: path.into(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        caller: Some(Caller::Operator),
        body: Vec::new(),
    }
}

fn creator(id: &str) -> Option<Caller> {
    Some(Caller::Creator {
        id: id.into(),
        admin: false,
    })
}

/// Records what it was asked; forms point nowhere real (the S3 desk is tested on a server).
#[derive(Default)]
struct RecordingDesk {
    deleted: Mutex<Vec<SourceLocation>>,
    names: Mutex<Vec<Option<String>>>,
}

#[async_trait]
impl UploadDesk for RecordingDesk {
    async fn form(&self, target: &UploadTarget) -> Result<UploadForm, StoreError> {
        self.names.lock().unwrap().push(target.name.clone());
        Ok(UploadForm {
            url: "https://uploads.example.test/".into(),
            fields: [("key".to_string(), format!("uploads/{}", target.relative))].into(),
            location: SourceLocation::s3("up", format!("uploads/{}", target.relative)),
        })
    }
    async fn delete(&self, location: &SourceLocation) -> Result<(), StoreError> {
        self.deleted.lock().unwrap().push(location.clone());
        Ok(())
    }
}

/// Three photos by two creators and one refused file, then the API over the same store.
async fn seeded(dir: &std::path::Path) -> (Client, Vec<AssetId>) {
    seeded_with(dir, Spec::default()).await
}

async fn seeded_with(dir: &std::path::Path, spec: Spec) -> (Client, Vec<AssetId>) {
    let db = dir.join("assets.db");
    let ingestor = Ingestor::new(
        Arc::new(Pipeline::new(spec).unwrap()),
        FsOriginals,
        FsBlobStore::new(dir),
        SqliteAssetStore::open(&db).unwrap(),
    );
    let mut ids = Vec::new();
    for (name, creator, file) in [
        ("a.jpg", "ana", "photos/coffee.jpg"),
        ("b.jpg", "bo", "photos/astronaut.jpg"),
        ("c.jpg", "ana", "photos/rocket.jpg"),
        ("d.jpg", "ana", "hostile/text.jpg"),
    ] {
        let upload = place(&dir.join("inbox"), &format!("{creator}/{name}"), file)
            .with_creator(Some(creator.into()));
        let outcome = ingestor.ingest(&upload, Intent::Upload).await.unwrap();
        ids.push(outcome.asset_id().clone());
        // Distinct creation times, so "newest first" is well defined.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let api = Api::new(
        SqliteAssetStore::open(&db).unwrap(),
        BaseUrl("https://cdn.example.test/".into()),
    );
    (Client(router(api)), ids)
}

/// The seeded store behind an API that takes uploads through `desk`.
async fn with_desk(dir: &std::path::Path, desk: Arc<RecordingDesk>) -> (Client, Vec<AssetId>) {
    let (_, ids) = seeded(dir).await;
    let presets = Presets::from(Pipeline::new(Spec::default()).unwrap());
    let api = Api::new(
        SqliteAssetStore::open(&dir.join("assets.db")).unwrap(),
        BaseUrl("https://cdn.example.test/".into()),
    )
    .with_uploads(desk, UploadRules::new(&presets));
    (Client(router(api)), ids)
}

#[tokio::test]
async fn a_creator_sees_and_deletes_only_their_own_and_an_admin_everything() {
    let dir = tempfile::tempdir().unwrap();
    let desk = Arc::new(RecordingDesk::default());
    let (api, ids) = with_desk(dir.path(), Arc::clone(&desk)).await;
    let (anas, bos) = (&ids[0], &ids[1]);
    let ana = creator("ana");

    let nobody = api.handle(&get("/assets", &[]).by(None)).await;
    assert_eq!(nobody.status, 401);
    let own = api.handle(&get("/assets", &[]).by(ana.clone())).await;
    assert_eq!(own.status, 200);
    let listed: Vec<_> = own.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["creator"].clone())
        .collect();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|c| c == "ana"), "{listed:?}");
    let theirs = api
        .handle(&get("/assets", &[("creator", "bo")]).by(ana.clone()))
        .await;
    assert_eq!(theirs.status, 403);
    let mine_by_name = api
        .handle(&get("/assets", &[("creator", "ana")]).by(ana.clone()))
        .await;
    assert_eq!(mine_by_name.status, 200);

    for path in [format!("/assets/{bos}"), format!("/assets/{bos}/srcset")] {
        let hidden = api.handle(&get(&path, &[]).by(ana.clone())).await;
        assert_eq!(hidden.status, 404, "{path}: {:?}", hidden.body);
    }
    assert_eq!(
        api.handle(&get(&format!("/assets/{anas}"), &[]).by(ana.clone()))
            .await
            .status,
        200
    );

    let delete = |id: &AssetId, caller: Option<Caller>| ApiRequest {
        method: "DELETE".into(),
        ..get(&format!("/assets/{id}"), &[]).by(caller)
    };
    assert_eq!(api.handle(&delete(bos, ana.clone())).await.status, 404);
    assert!(
        desk.deleted.lock().unwrap().is_empty(),
        "nothing of bo's was deleted"
    );
    let accepted = api.handle(&delete(anas, ana.clone())).await;
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    assert_eq!(desk.deleted.lock().unwrap().len(), 1);
    assert!(desk.deleted.lock().unwrap()[0]
        .to_string()
        .ends_with("/ana/a.jpg"));

    let admin = Some(Caller::Creator {
        id: "root".into(),
        admin: true,
    });
    let all = api.handle(&get("/assets", &[]).by(admin.clone())).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 4);
    assert_eq!(
        api.handle(&get(&format!("/assets/{bos}"), &[]).by(admin.clone()))
            .await
            .status,
        200
    );
    assert_eq!(api.handle(&delete(bos, admin)).await.status, 202);
}

#[tokio::test]
async fn uploads_are_forms_for_the_callers_own_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (api, _) = with_desk(dir.path(), Arc::new(RecordingDesk::default())).await;
    let post = |body: &str, caller: Option<Caller>| ApiRequest {
        method: "POST".into(),
        body: body.as_bytes().to_vec(),
        ..get("/uploads", &[]).by(caller)
    };
    let form = api
        .handle(&post(r#"{"contentType":"image/jpeg"}"#, creator("ana")))
        .await;
    assert_eq!(form.status, 201, "{:?}", form.body);
    let key = form.body["fields"]["key"].as_str().unwrap();
    assert!(
        key.starts_with("uploads/ana/") && key.ends_with(".jpg"),
        "{key}"
    );
    assert_eq!(form.body["maxBytes"], 50_000_000);
    assert_eq!(form.body["method"], "POST");
    assert_eq!(form.body["id"].as_str().unwrap().len(), 32);

    // The body cannot name another creator, and only creators upload.
    let smuggled = api
        .handle(&post(
            r#"{"contentType":"image/png","creator":"bo"}"#,
            creator("ana"),
        ))
        .await;
    assert_bad(&smuggled, "body");
    assert_eq!(
        api.handle(&post(
            r#"{"contentType":"image/png"}"#,
            Some(Caller::Operator)
        ))
        .await
        .status,
        403
    );
    assert_eq!(
        api.handle(&post(r#"{"contentType":"image/png"}"#, None))
            .await
            .status,
        401
    );
    assert_bad(
        &api.handle(&post(r#"{"contentType":"text/html"}"#, creator("ana")))
            .await,
        "contentType",
    );
    assert_bad(
        &api.handle(&post(
            r#"{"contentType":"image/png","preset":"nope"}"#,
            creator("ana"),
        ))
        .await,
        "preset",
    );
    assert_eq!(api.handle(&get("/uploads", &[])).await.status, 405);
}

/// The creator's file name is kept as the display name the desk stores with the original:
/// one plain segment, never part of the key.
#[tokio::test]
async fn an_upload_form_carries_the_creators_file_name_sanitised() {
    let dir = tempfile::tempdir().unwrap();
    let desk = Arc::new(RecordingDesk::default());
    let (api, _) = with_desk(dir.path(), desk.clone()).await;
    let post = |body: &str| ApiRequest {
        method: "POST".into(),
        body: body.as_bytes().to_vec(),
        ..get("/uploads", &[]).by(creator("ana"))
    };
    let form = api
        .handle(&post(
            r#"{"contentType":"image/jpeg","filename":"../../Beach\u202e gpj.exe\nday.JPG"}"#,
        ))
        .await;
    assert_eq!(form.status, 201, "{:?}", form.body);
    assert_eq!(form.body["name"], "Beach gpj.exe day.JPG");
    let key = form.body["fields"]["key"].as_str().unwrap();
    assert!(!key.contains("Beach") && key.ends_with(".jpg"), "{key}");
    let plain = api.handle(&post(r#"{"contentType":"image/png"}"#)).await;
    assert_eq!(plain.status, 201);
    assert!(plain.body["name"].is_null());
    assert_eq!(
        *desk.names.lock().unwrap(),
        vec![Some("Beach gpj.exe day.JPG".to_string()), None]
    );
    assert_bad(
        &api.handle(&post(r#"{"contentType":"image/png","filename":7}"#))
            .await,
        "body",
    );
}

fn assert_bad(response: &ApiResponse, parameter: &str) {
    assert_eq!(response.status, 400, "{:?}", response.body);
    assert_eq!(response.body["error"], "bad_parameter");
    assert_eq!(response.body["parameter"], parameter, "{:?}", response.body);
}

#[tokio::test]
async fn get_returns_the_record_with_a_url_per_variant_or_404() {
    let dir = tempfile::tempdir().unwrap();
    let (api, ids) = seeded(dir.path()).await;
    let response = api.handle(&get(&format!("/assets/{}", ids[0]), &[])).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["status"], "ready");
    // The CLI's documented shape, and nothing that names a bucket or a path on disk.
    for field in [
        "id", "source", "creator", "width", "height", "sha256", "variants", "version",
    ] {
        assert!(response.body.get(field).is_some(), "{field} missing");
    }
    assert!(response.body.get("source_identity").is_none());
    let variants = response.body["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 8);
    for v in variants {
        let url = v["url"].as_str().unwrap();
        let key = v["key"].as_str().unwrap();
        assert_eq!(url, format!("https://cdn.example.test/{key}"));
        assert!(
            dir.path().join(key).exists(),
            "{key} is not a stored rendition"
        );
    }
    let failed = api.handle(&get(&format!("/assets/{}", ids[3]), &[])).await;
    assert_eq!(failed.body["status"], "failed");
    assert_eq!(failed.body["error"]["kind"], "unsupported");

    let unknown = AssetId::for_source("test://nobody/x.jpg");
    let missing = api.handle(&get(&format!("/assets/{unknown}"), &[])).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"], "not_found");
    assert_bad(&api.handle(&get("/assets/..%2Fetc", &[])).await, "id");
    assert_eq!(api.handle(&get("/nowhere", &[])).await.status, 404);
    let post = ApiRequest {
        method: "POST".into(),
        ..get("/assets", &[])
    };
    assert_eq!(api.handle(&post).await.status, 405);
}

#[tokio::test]
async fn list_filters_pages_newest_first_and_validates_every_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let (api, ids) = seeded(dir.path()).await;
    let all = api.handle(&get("/assets", &[])).await;
    let listed: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(|id| id.as_str()).collect();
    assert_eq!(listed, newest_first);

    // Pages of one, by creator, follow the cursor to the end.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("creator", "ana"), ("limit", "1")];
        if let Some(c) = &cursor {
            query.push(("cursor", c));
        }
        let page = api.handle(&get("/assets", &query)).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        for item in page.body["items"].as_array().unwrap() {
            assert_eq!(item["creator"], "ana");
            seen.push(item["id"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, [ids[3].as_str(), ids[2].as_str(), ids[0].as_str()]);

    let failed = api.handle(&get("/assets", &[("status", "failed")])).await;
    assert_eq!(failed.body["items"].as_array().unwrap().len(), 1);

    // `since` keeps only what was created at or after it.
    let third = api.handle(&get(&format!("/assets/{}", ids[2]), &[])).await;
    let since = third.body["created_at"].as_str().unwrap().to_string();
    let recent = api.handle(&get("/assets", &[("since", &since)])).await;
    let recent: Vec<&str> = recent.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(recent, [ids[3].as_str(), ids[2].as_str()]);

    let huge = api.handle(&get("/assets", &[("limit", "100000")])).await;
    assert_eq!(huge.status, 200, "a large limit is capped, not refused");
    assert!(huge.body["items"].as_array().unwrap().len() <= MAX_API_PAGE);

    assert_bad(
        &api.handle(&get("/assets", &[("limit", "0")])).await,
        "limit",
    );
    assert_bad(
        &api.handle(&get("/assets", &[("limit", "ten")])).await,
        "limit",
    );
    assert_bad(
        &api.handle(&get("/assets", &[("status", "lost")])).await,
        "status",
    );
    assert_bad(
        &api.handle(&get("/assets", &[("since", "yesterday")])).await,
        "since",
    );
    assert_bad(
        &api.handle(&get("/assets", &[("cursor", "not-a-cursor")]))
            .await,
        "cursor",
    );
    assert_bad(
        &api.handle(&get("/assets", &[("sort", "size")])).await,
        "sort",
    );
    // A cursor that decodes but was altered must not reach the store as a 500.
    let tampered = pictor_core::ports::cursor::encode(-1, &ids[0]);
    let response = api.handle(&get("/assets", &[("cursor", &tampered)])).await;
    assert!(
        response.status == 200 || response.status == 400,
        "{response:?}"
    );
}

#[tokio::test]
async fn srcset_lists_full_frame_variants_per_format() {
    let dir = tempfile::tempdir().unwrap();
    let (api, ids) = seeded(dir.path()).await;
    // coffee.jpg is 600x400: xl and lg are the source size (one entry), md 512, and the
    // 256x256 cover thumbnail is a different crop, so it is left out.
    let response = api
        .handle(&get(&format!("/assets/{}/srcset", ids[0]), &[]))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    for (format, ext) in [("jpeg", "jpg"), ("webp", "webp")] {
        let f = &response.body["formats"][format];
        let srcset = f["srcset"].as_str().unwrap();
        let widths: Vec<&str> = srcset
            .split(", ")
            .map(|e| e.rsplit(' ').next().unwrap())
            .collect();
        assert_eq!(widths, ["512w", "600w"], "{srcset}");
        assert!(srcset.contains(&format!(".{ext} 600w")), "{srcset}");
        assert_eq!(f["sizes"], "(max-width: 600px) 100vw, 600px");
        assert_eq!(
            (f["width"].as_u64(), f["height"].as_u64()),
            (Some(600), Some(400))
        );
    }
    assert_eq!(response.body["order"], json!(["webp", "jpeg"]));
    let failed = api
        .handle(&get(&format!("/assets/{}/srcset", ids[3]), &[]))
        .await;
    assert_eq!(failed.status, 409);
}

#[tokio::test]
async fn srcset_puts_avif_first() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec::from_toml(
        r#"
        [[variants]]
        name = "md"
        width = 512
        format = "jpeg"
        [[variants]]
        name = "md"
        width = 512
        format = "avif"
        speed = 9
        [[variants]]
        name = "md"
        width = 512
        format = "webp"
        "#,
    )
    .unwrap();
    let (api, ids) = seeded_with(dir.path(), spec).await;
    let response = api
        .handle(&get(&format!("/assets/{}/srcset", ids[0]), &[]))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.body["order"], json!(["avif", "webp", "jpeg"]));
    let avif = &response.body["formats"]["avif"];
    assert_eq!(avif["type"], "image/avif");
    assert!(
        avif["srcset"].as_str().unwrap().ends_with(".avif 512w"),
        "{avif}"
    );
}

fn put_focus(id: &AssetId, body: &str, by: Option<Caller>) -> ApiRequest {
    ApiRequest {
        method: "PUT".into(),
        path: format!("/assets/{id}/focus"),
        query: Vec::new(),
        caller: by,
        body: body.as_bytes().to_vec(),
    }
}

fn focus_of(outcome: &pictor_core::Outcome) -> pictor_image::pipeline::Focus {
    let asset = outcome.asset().expect("a record");
    asset
        .image
        .as_ref()
        .and_then(|i| i.focus)
        .expect("a focal point")
}

fn key_of(asset: &serde_json::Value, name: &str, format: &str) -> String {
    asset["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name && v["format"] == format)
        .unwrap_or_else(|| panic!("no {name} {format} in {asset}"))["path"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_focal_point_set_by_hand_recuts_the_crops_and_outlives_a_reprocess() {
    let dir = tempfile::tempdir().unwrap();
    let (without, ids) = seeded(dir.path()).await;
    let anas = &ids[0];
    let refused = without
        .handle(&put_focus(anas, r#"{"x":0,"y":0.5}"#, creator("ana")))
        .await;
    assert_eq!(refused.status, 405, "no refocus configured");

    let db = dir.path().join("assets.db");
    let ingestor = |spec: Spec| {
        Ingestor::new(
            Arc::new(Pipeline::new(spec).unwrap()),
            FsOriginals,
            FsBlobStore::new(dir.path()),
            SqliteAssetStore::open(&db).unwrap(),
        )
    };
    let api = Api::new(
        SqliteAssetStore::open(&db).unwrap(),
        BaseUrl("https://cdn.example.test/".into()),
    )
    .with_refocus(Arc::new(ingestor(Spec::default())));
    let client = Client(router(api));
    let before = client
        .handle(&get(&format!("/assets/{anas}"), &[]).by(creator("ana")))
        .await
        .body;
    assert_eq!(before["focus"]["origin"], "auto");

    let set = client
        .handle(&put_focus(anas, r#"{"x":0,"y":0.5}"#, creator("ana")))
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        set.body["focus"],
        json!({"x": 0.0, "y": 0.5, "origin": "manual"})
    );
    for format in ["jpeg", "webp"] {
        assert_ne!(
            key_of(&before, "thumb", format),
            key_of(&set.body, "thumb", format)
        );
        assert_eq!(
            key_of(&before, "md", format),
            key_of(&set.body, "md", format)
        );
        assert!(!dir.path().join(key_of(&before, "thumb", format)).exists());
    }
    // The thumbnail is the left square of the 600x400 photo now, not the centre one.
    let thumb = image::open(dir.path().join(key_of(&set.body, "thumb", "webp")))
        .unwrap()
        .into_rgba8();
    let photo = image::open(dir.path().join(key_of(&set.body, "xl", "webp"))).unwrap();
    let side = photo.height();
    let square_at = |left: u32| {
        let square = photo.crop_imm(left, 0, side, side).into_rgba8();
        image::imageops::resize(&square, 256, 256, image::imageops::FilterType::Lanczos3)
    };
    let (left, centre) = (square_at(0), square_at((photo.width() - side) / 2));
    let (to_left, to_centre) = (common::psnr(&thumb, &left), common::psnr(&thumb, &centre));
    assert!(
        to_left > 28.0 && to_left > to_centre + 6.0,
        "{to_left:.1} / {to_centre:.1} dB"
    );

    for (request, status) in [
        (put_focus(anas, r#"{"x":0,"y":0.5}"#, creator("bo")), 404),
        (put_focus(anas, r#"{"x":0.5,"y":-1}"#, creator("ana")), 400),
        (put_focus(anas, r#"{"x":0.5}"#, creator("ana")), 400),
        (
            put_focus(&ids[3], r#"{"x":0.5,"y":0.5}"#, creator("ana")),
            409,
        ),
        (put_focus(anas, r#"{"x":0.5,"y":0.5}"#, None), 401),
    ] {
        let response = client.handle(&request).await;
        assert_eq!(response.status, status, "{}", response.body);
    }

    // A spec change makes everything again; the point set by hand stays.
    let mut spec = Spec::default();
    spec.variants.iter_mut().for_each(|v| v.quality = 70);
    let outcome = ingestor(spec)
        .ingest(
            &place(&dir.path().join("inbox"), "ana/a.jpg", "photos/coffee.jpg")
                .with_creator(Some("ana".into())),
            Intent::Reprocess,
        )
        .await
        .unwrap();
    let focus = focus_of(&outcome);
    assert_eq!((focus.x, focus.y), (0.0, 0.5));
    assert_eq!(focus.origin, pictor_image::pipeline::FocusOrigin::Manual);

    // Another picture at the same place starts from its own point.
    let replaced = ingestor(Spec::default())
        .ingest(
            &place(&dir.path().join("inbox"), "ana/a.jpg", "photos/rocket.jpg")
                .with_creator(Some("ana".into())),
            Intent::Upload,
        )
        .await
        .unwrap();
    assert_eq!(
        focus_of(&replaced).origin,
        pictor_image::pipeline::FocusOrigin::Auto
    );
}
