//! A batch of AssetDeleted events -> one CloudFront invalidation of the renditions the
//! tombstones owe -> the tombstones owe nothing. Against the local cloud server's DynamoDB and
//! CloudFront, through the real SDK.

use aws_sdk_cloudfront::types::{
    DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig, ViewerProtocolPolicy,
};
use pictor_aws::batch::sqs_event;
use pictor_aws::testing::{fresh_resources, sdk_config, unique};
use pictor_aws::{config, CloudFrontPurge, DynamoAssetStore};
use pictor_core::ports::samples::SampleAsset;
use pictor_core::ports::{AssetStore, Expected};
use pictor_core::{AssetStatus, SourceLocation};
use pictor_purge::Purge;
use serde_json::{json, Value};

/// A distribution in front of `bucket`, on the local server; its id.
async fn distribution(cloudfront: &aws_sdk_cloudfront::Client, bucket: &str) -> String {
    let origin = Origin::builder()
        .id("renditions")
        .domain_name(format!("{bucket}.s3.amazonaws.com"))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .unwrap();
    let config = DistributionConfig::builder()
        .caller_reference(unique("cdn"))
        .comment("renditions")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("renditions")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let made = cloudfront
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap();
    made.distribution().unwrap().id().to_string()
}

/// The invalidations made in a distribution of the local server.
async fn invalidations(
    cloudfront: &aws_sdk_cloudfront::Client,
    distribution_id: &str,
) -> Vec<aws_sdk_cloudfront::types::InvalidationSummary> {
    let listed = cloudfront
        .list_invalidations()
        .distribution_id(distribution_id)
        .send()
        .await
        .unwrap();
    listed.invalidation_list().unwrap().items().to_vec()
}

fn deleted_event(id: &str) -> String {
    json!({"version": "0", "detail-type": "AssetDeleted", "source": "pictor",
           "detail": {"id": id, "creator": "ana", "version": 3, "at": "2026-12-07T00:00:00Z"}})
    .to_string()
}

#[tokio::test]
async fn a_batch_of_deletions_is_one_invalidation_of_exactly_what_is_owed() {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let cloudfront = aws_sdk_cloudfront::Client::new(&sdk);
    let distribution_id = distribution(&cloudfront, &r.output_bucket).await;
    let assets = DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table);

    let mut owed = Vec::new();
    let mut ids = Vec::new();
    for n in 0..3 {
        let location = SourceLocation::s3(&r.uploads_bucket, format!("uploads/ana/{n}.jpg"));
        let mut tombstone = SampleAsset::at(&location)
            .creator("ana")
            .status(AssetStatus::Deleted)
            .build();
        tombstone.cdn_purge = vec![
            format!("renditions/{}/md-0a1b2c-9f8e7d6c.webp", tombstone.id),
            format!("renditions/{}/thumb-0a1b2c-9f8e7d6c.jpg", tombstone.id),
        ];
        owed.extend(tombstone.cdn_purge.iter().map(|k| format!("/{k}")));
        assets.put(&tombstone, Expected::Absent).await.unwrap();
        ids.push(tombstone.id.clone());
    }
    let purge = Purge::new(
        DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table),
        CloudFrontPurge::new(&sdk, &distribution_id),
    );
    let mut bodies: Vec<(String, String)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("m{i}"), deleted_event(id.as_str())))
        .collect();
    // Another kind of event on the queue is let go.
    bodies.push((
        "ready".into(),
        json!({"detail-type": "AssetReady", "detail": {}}).to_string(),
    ));
    let answer = purge.handle(sqs_event(bodies.clone())).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");

    let made = invalidations(&cloudfront, &distribution_id).await;
    assert_eq!(made.len(), 1, "one request for the batch: {made:?}");
    let detail = cloudfront
        .get_invalidation()
        .distribution_id(&distribution_id)
        .id(made[0].id())
        .send()
        .await
        .unwrap();
    let mut paths: Vec<String> = detail
        .invalidation()
        .unwrap()
        .invalidation_batch()
        .unwrap()
        .paths()
        .unwrap()
        .items()
        .to_vec();
    paths.sort();
    owed.sort();
    assert_eq!(paths, owed);
    for id in &ids {
        let record = assets.get(id).await.unwrap().unwrap();
        assert!(record.cdn_purge.is_empty(), "{id} still owes");
        assert_eq!(record.status, AssetStatus::Deleted);
    }

    // Delivered again (at least once): nothing is owed, so no second request.
    let again = purge.handle(sqs_event(bodies)).await;
    assert_eq!(again["batchItemFailures"], json!([]));
    assert_eq!(invalidations(&cloudfront, &distribution_id).await.len(), 1);
}

#[tokio::test]
async fn a_distribution_that_cannot_be_reached_retries_the_whole_batch() {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let assets = DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table);
    let location = SourceLocation::s3(&r.uploads_bucket, "uploads/ana/x.jpg");
    let mut tombstone = SampleAsset::at(&location)
        .status(AssetStatus::Deleted)
        .build();
    tombstone.cdn_purge = vec![format!("renditions/{}/md-0a-1b.webp", tombstone.id)];
    assets.put(&tombstone, Expected::Absent).await.unwrap();

    let purge = Purge::new(assets, CloudFrontPurge::new(&sdk, "NOSUCHDISTRIBUTION"));
    let answer: Value = purge
        .handle(sqs_event([(
            "m0".to_string(),
            deleted_event(tombstone.id.as_str()),
        )]))
        .await;
    assert_eq!(
        answer["batchItemFailures"][0]["itemIdentifier"], "m0",
        "{answer}"
    );
    let assets = DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table);
    let record = assets.get(&tombstone.id).await.unwrap().unwrap();
    assert_eq!(record.cdn_purge.len(), 1, "still owed");
}
