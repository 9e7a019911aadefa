//! The ingest function: an upload lands in the uploads bucket, its notification arrives (in an
//! SQS batch, or directly from S3), and the object becomes renditions in the output bucket and
//! a READY or FAILED record in the asset table.
//!
//! Every notification, creation or removal, is a hint that a key changed: the handler looks at
//! the key's current state and converges the asset to it (ingested, its newer write noted, or
//! a DELETED tombstone). The cleanup function runs this same handler on the removal queue.
//!
//! Exactly once in effect: a notification the record already reflects does nothing;
//! concurrent deliveries meet at the record's conditional write. A notification that fails on
//! its last allowed delivery leaves a FAILED `transient` record before the dead-letter queue.

mod config;

pub use config::{Config, ConfigError, ENV_VARS};
pub use pictor_aws::batch::HandlerError;
use pictor_aws::batch::{dispatch, last_deliveries, Delivery, Limits, Retry};
use pictor_aws::events::{self, EventKind, Notification, ObjectEvent};
use pictor_aws::metrics::Emf;
use pictor_core::ports::{AssetStore, BlobStore, OriginalStore};
use pictor_core::{AssetId, AssetStatus, Converger, Intent, Outcome, ProcessError, Upload};
use serde_json::Value;
use std::sync::Arc;
use tracing::Instrument;

/// What happened to one object event.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    /// Not ours: a test event, a key outside the upload prefix, a folder marker.
    Ignored(&'static str),
    /// The record already reflects this write (or a later one): nothing was done.
    Duplicate,
    /// Renditions written and the record is READY.
    Ready(AssetId),
    /// The upload cannot be processed; a FAILED record says why.
    Failed(AssetId, ProcessError),
    /// Same bytes under the same spec were READY already.
    Unchanged(AssetId),
    /// The object is gone: renditions removed, the record is a DELETED tombstone.
    Deleted(AssetId),
    /// The object is gone and its record already says DELETED (a late notification).
    AlreadyDeleted(AssetId),
    /// The last allowed delivery failed: a FAILED `transient` record says so, and the message
    /// goes to the dead-letter queue.
    GaveUp(AssetId),
}

/// What a record says while the last allowed attempt runs, and after it if the process died.
const LAST_ATTEMPT: &str = "the last allowed attempt did not finish (the process was stopped: \
     out of memory, or the function's timeout)";

/// Messages of a batch under way at once. One runs the pipeline while the next reads its
/// original and the previous writes its renditions and record: the function's I/O overlaps its
/// image work, and images never share the CPU (see `Converger::with_compute_slots`).
const IN_FLIGHT: usize = 2;

/// Time kept to record a failure after an attempt is stopped at its deadline.
const GIVE_UP_RESERVE: std::time::Duration = std::time::Duration::from_secs(1);

/// The handler on the AWS adapters, as the function runs it.
pub type AwsIngest =
    Ingest<pictor_aws::S3Originals, pictor_aws::S3BlobStore, pictor_aws::DynamoAssetStore>;

/// The handler, over any adapters of the three ports (`main` wires S3 and DynamoDB).
pub struct Ingest<O, B, A> {
    converger: Converger<O, B, A>,
    config: Config,
    /// The `Function` dimension of its metrics: `ingest`, or `cleanup` on the removal queue.
    function: &'static str,
}

impl<O: OriginalStore, B: BlobStore, A: AssetStore> Ingest<O, B, A> {
    pub fn new(config: Config, originals: O, renditions: B, assets: A) -> Self {
        let mut converger = Converger::new(config.presets.clone(), originals, renditions, assets)
            .with_compute_slots(1);
        if config.cdn_purge {
            converger = converger.with_cdn_purge();
        }
        Ingest {
            converger,
            config,
            function: "ingest",
        }
    }

    /// The same handler, publishing asset events to `sink` after each record write.
    pub fn with_events(mut self, sink: Arc<dyn pictor_core::ports::EventSink>) -> Self {
        self.converger = self.converger.with_events(sink);
        self
    }

    /// The same handler, publishing its metrics as `function` (one of
    /// `pictor_aws::metrics::CATALOGUE`'s).
    pub fn publishing_as(mut self, function: &'static str) -> Self {
        self.function = function;
        self
    }

    /// Entry point for any invocation: an SQS batch returns its `batchItemFailures`; a direct
    /// S3 notification succeeds or fails as a whole.
    pub async fn handle(&self, event: Value) -> Result<Value, HandlerError> {
        self.handle_until(event, None).await
    }

    /// [`Self::handle`] within the invocation's deadline (milliseconds since the epoch, as
    /// the runtime gives it): messages that cannot finish by then are returned for retry.
    pub async fn handle_until(
        &self,
        event: Value,
        deadline_ms: Option<u64>,
    ) -> Result<Value, HandlerError> {
        let mut limits = Limits {
            max_receives: self.config.max_receives,
            deadline: None,
            in_flight: IN_FLIGHT,
        };
        if let Some(ms) = deadline_ms {
            limits = limits.with_deadline_ms(ms);
        }
        for body in last_deliveries(&event, self.config.max_receives) {
            self.record_last_attempt(&body).await;
        }
        dispatch(event, limits, |delivery| async move {
            self.handle_delivery(&delivery).await.map(|_| ())
        })
        .await
    }

    /// Before any work on the batch: a notification on its last allowed delivery is recorded
    /// as FAILED `transient`, so a process killed on this or an earlier message of the batch
    /// (out of memory, the timeout) leaves a record; the attempt overwrites it when it ends.
    pub async fn record_last_attempt(&self, body: &str) {
        let Ok(Notification::Records(records)) = events::parse(body) else {
            return;
        };
        for event in records.iter().filter(|e| e.kind != EventKind::Other) {
            let Ok(upload) = Upload::try_from(event.under(&self.config.upload_prefix)) else {
                continue;
            };
            if let Err(e) = self
                .converger
                .mark_last_attempt(&upload, LAST_ATTEMPT)
                .await
            {
                tracing::warn!(key = %event.key, error = %e, "could not record the last attempt");
            }
        }
    }

    /// One notification body, delivered for the first time.
    pub async fn handle_body(&self, body: &str) -> Result<Vec<Handled>, Retry> {
        let delivery = Delivery {
            body: body.to_string(),
            receive_count: 1,
            is_last: false,
            finish_by: None,
        };
        self.handle_delivery(&delivery).await
    }

    /// One delivery of a notification; `Err` when the message must be retried.
    pub async fn handle_delivery(&self, delivery: &Delivery) -> Result<Vec<Handled>, Retry> {
        let body = delivery.body.as_str();
        let records = match events::parse(body) {
            Ok(Notification::Test) => return Ok(vec![Handled::Ignored("test event")]),
            Ok(Notification::Records(records)) => records,
            Err(e) => {
                // No retry can make it parse; say so loudly and let it go.
                tracing::error!(error = %e, "unreadable notification dropped");
                return Ok(vec![Handled::Ignored("unreadable notification")]);
            }
        };
        let mut handled = Vec::with_capacity(records.len());
        for event in &records {
            let span = tracing::info_span!(
                "object",
                bucket = %event.bucket,
                key = %event.key,
                asset_id = %event.location().asset_id(),
            );
            // Boxed: the whole pipeline's future inline would make every caller's future huge.
            let outcome = Box::pin(self.handle_object(event, delivery))
                .instrument(span)
                .await?;
            handled.push(outcome);
        }
        Ok(handled)
    }

    async fn handle_object(
        &self,
        event: &ObjectEvent,
        delivery: &Delivery,
    ) -> Result<Handled, Retry> {
        if event.kind == EventKind::Other {
            return Ok(Handled::Ignored("neither a creation nor a removal"));
        }
        let upload = match Upload::try_from(event.under(&self.config.upload_prefix)) {
            Ok(upload) => upload,
            Err(why) => return Ok(Handled::Ignored(why.as_str())),
        };
        // Stop in time to record a failure, rather than be abandoned at the deadline.
        let finish_by = delivery
            .finish_by
            .and_then(|t| t.checked_sub(GIVE_UP_RESERVE));
        let intent = match event.kind {
            EventKind::Repair => Intent::Repair,
            _ => Intent::Upload,
        };
        let attempt = self.converger.ingest(&upload, intent);
        let finished = match finish_by {
            Some(by) => tokio::time::timeout_at(by.into(), attempt).await.ok(),
            None => Some(attempt.await),
        };
        // The log and the retry keep the full error; the record, which creators and event
        // subscribers read, only its class.
        let (error, reason) = match finished {
            Some(Ok(outcome)) => return Ok(report(self.function, &outcome)),
            Some(Err(e)) => (e.to_string(), e.public_reason()),
            None => {
                let why = "did not finish before the invocation's deadline";
                (why.to_string(), why)
            }
        };
        if !delivery.is_last {
            return Err(Retry(error));
        }
        // The queue will not deliver this again: leave a record of why before the DLQ.
        match self.converger.give_up(&upload, reason).await {
            Ok(Outcome::Written(asset)) => {
                tracing::error!(%error, "last delivery failed: recorded as failed");
                Emf::new(self.function)
                    .property("assetId", asset.id.as_str())
                    .dimension("Kind", pictor_core::ErrorKind::Transient.as_str())
                    .count("Failed", 1.0)
                    .count("GaveUp", 1.0)
                    .emit();
                Err(Retry(error))
            }
            Ok(outcome) => Ok(report(self.function, &outcome)),
            Err(e) => Err(Retry(format!(
                "{error}; recording the failure failed too: {e}"
            ))),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl AwsIngest {
    /// The handler on the AWS adapters `sdk` reaches, as `config` says, publishing its
    /// metrics as `function`: what the ingest and the cleanup binaries both serve.
    pub fn on_aws(sdk: &aws_config::SdkConfig, config: Config, function: &'static str) -> Self {
        let stores = pictor_aws::config::AwsStores::new(sdk, &config.output_bucket, &config.table);
        let events = pictor_aws::config::event_sink(sdk, config.event_bus.as_deref());
        let mut handler = Ingest::new(config, stores.originals, stores.renditions, stores.assets)
            .publishing_as(function);
        if let Some(sink) = events {
            handler = handler.with_events(sink);
        }
        handler
    }
}

impl<O, B, A> pictor_aws::function::Handler for Ingest<O, B, A>
where
    O: OriginalStore + 'static,
    B: BlobStore + 'static,
    A: AssetStore + 'static,
{
    type Error = HandlerError;

    async fn handle(&self, event: Value, deadline_ms: Option<u64>) -> Result<Value, HandlerError> {
        self.handle_until(event, deadline_ms).await
    }
}

/// Logs the outcome and emits its metrics as `function`.
fn report(function: &str, outcome: &Outcome) -> Handled {
    let id = outcome.asset_id().clone();
    let emf = Emf::new(function).property("assetId", id.as_str());
    match outcome {
        Outcome::Repeat(_) | Outcome::UpToDate(_) => {
            tracing::info!("duplicate or out-of-order notification: nothing to do");
            Handled::Duplicate
        }
        Outcome::Deleted(_) => {
            tracing::info!("the object is gone: renditions removed, record marked deleted");
            emf.count("Deleted", 1.0).emit();
            Handled::Deleted(id)
        }
        Outcome::AlreadyDeleted(_) | Outcome::SourceMissing(_) => {
            tracing::info!("the object is gone and its record says deleted");
            Handled::AlreadyDeleted(id)
        }
        Outcome::Unchanged(_) => {
            tracing::info!("same bytes under the same spec: unchanged");
            emf.count("Unchanged", 1.0).emit();
            Handled::Unchanged(id)
        }
        Outcome::Written(a) if a.status == AssetStatus::Ready => {
            let t = a.timings.clone().unwrap_or_default();
            tracing::info!(
                variants = a.renditions.len(),
                total_ms = t.total_ms,
                "ready"
            );
            let emf = t
                .by_stage()
                .fold(emf.count("Processed", 1.0), |emf, (stage, ms)| {
                    emf.millis(pictor_aws::metrics::stage_metric(stage), ms)
                });
            emf.bytes("BytesIn", a.source_bytes.unwrap_or(0) as f64)
                .bytes("BytesOut", a.bytes_out() as f64)
                .emit();
            Handled::Ready(id)
        }
        Outcome::Written(a) => {
            let error = a
                .error
                .clone()
                .unwrap_or_else(|| ProcessError::internal("failed without a reason"));
            tracing::warn!(kind = %error.kind, reason = %error.message, "failed");
            emf.dimension("Kind", error.kind.as_str())
                .count("Failed", 1.0)
                .emit();
            Handled::Failed(id, error)
        }
    }
}
