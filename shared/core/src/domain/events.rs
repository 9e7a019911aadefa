//! Events out: after a record changes state, apps learn it from an event instead of polling.
//! `AssetReady`, `AssetFailed` and `AssetDeleted` carry the asset's public JSON and its
//! creator, never a bucket or a path.
//!
//! Delivery is at least once: the record is written first and the event published after;
//! the record notes the version it announced (`Asset::announced`), so an ingest that finds
//! its record unannounced (the publish failed, or the process died in between) publishes
//! again, and the reconciler does the same for every record. Consumers deduplicate by
//! `id` and `version`. Records written before events existed owe none: upgrading does not
//! replay the history.

use crate::domain::asset::{Asset, AssetStatus};
use crate::domain::asset_json::asset_json;
use serde_json::Value;

/// The source every event names, on any bus.
pub const EVENT_SOURCE: &str = "pictor";

/// What happened to an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    AssetReady,
    AssetFailed,
    AssetDeleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::AssetReady => "AssetReady",
            EventKind::AssetFailed => "AssetFailed",
            EventKind::AssetDeleted => "AssetDeleted",
        }
    }

    pub fn of(status: AssetStatus) -> EventKind {
        match status {
            AssetStatus::Ready => EventKind::AssetReady,
            AssetStatus::Failed => EventKind::AssetFailed,
            AssetStatus::Deleted => EventKind::AssetDeleted,
        }
    }
}

/// One event, ready for any bus.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetEvent {
    pub kind: EventKind,
    /// `{"id", "creator", "version", "asset": <public JSON without its source>}`; for
    /// `AssetDeleted`, `{"id", "creator", "version", "at"}` and nothing of the picture.
    pub detail: Value,
}

impl AssetEvent {
    /// The event as an EventBridge rule delivers it (`source`, `detail-type`, `time`,
    /// `detail`): the shape every sink that writes JSON itself (a file, a NATS subject) uses.
    pub fn envelope(&self, at: time::OffsetDateTime) -> Value {
        let time = at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        serde_json::json!({
            "source": EVENT_SOURCE,
            "detail-type": self.kind.as_str(),
            "time": time,
            "detail": self.detail,
        })
    }

    pub fn of(asset: &Asset) -> AssetEvent {
        if asset.status == AssetStatus::Deleted {
            let at = asset
                .updated_at
                .format(&time::format_description::well_known::Rfc3339)
                .ok();
            return AssetEvent {
                kind: EventKind::AssetDeleted,
                detail: serde_json::json!({
                    "id": asset.id,
                    "creator": asset.creator,
                    "version": asset.version,
                    "at": at,
                }),
            };
        }
        let mut public = asset_json(asset);
        if let Some(fields) = public.as_object_mut() {
            // The original's key or path says where uploads are kept: not for subscribers.
            fields.remove("source");
        }
        AssetEvent {
            kind: EventKind::of(asset.status),
            detail: serde_json::json!({
                "id": asset.id,
                "creator": asset.creator,
                "version": asset.version,
                "asset": public,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::samples::SampleAsset;

    #[test]
    fn events_carry_the_public_json_without_the_source() {
        let asset = SampleAsset::numbered(1, "ana").build();
        let event = AssetEvent::of(&asset);
        assert_eq!(event.kind, EventKind::AssetReady);
        assert_eq!(event.detail["creator"], "ana");
        assert_eq!(event.detail["id"], asset.id.as_str());
        assert!(event.detail["asset"]["variants"].is_array());
        assert!(event.detail["asset"].get("source").is_none());
        assert!(!event.detail.to_string().contains(&asset.source_identity));
    }

    /// Deleted means gone: the event names the asset, whose it was and when, and nothing of
    /// the picture, even from a record an older release tombstoned with its facts kept.
    #[test]
    fn a_deletion_announces_only_who_and_when() {
        let asset = SampleAsset::numbered(2, "ana")
            .status(AssetStatus::Deleted)
            .sha256("ab".repeat(32))
            .build();
        assert!(asset.sha256.is_some());
        let event = AssetEvent::of(&asset);
        assert_eq!(event.kind, EventKind::AssetDeleted);
        let fields: Vec<&String> = event.detail.as_object().unwrap().keys().collect();
        assert_eq!(fields, ["at", "creator", "id", "version"]);
        assert_eq!(event.detail["creator"], "ana");
        assert_eq!(event.detail["version"], asset.version);
    }
}
