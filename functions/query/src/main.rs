//! Wiring only: configuration from the environment, then the Lambda HTTP runtime loop.

use lambda_http::{service_fn, Error, Request};
use pictor_query::{Config, Query};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env().map_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
        Error::from(e.to_string())
    })?;
    let sdk = pictor_aws::config::load().await;
    let query = Arc::new(Query::new(&sdk, config));
    lambda_http::run(service_fn(move |request: Request| {
        let query = Arc::clone(&query);
        async move { Ok::<_, Error>(query.handle(request).await) }
    }))
    .await
}
