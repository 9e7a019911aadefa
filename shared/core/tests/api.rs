//! The query API on the local adapters, with real processed assets: every route and every
//! error case.

mod common;

use async_trait::async_trait;
use common::place;
use http_body_util::BodyExt;
use pictor_core::app::uploads::UploadRules;
use pictor_core::domain::identity::Caller;
use pictor_core::http::suite::{rendition_key, router_suite, Answer, ApiUnderTest, Who, SEED};
use pictor_core::http::{router, Api, ApiResponse};
use pictor_core::local::{FsBlobStore, FsOriginals, SqliteAssetStore};
use pictor_core::ports::BaseUrl;
use pictor_core::ports::StoreError;
use pictor_core::ports::{UploadDesk, UploadForm, UploadTarget};
use pictor_core::{AssetId, Converger, Intent, Pipeline, Spec};
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
    let converger = Converger::new(
        Arc::new(Pipeline::new(spec).unwrap()),
        FsOriginals,
        FsBlobStore::new(dir),
        SqliteAssetStore::open(&db).unwrap(),
    );
    let mut ids = Vec::new();
    for (creator, name, file) in SEED {
        let upload = place(&dir.join("inbox"), &format!("{creator}/{name}"), file)
            .with_creator(Some(creator.into()));
        let outcome = converger.ingest(&upload, Intent::Upload).await.unwrap();
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

/// The router itself, each request carrying the caller an adapter would have established.
struct InProcess(Client);

#[async_trait]
impl ApiUnderTest for InProcess {
    async fn send(&self, who: Who, method: &str, path: &str, body: Option<&str>) -> Answer {
        let caller = match who {
            Who::Nobody => None,
            Who::Creator(id) => Some(Caller::Creator {
                id: id.into(),
                admin: false,
            }),
            Who::Admin(id) => Some(Caller::Creator {
                id: id.into(),
                admin: true,
            }),
        };
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let request = ApiRequest {
            method: method.into(),
            path: path.into(),
            query: form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
            caller,
            body: body.unwrap_or_default().as_bytes().to_vec(),
        };
        let answer = self.0.handle(&request).await;
        Answer {
            status: answer.status,
            body: answer.body,
        }
    }
}

#[tokio::test]
async fn the_router_suite_holds_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ids) = seeded(dir.path()).await;
    let db = dir.path().join("assets.db");
    let refocus = Converger::new(
        Arc::new(Pipeline::new(Spec::default()).unwrap()),
        FsOriginals,
        FsBlobStore::new(dir.path()),
        SqliteAssetStore::open(&db).unwrap(),
    );
    let presets = Presets::from(Pipeline::new(Spec::default()).unwrap());
    let api = Api::new(
        SqliteAssetStore::open(&db).unwrap(),
        BaseUrl("https://cdn.example.test/".into()),
    )
    .with_refocus(Arc::new(refocus))
    .with_uploads(
        Arc::new(RecordingDesk::default()),
        UploadRules::new(&presets),
    );
    let ids: [AssetId; 4] = ids.try_into().unwrap();
    router_suite(&InProcess(Client(router(api))), &ids).await;
}

/// Deletes reach the desk only for what the caller may delete, as the original's location.
#[tokio::test]
async fn a_delete_reaches_the_desk_only_for_the_callers_own_original() {
    let dir = tempfile::tempdir().unwrap();
    let desk = Arc::new(RecordingDesk::default());
    let (api, ids) = with_desk(dir.path(), Arc::clone(&desk)).await;
    let (anas, bos) = (&ids[0], &ids[1]);
    let delete = |id: &AssetId, caller: Option<Caller>| ApiRequest {
        method: "DELETE".into(),
        ..get(&format!("/assets/{id}"), &[]).by(caller)
    };
    assert_eq!(api.handle(&delete(bos, creator("ana"))).await.status, 404);
    assert!(
        desk.deleted.lock().unwrap().is_empty(),
        "nothing of bo's was deleted"
    );
    assert_eq!(api.handle(&delete(anas, creator("ana"))).await.status, 202);
    let deleted = desk.deleted.lock().unwrap().clone();
    assert_eq!(deleted.len(), 1);
    assert!(
        deleted[0].to_string().ends_with("/ana/a.jpg"),
        "{deleted:?}"
    );
    // An operator (an IAM-signed call) sees and deletes everyone's.
    assert_eq!(
        api.handle(&get(&format!("/assets/{bos}"), &[]))
            .await
            .status,
        200
    );
    assert_eq!(
        api.handle(&delete(bos, Some(Caller::Operator)))
            .await
            .status,
        202
    );
}

/// Only creators upload: an operator has no folder of its own.
#[tokio::test]
async fn upload_forms_are_for_creators_within_the_presets_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (api, _) = with_desk(dir.path(), Arc::new(RecordingDesk::default())).await;
    let post = |caller: Option<Caller>| ApiRequest {
        method: "POST".into(),
        body: br#"{"contentType":"image/jpeg"}"#.to_vec(),
        ..get("/uploads", &[]).by(caller)
    };
    let form = api.handle(&post(creator("ana"))).await;
    assert_eq!(form.status, 201, "{:?}", form.body);
    assert!(form.body["fields"]["key"]
        .as_str()
        .unwrap()
        .starts_with("uploads/ana/"));
    assert_eq!(form.body["maxBytes"], 50_000_000);
    assert_eq!(api.handle(&post(Some(Caller::Operator))).await.status, 403);
}

/// The desk is given the sanitised display name to keep with the original, or none.
#[tokio::test]
async fn the_desk_keeps_the_creators_file_name_sanitised() {
    let dir = tempfile::tempdir().unwrap();
    let desk = Arc::new(RecordingDesk::default());
    let (api, _) = with_desk(dir.path(), desk.clone()).await;
    let post = |body: &str| ApiRequest {
        method: "POST".into(),
        body: body.as_bytes().to_vec(),
        ..get("/uploads", &[]).by(creator("ana"))
    };
    let named = r#"{"contentType":"image/jpeg","filename":"../../Beach\u202e gpj.exe\nday.JPG"}"#;
    assert_eq!(api.handle(&post(named)).await.status, 201);
    assert_eq!(
        api.handle(&post(r#"{"contentType":"image/png"}"#))
            .await
            .status,
        201
    );
    assert_eq!(
        *desk.names.lock().unwrap(),
        vec![Some("Beach gpj.exe day.JPG".to_string()), None]
    );
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
    let converger = |spec: Spec| {
        Converger::new(
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
    .with_refocus(Arc::new(converger(Spec::default())));
    let client = Client(router(api));
    let before = client
        .handle(&get(&format!("/assets/{anas}"), &[]).by(creator("ana")))
        .await
        .body;
    assert_eq!(before["focus"]["origin"], "auto");

    let set = client
        .handle(&put_focus(anas, r#"{"x":0,"y":0.5}"#, creator("ana")))
        .await;
    // What the API answers is the router suite's; here, what the files are.
    assert_eq!(set.status, 200, "{}", set.body);
    for format in ["jpeg", "webp"] {
        let old_thumb = rendition_key(&before, "thumb", format);
        assert!(!dir.path().join(old_thumb).exists(), "the old crop is gone");
    }
    // The thumbnail is the left square of the 600x400 photo now, not the centre one.
    let thumb = image::open(dir.path().join(rendition_key(&set.body, "thumb", "webp")))
        .unwrap()
        .into_rgba8();
    let photo = image::open(dir.path().join(rendition_key(&set.body, "xl", "webp"))).unwrap();
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

    // A spec change makes everything again; the point set by hand stays.
    let mut spec = Spec::default();
    spec.variants.iter_mut().for_each(|v| v.quality = 70.into());
    let outcome = converger(spec)
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
    let replaced = converger(Spec::default())
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
