//! Wiring only: configuration from the environment, the adapters, then the router under the
//! HTTP runtime loop.

use lambda_http::Error;
use pictor_aws::config::load_in_function;
use pictor_aws::function::config_or_exit;
use pictor_query::{Config, Query};

#[tokio::main]
async fn main() -> Result<(), Error> {
    pictor_aws::logging::init();
    let config = config_or_exit(Config::from_env());
    let sdk = load_in_function().await;
    // A signing key that cannot be read stops the process before the first request, the way a
    // bad configuration does: every answer would otherwise be a 500.
    let query = config_or_exit(Query::on_aws(&sdk, &config).await);
    lambda_http::run(query.service()).await
}
