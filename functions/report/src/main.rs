//! Wiring only: configuration from the environment, then the Lambda runtime loop.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use pictor_report::{Config, Report};
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
    let report = Arc::new(Report::new(&sdk, config));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let report = Arc::clone(&report);
        async move { report.handle(event.payload).await.map_err(Error::from) }
    }))
    .await
}
