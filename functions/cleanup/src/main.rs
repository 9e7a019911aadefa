//! The cleanup function: removal notifications from the uploads bucket, on their own queue.
//!
//! A removal is a hint like any other notification, so this is the ingest function's handler
//! (`pictor_ingest`) over the same use case: it looks at the key's current state and
//! converges the asset to it. The object gone: renditions removed, record a DELETED
//! tombstone (written even when no record existed yet). A noncurrent version removed:
//! nothing changes. The current version removed and an older one current again, or a delete
//! marker removed (a restore): the object as it now stands is ingested. A stale removal,
//! replayed after the key was written again: nothing.
//!
//! It has its own queue, concurrency, dead-letter queue and metrics (`Function` = `cleanup`),
//! so a burst of deletes never waits behind a burst of uploads. Wiring only.

use pictor_aws::config::load_in_function;
use pictor_aws::function::{config_or_exit, serve};
use pictor_ingest::{AwsIngest, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pictor_aws::logging::init();
    pictor_image::memory::reuse_freed_memory();
    let config = config_or_exit(Config::from_env());
    let sdk = load_in_function().await;
    serve(AwsIngest::on_aws(&sdk, config, "cleanup")).await
}
