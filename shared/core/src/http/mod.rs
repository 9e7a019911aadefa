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
//! Every request carries a [`Caller`] the adapter put in its extensions (none: 401; see
//! `caller`). A creator sees only their own assets: another creator's are a 404, asking for
//! another creator's list a 403. Operators and admins see everything.
//!
//! Every refusal is an [`ApiError`]: a bad parameter is a 400 naming it; storage trouble is
//! a 503 or 500 with a fixed message. No error body ever carries a store's own error text.

mod caller;
mod error;
mod list_query;
mod srcset;
#[cfg(feature = "conformance")]
pub mod suite;

pub use error::ApiError;

use crate::app::uploads::UploadRules;
use crate::domain::asset::{Asset, AssetId, AssetStatus};
use crate::domain::asset_json::asset_json;
use crate::domain::identity::Caller;
use crate::ports::{AssetStore, Refocus, RefocusError, RenditionUrls, StoreError, UploadDesk};
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use list_query::ListQuery;
use pictor_image::pipeline::FocalPoint;
use serde_json::{json, Value};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A status and a JSON body: an answer of the API that is not a refusal.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Value,
}

impl ApiResponse {
    fn ok(body: Value) -> ApiResponse {
        ApiResponse { status: 200, body }
    }
}

impl IntoResponse for ApiResponse {
    fn into_response(self) -> Response {
        error::json_response(self.status, &self.body)
    }
}

/// What a handler answers.
type Answer = Result<ApiResponse, ApiError>;

/// The API's routes over `api`. Every answer is JSON, errors included.
pub fn router<S, U>(api: Api<S, U>) -> Router
where
    S: AssetStore + 'static,
    U: RenditionUrls + 'static,
{
    let only = |allowed: &'static str| move || async move { ApiError::MethodNotAllowed(allowed) };
    Router::new()
        .route(
            "/assets",
            get(list::<S, U>).fallback(only("only GET is supported")),
        )
        .route(
            "/assets/",
            get(list::<S, U>).fallback(only("only GET is supported")),
        )
        .route(
            "/assets/{id}",
            get(one::<S, U>)
                .delete(delete::<S, U>)
                .fallback(only("only GET and DELETE are supported")),
        )
        .route(
            "/assets/{id}/srcset",
            get(srcset::<S, U>).fallback(only("only GET is supported")),
        )
        .route(
            "/assets/{id}/focus",
            put(focus::<S, U>).fallback(only("only PUT is supported")),
        )
        .route(
            "/uploads",
            post(upload::<S, U>).fallback(only("only POST is supported")),
        )
        .fallback(|| async { ApiError::NoRoute })
        .with_state(Arc::new(api))
}

type Shared<S, U> = State<Arc<Api<S, U>>>;

/// The asset a route names.
type IdPath = Result<Path<String>, PathRejection>;

fn asset_id(raw: IdPath) -> Result<AssetId, ApiError> {
    raw.ok()
        .and_then(|Path(id)| AssetId::parse(&id).ok())
        .ok_or_else(|| ApiError::bad_parameter("id", "not an asset id"))
}

async fn list<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Answer {
    api.list(&caller, ListQuery::parse(query.as_deref())?).await
}

async fn one<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: Caller,
    id: IdPath,
) -> Answer {
    api.get(&caller, &asset_id(id)?).await
}

async fn srcset<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: Caller,
    id: IdPath,
) -> Answer {
    api.srcset(&caller, &asset_id(id)?).await
}

async fn delete<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: Caller,
    id: IdPath,
) -> Answer {
    api.delete(&caller, &asset_id(id)?).await
}

async fn focus<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: Caller,
    id: IdPath,
    body: Bytes,
) -> Answer {
    api.focus(&caller, &asset_id(id)?, &body).await
}

async fn upload<S: AssetStore, U: RenditionUrls>(
    State(api): Shared<S, U>,
    caller: Caller,
    body: Bytes,
) -> Answer {
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

    async fn find(&self, id: &AssetId) -> Result<Asset, ApiError> {
        self.assets
            .get(id)
            .await?
            .ok_or_else(|| ApiError::NoAsset(id.clone()))
    }

    /// The asset, when the caller may see it: another creator's is as good as unknown.
    async fn find_for(&self, caller: &Caller, id: &AssetId) -> Result<Asset, ApiError> {
        let asset = self.find(id).await?;
        match caller.restricted_to() {
            Some(me) if asset.creator.as_deref() != Some(me) => Err(ApiError::NoAsset(id.clone())),
            _ => Ok(asset),
        }
    }

    async fn get(&self, caller: &Caller, id: &AssetId) -> Answer {
        let asset = self.find_for(caller, id).await?;
        Ok(ApiResponse::ok(self.with_urls(&asset).await?))
    }

    /// The record in its one JSON shape (`asset_json`), with the `key` and a `url` on every
    /// variant.
    async fn with_urls(&self, asset: &Asset) -> Result<Value, StoreError> {
        let mut body = asset_json(asset);
        if let Some(variants) = body["variants"].as_array_mut() {
            for (json, variant) in variants.iter_mut().zip(&asset.renditions) {
                json["key"] = Value::String(variant.key.clone());
                json["url"] = Value::String(self.urls.url(&variant.key).await?);
            }
        }
        Ok(body)
    }

    async fn list(&self, caller: &Caller, mut query: ListQuery) -> Answer {
        if let Some(me) = caller.restricted_to() {
            match &query.store.creator {
                Some(asked) if asked != me => {
                    return Err(ApiError::Forbidden(
                        "a creator can list only their own assets".into(),
                    ))
                }
                _ => query.store.creator = Some(me.to_string()),
            }
        }
        let page = match self.assets.list(&query.store).await {
            Ok(page) => page,
            Err(StoreError::InvalidCursor) => {
                return Err(ApiError::bad_parameter(
                    "cursor",
                    "not a cursor this API issued",
                ))
            }
            Err(e) => return Err(e.into()),
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
            items.push(self.with_urls(asset).await?);
        }
        Ok(ApiResponse::ok(
            json!({"items": items, "next_cursor": next_cursor}),
        ))
    }

    /// Deletes the asset's original; the pipeline's notification of the removal then
    /// tombstones the record and removes the renditions.
    async fn delete(&self, caller: &Caller, id: &AssetId) -> Answer {
        let Some((desk, _)) = &self.uploads else {
            return Err(ApiError::MethodNotAllowed(
                "this deployment takes no deletions through the API",
            ));
        };
        let asset = self.find_for(caller, id).await?;
        if asset.status == AssetStatus::Deleted {
            return Err(ApiError::NoAsset(id.clone()));
        }
        let not_deletable = || ApiError::Conflict {
            code: "not_deletable",
            message: "the original is not in the uploads store".into(),
        };
        let location = asset.source_identity.parse().map_err(|_| not_deletable())?;
        match desk.delete(&location).await {
            Ok(()) => Ok(ApiResponse {
                status: 202,
                body: json!({"id": asset.id, "status": "deleting"}),
            }),
            Err(StoreError::NotFound(_)) => Err(not_deletable()),
            Err(e) => Err(e.into()),
        }
    }

    /// Moves the asset's `cover` crops to a point the caller chose.
    async fn focus(&self, caller: &Caller, id: &AssetId, body: &[u8]) -> Answer {
        let Some(refocus) = &self.refocus else {
            return Err(ApiError::MethodNotAllowed(
                "this deployment sets no focal points through the API",
            ));
        };
        let request: FocusRequest = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_parameter(
                "body",
                format!("expected {{\"x\": 0..1, \"y\": 0..1}}: {e}"),
            )
        })?;
        let point = FocalPoint::new(request.x, request.y)
            .map_err(|outside| ApiError::bad_parameter(outside.axis, outside.to_string()))?;
        self.find_for(caller, id).await?;
        let asset = match refocus.refocus(id, point).await {
            Ok(asset) => asset,
            Err(RefocusError::NotFound(_)) => return Err(ApiError::NoAsset(id.clone())),
            Err(e @ RefocusError::NotReady(_)) => {
                return Err(ApiError::Conflict {
                    code: "not_ready",
                    message: e.to_string(),
                })
            }
            Err(e @ RefocusError::OriginalChanged(_)) => {
                return Err(ApiError::Conflict {
                    code: "original_changed",
                    message: e.to_string(),
                })
            }
            Err(RefocusError::Processing(error)) => {
                tracing::error!(%error, %id, "re-cutting failed");
                return Err(ApiError::Processing(error.to_string()));
            }
            Err(RefocusError::Store(StoreError::Conflict(_))) => {
                return Err(ApiError::Conflict {
                    code: "conflict",
                    message: "the asset changed meanwhile; read it and try again".into(),
                })
            }
            Err(RefocusError::Store(e)) => return Err(e.into()),
            Err(RefocusError::Announce(error)) => {
                // The crops and the record are written; the event follows on a retry or
                // from the reconciler.
                tracing::warn!(%error, %id, "focus set, event not yet published");
                self.find(id).await?
            }
        };
        Ok(ApiResponse::ok(self.with_urls(&asset).await?))
    }

    /// A signed form for one new original of the caller's.
    async fn upload(&self, caller: &Caller, body: &[u8]) -> Answer {
        let Some((desk, rules)) = &self.uploads else {
            return Err(ApiError::MethodNotAllowed(
                "this deployment takes no uploads through the API",
            ));
        };
        let Caller::Creator { id: creator, .. } = caller else {
            return Err(ApiError::Forbidden(
                "uploads are made by signed-in creators (the creator is the token's subject)"
                    .into(),
            ));
        };
        let request: UploadRequest = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_parameter(
                "body",
                format!(
                    "expected {{\"contentType\": \"image/jpeg\", \"preset\": optional, \"filename\": optional}}: {e}"
                ),
            )
        })?;
        let preset = request
            .preset
            .as_deref()
            .unwrap_or(crate::domain::presets::DEFAULT_PRESET);
        let target = rules
            .target(creator, preset, &request.content_type)
            .map_err(|refused| ApiError::bad_parameter(refused.parameter(), refused.to_string()))?
            .with_name(request.filename.as_deref());
        let form = desk.form(&target).await?;
        let expires = OffsetDateTime::now_utc() + target.expires_in;
        Ok(ApiResponse {
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
        })
    }

    async fn srcset(&self, caller: &Caller, id: &AssetId) -> Answer {
        let asset = self.find_for(caller, id).await?;
        if asset.status != AssetStatus::Ready {
            return Err(ApiError::Conflict {
                code: "not_ready",
                message: format!("asset {id} is {}, it has no renditions", asset.status),
            });
        }
        Ok(ApiResponse::ok(srcset::srcset(&asset, &self.urls).await?))
    }
}
