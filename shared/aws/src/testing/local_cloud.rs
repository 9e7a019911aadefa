//! The one harness of tests against the local cloud: a fresh set of resources, their clients,
//! and the moves every such test makes (put and delete originals, read a record, list what
//! the output bucket holds). A test's own harness keeps only what is its own (its handler,
//! its configuration) and derefs to this.

use super::{fresh_resources, sdk_config};
use crate::config::{dynamodb_client, s3_client, AwsStores};
use crate::provision::Resources;
use crate::DynamoAssetStore;
use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use pictor_core::ports::AssetStore;
use pictor_core::{Asset, AssetId, SourceLocation};

/// Fresh buckets, table and queues on the local server, and clients for them.
pub struct LocalCloud {
    pub sdk: SdkConfig,
    pub resources: Resources,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub assets: DynamoAssetStore,
}

impl LocalCloud {
    /// A uniquely named set of resources, so tests run side by side.
    pub async fn fresh() -> LocalCloud {
        let sdk = sdk_config();
        let resources = fresh_resources(&sdk)
            .await
            .unwrap_or_else(|e| panic!("provisioning the local cloud: {e}"));
        LocalCloud {
            s3: s3_client(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            assets: DynamoAssetStore::new(dynamodb_client(&sdk), &resources.table),
            sdk,
            resources,
        }
    }

    /// The three stores, as a function's `main` builds them.
    pub fn stores(&self) -> AwsStores {
        AwsStores::new(
            &self.sdk,
            &self.resources.output_bucket,
            &self.resources.table,
        )
    }

    /// Where `key` of the uploads bucket is, as records name it.
    pub fn location(&self, key: &str) -> SourceLocation {
        SourceLocation::s3(&self.resources.uploads_bucket, key)
    }

    /// The asset `key` of the uploads bucket is recorded as.
    pub fn id(&self, key: &str) -> AssetId {
        self.location(key).asset_id()
    }

    /// Puts `bytes` at `key` of the uploads bucket; the version id S3 gave it.
    pub async fn upload(&self, key: &str, bytes: Vec<u8>) -> String {
        self.upload_as(key, bytes, None).await
    }

    /// [`Self::upload`] with `x-amz-meta-creator` when `creator` is given.
    pub async fn upload_as(&self, key: &str, bytes: Vec<u8>, creator: Option<&str>) -> String {
        let put = self
            .s3
            .put_object()
            .bucket(&self.resources.uploads_bucket)
            .key(key)
            .set_metadata(creator.map(|c| [("creator".to_string(), c.to_string())].into()))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap_or_else(|e| panic!("putting {key}: {e}"));
        put.version_id().unwrap_or_default().to_string()
    }

    /// Deletes one version of `key` for good, or (`None`) adds a delete marker; the version id
    /// the delete names (the marker's, for a marker).
    pub async fn delete_upload(&self, key: &str, version: Option<&str>) -> String {
        let out = self
            .s3
            .delete_object()
            .bucket(&self.resources.uploads_bucket)
            .key(key)
            .set_version_id(version.map(String::from))
            .send()
            .await
            .unwrap_or_else(|e| panic!("deleting {key}: {e}"));
        out.version_id().unwrap_or_default().to_string()
    }

    /// Whether `key` of the uploads bucket is there now.
    pub async fn upload_exists(&self, key: &str) -> bool {
        self.s3
            .head_object()
            .bucket(&self.resources.uploads_bucket)
            .key(key)
            .send()
            .await
            .is_ok()
    }

    /// The record of `key` of the uploads bucket, which must exist.
    pub async fn asset(&self, key: &str) -> Asset {
        self.assets
            .get(&self.id(key))
            .await
            .unwrap_or_else(|e| panic!("reading the record of {key}: {e}"))
            .unwrap_or_else(|| panic!("no record for {key}"))
    }

    /// Every key of the output bucket under `prefix`, sorted.
    pub async fn output_keys(&self, prefix: &str) -> Vec<String> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(&self.resources.output_bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap_or_else(|e| panic!("listing the output bucket: {e}"));
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(String::from))
            .collect();
        keys.sort();
        keys
    }
}
