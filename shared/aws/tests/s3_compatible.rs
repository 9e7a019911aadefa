//! The S3 adapters on an S3-compatible server that is not AWS's (SeaweedFS, started by
//! `scripts/local-s3compat`), configured as its users configure them: an endpoint and keys,
//! no region. Originals and renditions pass the same suites as on S3.

use pictor_aws::testing::{s3_compatible_config, unique, BucketOriginals};
use pictor_aws::{config, S3BlobStore, S3Originals};
use pictor_core::ports::conformance::{blob_store_suite, original_store_suite};
use pictor_core::ports::BlobStore;

#[tokio::test]
async fn renditions_are_kept_on_an_s3_compatible_server() {
    let sdk = s3_compatible_config();
    assert!(sdk.region().is_none());
    let client = config::s3_client(&sdk);
    let bucket = unique("renditions");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let store = S3BlobStore::new(client.clone(), &bucket).with_cache_control("max-age=60");
    blob_store_suite(&store).await;

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
}

#[tokio::test]
async fn originals_are_read_from_an_s3_compatible_server() {
    let client = config::s3_client(&s3_compatible_config());
    let name = unique("uploads");
    client.create_bucket().bucket(&name).send().await.unwrap();
    let bucket = BucketOriginals {
        client: client.clone(),
        name,
    };
    original_store_suite(&S3Originals::new(client), &bucket).await;
}
