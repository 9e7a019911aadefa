//! Creates what the functions expect: the uploads and output buckets, the asset table, and
//! queues fed by the uploads bucket's notifications (created objects -> the ingest queue,
//! removed objects -> the cleanup queue). The CDK app deploys the same shape on AWS; this is
//! for the local cloud and tests.

use crate::table;
use aws_config::SdkConfig;
use aws_sdk_s3::types::{
    BucketVersioningStatus, Event, FilterRule, FilterRuleName, NotificationConfiguration,
    NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter, VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
pub struct Resources {
    pub uploads_bucket: String,
    pub output_bucket: String,
    pub table: String,
    pub ingest_queue_url: String,
    pub cleanup_queue_url: String,
}

/// Names every resource after `uploads_bucket`, `output_bucket`, `table` and `queue`
/// (`queue` for ingest, `<queue>-removed` for cleanup), watching keys under `upload_prefix`.
pub async fn provision(
    config: &SdkConfig,
    uploads_bucket: &str,
    output_bucket: &str,
    table_name: &str,
    queue: &str,
    upload_prefix: &str,
) -> Result<Resources, BoxError> {
    let s3 = crate::config::s3_client(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    // Idempotent: running it again over existing resources is fine.
    for bucket in [uploads_bucket, output_bucket] {
        if let Err(e) = s3.create_bucket().bucket(bucket).send().await {
            if !e
                .as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you())
            {
                return Err(e.into());
            }
        }
    }
    // Versioned like the deployed uploads bucket: an overwrite keeps the previous original.
    s3.put_bucket_versioning()
        .bucket(uploads_bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await?;
    let dynamodb = crate::config::dynamodb_client(config);
    let exists = dynamodb
        .describe_table()
        .table_name(table_name)
        .send()
        .await
        .is_ok();
    if !exists {
        table::create(&dynamodb, table_name).await?;
    }

    let mut queue_configs = Vec::new();
    let mut urls = Vec::new();
    for (name, event) in [
        (queue.to_string(), Event::S3ObjectCreated),
        (format!("{queue}-removed"), Event::S3ObjectRemoved),
    ] {
        let (url, arn) = queue_with_arn(&sqs, &name).await?;
        let filter = NotificationConfigurationFilter::builder()
            .key(
                S3KeyFilter::builder()
                    .filter_rules(
                        FilterRule::builder()
                            .name(FilterRuleName::Prefix)
                            .value(upload_prefix)
                            .build(),
                    )
                    .build(),
            )
            .build();
        queue_configs.push(
            QueueConfiguration::builder()
                .queue_arn(arn)
                .events(event)
                .filter(filter)
                .build()?,
        );
        urls.push(url);
    }
    s3.put_bucket_notification_configuration()
        .bucket(uploads_bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(queue_configs))
                .build(),
        )
        .send()
        .await?;
    let [ingest_queue_url, cleanup_queue_url] =
        <[String; 2]>::try_from(urls).map_err(|_| "expected two queues")?;
    Ok(Resources {
        uploads_bucket: uploads_bucket.to_string(),
        output_bucket: output_bucket.to_string(),
        table: table_name.to_string(),
        ingest_queue_url,
        cleanup_queue_url,
    })
}

/// An event bus and, on it, a rule routing every Pictor asset event to a new queue: what an
/// app's subscription looks like. Returns the queue's URL.
pub async fn event_bus_to_queue(
    config: &SdkConfig,
    bus: &str,
    queue: &str,
) -> Result<String, BoxError> {
    let events = aws_sdk_eventbridge::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    events.create_event_bus().name(bus).send().await?;
    let (url, arn) = queue_with_arn(&sqs, queue).await?;
    let rule = format!("{queue}-all");
    events
        .put_rule()
        .event_bus_name(bus)
        .name(&rule)
        .event_pattern(
            serde_json::json!({
                "source": [pictor_core::domain::events::EVENT_SOURCE],
                "detail-type": ["AssetReady", "AssetFailed", "AssetDeleted"]
            })
            .to_string(),
        )
        .send()
        .await?;
    events
        .put_targets()
        .event_bus_name(bus)
        .rule(&rule)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()?,
        )
        .send()
        .await?;
    Ok(url)
}

/// Creates the queue `name` (or finds it); its URL and ARN.
async fn queue_with_arn(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> Result<(String, String), BoxError> {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await?
        .queue_url()
        .ok_or("queue without a URL")?
        .to_string();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or("queue without an ARN")?;
    Ok((url, arn))
}
