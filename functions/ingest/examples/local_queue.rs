//! Stands in for Lambda's SQS event source on the local cloud: long-polls the ingest queue,
//! hands each batch to the ingest handler exactly as Lambda would, and deletes the messages
//! it did not report as failed (failed ones come back after their visibility timeout).
//!
//! Configured like the function (PICTOR_OUTPUT_BUCKET, PICTOR_TABLE, ...) plus
//! PICTOR_QUEUE_URL; `scripts/local-cloud up` prints all of them.

use pictor_ingest::{Config, Ingest};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let queue = std::env::var("PICTOR_QUEUE_URL").map_err(|_| "PICTOR_QUEUE_URL must be set")?;
    let sdk = pictor_aws::config::load().await;
    let ingest = Ingest::new(&sdk, Config::from_env()?);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    eprintln!("waiting for uploads on {queue} (Ctrl-C to stop)");
    loop {
        let out = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(10)
            .send()
            .await?;
        if out.messages().is_empty() {
            continue;
        }
        let records: Vec<_> = out
            .messages()
            .iter()
            .map(|m| {
                json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                       "body": m.body(), "attributes": {}, "messageAttributes": {},
                       "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                       "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:local"})
            })
            .collect();
        let response = ingest.handle(json!({ "Records": records })).await?;
        let failed: Vec<&str> = response["batchItemFailures"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["itemIdentifier"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        for m in out.messages() {
            let id = m.message_id().unwrap_or_default();
            if failed.contains(&id) {
                eprintln!("message {id} failed; it will be retried");
                continue;
            }
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(&queue)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
        }
        eprintln!("handled {} message(s)", out.messages().len());
    }
}
