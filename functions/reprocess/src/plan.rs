//! The planning entry point: select the assets to process again (`pictor_core::app::reprocess`)
//! and hand their originals to AWS, either as an S3 Batch Operations manifest (for millions)
//! or as notifications on the ingest queue (for a few thousand, no job to create).
//!
//! Planning is idempotent: it selects only what processing again can change, so planning
//! again after a job finished selects nothing, and after a job stopped half-way selects only
//! the rest.

use pictor_aws::events::{encode_key, replay_notification};
use pictor_core::app::reprocess::{Candidate, Selection};
use pictor_core::domain::layout;
use pictor_core::domain::presets::DEFAULT_PRESET;
use pictor_core::ports::{AssetStore, StoreError};
use pictor_core::Presets;
use pictor_core::SourceLocation;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
            let Ok(SourceLocation::S3 { bucket, key }) = c.location() else {
                self.skipped += 1;
                continue;
            };
            originals.push((bucket, key));
            self.selected += 1;
            *self.by_reason.entry(c.reason.as_str()).or_default() += 1;
            if self.sample.len() < SAMPLE {
                self.sample.push(c);
            }
        }
        originals
    }
}

/// Where plans hand originals over: the output bucket for manifests, the ingest queue.
pub struct Planner {
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    output_bucket: String,
    ingest_queue_url: Option<String>,
}

impl Planner {
    pub fn new(
        s3: aws_sdk_s3::Client,
        sqs: aws_sdk_sqs::Client,
        output_bucket: String,
        ingest_queue_url: Option<String>,
    ) -> Planner {
        Planner {
            s3,
            sqs,
            output_bucket,
            ingest_queue_url,
        }
    }

    /// Selects from `assets` against the presets' current specs and hands the originals over
    /// as `request` says. The result names the spec hash of the preset selected (the
    /// default one when the selection names none).
    pub async fn plan<A: AssetStore + ?Sized>(
        &self,
        assets: &A,
        presets: &Presets,
        request: &PlanRequest,
    ) -> Result<PlanResult, PlanError> {
        let spec_hash = presets.hash_of(request.select.preset.as_deref().unwrap_or(DEFAULT_PRESET));
        let queue = match (request.target, &self.ingest_queue_url) {
            (Target::Queue, None) => return Err(PlanError::NoQueue),
            (_, queue) => queue.clone(),
        };
        let mut result = PlanResult::new(spec_hash, request);
        let mut manifest = String::new();
        let mut cursor = None;
        loop {
            let (page, next) = request.select.select_page(assets, presets, cursor).await?;
            let originals = result.tally(page);
            match (request.dry_run, &queue) {
                (true, _) => {}
                (false, Some(url)) if request.target == Target::Queue => {
                    result.enqueued += self.enqueue(url, &originals).await?;
                }
                (false, _) => {
                    for (bucket, key) in &originals {
                        manifest.push_str(&manifest_row(bucket, key));
                    }
                }
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        if !request.dry_run && request.target == Target::Manifest && result.selected > 0 {
            let rows = result.selected;
            result.manifest = Some(self.write_manifest(manifest, spec_hash, rows).await?);
        }
        Ok(result)
    }

    async fn write_manifest(
        &self,
        csv: String,
        spec_hash: &str,
        rows: usize,
    ) -> Result<ManifestRef, PlanError> {
        let stamp = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .map_err(|e| PlanError::Manifest(e.to_string()))?;
        let key = format!(
            "{}reprocess-{stamp}-{}.csv",
            layout::MANIFESTS,
            &spec_hash[..spec_hash.len().min(12)]
        );
        let out = self
            .s3
            .put_object()
            .bucket(&self.output_bucket)
            .key(&key)
            .content_type("text/csv")
            .body(csv.into_bytes().into())
            .send()
            .await
            .map_err(|e| {
                PlanError::Manifest(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
            })?;
        Ok(ManifestRef {
            bucket: self.output_bucket.clone(),
            key,
            etag: out
                .e_tag()
                .unwrap_or_default()
                .trim_matches('"')
                .to_string(),
            rows,
        })
    }

    /// Sends one replayed notification per original, ten per request.
    async fn enqueue(
        &self,
        queue_url: &str,
        originals: &[(String, String)],
    ) -> Result<usize, PlanError> {
        let bodies: Vec<String> = originals
            .iter()
            .map(|(bucket, key)| replay_notification(bucket, key))
            .collect();
        pictor_aws::sqs_repairs::enqueue_notifications(&self.sqs, queue_url, &bodies)
            .await
            .map_err(|e| PlanError::Queue(e.to_string()))?;
        Ok(bodies.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_rows_are_url_encoded_csv() {
        assert_eq!(
            manifest_row("up", "uploads/a b,c.jpg"),
            "up,uploads/a%20b%2Cc.jpg\n"
        );
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
