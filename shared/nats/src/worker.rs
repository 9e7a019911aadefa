//! The broker side of the queue worker. Notifications are published to a JetStream stream and
//! taken from one durable pull consumer that every worker shares, at most `in_flight` at a time
//! per worker. A handled notification is acknowledged; a transient failure is handed back with
//! a delay that doubles with each delivery; the last allowed delivery, if it fails too, is
//! published to the dead-letter subject with its reason and then acknowledged, the same rule as
//! the SQS queue's redrive policy on AWS. A worker that dies holding a notification leaves it to
//! JetStream, which delivers it again after `ack_wait`.

use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use async_nats::jetstream::{self, stream, AckKind};
use async_trait::async_trait;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How long one pull waits for a notification; also how long a stopping worker may wait for
/// the pull it has out.
const PULL_WAIT: Duration = Duration::from_secs(2);

/// The pause before the next pull after a delivery failed, doubled while they keep failing.
const FIRST_HOLD_BACK: Duration = Duration::from_millis(500);
const MAX_HOLD_BACK: Duration = Duration::from_secs(30);

/// How a delivery went, for the pace of the next pulls.
enum Went {
    Answered,
    HandedBack,
}

/// Where notifications come from and how they are retried.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The stream notifications are kept in, and the subject they are published to.
    pub stream: String,
    pub subject: String,
    /// The durable consumer: workers that share its name share the work.
    pub consumer: String,
    /// Where a notification goes when its last delivery failed (a stream of its own keeps it
    /// until an operator redrives it).
    pub dead_letters: String,
    /// Deliveries of one notification at most (the first included).
    pub max_deliver: i64,
    /// How long a worker may stay silent about a delivery before JetStream delivers it again.
    /// A worker at work on one says so every third of it, so this bounds how long a dead
    /// worker's notifications wait, not how long a picture may take.
    pub ack_wait: Duration,
    /// The wait before the second delivery after a transient failure; doubled for each one
    /// after it, up to a minute.
    pub retry_delay: Duration,
    /// Notifications one worker handles at once.
    pub in_flight: usize,
    /// Asset events are published under this subject (`<events>.AssetReady`, ...), kept in
    /// a stream of their own.
    pub events: String,
}

impl Settings {
    /// Names under `prefix`: stream `<PREFIX>_UPLOADS` on subject `<prefix>.uploads`, consumer
    /// `<prefix>-ingest`, dead letters on `<prefix>.dead.uploads`, events under
    /// `<prefix>.events`; four deliveries, as the CDK app's queues allow.
    pub fn named(prefix: &str) -> Settings {
        Settings {
            stream: format!("{}_UPLOADS", prefix.to_uppercase().replace(['.', '-'], "_")),
            subject: format!("{prefix}.uploads"),
            consumer: format!("{prefix}-ingest"),
            dead_letters: format!("{prefix}.dead.uploads"),
            max_deliver: 4,
            ack_wait: Duration::from_secs(60),
            retry_delay: Duration::from_secs(5),
            in_flight: 2,
            events: format!("{prefix}.events"),
        }
    }

    pub fn dead_letter_stream(&self) -> String {
        format!("{}_DEAD", self.stream)
    }

    pub fn events_stream(&self) -> String {
        format!("{}_EVENTS", self.stream)
    }

    /// The wait before delivery `next` (2 or later) of a notification.
    fn backoff(&self, next: u64) -> Duration {
        let doublings = next.saturating_sub(2).min(16) as u32;
        self.retry_delay
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(Duration::from_secs(60))
    }
}

/// One delivery of a notification.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub body: String,
    /// 1 for the first delivery.
    pub number: u64,
    /// No other delivery follows if this one fails.
    pub is_last: bool,
}

/// What the worker hands notifications to.
#[async_trait]
pub trait DeliveryHandler: Send + Sync {
    /// Called before the attempt of a last delivery, so a worker killed during it still leaves
    /// a trace (the ingest handler records the upload as FAILED `transient` first).
    async fn before_last(&self, _body: &str) {}
    /// `Err(reason)` when the notification must be delivered again (or, on its last delivery,
    /// go to the dead letters).
    async fn handle(&self, delivery: &Delivery) -> Result<(), String>;
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("JetStream stream {name}: {reason}")]
    Stream { name: String, reason: String },
    #[error("JetStream consumer {name}: {reason}")]
    Consumer { name: String, reason: String },
}

pub struct Worker {
    jetstream: jetstream::Context,
    settings: Settings,
}

/// The header that says why a dead letter died, and the one that says after how many tries.
pub const REASON_HEADER: &str = "Pictor-Reason";
pub const DELIVERIES_HEADER: &str = "Pictor-Deliveries";

impl Worker {
    pub async fn connect(url: &str, settings: Settings) -> Result<Worker, WorkerError> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| WorkerError::Connect {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Worker {
            jetstream: jetstream::new(client),
            settings,
        })
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Creates the streams of the notifications, the dead letters and the asset events,
    /// keeping any that exist.
    pub async fn ensure_streams(&self) -> Result<(), WorkerError> {
        let s = &self.settings;
        let wanted = [
            (s.stream.clone(), s.subject.clone()),
            (s.dead_letter_stream(), s.dead_letters.clone()),
            (s.events_stream(), format!("{}.>", s.events)),
        ];
        for (name, subject) in wanted {
            self.jetstream
                .get_or_create_stream(stream::Config {
                    name: name.clone(),
                    subjects: vec![subject],
                    ..Default::default()
                })
                .await
                .map_err(|e| WorkerError::Stream {
                    name,
                    reason: e.to_string(),
                })?;
        }
        Ok(())
    }

    async fn consumer(&self) -> Result<PullConsumer, WorkerError> {
        let s = &self.settings;
        let failed = |e: &dyn std::fmt::Display| WorkerError::Consumer {
            name: s.consumer.clone(),
            reason: e.to_string(),
        };
        let stream = self
            .jetstream
            .get_stream(&s.stream)
            .await
            .map_err(|e| failed(&e))?;
        stream
            .get_or_create_consumer(
                &s.consumer,
                pull::Config {
                    durable_name: Some(s.consumer.clone()),
                    ack_policy: AckPolicy::Explicit,
                    max_deliver: s.max_deliver,
                    ack_wait: s.ack_wait,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| failed(&e))
    }

    /// Takes notifications until `stop` says so, then finishes what it holds. A notification
    /// is pulled only when a slot is free, so a worker never holds more than `in_flight`: one
    /// waiting in a buffer would see its acknowledgement wait run out and go to another
    /// worker. The connection is kept by the client through a broker restart; a pull that
    /// fails is tried again a second later, the consumer looked up anew.
    pub async fn run<H: DeliveryHandler>(
        &self,
        handler: &H,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), WorkerError> {
        let in_flight = self.settings.in_flight.max(1);
        let mut handling = FuturesUnordered::new();
        let mut consumer: Option<PullConsumer> = None;
        let mut pulling = None;
        let mut retry_at: Option<Instant> = None;
        let mut holding_back = Duration::ZERO;
        let mut unstoppable = false;
        loop {
            let stopping = *stop.borrow();
            let may_pull = retry_at.is_none_or(|at| Instant::now() >= at);
            if !stopping && pulling.is_none() && may_pull && handling.len() < in_flight {
                retry_at = None;
                pulling = Some(Box::pin(self.pull_one(consumer.take())));
            }
            if stopping && pulling.is_none() && handling.is_empty() {
                return Ok(());
            }
            let retry = async {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(went) = handling.next(), if !handling.is_empty() => {
                    // While deliveries fail (a store down), pull less and less often rather
                    // than spend every waiting notification's deliveries on the outage.
                    holding_back = match went {
                        Went::Answered => Duration::ZERO,
                        Went::HandedBack => (holding_back * 2)
                            .clamp(FIRST_HOLD_BACK, MAX_HOLD_BACK),
                    };
                    if !holding_back.is_zero() {
                        retry_at = Some(Instant::now() + holding_back);
                    }
                }
                (kept, pulled) = async {
                    match pulling.as_mut() {
                        Some(pull) => pull.await,
                        None => std::future::pending().await,
                    }
                }, if pulling.is_some() =>
                {
                    pulling = None;
                    consumer = kept;
                    match pulled {
                        Ok(Some(message)) => handling.push(self.handle_one(handler, message)),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot pull notifications; trying again");
                            retry_at = Some(Instant::now() + Duration::from_secs(1));
                        }
                    }
                }
                () = retry => {}
                changed = stop.changed(), if !stopping && !unstoppable => {
                    // The sender is gone: no stop can come any more, so stop listening for
                    // one rather than wake on its closed channel again and again.
                    unstoppable = changed.is_err();
                }
            }
        }
    }

    /// One notification, or none if none came within a few seconds. Hands back the consumer
    /// for the next pull, unless it failed.
    async fn pull_one(
        &self,
        cached: Option<PullConsumer>,
    ) -> (
        Option<PullConsumer>,
        Result<Option<jetstream::Message>, String>,
    ) {
        let consumer = match cached {
            Some(consumer) => consumer,
            None => match self.consumer().await {
                Ok(consumer) => consumer,
                Err(e) => return (None, Err(e.to_string())),
            },
        };
        let pulled = consumer
            .batch()
            .max_messages(1)
            .expires(PULL_WAIT)
            .messages()
            .await;
        let mut batch = match pulled {
            Ok(batch) => batch,
            Err(e) => return (None, Err(e.to_string())),
        };
        match batch.next().await {
            Some(Ok(message)) => (Some(consumer), Ok(Some(message))),
            Some(Err(e)) => (None, Err(e.to_string())),
            None => (Some(consumer), Ok(None)),
        }
    }

    async fn handle_one<H: DeliveryHandler>(
        &self,
        handler: &H,
        message: jetstream::Message,
    ) -> Went {
        let number = match message.info() {
            Ok(info) => info.delivered.max(1) as u64,
            Err(e) => {
                tracing::warn!(error = %e, "a message without JetStream metadata, dropped");
                return Went::Answered;
            }
        };
        let is_last = self.settings.max_deliver > 0 && number >= self.settings.max_deliver as u64;
        let body = String::from_utf8_lossy(&message.payload).into_owned();
        if is_last {
            handler.before_last(&body).await;
        }
        let delivery = Delivery {
            body,
            number,
            is_last,
        };
        let answered = match self.keeping(&message, handler.handle(&delivery)).await {
            Ok(()) => message.ack().await,
            Err(reason) if is_last => {
                match self.dead_letter(&delivery, &reason).await {
                    Ok(()) => {
                        tracing::error!(%reason, deliveries = number, "dead-lettered");
                        message.ack().await
                    }
                    // Not acknowledged: JetStream delivers it no more, but the handler has
                    // recorded the failure, and the reconciler sees the upload.
                    Err(e) => {
                        tracing::error!(%reason, error = %e, "the dead letter was not kept");
                        return Went::HandedBack;
                    }
                }
            }
            Err(reason) => {
                tracing::warn!(%reason, delivery = number, "handed back for a later delivery");
                let wait = self.settings.backoff(number + 1);
                if let Err(e) = message.ack_with(AckKind::Nak(Some(wait))).await {
                    tracing::warn!(error = %e, "could not hand a delivery back");
                }
                return Went::HandedBack;
            }
        };
        if let Err(e) = answered {
            // The delivery comes back after `ack_wait`: handled again, which the handler
            // recognises as a repeat.
            tracing::warn!(error = %e, "could not answer a delivery");
        }
        Went::Answered
    }

    /// Runs `work`, telling JetStream every third of `ack_wait` that the delivery is still in
    /// hand, so a long picture is not delivered to a second worker meanwhile.
    async fn keeping<T>(
        &self,
        message: &jetstream::Message,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let every = (self.settings.ack_wait / 3).max(Duration::from_millis(100));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return done,
                _ = ticks.tick() => {
                    if let Err(e) = message.ack_with(AckKind::Progress).await {
                        tracing::warn!(error = %e, "could not say a delivery is in hand");
                    }
                }
            }
        }
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), String> {
        let mut headers = async_nats::HeaderMap::new();
        // Header values are one line.
        headers.insert(REASON_HEADER, reason.replace(['\r', '\n'], " ").as_str());
        headers.insert(DELIVERIES_HEADER, delivery.number.to_string().as_str());
        let ack = self
            .jetstream
            .publish_with_headers(
                self.settings.dead_letters.clone(),
                headers,
                delivery.body.clone().into(),
            )
            .await
            .map_err(|e| e.to_string())?;
        ack.await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_from_the_second_delivery_up_to_a_minute() {
        let s = Settings::named("t");
        let waits: Vec<u64> = (2..=7).map(|n| s.backoff(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
        assert_eq!(s.stream, "T_UPLOADS");
    }
}
