//! The S3 and DynamoDB adapters pass the same port conformance suites as the local adapters,
//! against the local S3/DynamoDB server through the real SDK.

use pictor_aws::testing::{sdk_config, unique, BucketOriginals};
use pictor_aws::{config, table, DynamoAssetStore, S3BlobStore, S3Originals};
use pictor_core::ports::conformance::{asset_store_suite, blob_store_suite, original_store_suite};
use pictor_core::ports::{BlobStore, StoreError};

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

#[tokio::test]
async fn s3_originals_conform() {
    let client = config::s3_client(&sdk_config());
    let name = unique("originals");
    client.create_bucket().bucket(&name).send().await.unwrap();
    let bucket = BucketOriginals {
        client: client.clone(),
        name,
    };
    original_store_suite(&S3Originals::new(client), &bucket).await;
}
