//! Wiring only: configuration from the environment, the adapters, then the runtime loop.

use pictor_aws::config::{asset_store, load_in_function, s3_client};
use pictor_aws::function::{config_or_exit, serve};
use pictor_aws::{S3BlobStore, SesMailer};
use pictor_report::{Config, NightlyReport};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pictor_aws::logging::init();
    let config = config_or_exit(Config::from_env());
    let sdk = load_in_function().await;
    let assets = asset_store(&sdk, &config.table);
    // Reports are rewritten when a day is redone: never cached.
    let reports =
        S3BlobStore::new(s3_client(&sdk), &config.output_bucket).with_cache_control("no-cache");
    let mails = config.mailing.is_some();
    let mut handler = NightlyReport::new(config, assets, reports);
    if mails {
        handler = handler.with_mailer(SesMailer::new(&sdk));
    }
    serve(handler).await
}
