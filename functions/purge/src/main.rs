//! Wiring only: configuration from the environment, the adapters, then the runtime loop.

use pictor_aws::config::{asset_store, load_in_function};
use pictor_aws::function::{config_or_exit, serve};
use pictor_aws::CloudFrontPurge;
use pictor_purge::{Config, Purge};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pictor_aws::logging::init();
    let config = config_or_exit(Config::from_env());
    let sdk = load_in_function().await;
    serve(Purge::new(
        asset_store(&sdk, &config.table),
        CloudFrontPurge::new(&sdk, &config.distribution_id),
    ))
    .await
}
