//! The query function: the core's asset API (`pictor_core::api`) behind an API Gateway HTTP
//! API. Records come from the asset table with consistent reads; rendition URLs are presigned
//! GETs with a short expiry, or `PICTOR_CDN_BASE_URL/<key>` when a CDN fronts the bucket.

mod config;

use async_trait::async_trait;
use axum::response::IntoResponse;
pub use config::{Config, ConfigError, ENV_VARS};
use http_body_util::BodyExt;
use lambda_http::{Body, Request, RequestExt, Response};
use pictor_aws::s3_urls::PresignedUrls;
use pictor_core::api::{router, Api, BaseUrl, RenditionUrls};
use pictor_core::ports::{AssetStore, StoreError};
use tower::ServiceExt;

/// Presigned S3 URLs, or a CDN in front of the bucket.
pub enum Urls {
    Presigned(PresignedUrls),
    Cdn(BaseUrl),
}

impl Urls {
    /// A CDN when `config` names one, else URLs presigned with `s3` for the output bucket.
    pub fn for_config(s3: aws_sdk_s3::Client, config: &Config) -> Urls {
        match &config.cdn_base_url {
            Some(base) => Urls::Cdn(BaseUrl(base.clone())),
            None => Urls::Presigned(PresignedUrls::new(
                s3,
                &config.output_bucket,
                config.url_expiry,
            )),
        }
    }
}

#[async_trait]
impl RenditionUrls for Urls {
    async fn url(&self, key: &str) -> Result<String, StoreError> {
        match self {
            Urls::Presigned(p) => p.url(key).await,
            Urls::Cdn(c) => c.url(key).await,
        }
    }
}

/// Characters a URI path cannot hold as they are (`%` stays: the path is already escaped).
const NOT_IN_URI: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The handler: the core's API router, over any asset store and way of making rendition URLs.
pub struct Query {
    router: axum::Router,
}

impl Query {
    pub fn new<A, U>(assets: A, urls: U) -> Self
    where
        A: AssetStore + 'static,
        U: RenditionUrls + 'static,
    {
        Query {
            router: router(Api::new(assets, urls)),
        }
    }

    /// One HTTP API request in, a JSON response out; never an error (every failure is a
    /// status code with a JSON body). The path is API Gateway's raw path, without a stage.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        // API Gateway's raw path is as the client sent it; whatever it left unescaped that a URI
        // cannot hold is escaped, so the route still sees (and refuses) it.
        let path = percent_encoding::utf8_percent_encode(request.raw_http_path(), NOT_IN_URI);
        let uri = match request.uri().query() {
            Some(query) => format!("{path}?{query}"),
            None => path.to_string(),
        };
        let forwarded = axum::http::Request::builder()
            .method(request.method().clone())
            .uri(uri)
            .body(axum::body::Body::empty());
        let answer = match forwarded {
            Ok(forwarded) => match self.router.clone().oneshot(forwarded).await {
                Ok(answer) => answer,
                Err(never) => match never {},
            },
            Err(_) => {
                pictor_core::api::ApiResponse::bad_parameter("path", "not a valid request path")
                    .into_response()
            }
        };
        let (parts, body) = answer.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        // JSON is text: API Gateway passes it on as it is, not base64-encoded.
        let body = String::from_utf8(bytes.to_vec())
            .map_or_else(|e| Body::from(e.into_bytes()), Body::from);
        let mut http = Response::new(body);
        *http.status_mut() = parts.status;
        http.headers_mut().extend(parts.headers);
        http.headers_mut().insert(
            lambda_http::http::header::CACHE_CONTROL,
            lambda_http::http::HeaderValue::from_static("no-store"),
        );
        http
    }
}
