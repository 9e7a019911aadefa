//! Asset events to JetStream: `<prefix>.AssetReady`, `.AssetFailed`, `.AssetDeleted`, each the
//! envelope an EventBridge rule delivers. Published with JetStream's acknowledgement, so an
//! event counts as announced only once a stream holds it; subscribers read that stream.

use async_trait::async_trait;
use pictor_core::domain::events::AssetEvent;
use pictor_core::ports::{EventSink, StoreError};

pub struct NatsEvents {
    jetstream: async_nats::jetstream::Context,
    prefix: String,
}

impl NatsEvents {
    /// Events go to `<prefix>.<detail-type>`; a stream over `<prefix>.>` must hold them
    /// (`Worker::ensure_streams` makes one for `Settings::events`).
    pub fn new(jetstream: async_nats::jetstream::Context, prefix: impl Into<String>) -> Self {
        NatsEvents {
            jetstream,
            prefix: prefix.into(),
        }
    }
}

#[async_trait]
impl EventSink for NatsEvents {
    async fn announce(&self, event: &AssetEvent) -> Result<(), StoreError> {
        let subject = format!("{}.{}", self.prefix, event.kind.as_str());
        let payload = event.envelope(time::OffsetDateTime::now_utc()).to_string();
        // Whatever went wrong, the record is written and the event is owed: retry later.
        let unavailable = |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("nats: {e}"));
        let ack = self
            .jetstream
            .publish(subject, payload.into())
            .await
            .map_err(|e| unavailable(&e))?;
        ack.await.map_err(|e| unavailable(&e))?;
        Ok(())
    }
}
