//! Wiring only: configuration from the environment, then the Lambda runtime loop.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use pictor_cleanup::{Cleanup, Config};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env().map_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
        Error::from(e.to_string())
    })?;
    let sdk = pictor_aws::config::load().await;
    let cleanup = Cleanup::new(&sdk, config).map_err(|e| {
        tracing::error!(error = %e, "the built-in spec does not load");
        Error::from(e.to_string())
    })?;
    let cleanup = Arc::new(cleanup);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let cleanup = Arc::clone(&cleanup);
        async move { cleanup.handle(event.payload).await.map_err(Error::from) }
    }))
    .await
}
