//! Pictor on AWS: the S3 and DynamoDB adapters of the core's storage ports, S3 event parsing
//! and the resources the functions expect. The core never links the AWS SDK; this crate does.

pub mod batch;
#[cfg(feature = "cdn-purge")]
pub mod cloudfront_purge;
pub mod cloudfront_urls;
pub mod config;
pub mod dynamo_assets;
pub mod errors;
pub mod eventbridge_events;
pub mod events;
pub mod function;
pub mod logging;
pub mod metrics;
pub mod provision;
pub mod s3_blobs;
pub mod s3_originals;
pub mod s3_uploads;
pub mod s3_urls;
pub mod ses_mail;
pub mod sqs_repairs;
pub mod table;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "cdn-purge")]
pub use cloudfront_purge::CloudFrontPurge;
pub use dynamo_assets::DynamoAssetStore;
pub use eventbridge_events::EventBridgeEvents;
pub use s3_blobs::S3BlobStore;
pub use s3_originals::S3Originals;
pub use s3_uploads::S3Uploads;
pub use ses_mail::SesMailer;
pub use sqs_repairs::SqsRepairs;
