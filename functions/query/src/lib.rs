//! The query function: the core's asset API (`pictor_core::http`) behind an API Gateway HTTP
//! API. Records come from the asset table with consistent reads; rendition URLs are presigned
//! GETs with a short expiry, or `PICTOR_CDN_BASE_URL/<key>` when a CDN fronts the bucket, signed
//! for CloudFront's key group when the renditions are private.
//!
//! `PUT /assets/{id}/focus` re-cuts an asset's `cover` renditions in the function itself: it
//! reads the original and writes renditions and the record as the ingest function does.
//!
//! The caller is what API Gateway's authorizer established: a JWT's claims make a creator
//! (an admin with the configured scope or group), an IAM-signed request an operator. A
//! request with neither is refused by the core API.

mod config;

use async_trait::async_trait;
use axum::extract::State;
use axum::middleware::Next;
use axum::response::IntoResponse;
pub use config::{CdnSigning, Config, ConfigError, Uploads, ENV_VARS};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, Response};
use pictor_aws::cloudfront_urls::{private_key_from_secret, SignedCdnUrls, SigningKeyError};
use pictor_aws::s3_urls::PresignedUrls;
use pictor_core::domain::identity::{AdminPolicy, Caller};
use pictor_core::http::{router, Api, ApiError};
use pictor_core::ports::{AssetStore, StoreError};
use pictor_core::ports::{BaseUrl, RenditionUrls};
use pictor_core::Converger;
use std::sync::Arc;
use tower::ServiceExt;

/// Presigned S3 URLs, a CDN in front of the bucket, or that CDN with signed URLs.
pub enum Urls {
    Presigned(PresignedUrls),
    Cdn(BaseUrl),
    // Boxed: the key pair is a few hundred bytes, the other ways a pointer or two.
    SignedCdn(Box<SignedCdnUrls>),
}

impl Urls {
    /// A CDN when `config` names one (signing with the private key from Secrets Manager when
    /// it is private), else URLs presigned for the output bucket.
    pub async fn for_config(
        sdk: &aws_config::SdkConfig,
        config: &Config,
    ) -> Result<Urls, SigningKeyError> {
        Ok(match (&config.cdn_base_url, &config.cdn_signing) {
            (Some(base), Some(signing)) => {
                let pem = private_key_from_secret(sdk, &signing.private_key_secret).await?;
                Urls::SignedCdn(Box::new(SignedCdnUrls::from_pem(
                    base,
                    &signing.key_pair_id,
                    &pem,
                    config.url_expiry,
                )?))
            }
            (Some(base), None) => Urls::Cdn(BaseUrl(base.clone())),
            (None, _) => Urls::Presigned(PresignedUrls::new(
                pictor_aws::config::s3_client(sdk),
                &config.output_bucket,
                config.url_expiry,
            )),
        })
    }
}

#[async_trait]
impl RenditionUrls for Urls {
    async fn url(&self, key: &str) -> Result<String, StoreError> {
        match self {
            Urls::Presigned(p) => p.url(key).await,
            Urls::Cdn(c) => c.url(key).await,
            Urls::SignedCdn(s) => s.url(key).await,
        }
    }
}

/// The handler: the core's API router, over any asset store and way of making rendition URLs.
pub struct Query {
    router: axum::Router,
}

impl Query {
    /// The API without uploads, whose JWT callers are never admins.
    pub fn new<A, U>(assets: A, urls: U) -> Self
    where
        A: AssetStore + 'static,
        U: RenditionUrls + 'static,
    {
        Query::from_api(Api::new(assets, urls), AdminPolicy::default())
    }

    pub fn from_api<A, U>(api: Api<A, U>, admins: AdminPolicy) -> Self
    where
        A: AssetStore + 'static,
        U: RenditionUrls + 'static,
    {
        Query {
            router: router(api).layer(axum::middleware::from_fn_with_state(
                Arc::new(admins),
                from_authorizer,
            )),
        }
    }

    /// The function as `config` describes it, on the AWS adapters. Fails only when private
    /// renditions are configured and their signing key cannot be read.
    pub async fn on_aws(
        sdk: &aws_config::SdkConfig,
        config: &Config,
    ) -> Result<Self, SigningKeyError> {
        let assets = pictor_aws::config::asset_store(sdk, &config.table);
        let urls = Urls::for_config(sdk, config).await?;
        let stores = pictor_aws::config::AwsStores::new(sdk, &config.output_bucket, &config.table);
        let mut refocus = Converger::new(
            config.presets.clone(),
            stores.originals,
            stores.renditions,
            stores.assets,
        );
        if let Some(sink) = pictor_aws::config::event_sink(sdk, config.event_bus.as_deref()) {
            refocus = refocus.with_events(sink);
        }
        let mut api = Api::new(assets, urls).with_refocus(Arc::new(refocus));
        if let Some(uploads) = &config.uploads {
            let desk = pictor_aws::S3Uploads::new(sdk, &uploads.bucket, uploads.prefix.clone());
            api = api.with_uploads(Arc::new(desk), uploads.rules.clone());
        }
        Ok(Query::from_api(api, config.admins.clone()))
    }

    /// The router as `lambda_http::run` serves it: each request's caller taken from API
    /// Gateway's authorizer context, every answer marked uncacheable.
    pub fn service(&self) -> axum::Router {
        self.router.clone()
    }

    /// One HTTP API request in, its response as API Gateway receives it: the same service and
    /// the same response conversion as `lambda_http::run`. Never an error (every failure is a
    /// status code with a JSON body).
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let answer = match self.service().oneshot(request).await {
            Ok(answer) => answer,
            Err(never) => match never {},
        };
        lambda_http::IntoResponse::into_response(answer).await
    }
}

/// Puts the caller API Gateway's authorizer established into the request for the router's
/// `Caller` extractor; a token whose claims make no caller is refused here.
async fn from_authorizer(
    State(admins): State<Arc<AdminPolicy>>,
    mut request: axum::extract::Request,
    next: Next,
) -> axum::response::Response {
    let mut answer = match caller(&admins, &request) {
        Ok(caller) => {
            if let Some(caller) = caller {
                request.extensions_mut().insert(caller);
            }
            next.run(request).await
        }
        Err(refused) => refused.into_response(),
    };
    // Answers depend on the caller and change with every write: no cache may keep them.
    answer.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    answer
}

/// The caller in the authorizer context `lambda_http` put in the request's extensions: a JWT's
/// claims make a creator, an IAM-signed request an operator, neither nobody.
fn caller(
    admins: &AdminPolicy,
    request: &axum::extract::Request,
) -> Result<Option<Caller>, ApiError> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.extensions().get::<RequestContext>()
    else {
        return Ok(None);
    };
    let Some(authorizer) = &context.authorizer else {
        return Ok(None);
    };
    if let Some(jwt) = &authorizer.jwt {
        let flattened: serde_json::Map<String, serde_json::Value> = jwt
            .claims
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        // The authorizer verified the request's token; its own claims keep a group list as a
        // list, where the flattened text cannot tell `[not admins]` from two groups.
        let claims = request
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(pictor_core::domain::identity::bearer_claims)
            .filter(|token| token.get("sub") == flattened.get("sub"))
            .unwrap_or(flattened);
        return admins
            .caller(&claims)
            .map(Some)
            .map_err(|e| ApiError::Unauthenticated(e.to_string()));
    }
    Ok(authorizer.iam.as_ref().map(|_| Caller::Operator))
}
