//! Wiring only: configuration from the environment, the adapters, then the runtime loop.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use pictor_aws::config::{asset_store, load, rendition_store};
use pictor_aws::function::{config_or_exit, diagnostic};
use pictor_cleanup::{Cleanup, Config};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = config_or_exit(Config::from_env());
    let sdk = load().await;
    let renditions = rendition_store(&sdk, &config.output_bucket);
    let assets = asset_store(&sdk, &config.table);
    let handler = Cleanup::new(config, renditions, assets);
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move {
            handler
                .handle(event.payload)
                .await
                .map_err(|e| diagnostic(&e))
        }
    }))
    .await
}
