//! A function's configuration, by idea: the SDK and its TLS (`sdk`), the clients and stores
//! made from it (`clients`), the `PICTOR_*` variables (`env`), and the pipeline's settings
//! (`pipeline`).

mod clients;
mod env;
mod pipeline;
mod sdk;

pub use clients::{
    asset_store, dynamodb_client, event_sink, rendition_store, s3_client, AwsStores,
};
pub use env::{from_env, from_vars, EnvError, StoreVars};
pub use pipeline::{
    encode_threads, presets, upload_prefix, PipelineSettingsError, PipelineVars, MAX_ENCODE_THREADS,
};
#[cfg(feature = "testing")]
pub(crate) use sdk::{https_client, Trust};
pub use sdk::{load, load_in_function};
