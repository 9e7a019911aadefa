//! The asset query API as one `axum::Router`, whoever serves it: the query function through
//! `lambda_http`, `pictor serve` through hyper, tests through `tower::ServiceExt::oneshot`.
//!
//! Routes (any other method is a 405, any other path a 404, both with JSON bodies):
//! - `GET /assets/{id}`: the record, each variant with a `url`; 404 when unknown.
//! - `GET /assets?creator=&status=&since=&preset=&limit=&cursor=`: newest first, one page at
//!   a time.
//! - `GET /assets/{id}/srcset`: `srcset` and `sizes` per format, ready for `<img>`/`<source>`.
//! - `DELETE /assets/{id}`: deletes the original; the pipeline then tombstones the record and
//!   removes the renditions (202).
//! - `POST /uploads` `{"contentType": "image/jpeg", "preset": "avatars", "filename":
//!   "IMG_1234.jpg"}`: a signed form for one new original of the caller's (201). The file
//!   name (optional, sanitised, never part of the key) becomes the asset's `name`.
//! - `PUT /assets/{id}/focus` `{"x": 0.3, "y": 0.2}`: cuts the asset's `cover` renditions
//!   again around that point of the upright image (fractions of its width and height) and
//!   answers the record as `GET` does (200); the point is kept with the asset.
//!
//! Every request carries a [`Caller`] the adapter put in its extensions (none: 401). A
//! creator sees only their own assets: another creator's are a 404, asking for another
//! creator's list a 403. Operators and admins see everything.
//!
//! A bad parameter is a 400 naming it; storage trouble is a 503 or 500 with a fixed message.
//! No error body ever carries a store's own error text.

use crate::app::uploads::UploadRules;
use crate::domain::asset::{Asset, AssetId, AssetStatus};
use crate::domain::asset_json::asset_json;
use crate::domain::identity::Caller;
use crate::ports::{AssetQuery, AssetStore, StoreError, DEFAULT_PAGE, MAX_API_PAGE};
use crate::ports::{Refocus, RefocusError, RenditionUrls, UploadDesk};
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use pictor_image::pipeline::FocalPoint;
use pictor_image::spec::OutputFormat;
use serde_json::{json, Value};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A status and a JSON body: every answer of the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Value,
}

impl ApiResponse {
    fn ok(body: Value) -> ApiResponse {
        ApiResponse { status: 200, body }
    }

    pub fn error(status: u16, code: &str, message: impl Into<String>) -> ApiResponse {
        ApiResponse {
            status,
            body: json!({"error": code, "message": message.into()}),
        }
    }

    pub fn bad_parameter(parameter: &str, message: impl Into<String>) -> ApiResponse {
        ApiResponse {
            status: 400,
            body: json!({"error": "bad_parameter", "parameter": parameter, "message": message.into()}),
        }
    }

    fn store(error: StoreError) -> ApiResponse {
        if error.is_transient() {
            tracing::warn!(%error, "asset store unavailable");
            ApiResponse::error(503, "unavailable", "the asset store is busy; try again")
        } else {
            tracing::error!(%error, "asset store failed");
            ApiResponse::error(500, "internal", "the asset store failed")
        }
    }
}

impl IntoResponse for ApiResponse {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// The API's routes over `api`. Every answer is JSON, errors included.
pub fn router<S, U>(api: Api<S, U>) -> Router
where
    S: AssetStore + 'static,
    U: RenditionUrls + 'static,
{
    let only_get =
        || async { ApiResponse::error(405, "method_not_allowed", "only GET is supported") };
    let get_or_delete = || async {
        ApiResponse::error(
            405,
            "method_not_allowed",
            "only GET and DELETE are supported",
        )
    };
    let only_post =
        || async { ApiResponse::error(405, "method_not_allowed", "only POST is supported") };
    Router::new()
        .route("/assets", get(list::<S, U>).fallback(only_get))
        .route("/assets/", get(list::<S, U>).fallback(only_get))
        .route(
            "/assets/{id}",
            get(one::<S, U>)
                .delete(delete::<S, U>)
                .fallback(get_or_delete),
        )
        .route(
            "/assets/{id}/srcset",
            get(srcset::<S, U>).fallback(only_get),
        )
        .route(
            "/assets/{id}/focus",
            put(focus::<S, U>).fallback(|| async {
                ApiResponse::error(405, "method_not_allowed", "only PUT is supported")
            }),
        )
        .route("/uploads", post(upload::<S, U>).fallback(only_post))
        .fallback(|| async { ApiResponse::error(404, "not_found", "no such route") })
        .with_state(Arc::new(api))
}

type Shared<S, U> = State<Arc<Api<S, U>>>;

/// The caller the adapter established; a request without one is refused.
type CallerExt = Option<Extension<Caller>>;

fn unauthenticated() -> ApiResponse {
    ApiResponse::error(401, "unauthenticated", "sign in to use the API")
}

async fn list<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: CallerExt,
    RawQuery(query): RawQuery,
) -> ApiResponse {
    let Some(Extension(caller)) = caller else {
        return unauthenticated();
    };
    let pairs: Vec<(String, String)> = query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    api.list(&caller, &pairs).await
}

async fn one<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: CallerExt,
    id: Result<Path<String>, PathRejection>,
) -> ApiResponse {
    match caller_and_id(caller, id) {
        Ok((caller, id)) => api.get(&caller, &id).await,
        Err(response) => response,
    }
}

async fn srcset<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: CallerExt,
    id: Result<Path<String>, PathRejection>,
) -> ApiResponse {
    match caller_and_id(caller, id) {
        Ok((caller, id)) => api.srcset(&caller, &id).await,
        Err(response) => response,
    }
}

async fn delete<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: CallerExt,
    id: Result<Path<String>, PathRejection>,
) -> ApiResponse {
    match caller_and_id(caller, id) {
        Ok((caller, id)) => api.delete(&caller, &id).await,
        Err(response) => response,
    }
}

async fn focus<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: CallerExt,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> ApiResponse {
    match caller_and_id(caller, id) {
        Ok((caller, id)) => api.focus(&caller, &id, &body).await,
        Err(response) => response,
    }
}

async fn upload<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: CallerExt,
    body: Bytes,
) -> ApiResponse {
    let Some(Extension(caller)) = caller else {
        return unauthenticated();
    };
    api.upload(&caller, &body).await
}

/// The API's state: where records are read, how rendition URLs are made, and (when the
/// deployment takes uploads from apps) where originals go.
pub struct Api<S, U> {
    assets: S,
    urls: U,
    uploads: Option<(Arc<dyn UploadDesk>, UploadRules)>,
    refocus: Option<Arc<dyn Refocus>>,
}

/// What `PUT /assets/{id}/focus` reads.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FocusRequest {
    x: f64,
    y: f64,
}

/// What `POST /uploads` reads.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UploadRequest {
    content_type: String,
    #[serde(default)]
    preset: Option<String>,
    /// What the creator's file is called, kept as the asset's display name.
    #[serde(default)]
    filename: Option<String>,
}

impl<S: AssetStore, U: RenditionUrls> Api<S, U> {
    pub fn new(assets: S, urls: U) -> Api<S, U> {
        Api {
            assets,
            urls,
            uploads: None,
            refocus: None,
        }
    }

    /// Takes focal points set by hand (`PUT /assets/{id}/focus`) through `refocus`.
    pub fn with_refocus(mut self, refocus: Arc<dyn Refocus>) -> Self {
        self.refocus = Some(refocus);
        self
    }

    /// Takes uploads (`POST /uploads`) and deletions (`DELETE /assets/{id}`) through `desk`.
    pub fn with_uploads(mut self, desk: Arc<dyn UploadDesk>, rules: UploadRules) -> Self {
        self.uploads = Some((desk, rules));
        self
    }

    async fn find(&self, id: &AssetId) -> Result<Asset, ApiResponse> {
        match self.assets.get(id).await {
            Ok(Some(asset)) => Ok(asset),
            Ok(None) => Err(not_found(id)),
            Err(e) => Err(ApiResponse::store(e)),
        }
    }

    /// The asset, when the caller may see it: another creator's is as good as unknown.
    async fn find_for(&self, caller: &Caller, id: &AssetId) -> Result<Asset, ApiResponse> {
        let asset = self.find(id).await?;
        match caller.restricted_to() {
            Some(me) if asset.creator.as_deref() != Some(me) => Err(not_found(id)),
            _ => Ok(asset),
        }
    }

    async fn get(&self, caller: &Caller, id: &AssetId) -> ApiResponse {
        match self.find_for(caller, id).await {
            Ok(asset) => match self.with_urls(&asset).await {
                Ok(body) => ApiResponse::ok(body),
                Err(e) => ApiResponse::store(e),
            },
            Err(response) => response,
        }
    }

    /// The record in its one JSON shape (`asset_json`), with the `key` and a `url` on every
    /// variant.
    async fn with_urls(&self, asset: &Asset) -> Result<Value, StoreError> {
        let mut body = asset_json(asset);
        if let Some(variants) = body["variants"].as_array_mut() {
            for (json, variant) in variants.iter_mut().zip(&asset.variants) {
                json["key"] = Value::String(variant.key.clone());
                json["url"] = Value::String(self.urls.url(&variant.key).await?);
            }
        }
        Ok(body)
    }

    async fn list(&self, caller: &Caller, pairs: &[(String, String)]) -> ApiResponse {
        let mut query = match parse_list_query(pairs) {
            Ok(q) => q,
            Err(response) => return response,
        };
        if let Some(me) = caller.restricted_to() {
            match &query.store.creator {
                Some(asked) if asked != me => {
                    return ApiResponse::error(
                        403,
                        "forbidden",
                        "a creator can list only their own assets",
                    )
                }
                _ => query.store.creator = Some(me.to_string()),
            }
        }
        let page = match self.assets.list(&query.store).await {
            Ok(page) => page,
            Err(StoreError::InvalidCursor) => {
                return ApiResponse::bad_parameter("cursor", "not a cursor this API issued")
            }
            Err(e) => return ApiResponse::store(e),
        };
        // Pages come newest first, so the first asset older than `since` ends the listing.
        let mut next_cursor = page.next_cursor;
        let mut items = Vec::with_capacity(page.items.len());
        for asset in &page.items {
            if query.since.is_some_and(|since| asset.created_at < since) {
                next_cursor = None;
                break;
            }
            if query.preset.as_ref().is_some_and(|p| *p != asset.preset) {
                continue;
            }
            match self.with_urls(asset).await {
                Ok(body) => items.push(body),
                Err(e) => return ApiResponse::store(e),
            }
        }
        ApiResponse::ok(json!({"items": items, "next_cursor": next_cursor}))
    }

    /// Deletes the asset's original; the pipeline's notification of the removal then
    /// tombstones the record and removes the renditions.
    async fn delete(&self, caller: &Caller, id: &AssetId) -> ApiResponse {
        let Some((desk, _)) = &self.uploads else {
            return ApiResponse::error(
                405,
                "method_not_allowed",
                "this deployment takes no deletions through the API",
            );
        };
        let asset = match self.find_for(caller, id).await {
            Ok(asset) if asset.status == AssetStatus::Deleted => return not_found(id),
            Ok(asset) => asset,
            Err(response) => return response,
        };
        let Ok(location) = asset.source_identity.parse() else {
            return ApiResponse::error(
                409,
                "not_deletable",
                "the original is not in the uploads store",
            );
        };
        match desk.delete(&location).await {
            Ok(()) => ApiResponse {
                status: 202,
                body: json!({"id": asset.id, "status": "deleting"}),
            },
            Err(StoreError::NotFound(_)) => ApiResponse::error(
                409,
                "not_deletable",
                "the original is not in the uploads store",
            ),
            Err(e) => ApiResponse::store(e),
        }
    }

    /// Moves the asset's `cover` crops to a point the caller chose.
    async fn focus(&self, caller: &Caller, id: &AssetId, body: &[u8]) -> ApiResponse {
        let Some(refocus) = &self.refocus else {
            return ApiResponse::error(
                405,
                "method_not_allowed",
                "this deployment sets no focal points through the API",
            );
        };
        let request: FocusRequest = match serde_json::from_slice(body) {
            Ok(request) => request,
            Err(e) => {
                return ApiResponse::bad_parameter(
                    "body",
                    format!("expected {{\"x\": 0..1, \"y\": 0..1}}: {e}"),
                )
            }
        };
        let point = match FocalPoint::new(request.x, request.y) {
            Ok(point) => point,
            Err(message) => {
                let parameter = if (0.0..=1.0).contains(&request.x) {
                    "y"
                } else {
                    "x"
                };
                return ApiResponse::bad_parameter(parameter, message);
            }
        };
        if let Err(response) = self.find_for(caller, id).await {
            return response;
        }
        match refocus.refocus(id, point).await {
            Ok(asset) => match self.with_urls(&asset).await {
                Ok(body) => ApiResponse::ok(body),
                Err(e) => ApiResponse::store(e),
            },
            Err(RefocusError::NotFound(_)) => not_found(id),
            Err(e @ RefocusError::NotReady(_)) => {
                ApiResponse::error(409, "not_ready", e.to_string())
            }
            Err(e @ RefocusError::OriginalChanged(_)) => {
                ApiResponse::error(409, "original_changed", e.to_string())
            }
            Err(RefocusError::Processing(error)) => {
                tracing::error!(%error, %id, "re-cutting failed");
                ApiResponse::error(500, "processing_failed", error.to_string())
            }
            Err(RefocusError::Store(StoreError::Conflict(_))) => ApiResponse::error(
                409,
                "conflict",
                "the asset changed meanwhile; read it and try again",
            ),
            Err(RefocusError::Store(e)) => ApiResponse::store(e),
            Err(RefocusError::Announce(error)) => {
                // The crops and the record are written; the event follows on a retry or
                // from the reconciler.
                tracing::warn!(%error, %id, "focus set, event not yet published");
                match self.find(id).await {
                    Ok(asset) => match self.with_urls(&asset).await {
                        Ok(body) => ApiResponse::ok(body),
                        Err(e) => ApiResponse::store(e),
                    },
                    Err(response) => response,
                }
            }
        }
    }

    /// A signed form for one new original of the caller's.
    async fn upload(&self, caller: &Caller, body: &[u8]) -> ApiResponse {
        let Some((desk, rules)) = &self.uploads else {
            return ApiResponse::error(
                405,
                "method_not_allowed",
                "this deployment takes no uploads through the API",
            );
        };
        let Caller::Creator { id: creator, .. } = caller else {
            return ApiResponse::error(
                403,
                "forbidden",
                "uploads are made by signed-in creators (the creator is the token's subject)",
            );
        };
        let request: UploadRequest = match serde_json::from_slice(body) {
            Ok(r) => r,
            Err(e) => {
                return ApiResponse::bad_parameter(
                    "body",
                    format!(
                        "expected {{\"contentType\": \"image/jpeg\", \"preset\": optional, \"filename\": optional}}: {e}"
                    ),
                )
            }
        };
        let preset = request
            .preset
            .as_deref()
            .unwrap_or(crate::domain::presets::DEFAULT_PRESET);
        let target = match rules.target(creator, preset, &request.content_type) {
            Ok(t) => t.with_name(request.filename.as_deref()),
            Err(refused) => {
                return ApiResponse::bad_parameter(refused.parameter(), refused.to_string());
            }
        };
        match desk.form(&target).await {
            Ok(form) => {
                let expires = OffsetDateTime::now_utc() + target.expires_in;
                ApiResponse {
                    status: 201,
                    body: json!({
                        "id": form.location.asset_id(),
                        "url": form.url,
                        "method": "POST",
                        "fields": form.fields,
                        "fileField": "file",
                        "maxBytes": target.max_bytes,
                        "name": target.name,
                        "expiresAt": expires.format(&Rfc3339).unwrap_or_default(),
                    }),
                }
            }
            Err(e) => ApiResponse::store(e),
        }
    }

    async fn srcset(&self, caller: &Caller, id: &AssetId) -> ApiResponse {
        let asset = match self.find_for(caller, id).await {
            Ok(asset) => asset,
            Err(response) => return response,
        };
        if asset.status != AssetStatus::Ready {
            return ApiResponse::error(
                409,
                "not_ready",
                format!("asset {id} is {}, it has no renditions", asset.status),
            );
        }
        let mut formats = serde_json::Map::new();
        // Smallest files first: the order `<source>` elements should take (`order` below).
        let mut order = Vec::new();
        for format in [
            OutputFormat::Avif,
            OutputFormat::Webp,
            OutputFormat::Jpeg,
            OutputFormat::Png,
        ] {
            // Only full-frame variants belong in one srcset: a cropped thumbnail is a
            // different picture, so variants are grouped by aspect ratio and the full frame's
            // (the widest variant's) group is used.
            let mut variants: Vec<_> = asset
                .variants
                .iter()
                .filter(|v| v.format == format)
                .collect();
            let Some(widest) = variants.iter().max_by_key(|v| v.width).copied() else {
                continue;
            };
            let aspect = |w: u32, h: u32| f64::from(w) / f64::from(h.max(1));
            let frame = aspect(widest.width, widest.height);
            variants.retain(|v| (aspect(v.width, v.height) - frame).abs() < 0.02 * frame);
            variants.sort_by_key(|v| v.width);
            variants.dedup_by_key(|v| v.width);
            let mut entries = Vec::with_capacity(variants.len());
            for v in &variants {
                match self.urls.url(&v.key).await {
                    Ok(url) => entries.push(format!("{url} {}w", v.width)),
                    Err(e) => return ApiResponse::store(e),
                }
            }
            let fallback = match self.urls.url(&widest.key).await {
                Ok(url) => url,
                Err(e) => return ApiResponse::store(e),
            };
            order.push(format.as_str());
            formats.insert(
                format.as_str().to_string(),
                json!({
                    "type": format.content_type(),
                    "srcset": entries.join(", "),
                    "sizes": format!("(max-width: {w}px) 100vw, {w}px", w = widest.width),
                    "src": fallback,
                    "width": widest.width,
                    "height": widest.height,
                }),
            );
        }
        ApiResponse::ok(json!({"id": asset.id, "order": order, "formats": formats}))
    }
}

/// The caller and the asset id of a request about one asset, or the answer refusing it.
fn caller_and_id(
    caller: CallerExt,
    id: Result<Path<String>, PathRejection>,
) -> Result<(Caller, AssetId), ApiResponse> {
    let Some(Extension(caller)) = caller else {
        return Err(unauthenticated());
    };
    Ok((caller, parse_id(id)?))
}

fn not_found(id: &AssetId) -> ApiResponse {
    ApiResponse::error(404, "not_found", format!("no asset {id}"))
}

fn parse_id(raw: Result<Path<String>, PathRejection>) -> Result<AssetId, ApiResponse> {
    raw.ok()
        .and_then(|Path(id)| AssetId::parse(&id).ok())
        .ok_or_else(|| ApiResponse::bad_parameter("id", "not an asset id"))
}

struct ListQuery {
    store: AssetQuery,
    since: Option<OffsetDateTime>,
    preset: Option<String>,
}

fn parse_list_query(pairs: &[(String, String)]) -> Result<ListQuery, ApiResponse> {
    let mut query = ListQuery {
        store: AssetQuery {
            limit: DEFAULT_PAGE,
            ..AssetQuery::default()
        },
        since: None,
        preset: None,
    };
    for (name, value) in pairs {
        match name.as_str() {
            "creator" if !value.is_empty() => query.store.creator = Some(value.clone()),
            "preset" if !value.is_empty() => query.preset = Some(value.clone()),
            "status" => {
                let status = value
                    .parse()
                    .map_err(|e: String| ApiResponse::bad_parameter("status", e))?;
                query.store.status = Some(status);
            }
            "since" => {
                let since = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
                    ApiResponse::bad_parameter(
                        "since",
                        "an RFC 3339 time such as 2026-01-31T00:00:00Z",
                    )
                })?;
                query.since = Some(since);
            }
            "limit" => {
                let limit: usize = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ApiResponse::bad_parameter("limit", "a positive integer"))?;
                query.store.limit = limit.min(MAX_API_PAGE);
            }
            "cursor" => {
                // Checked here for shape, and by the store for origin.
                crate::ports::cursor::decode(value).map_err(|_| {
                    ApiResponse::bad_parameter("cursor", "not a cursor this API issued")
                })?;
                query.store.cursor = Some(value.clone());
            }
            "creator" => {
                return Err(ApiResponse::bad_parameter("creator", "must not be empty"));
            }
            other => {
                // Named back to the caller, but never more than a short prefix of it.
                let name: String = other.chars().take(40).collect();
                return Err(ApiResponse::bad_parameter(
                    &name,
                    "unknown parameter (creator, status, since, preset, limit, cursor)",
                ));
            }
        }
    }
    Ok(query)
}
