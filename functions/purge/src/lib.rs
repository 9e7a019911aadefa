//! The purge function: deleted means gone from the CDN too. Its queue receives the asset
//! bus's `AssetDeleted` events; for a whole batch of them it asks CloudFront, in one
//! invalidation, to drop the renditions each tombstone lists as owed
//! (`pictor_core::app::purge`), then clears those lists. If CloudFront refuses or is busy, the
//! whole batch is retried, then kept in the dead-letter queue, and the daily reconcile
//! pass purges what is still owed.

mod config;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
pub use config::{Config, ConfigError, ENV_VARS};
use pictor_aws::metrics::Emf;
use pictor_core::app::purge::purge_cdn;
use pictor_core::ports::{AssetStore, CdnPurge};
use pictor_core::AssetId;
use serde_json::Value;

/// The handler, over the asset store and the CDN (`main` wires DynamoDB and CloudFront).
pub struct Purge<A, C> {
    assets: A,
    cdn: C,
}

impl<A: AssetStore, C: CdnPurge> Purge<A, C> {
    pub fn new(assets: A, cdn: C) -> Self {
        Purge { assets, cdn }
    }

    /// An SQS batch of asset events in, the messages to retry out: none, or (when the purge
    /// failed) all that named an asset.
    pub async fn handle(&self, event: Value) -> Value {
        let batch: SqsEvent = match serde_json::from_value(event) {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(error = %e, "not an SQS batch: nothing to purge");
                return serde_json::json!({ "batchItemFailures": [] });
            }
        };
        let mut ids = Vec::new();
        let mut messages = Vec::new();
        for message in &batch.records {
            match message.body.as_deref().and_then(deleted_asset) {
                Some(id) => {
                    ids.push(id);
                    messages.push(message.message_id.clone().unwrap_or_default());
                }
                None => tracing::warn!(
                    message_id = ?message.message_id,
                    "not an AssetDeleted event: ignored"
                ),
            }
        }
        let mut response = SqsBatchResponse::default();
        match purge_cdn(&self.assets, &self.cdn, &ids).await {
            Ok(done) => {
                tracing::info!(assets = done.assets, keys = done.keys, "purged");
                Emf::new("purge")
                    .count("Purged", done.assets as f64)
                    .count("PathsInvalidated", done.keys as f64)
                    .emit();
            }
            Err(e) => {
                tracing::error!(error = %e, assets = ids.len(), "purge failed: the batch will be retried");
                for id in messages {
                    let mut item = BatchItemFailure::default();
                    item.item_identifier = id;
                    response.batch_item_failures.push(item);
                }
            }
        }
        serde_json::to_value(response).unwrap_or_else(|_| serde_json::json!({}))
    }
}

/// The asset an EventBridge `AssetDeleted` event (as its rule delivers it to SQS) names.
fn deleted_asset(body: &str) -> Option<AssetId> {
    let event: Value = serde_json::from_str(body).ok()?;
    if event["detail-type"] != "AssetDeleted" {
        return None;
    }
    AssetId::parse(event["detail"]["id"].as_str()?).ok()
}

impl<A: AssetStore + 'static, C: CdnPurge + 'static> pictor_aws::function::Handler for Purge<A, C> {
    /// A batch answers which messages to retry; the invocation itself never fails.
    type Error = std::convert::Infallible;

    async fn handle(
        &self,
        event: Value,
        _deadline_ms: Option<u64>,
    ) -> Result<Value, std::convert::Infallible> {
        Ok(Purge::handle(self, event).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_asset_deleted_events_name_an_asset() {
        let id = AssetId::for_source("s3://up/uploads/ana/a.jpg");
        let event = |kind: &str| {
            serde_json::json!({"detail-type": kind, "source": "pictor", "detail": {"id": id}})
                .to_string()
        };
        assert_eq!(deleted_asset(&event("AssetDeleted")), Some(id.clone()));
        assert_eq!(deleted_asset(&event("AssetReady")), None);
        assert_eq!(deleted_asset("not json"), None);
    }
}
