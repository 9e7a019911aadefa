//! The planning entry point: select the assets to process again (`pictor_core::reprocess`)
//! and hand their originals to AWS, either as an S3 Batch Operations manifest (for millions)
//! or as notifications on the ingest queue (for a few thousand, no job to create).
//!
//! Planning is idempotent: it selects only what processing again can change, so planning
//! again after a job finished selects nothing, and after a job stopped half-way selects only
//! the rest.

use pictor_aws::events::encode_key;
use pictor_core::ports::StoreError;
use pictor_core::reprocess::{Candidate, Selection};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Key prefix of manifests in the output bucket.
pub const MANIFEST_PREFIX: &str = "manifests/";

/// `{"plan": {...}}`, as an operator invokes the function.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanRequest {
    #[serde(default)]
    pub select: Selection,
    #[serde(default)]
    pub target: Target,
    /// Count and show, write and send nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// A CSV manifest (`bucket,key`) for an S3 Batch Operations job invoking this function.
    #[default]
    Manifest,
    /// One S3-notification-shaped message per original on the ingest queue.
    Queue,
}

/// Where the manifest went; `etag` is what `s3control create-job` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestRef {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub rows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanResult {
    pub spec_hash: String,
    pub selected: usize,
    pub by_reason: BTreeMap<&'static str, usize>,
    /// Records whose source is not an S3 object (made by a local run): left out.
    pub skipped: usize,
    pub target: Target,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ManifestRef>,
    pub enqueued: usize,
    /// Up to `SAMPLE` selected sources, to check a plan before running it.
    pub sample: Vec<Candidate>,
}

pub const SAMPLE: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("reading the asset table: {0}")]
    Store(#[from] StoreError),
    #[error("a queue plan needs PICTOR_INGEST_QUEUE_URL")]
    NoQueue,
    #[error("writing the manifest: {0}")]
    Manifest(String),
    #[error("sending to the ingest queue: {0}")]
    Queue(String),
}

/// The bucket and key of an `s3://bucket/key` source identity.
pub fn s3_location(identity: &str) -> Option<(&str, &str)> {
    let rest = identity.strip_prefix("s3://")?;
    rest.split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
}

/// The notification the ingest function receives for an upload, minus what a replay cannot
/// know (size, sequencer). Without a sequencer the ingest function cannot mistake it for a
/// repeat of the original notification, so it processes the object as it is now.
pub fn replay_notification(bucket: &str, key: &str) -> String {
    serde_json::json!({
        "Records": [{
            "eventSource": "pictor:reprocess",
            "eventName": "ObjectCreated:Replay",
            "s3": {"bucket": {"name": bucket}, "object": {"key": encode_key(key)}}
        }]
    })
    .to_string()
}

/// One manifest row: CSV with the key URL-encoded, as S3 Batch Operations requires.
pub fn manifest_row(bucket: &str, key: &str) -> String {
    format!("{bucket},{}\n", encode_key(key))
}

impl PlanResult {
    pub fn new(spec_hash: &str, request: &PlanRequest) -> PlanResult {
        PlanResult {
            spec_hash: spec_hash.to_string(),
            selected: 0,
            by_reason: BTreeMap::new(),
            skipped: 0,
            target: request.target,
            dry_run: request.dry_run,
            manifest: None,
            enqueued: 0,
            sample: Vec::new(),
        }
    }

    /// Counts one page of candidates; returns the (bucket, key) of each S3 original on it.
    pub fn tally(&mut self, page: Vec<Candidate>) -> Vec<(String, String)> {
        let mut originals = Vec::with_capacity(page.len());
        for c in page {
            let Some((bucket, key)) = s3_location(&c.source_identity) else {
                self.skipped += 1;
                continue;
            };
            originals.push((bucket.to_string(), key.to_string()));
            self.selected += 1;
            *self.by_reason.entry(c.reason.as_str()).or_default() += 1;
            if self.sample.len() < SAMPLE {
                self.sample.push(c);
            }
        }
        originals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_rows_and_replays() {
        assert_eq!(
            s3_location("s3://up/uploads/a b.jpg"),
            Some(("up", "uploads/a b.jpg"))
        );
        assert_eq!(s3_location("file:///tmp/a.jpg"), None);
        assert_eq!(s3_location("s3://up/"), None);
        assert_eq!(
            manifest_row("up", "uploads/a b,c.jpg"),
            "up,uploads/a%20b%2Cc.jpg\n"
        );
        let replay = replay_notification("up", "uploads/ana/a+b.jpg");
        let pictor_aws::events::Notification::Records(records) =
            pictor_aws::events::parse(&replay).unwrap()
        else {
            panic!("records expected")
        };
        assert_eq!(records[0].key, "uploads/ana/a+b.jpg");
        assert_eq!(records[0].kind, pictor_aws::events::EventKind::Created);
        assert_eq!(records[0].revision, pictor_core::Revision::default());
    }

    #[test]
    fn plan_requests_refuse_unknown_fields() {
        let ok: PlanRequest = serde_json::from_value(serde_json::json!({
            "select": {"staleSpec": true, "status": "failed", "prefix": "uploads/ana/"},
            "target": "queue",
            "dryRun": true
        }))
        .unwrap();
        assert!(ok.select.stale_spec && ok.dry_run && ok.target == Target::Queue);
        assert!(serde_json::from_value::<PlanRequest>(serde_json::json!({"selct": {}})).is_err());
        assert!(serde_json::from_value::<PlanRequest>(
            serde_json::json!({"select": {"stale": true}})
        )
        .is_err());
    }
}
