//! Wiring only: configuration from the environment, the adapters, then the runtime loop.

use pictor_aws::config::{load_in_function, s3_client, AwsStores};
use pictor_aws::function::{config_or_exit, serve};
use pictor_reprocess::plan::Planner;
use pictor_reprocess::{Config, Reprocess};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pictor_aws::logging::init();
    // Asset after asset in one process: each reuses the last one's memory.
    pictor_image::memory::reuse_freed_memory();
    let config = config_or_exit(Config::from_env());
    let sdk = load_in_function().await;
    let stores = AwsStores::new(&sdk, &config.output_bucket, &config.table);
    let planner = Planner::new(
        s3_client(&sdk),
        aws_sdk_sqs::Client::new(&sdk),
        config.output_bucket.clone(),
        config.ingest_queue_url.clone(),
    );
    let (originals, renditions, assets) = (stores.originals, stores.renditions, stores.assets);
    let events = pictor_aws::config::event_sink(&sdk, config.event_bus.as_deref());
    let mut handler = Reprocess::new(config, originals, renditions, assets, planner);
    if let Some(sink) = events {
        handler = handler.with_events(sink);
    }
    serve(handler).await
}
