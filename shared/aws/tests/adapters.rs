//! The S3 and DynamoDB adapters pass the same port conformance suites as the local adapters,
//! against the local S3/DynamoDB server through the real SDK.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use pictor_aws::testing::{sdk_config, unique};
use pictor_aws::{config, table, DynamoAssetStore, S3BlobStore, S3Originals};
use pictor_core::domain::display_name::{encode_name, NAME_METADATA};
use pictor_core::ports::conformance::{
    asset_store_suite, blob_store_suite, original_store_suite, OriginalsFixture,
};
use pictor_core::ports::{BlobStore, StoreError};
use pictor_core::SourceLocation;

#[tokio::test]
async fn s3_blob_store_conforms() {
    let sdk = sdk_config();
    let client = config::s3_client(&sdk);
    let bucket = unique("blobs");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let store = S3BlobStore::new(client.clone(), &bucket).with_cache_control("max-age=60");
    blob_store_suite(&store).await;

    // Renditions carry their content type and cache policy, and no user metadata.
    store
        .put("r/x.webp", vec![1, 2], "image/webp")
        .await
        .unwrap();
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("r/x.webp")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("image/webp"));
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert!(head.metadata().is_none_or(|m| m.is_empty()));
}

#[tokio::test]
async fn s3_missing_bucket_is_an_error_not_a_panic() {
    let store = S3BlobStore::new(config::s3_client(&sdk_config()), unique("nobucket"));
    let err = store
        .put("a/b.jpg", vec![1], "image/jpeg")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
}

#[tokio::test]
async fn dynamodb_asset_store_conforms() {
    let sdk = sdk_config();
    let client = config::dynamodb_client(&sdk);
    let name = unique("assets");
    table::create(&client, &name).await.unwrap();
    asset_store_suite(&DynamoAssetStore::new(client, name)).await;
}

#[tokio::test]
async fn unreachable_server_is_transient() {
    // A closed port: the kind of failure a retry may fix.
    let sdk = pictor_aws::testing::unretried_sdk_config_at("http://127.0.0.1:9");
    let store = S3BlobStore::new(config::s3_client(&sdk), "any");
    let err = store.get("a/b.jpg").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

/// Originals as objects in a bucket, with the creator as `x-amz-meta-creator`.
struct Bucket {
    client: aws_sdk_s3::Client,
    name: String,
}

#[async_trait]
impl OriginalsFixture for Bucket {
    async fn place(&self, name: &str, bytes: Vec<u8>, creator: Option<&str>) -> SourceLocation {
        let key = format!("uploads/{name}");
        let mut put = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(&key)
            .body(ByteStream::from(bytes));
        if let Some(creator) = creator {
            put = put.metadata("creator", creator);
        }
        put.send().await.unwrap();
        SourceLocation::s3(&self.name, key)
    }
    async fn place_named(&self, name: &str, bytes: Vec<u8>, display: &str) -> SourceLocation {
        let key = format!("uploads/{name}");
        self.client
            .put_object()
            .bucket(&self.name)
            .key(&key)
            .metadata(NAME_METADATA, encode_name(display))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap();
        SourceLocation::s3(&self.name, key)
    }
    fn missing(&self, name: &str) -> SourceLocation {
        SourceLocation::s3(&self.name, format!("uploads/{name}"))
    }
    fn foreign(&self) -> SourceLocation {
        SourceLocation::file(std::path::Path::new("/tmp/a.jpg"))
    }
    fn root(&self) -> SourceLocation {
        SourceLocation::s3(&self.name, "uploads/")
    }
    fn keeps_metadata(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn s3_originals_conform() {
    let client = config::s3_client(&sdk_config());
    let name = unique("originals");
    client.create_bucket().bucket(&name).send().await.unwrap();
    let bucket = Bucket {
        client: client.clone(),
        name,
    };
    original_store_suite(&S3Originals::new(client), &bucket).await;
}
