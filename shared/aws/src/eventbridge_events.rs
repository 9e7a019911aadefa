//! Asset events to an EventBridge bus: source `pictor`, detail type `AssetReady`,
//! `AssetFailed` or `AssetDeleted`, the detail as `pictor_core::domain::events` builds it. Apps
//! subscribe with a rule on the bus (the CDK app creates the bus and an example rule).

use async_trait::async_trait;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use pictor_core::domain::events::AssetEvent;
use pictor_core::domain::events::EVENT_SOURCE;
use pictor_core::ports::EventSink;
use pictor_core::ports::StoreError;

pub struct EventBridgeEvents {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgeEvents {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        EventBridgeEvents {
            client,
            bus: bus.into(),
        }
    }
}

/// Entry error codes that a later attempt may not meet.
const TRANSIENT_ENTRY_CODES: &[&str] = &[
    "ThrottlingException",
    "InternalException",
    "InternalFailure",
];

#[async_trait]
impl EventSink for EventBridgeEvents {
    async fn announce(&self, event: &AssetEvent) -> Result<(), StoreError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(EVENT_SOURCE)
            .detail_type(event.kind.as_str())
            .detail(event.detail.to_string())
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            // Whatever went wrong, the record is written and the event is owed: retry.
            .map_err(|e| {
                StoreError::Unavailable(format!("put_events: {}", DisplayErrorContext(e)))
            })?;
        if out.failed_entry_count() == 0 {
            return Ok(());
        }
        let failed = out.entries().iter().find(|e| e.error_code().is_some());
        let code = failed.and_then(|e| e.error_code()).unwrap_or("unknown");
        let message = failed.and_then(|e| e.error_message()).unwrap_or_default();
        let text = format!("put_events refused the event: {code} {message}");
        Err(if TRANSIENT_ENTRY_CODES.contains(&code) {
            StoreError::Unavailable(text)
        } else {
            StoreError::Other(text)
        })
    }
}
