//! The asset query API as one `axum::Router`, whoever serves it: the query function through
//! `lambda_http`, `pictor serve` through hyper, tests through `tower::ServiceExt::oneshot`.
//!
//! Routes (GET only; any other method is a 405, any other path a 404, both with JSON bodies):
//! - `/assets/{id}`: the record, each variant with a `url`; 404 when unknown.
//! - `/assets?creator=&status=&since=&limit=&cursor=`: newest first, one page at a time.
//! - `/assets/{id}/srcset`: `srcset` and `sizes` per format, ready for `<img>`/`<source>`.
//!
//! A bad parameter is a 400 naming it; storage trouble is a 503 or 500 with a fixed message.
//! No error body ever carries a store's own error text.

use crate::asset::{Asset, AssetId, AssetStatus};
use crate::asset_json::asset_json;
use crate::ports::{AssetQuery, AssetStore, StoreError, DEFAULT_PAGE, MAX_API_PAGE};
use crate::spec::OutputFormat;
use async_trait::async_trait;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Where browsers fetch renditions from: a CDN or bucket base URL, or presigned URLs.
#[async_trait]
pub trait RenditionUrls: Send + Sync {
    async fn url(&self, key: &str) -> Result<String, StoreError>;
}

#[async_trait]
impl<T: RenditionUrls + ?Sized> RenditionUrls for Box<T> {
    async fn url(&self, key: &str) -> Result<String, StoreError> {
        (**self).url(key).await
    }
}

/// `{base}/{key}`: a CDN in front of the output bucket, or the local file server.
pub struct BaseUrl(pub String);

#[async_trait]
impl RenditionUrls for BaseUrl {
    async fn url(&self, key: &str) -> Result<String, StoreError> {
        Ok(format!("{}/{key}", self.0.trim_end_matches('/')))
    }
}

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

    fn error(status: u16, code: &str, message: impl Into<String>) -> ApiResponse {
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
    Router::new()
        .route("/assets", get(list::<S, U>).fallback(only_get))
        .route("/assets/", get(list::<S, U>).fallback(only_get))
        .route("/assets/{id}", get(one::<S, U>).fallback(only_get))
        .route(
            "/assets/{id}/srcset",
            get(srcset::<S, U>).fallback(only_get),
        )
        .fallback(|| async { ApiResponse::error(404, "not_found", "no such route") })
        .with_state(Arc::new(api))
}

type Shared<S, U> = State<Arc<Api<S, U>>>;

async fn list<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    RawQuery(query): RawQuery,
) -> ApiResponse {
    let pairs: Vec<(String, String)> = query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    api.list(&pairs).await
}

async fn one<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResponse {
    match parse_id(id) {
        Ok(id) => api.get(&id).await,
        Err(response) => response,
    }
}

async fn srcset<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResponse {
    match parse_id(id) {
        Ok(id) => api.srcset(&id).await,
        Err(response) => response,
    }
}

/// The API's state: where records are read and how rendition URLs are made.
pub struct Api<S, U> {
    assets: S,
    urls: U,
}

impl<S: AssetStore, U: RenditionUrls> Api<S, U> {
    pub fn new(assets: S, urls: U) -> Api<S, U> {
        Api { assets, urls }
    }

    async fn find(&self, id: &AssetId) -> Result<Asset, ApiResponse> {
        match self.assets.get(id).await {
            Ok(Some(asset)) => Ok(asset),
            Ok(None) => Err(ApiResponse::error(
                404,
                "not_found",
                format!("no asset {id}"),
            )),
            Err(e) => Err(ApiResponse::store(e)),
        }
    }

    async fn get(&self, id: &AssetId) -> ApiResponse {
        match self.find(id).await {
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

    async fn list(&self, pairs: &[(String, String)]) -> ApiResponse {
        let query = match parse_list_query(pairs) {
            Ok(q) => q,
            Err(response) => return response,
        };
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
            match self.with_urls(asset).await {
                Ok(body) => items.push(body),
                Err(e) => return ApiResponse::store(e),
            }
        }
        ApiResponse::ok(json!({"items": items, "next_cursor": next_cursor}))
    }

    async fn srcset(&self, id: &AssetId) -> ApiResponse {
        let asset = match self.find(id).await {
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
        for format in [OutputFormat::Webp, OutputFormat::Jpeg, OutputFormat::Png] {
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
        ApiResponse::ok(json!({"id": asset.id, "formats": formats}))
    }
}

fn parse_id(raw: Result<Path<String>, PathRejection>) -> Result<AssetId, ApiResponse> {
    raw.ok()
        .and_then(|Path(id)| AssetId::parse(&id).ok())
        .ok_or_else(|| ApiResponse::bad_parameter("id", "not an asset id"))
}

struct ListQuery {
    store: AssetQuery,
    since: Option<OffsetDateTime>,
}

fn parse_list_query(pairs: &[(String, String)]) -> Result<ListQuery, ApiResponse> {
    let mut query = ListQuery {
        store: AssetQuery {
            limit: DEFAULT_PAGE,
            ..AssetQuery::default()
        },
        since: None,
    };
    for (name, value) in pairs {
        match name.as_str() {
            "creator" if !value.is_empty() => query.store.creator = Some(value.clone()),
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
                    "unknown parameter (creator, status, since, limit, cursor)",
                ));
            }
        }
    }
    Ok(query)
}
