//! The SQS side of every function: a batch in, the ids of the messages to retry out.
//!
//! Each message is handled on its own: a failure or a panic in one marks only that message
//! for retry (`batchItemFailures`, with `ReportBatchItemFailures` on the event source), so SQS
//! redelivers it alone and, if it keeps failing, moves it to the dead-letter queue.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::{FutureExt, StreamExt};
use serde_json::Value;
use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// A failure that a later attempt may fix (or that an operator must see in the DLQ).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Retry(pub String);

/// One delivery of a notification to a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub body: String,
    /// Which delivery of the message this is (SQS `ApproximateReceiveCount`, 1 for the first
    /// and for a direct invocation).
    pub receive_count: u32,
    /// Whether this is the last delivery the queue allows before the dead-letter queue: a
    /// failure now is final, so the handler should leave a record saying so.
    pub is_last: bool,
    /// When the handler must be done with this message (the invocation's deadline, less the
    /// time kept back to answer the runtime); past it the message is abandoned and retried.
    pub finish_by: Option<Instant>,
}

/// How a batch is run: the queue's redrive setting and the invocation's deadline.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// The queue's `maxReceiveCount` (deliveries before the dead-letter queue), when known.
    pub max_receives: Option<u32>,
    /// When the runtime stops the invocation; work that cannot finish by then is not started.
    pub deadline: Option<Instant>,
    /// How many messages may be under way at once (0 and 1: one after the other). Messages
    /// start in order; with two, the next one's reads overlap this one's writes.
    pub in_flight: usize,
}

impl Limits {
    /// The deadline the Lambda runtime hands each invocation (milliseconds since the epoch).
    pub fn with_deadline_ms(mut self, epoch_ms: u64) -> Limits {
        let at = std::time::UNIX_EPOCH + Duration::from_millis(epoch_ms);
        let left = at
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        self.deadline = Some(Instant::now() + left);
        self
    }
}

/// Time kept back before the deadline to answer the runtime.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);

/// Runs `handle` for every message and reports the ones to retry. Near the deadline, messages
/// not yet started are returned for retry, and one running past it is abandoned and retried,
/// so the invocation answers before the runtime kills it.
///
/// Up to `limits.in_flight` messages run at once, started in the batch's order; what they may
/// not do at the same time (use the CPU) is for `handle` to queue.
pub async fn handle_batch<F, Fut>(event: SqsEvent, limits: Limits, handle: F) -> SqsBatchResponse
where
    F: Fn(String, Delivery) -> Fut,
    Fut: Future<Output = Result<(), Retry>>,
{
    // The longest message so far: the best guess at what the next one needs. The messages
    // are polled on this one task, so a `Cell` is enough.
    let longest = Cell::new(Duration::ZERO);
    let run = |i: usize, message: SqsMessage| {
        // Without an id the message cannot be singled out: fail the batch from here on by
        // naming it with its position, which SQS treats as a whole-batch failure.
        let id = message.message_id.unwrap_or_else(|| format!("#{i}"));
        let receive_count = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let delivery = Delivery {
            body: message.body.unwrap_or_default(),
            receive_count,
            is_last: limits.max_receives.is_some_and(|max| receive_count >= max),
            finish_by: limits.deadline.map(|d| d - DEADLINE_MARGIN),
        };
        let handle = &handle;
        let longest = &longest;
        async move {
            let started = Instant::now();
            let time_left = limits.deadline.map(|d| {
                d.saturating_duration_since(started)
                    .saturating_sub(DEADLINE_MARGIN)
            });
            let failure = match time_left {
                Some(left) if left.is_zero() || (i > 0 && left < longest.get()) => {
                    Some("not started: too close to the invocation's deadline".to_string())
                }
                _ => {
                    let run = AssertUnwindSafe(handle(id.clone(), delivery)).catch_unwind();
                    let outcome = match time_left {
                        Some(left) => tokio::time::timeout(left, run).await.ok(),
                        None => Some(run.await),
                    };
                    match outcome {
                        Some(Ok(Ok(()))) => None,
                        Some(Ok(Err(retry))) => Some(retry.0),
                        Some(Err(panic)) => Some(format!("panicked: {}", panic_message(&panic))),
                        None => Some("abandoned at the invocation's deadline".to_string()),
                    }
                }
            };
            longest.set(longest.get().max(started.elapsed()));
            (id, failure)
        }
    };
    let outcomes: Vec<(String, Option<String>)> =
        futures::stream::iter(event.records.into_iter().enumerate())
            .map(|(i, message)| run(i, message))
            .buffered(limits.in_flight.max(1))
            .collect()
            .await;

    let mut response = SqsBatchResponse::default();
    for (id, failure) in outcomes {
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

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        crate::function::diagnostic(&error)
    }
}

/// The entry point of every function fed by S3 notifications: an SQS batch is answered with
/// its `batchItemFailures` (each message in its own `message` span); a notification invoking
/// the function directly succeeds or fails as a whole. `handle` takes one delivery.
pub async fn dispatch<F, Fut>(
    event: Value,
    limits: Limits,
    handle: F,
) -> Result<Value, HandlerError>
where
    F: Fn(Delivery) -> Fut,
    Fut: Future<Output = Result<(), Retry>>,
{
    if !is_sqs_event(&event) {
        // Lambda's own retries of a direct invocation are not counted here.
        let delivery = Delivery {
            body: event.to_string(),
            receive_count: 1,
            is_last: false,
            finish_by: None,
        };
        return match handle(delivery).await {
            Ok(()) => Ok(Value::Null),
            Err(Retry(reason)) => Err(HandlerError::Retry(reason)),
        };
    }
    let batch = serde_json::from_value(event).map_err(|e| HandlerError::BadEvent(e.to_string()))?;
    let response = handle_batch(batch, limits, |id, delivery| {
        handle(delivery).instrument(tracing::info_span!("message", message_id = %id))
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

/// The bodies of an SQS batch's messages that are on their last allowed delivery. A handler
/// records them before it starts on any message: a process killed on an earlier message of
/// the batch never reaches them.
pub fn last_deliveries(event: &Value, max_receives: Option<u32>) -> Vec<String> {
    let (Some(max), true) = (max_receives, is_sqs_event(event)) else {
        return Vec::new();
    };
    let Some(records) = event["Records"].as_array() else {
        return Vec::new();
    };
    records
        .iter()
        .filter(|r| {
            r["attributes"]["ApproximateReceiveCount"]
                .as_str()
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n >= max)
        })
        .filter_map(|r| r["body"].as_str().map(str::to_string))
        .collect()
}

/// Whether a Lambda event is an SQS batch (rather than an S3 notification invoking directly).
pub fn is_sqs_event(event: &serde_json::Value) -> bool {
    event["Records"][0]["eventSource"] == "aws:sqs"
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let response = handle_batch(event, Limits::default(), |_, d| async move {
            match d.body.as_str() {
                "fail" => Err(Retry("throttled".into())),
                "panic" => panic!("decoder bug"),
                _ => Ok(()),
            }
        })
        .await;
        let ids = failed_ids(&response);
        assert_eq!(ids, ["b", "c"]);
    }

    fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    fn counted(id: &str, count: &str) -> SqsMessage {
        let mut m = message(id, id);
        m.attributes
            .insert("ApproximateReceiveCount".into(), count.into());
        m
    }

    #[test]
    fn last_deliveries_are_found_before_any_work() {
        let mut event = sqs_event([("a", "first"), ("b", "last"), ("c", "also last")]);
        for (i, count) in ["1", "5", "7"].into_iter().enumerate() {
            event["Records"][i]["attributes"]["ApproximateReceiveCount"] = count.into();
        }
        assert_eq!(last_deliveries(&event, Some(5)), ["last", "also last"]);
        assert!(last_deliveries(&event, None).is_empty());
        assert!(last_deliveries(&serde_json::json!({"Records": []}), Some(5)).is_empty());
    }

    #[tokio::test]
    async fn the_last_allowed_delivery_is_marked() {
        let mut event = SqsEvent::default();
        event.records = vec![counted("a", "1"), counted("b", "4"), counted("c", "5")];
        let limits = Limits {
            max_receives: Some(5),
            ..Limits::default()
        };
        let seen = std::sync::Mutex::new(Vec::new());
        handle_batch(event, limits, |_, d| {
            seen.lock()
                .unwrap()
                .push((d.body, d.receive_count, d.is_last));
            async { Ok(()) }
        })
        .await;
        assert_eq!(
            seen.into_inner().unwrap(),
            [
                ("a".to_string(), 1, false),
                ("b".to_string(), 4, false),
                ("c".to_string(), 5, true)
            ]
        );
    }

    #[tokio::test]
    async fn work_that_cannot_finish_by_the_deadline_is_returned() {
        let mut event = SqsEvent::default();
        event.records = vec![message("slow", "slow"), message("next", "next")];
        let limits = Limits {
            deadline: Some(Instant::now() + DEADLINE_MARGIN + Duration::from_millis(300)),
            ..Limits::default()
        };
        let started = std::sync::Mutex::new(Vec::new());
        let response = handle_batch(event, limits, |id, _| {
            started.lock().unwrap().push(id);
            async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            }
        })
        .await;
        let ids = failed_ids(&response);
        assert_eq!(ids, ["slow", "next"]);
        // The second was never started: the first showed it would not fit.
        assert_eq!(started.into_inner().unwrap(), ["slow"]);
    }

    #[tokio::test]
    async fn two_in_flight_overlap_and_still_answer_per_message() {
        let mut event = SqsEvent::default();
        event.records = ["a", "b", "c", "d"]
            .iter()
            .map(|id| message(id, id))
            .collect();
        let limits = Limits {
            in_flight: 2,
            ..Limits::default()
        };
        // Each message notes when it starts and ends; "b" fails, "c" panics.
        let log = std::sync::Mutex::new(Vec::new());
        let response = handle_batch(event, limits, |id, _| {
            let log = &log;
            async move {
                log.lock().unwrap().push(format!("start {id}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                log.lock().unwrap().push(format!("end {id}"));
                match id.as_str() {
                    "b" => Err(Retry("no".into())),
                    "c" => panic!("boom"),
                    _ => Ok(()),
                }
            }
        })
        .await;
        assert_eq!(failed_ids(&response), ["b", "c"]);
        let log = log.into_inner().unwrap();
        // Started in order, the second before the first ended, never more than two at once.
        assert_eq!(&log[..3], ["start a", "start b", "end a"], "{log:?}");
        let mut running = 0;
        for entry in &log {
            running += if entry.starts_with("start") { 1 } else { -1 };
            assert!(running <= 2, "{log:?}");
        }
        assert_eq!(log.iter().filter(|e| e.starts_with("end")).count(), 4);
    }
}
