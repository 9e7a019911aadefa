//! The query function: the core's asset API (`pictor_core::api`) behind an API Gateway HTTP
//! API. Records come from the asset table with consistent reads; rendition URLs are presigned
//! GETs with a short expiry, or `PICTOR_CDN_BASE_URL/<key>` when a CDN fronts the bucket.

use async_trait::async_trait;
use lambda_http::{Body, Request, RequestExt, Response};
use pictor_aws::s3_urls::PresignedUrls;
use pictor_aws::DynamoAssetStore;
use pictor_core::api::{Api, ApiRequest, BaseUrl, RenditionUrls};
use pictor_core::ports::StoreError;
use std::time::Duration;

/// Every variable the function reads (the CDK app must set exactly these).
pub const ENV_VARS: [&str; 4] = [
    "PICTOR_OUTPUT_BUCKET",
    "PICTOR_TABLE",
    "PICTOR_CDN_BASE_URL",
    "PICTOR_URL_EXPIRY_SECONDS",
];

const DEFAULT_EXPIRY: Duration = Duration::from_secs(300);
/// SigV4 presigned URLs cannot live longer than a week.
const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct Config {
    pub output_bucket: String,
    pub table: String,
    /// Serve `<base>/<key>` instead of presigned URLs.
    pub cdn_base_url: Option<String>,
    pub url_expiry: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("PICTOR_URL_EXPIRY_SECONDS must be a number of seconds from 1 to 604800, not {0:?}")]
    Expiry(String),
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let url_expiry = match get("PICTOR_URL_EXPIRY_SECONDS") {
            None => DEFAULT_EXPIRY,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs)
                .filter(|d| !d.is_zero() && *d <= MAX_EXPIRY)
                .ok_or(ConfigError::Expiry(raw))?,
        };
        Ok(Config {
            output_bucket: required("PICTOR_OUTPUT_BUCKET")?,
            table: required("PICTOR_TABLE")?,
            cdn_base_url: get("PICTOR_CDN_BASE_URL"),
            url_expiry,
        })
    }
}

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

pub struct Query {
    api: Api<DynamoAssetStore, Urls>,
}

impl Query {
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Query {
        let assets = DynamoAssetStore::new(pictor_aws::config::dynamodb_client(sdk), &config.table);
        let urls = match config.cdn_base_url {
            Some(base) => Urls::Cdn(BaseUrl(base)),
            None => Urls::Presigned(PresignedUrls::new(
                pictor_aws::config::s3_client(sdk),
                &config.output_bucket,
                config.url_expiry,
            )),
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<&str, &str> = pairs.iter().copied().collect();
        Config::from_lookup(|k| env.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn defaults_and_errors() {
        let base = [("PICTOR_OUTPUT_BUCKET", "out"), ("PICTOR_TABLE", "t")];
        let c = config(&base).unwrap();
        assert_eq!(c.url_expiry, Duration::from_secs(300));
        assert!(c.cdn_base_url.is_none());
        assert!(matches!(
            config(&base[..1]),
            Err(ConfigError::Missing("PICTOR_TABLE"))
        ));
        for bad in ["0", "-1", "soon", "604801"] {
            let mut env = base.to_vec();
            env.push(("PICTOR_URL_EXPIRY_SECONDS", bad));
            assert!(matches!(config(&env), Err(ConfigError::Expiry(_))), "{bad}");
        }
    }
}
