//! Wiring only: configuration from the environment, the adapters, then the runtime loop.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use pictor_aws::config::{asset_store, load_in_function};
use pictor_aws::function::config_or_exit;
use pictor_aws::CloudFrontPurge;
use pictor_purge::{Config, Purge};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    pictor_aws::logging::init();
    let config = config_or_exit(Config::from_env());
    let sdk = load_in_function().await;
    let handler = Arc::new(Purge::new(
        asset_store(&sdk, &config.table),
        CloudFrontPurge::new(&sdk, &config.distribution_id),
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        let request_id = event.context.request_id.clone();
        let work = async move { Ok::<_, Error>(handler.handle(event.payload).await) };
        pictor_aws::metrics::with_request_id(request_id, work)
    }))
    .await
}
