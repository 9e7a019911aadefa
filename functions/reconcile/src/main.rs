//! Wiring only: configuration from the environment, the adapters, then the runtime loop.

use pictor_aws::config::{load_in_function, s3_client, AwsStores};
use pictor_aws::function::{config_or_exit, serve};
use pictor_aws::S3BlobStore;
use pictor_reconcile::{Config, Reconcile};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pictor_aws::logging::init();
    let config = config_or_exit(Config::from_env());
    let sdk = load_in_function().await;
    let stores = AwsStores::new(&sdk, &config.output_bucket, &config.table);
    // The latest report is rewritten every pass: never cached.
    let reports =
        S3BlobStore::new(s3_client(&sdk), &config.output_bucket).with_cache_control("no-cache");
    let events = pictor_aws::config::event_sink(&sdk, config.event_bus.as_deref());
    let cdn = config.cdn_distribution_id.clone();
    let repairs = config.ingest_queue_url.clone();
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
    if let Some(queue) = &repairs {
        handler = handler.with_repair_handoff(Arc::new(pictor_aws::SqsRepairs::new(&sdk, queue)));
    }
    if let Some(id) = &cdn {
        handler = handler.with_cdn(Arc::new(pictor_aws::CloudFrontPurge::new(&sdk, id)));
    }
    serve(handler).await
}
