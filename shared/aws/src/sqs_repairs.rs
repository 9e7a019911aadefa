//! The core's `RepairHandoff` port on SQS: the repairs a reconcile pass has no time for go to
//! the ingest queue as notifications, ten per request, and the ingest function converges them
//! at its own concurrency, with its retries and dead-letter queue.

use crate::events::repair_notification;
use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use pictor_core::ports::{Repair, RepairHandoff, StoreError};
use pictor_core::SourceLocation;

pub struct SqsRepairs {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsRepairs {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: &str) -> SqsRepairs {
        SqsRepairs {
            sqs: aws_sdk_sqs::Client::new(sdk),
            queue_url: queue_url.to_string(),
        }
    }
}

#[async_trait]
impl RepairHandoff for SqsRepairs {
    async fn hand_off(&self, repairs: &[Repair]) -> Result<(), StoreError> {
        let mut bodies = Vec::with_capacity(repairs.len());
        for repair in repairs {
            let SourceLocation::S3 { bucket, key } = &repair.location else {
                return Err(StoreError::Other(format!(
                    "{} is not in a bucket",
                    repair.location
                )));
            };
            bodies.push(repair_notification(bucket, key, repair.redo));
        }
        enqueue_notifications(&self.sqs, &self.queue_url, &bodies).await
    }
}

/// Sends each notification body to `queue_url`, ten per request: how reconcile passes and
/// reprocess plans put work on the ingest queue.
pub async fn enqueue_notifications(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    bodies: &[String],
) -> Result<(), StoreError> {
    for chunk in bodies.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| StoreError::Other(format!("queue message: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| crate::errors::store_error("sending to the ingest queue", e))?;
        if let Some(first) = out.failed().first() {
            return Err(StoreError::Unavailable(format!(
                "{} of {} messages refused by the queue, first: {}",
                out.failed().len(),
                chunk.len(),
                first.message().unwrap_or(first.code())
            )));
        }
    }
    Ok(())
}
