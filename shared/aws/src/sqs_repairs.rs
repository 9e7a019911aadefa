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
        for chunk in repairs.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, repair) in chunk.iter().enumerate() {
                let SourceLocation::S3 { bucket, key } = &repair.location else {
                    return Err(StoreError::Other(format!(
                        "{} is not in a bucket",
                        repair.location
                    )));
                };
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(repair_notification(bucket, key, repair.redo))
                        .build()
                        .map_err(|e| StoreError::Other(format!("repair message: {e}")))?,
                );
            }
            let out = self
                .sqs
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| crate::errors::store_error("queueing repairs", e))?;
            if let Some(first) = out.failed().first() {
                return Err(StoreError::Unavailable(format!(
                    "{} of {} repairs refused by the queue, first: {}",
                    out.failed().len(),
                    chunk.len(),
                    first.message().unwrap_or(first.code())
                )));
            }
        }
        Ok(())
    }
}
