//! The SQS side of every function: a batch in, the ids of the messages to retry out.
//!
//! Each message is handled on its own: a failure or a panic in one marks only that message
//! for retry (`batchItemFailures`, with `ReportBatchItemFailures` on the event source), so SQS
//! redelivers it alone and, if it keeps failing, moves it to the dead-letter queue.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::FutureExt;
use serde_json::Value;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use tracing::Instrument;

/// A failure that a later attempt may fix (or that an operator must see in the DLQ).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Retry(pub String);

/// Runs `handle(message_id, body)` for every message and reports the ones to retry.
pub async fn handle_batch<F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(String, String) -> Fut,
    Fut: Future<Output = Result<(), Retry>>,
{
    let mut response = SqsBatchResponse::default();
    for (i, message) in event.records.into_iter().enumerate() {
        // Without an id the message cannot be singled out: fail the batch from here on by
        // naming it with its position, which SQS treats as a whole-batch failure.
        let id = message.message_id.unwrap_or_else(|| format!("#{i}"));
        let body = message.body.unwrap_or_default();
        let outcome = AssertUnwindSafe(handle(id.clone(), body))
            .catch_unwind()
            .await;
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(retry)) => Some(retry.0),
            Err(panic) => Some(format!("panicked: {}", panic_message(&panic))),
        };
        if let Some(reason) = failure {
            tracing::error!(message_id = %id, %reason, "message will be retried");
            let mut item = BatchItemFailure::default();
            item.item_identifier = id;
            response.batch_item_failures.push(item);
        }
    }
    response
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Why an invocation failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("event is not an SQS batch or an S3 notification: {0}")]
    BadEvent(String),
    /// Direct invocation: Lambda retries the event, then sends it to the failure destination.
    #[error("retry: {0}")]
    Retry(String),
}

impl crate::function::ErrorType for HandlerError {
    fn error_type(&self) -> &'static str {
        match self {
            HandlerError::BadEvent(_) => "BadEvent",
            HandlerError::Retry(_) => "Retry",
        }
    }
}

/// The entry point of every function fed by S3 notifications: an SQS batch is answered with
/// its `batchItemFailures` (each message in its own `message` span); a notification invoking
/// the function directly succeeds or fails as a whole. `handle_body` takes one notification.
pub async fn dispatch<F, Fut>(event: Value, handle_body: F) -> Result<Value, HandlerError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), Retry>>,
{
    if !is_sqs_event(&event) {
        return match handle_body(event.to_string()).await {
            Ok(()) => Ok(Value::Null),
            Err(Retry(reason)) => Err(HandlerError::Retry(reason)),
        };
    }
    let batch = serde_json::from_value(event).map_err(|e| HandlerError::BadEvent(e.to_string()))?;
    let response = handle_batch(batch, |id, body| {
        handle_body(body).instrument(tracing::info_span!("message", message_id = %id))
    })
    .await;
    serde_json::to_value(response).map_err(|e| HandlerError::BadEvent(e.to_string()))
}

/// The event Lambda's SQS trigger would deliver for `(message id, body)` pairs: for running a
/// function locally against a real queue, and for tests.
pub fn sqs_event<I, S>(messages: I) -> Value
where
    I: IntoIterator<Item = (S, S)>,
    S: Into<String>,
{
    let records: Vec<Value> = messages
        .into_iter()
        .map(|(id, body)| {
            serde_json::json!({
                "messageId": id.into(), "receiptHandle": "local", "body": body.into(),
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:local",
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// Whether a Lambda event is an SQS batch (rather than an S3 notification invoking directly).
pub fn is_sqs_event(event: &serde_json::Value) -> bool {
    event["Records"][0]["eventSource"] == "aws:sqs"
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::SqsMessage;

    fn message(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.to_string());
        m.body = Some(body.to_string());
        m
    }

    #[tokio::test]
    async fn only_failing_and_panicking_messages_are_retried() {
        let mut event = SqsEvent::default();
        event.records = vec![
            message("a", "ok"),
            message("b", "fail"),
            message("c", "panic"),
            message("d", "ok"),
        ];
        let response = handle_batch(event, |_, body| async move {
            match body.as_str() {
                "fail" => Err(Retry("throttled".into())),
                "panic" => panic!("decoder bug"),
                _ => Ok(()),
            }
        })
        .await;
        let ids: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(ids, ["b", "c"]);
    }
}
