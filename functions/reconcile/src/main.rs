//! Wiring only: configuration from the environment, the adapters, then the runtime loop.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use pictor_aws::config::{load_in_function, s3_client, AwsStores};
use pictor_aws::function::{config_or_exit, diagnostic};
use pictor_aws::S3BlobStore;
use pictor_reconcile::{Config, Reconcile};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    pictor_aws::logging::init();
    let config = config_or_exit(Config::from_env());
    let sdk = load_in_function().await;
    let stores = AwsStores::new(&sdk, &config.output_bucket, &config.table);
    // The latest report is rewritten every pass: never cached.
    let reports =
        S3BlobStore::new(s3_client(&sdk), &config.output_bucket).with_cache_control("no-cache");
    let events = pictor_aws::config::event_sink(&sdk, config.event_bus.as_deref());
    let mut handler = Reconcile::new(
        config,
        stores.originals,
        stores.renditions,
        stores.assets,
        reports,
    );
    if let Some(sink) = events {
        handler = handler.with_events(sink);
    }
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        let request_id = event.context.request_id.clone();
        let work = async move {
            handler
                .handle(event.payload)
                .await
                .map_err(|e| diagnostic(&e))
        };
        pictor_aws::metrics::with_request_id(request_id, work)
    }))
    .await
}
