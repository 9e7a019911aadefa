//! The query function: the core's asset API (`pictor_core::api`) behind an API Gateway HTTP
//! API. Records come from the asset table with consistent reads; rendition URLs are presigned
//! GETs with a short expiry, or `PICTOR_CDN_BASE_URL/<key>` when a CDN fronts the bucket.

mod config;

use async_trait::async_trait;
pub use config::{Config, ConfigError, ENV_VARS};
use lambda_http::{Body, Request, RequestExt, Response};
use pictor_aws::s3_urls::PresignedUrls;
use pictor_core::api::{Api, ApiRequest, BaseUrl, RenditionUrls};
use pictor_core::ports::{AssetStore, StoreError};

/// Presigned S3 URLs, or a CDN in front of the bucket.
pub enum Urls {
    Presigned(PresignedUrls),
    Cdn(BaseUrl),
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

/// The handler on the AWS adapters, as the function runs it.
pub type AwsQuery = Query<pictor_aws::DynamoAssetStore, Urls>;

impl AwsQuery {
    /// The handler on DynamoDB, with presigned or CDN URLs as `config` says.
    pub fn on_aws(sdk: &aws_config::SdkConfig, config: Config) -> AwsQuery {
        let assets = pictor_aws::config::asset_store(sdk, &config.table);
        let urls = match config.cdn_base_url {
            Some(base) => Urls::Cdn(BaseUrl(base)),
            None => Urls::Presigned(PresignedUrls::new(
                pictor_aws::config::s3_client(sdk),
                &config.output_bucket,
                config.url_expiry,
            )),
        };
        Query::new(assets, urls)
    }
}

/// The handler, over any asset store and way of making rendition URLs.
pub struct Query<A, U> {
    api: Api<A, U>,
}

impl<A: AssetStore, U: RenditionUrls> Query<A, U> {
    pub fn new(assets: A, urls: U) -> Self {
        Query {
            api: Api::new(assets, urls),
        }
    }

    /// One HTTP API request in, a JSON response out; never an error (every failure is a
    /// status code with a JSON body).
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let query = request.query_string_parameters();
        let api_request = ApiRequest {
            method: request.method().as_str().to_string(),
            path: request.raw_http_path().to_string(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let response = self.api.handle(&api_request).await;
        let mut http = Response::new(Body::from(response.body.to_string()));
        *http.status_mut() = lambda_http::http::StatusCode::from_u16(response.status)
            .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
        http.headers_mut().insert(
            lambda_http::http::header::CONTENT_TYPE,
            lambda_http::http::HeaderValue::from_static("application/json"),
        );
        http.headers_mut().insert(
            lambda_http::http::header::CACHE_CONTROL,
            lambda_http::http::HeaderValue::from_static("no-store"),
        );
        http
    }
}
