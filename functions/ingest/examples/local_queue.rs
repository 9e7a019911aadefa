//! Stands in for Lambda's SQS event source on the local cloud: long-polls the ingest queue,
//! hands each batch to the ingest handler exactly as Lambda would, and deletes the messages
//! it did not report as failed (failed ones come back after their visibility timeout).
//!
//! Configured like the function (PICTOR_OUTPUT_BUCKET, PICTOR_TABLE, ...) plus
//! PICTOR_QUEUE_URL; `scripts/local-cloud up` prints all of them.

use pictor_aws::batch::sqs_event;
use pictor_aws::config::AwsStores;
use pictor_ingest::{Config, Ingest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let queue = std::env::var("PICTOR_QUEUE_URL").map_err(|_| "PICTOR_QUEUE_URL must be set")?;
    let sdk = pictor_aws::config::load().await;
    let config = Config::from_env()?;
    let stores = AwsStores::new(&sdk, &config.output_bucket, &config.table);
    let ingest = Ingest::new(config, stores.originals, stores.renditions, stores.assets);
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
        let event = sqs_event(out.messages().iter().map(|m| {
            (
                m.message_id().unwrap_or_default(),
                m.body().unwrap_or_default(),
            )
        }));
        let response = ingest.handle(event).await?;
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
