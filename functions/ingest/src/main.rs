//! Wiring only: configuration from the environment, the AWS adapters, then the runtime loop.

use pictor_aws::config::load_in_function;
use pictor_aws::function::{config_or_exit, serve};
use pictor_ingest::{AwsIngest, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pictor_aws::logging::init();
    // One upload after another in one process: each reuses the last one's memory.
    pictor_image::memory::reuse_freed_memory();
    let config = config_or_exit(Config::from_env());
    let sdk = load_in_function().await;
    serve(AwsIngest::on_aws(&sdk, config, "ingest")).await
}
