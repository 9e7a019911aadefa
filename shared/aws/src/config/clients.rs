//! The clients and stores a function works with, made from one SDK configuration.

use aws_config::SdkConfig;

/// An S3 client; path-style addressing whenever the endpoint is overridden, because local
/// servers on `127.0.0.1:PORT` and most S3-compatible servers cannot answer
/// virtual-host-style requests.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let mut s3 =
        aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    // S3-compatible servers have no regions, but SigV4 signs one: the one they all accept.
    if config.endpoint_url().is_some() && config.region().is_none() {
        s3 = s3.region(aws_config::Region::from_static("us-east-1"));
    }
    aws_sdk_s3::Client::from_conf(s3.build())
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// The output bucket as the store renditions are written to: their keys are content-addressed,
/// so each is sent with a year-long `Cache-Control`.
pub fn rendition_store(config: &SdkConfig, bucket: &str) -> crate::S3BlobStore {
    crate::S3BlobStore::new(s3_client(config), bucket)
        .with_cache_control(pictor_core::app::ingest::RENDITION_CACHE_CONTROL)
}

/// The asset table as an asset store.
pub fn asset_store(config: &SdkConfig, table: &str) -> crate::DynamoAssetStore {
    crate::DynamoAssetStore::new(dynamodb_client(config), table)
}

/// `PICTOR_EVENT_BUS`: where asset events go, when set.
pub fn event_sink(
    config: &SdkConfig,
    bus: Option<&str>,
) -> Option<std::sync::Arc<dyn pictor_core::ports::EventSink>> {
    bus.map(|bus| {
        let client = aws_sdk_eventbridge::Client::new(config);
        std::sync::Arc::new(crate::EventBridgeEvents::new(client, bus))
            as std::sync::Arc<dyn pictor_core::ports::EventSink>
    })
}

/// The three stores a function that ingests works with, on AWS.
pub struct AwsStores {
    pub originals: crate::S3Originals,
    pub renditions: crate::S3BlobStore,
    pub assets: crate::DynamoAssetStore,
}

impl AwsStores {
    pub fn new(config: &SdkConfig, output_bucket: &str, table: &str) -> AwsStores {
        AwsStores {
            originals: crate::S3Originals::new(s3_client(config)),
            renditions: rendition_store(config, output_bucket),
            assets: asset_store(config, table),
        }
    }
}
