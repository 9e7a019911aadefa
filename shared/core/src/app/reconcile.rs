//! Repair of what drifts anyway. Notifications can be lost for good (a dead-letter queue
//! expires, a function is misconfigured for a day), a process can die between two writes, a
//! delete can fail. The reconciler compares the three places state lives — the originals
//! under a root, the records, and the renditions — and converges each difference through the
//! same use case a notification would, so the repair follows exactly the rules of normal
//! operation.

use crate::app::ingest::{Converger, IngestError, Intent};
use crate::domain::asset::{Asset, AssetId, AssetStatus};
use crate::domain::layout;
use crate::domain::source::{SourceLocation, Upload};
use crate::ports::{
    AssetQuery, AssetStore, BlobStore, OriginalStore, Repair, RepairHandoff, StoreError, MAX_PAGE,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// How a pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileOptions {
    /// Count what is wrong, change nothing.
    pub dry_run: bool,
    /// Renditions no record references are deleted only once they are older than this: an
    /// ingest in flight writes its renditions before its record.
    pub grace: Duration,
    /// How long the pass may spend converging differences itself. What is left then is handed
    /// off (see [`Converger::with_repair_handoff`]) or left to the next pass; orphans are still
    /// deleted and the counts still published. `None`: no limit (a run on one machine).
    pub repair_for: Option<std::time::Duration>,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        ReconcileOptions {
            dry_run: false,
            grace: Duration::hours(1),
            repair_for: None,
        }
    }
}

/// Repairs sent to the handoff in one call.
const HANDOFF_CHUNK: usize = 500;
/// Orphans deleted in one call.
const DELETE_CHUNK: usize = 1000;

/// What a pass found, class by class, and what it repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    /// When the pass ran.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub at: Option<OffsetDateTime>,
    pub dry_run: bool,
    /// Originals listed under the root.
    pub originals: u64,
    /// Records of originals under the root (any status).
    pub records: u64,
    /// Originals with no record, or a DELETED one (a lost notification, a restore).
    pub unrecorded: u64,
    /// Records of another write than the one the store now lists (a lost overwrite).
    pub outdated: u64,
    /// Live records whose original is gone (a lost delete).
    pub gone: u64,
    /// READY records missing renditions they list.
    pub broken: u64,
    /// Renditions no record references, older than the grace period.
    pub orphans: u64,
    /// Renditions no record references yet, younger than the grace period: left alone.
    pub young_orphans: u64,
    /// Records whose latest state's event is not out (a publish failed): published again.
    #[serde(default)]
    pub unannounced: u64,
    /// Records listing removed renditions a CDN may still serve (a purge failed): purged.
    #[serde(default)]
    pub unpurged: u64,
    /// Differences converged (zero on a dry run).
    pub repaired: u64,
    /// Differences whose repair failed; a later pass tries again.
    pub failed: u64,
    /// Differences this pass had no time for, queued for the ingest function.
    #[serde(default)]
    pub handed_off: u64,
    /// Differences this pass had no time for and nowhere to hand: the next pass takes them.
    #[serde(default)]
    pub deferred: u64,
}

impl ReconcileReport {
    /// Differences found, whether or not they were repaired.
    pub fn drift(&self) -> u64 {
        self.unrecorded
            + self.outdated
            + self.gone
            + self.broken
            + self.orphans
            + self.unannounced
            + self.unpurged
    }
}

/// One difference between the originals and the records, and how it is converged.
struct Difference {
    location: SourceLocation,
    creator: Option<String>,
    preset: Option<String>,
    intent: Intent,
}

/// One reconcile pass at a time over the originals under a root, the records and the
/// renditions, converging every difference through the ingest use case.
pub struct Reconciler<'a, O, B, A> {
    converger: &'a Converger<O, B, A>,
    handoff: Option<Arc<dyn RepairHandoff>>,
}

impl<'a, O: OriginalStore, B: BlobStore, A: AssetStore> Reconciler<'a, O, B, A> {
    /// A reconciler that converges through `converger`, the same use case notifications run.
    pub fn new(converger: &'a Converger<O, B, A>) -> Self {
        Reconciler {
            converger,
            handoff: None,
        }
    }

    /// Hands the repairs a pass has no time for to `handoff` (the queue the ingest function
    /// reads), instead of leaving them to the next pass.
    pub fn with_handoff(mut self, handoff: Arc<dyn RepairHandoff>) -> Self {
        self.handoff = Some(handoff);
        self
    }

    /// One reconcile pass over the originals under `root` (an S3 bucket and prefix, or a
    /// directory), every record, and every rendition. `Err` only when a listing failed;
    /// repairs that fail are counted in [`ReconcileReport::failed`] and logged.
    pub async fn run(
        &self,
        root: &SourceLocation,
        options: ReconcileOptions,
    ) -> Result<ReconcileReport, StoreError> {
        let mut report = ReconcileReport {
            at: Some(OffsetDateTime::now_utc()),
            dry_run: options.dry_run,
            ..ReconcileReport::default()
        };
        let originals = self.converger.originals.list(root).await?;
        report.originals = originals.len() as u64;
        let records = all_records(&self.converger.assets).await?;
        // Listed after the records, so a rendition written in between is young, not orphaned.
        let renditions = self.converger.renditions.list(layout::RENDITIONS).await?;
        let stored: HashSet<&str> = renditions.iter().map(|b| b.key.as_str()).collect();

        let mut differences = Vec::new();
        let mut present = HashSet::new();
        for listed in &originals {
            let id = listed.location.asset_id();
            present.insert(id.clone());
            let relative = listed.location.below(root).unwrap_or_default();
            let intent = match records.get(&id) {
                None => Some((&mut report.unrecorded, Intent::Upload)),
                Some(a) if a.status == AssetStatus::Deleted => {
                    Some((&mut report.unrecorded, Intent::Upload))
                }
                Some(a) if is_outdated(a, listed.state.revision.etag.as_deref()) => {
                    Some((&mut report.outdated, Intent::Upload))
                }
                Some(a)
                    if a.status == AssetStatus::Ready
                        && a.renditions
                            .iter()
                            .any(|v| !stored.contains(v.key.as_str())) =>
                {
                    Some((&mut report.broken, Intent::Repair))
                }
                Some(_) => None,
            };
            if let Some((count, intent)) = intent {
                *count += 1;
                let placement = self.converger.presets().routes().place(&relative);
                differences.push(Difference {
                    location: listed.location.clone(),
                    creator: placement.creator,
                    preset: Some(placement.preset),
                    intent,
                });
            }
        }
        let mut unannounced = Vec::new();
        for asset in records.values() {
            let Ok(location) = asset.source_identity.parse::<SourceLocation>() else {
                continue;
            };
            if location.below(root).is_none() {
                continue;
            }
            report.records += 1;
            if asset.status != AssetStatus::Deleted && !present.contains(&asset.id) {
                report.gone += 1;
                differences.push(Difference {
                    location,
                    creator: asset.creator.clone(),
                    preset: Some(asset.preset.clone()),
                    intent: Intent::Upload,
                });
            } else if self.converger.announces() && crate::app::ingest::owes_event(asset) {
                // Converging a difference announces it anyway; these only need the event.
                report.unannounced += 1;
                unannounced.push(asset);
            }
        }

        let unpurged: Vec<AssetId> = records
            .values()
            .filter(|a| !a.cdn_purge.is_empty())
            .map(|a| a.id.clone())
            .collect();
        report.unpurged = unpurged.len() as u64;

        let referenced: HashSet<&str> = records
            .values()
            .flat_map(|a| a.renditions.iter().map(|v| v.key.as_str()))
            .collect();
        let cutoff = OffsetDateTime::now_utc() - options.grace;
        let mut orphans = Vec::new();
        for blob in &renditions {
            if referenced.contains(blob.key.as_str()) {
                continue;
            }
            // A store that keeps no times gets no benefit of the doubt beyond the grace of
            // this pass: its orphans are deleted.
            if blob.modified.is_some_and(|m| m > cutoff) {
                report.young_orphans += 1;
            } else {
                report.orphans += 1;
                orphans.push(blob.key.as_str());
            }
        }

        if options.dry_run {
            return Ok(report);
        }
        let started = std::time::Instant::now();
        let out_of_time = || options.repair_for.is_some_and(|b| started.elapsed() >= b);
        let converged: HashSet<AssetId> =
            differences.iter().map(|d| d.location.asset_id()).collect();
        let mut left = Vec::new();
        for difference in differences {
            if out_of_time() {
                left.push(difference);
                continue;
            }
            let upload = Upload::new(difference.location)
                .with_creator(difference.creator)
                .with_preset(difference.preset);
            match self.converger.ingest(&upload, difference.intent).await {
                Ok(_) => report.repaired += 1,
                Err(e) => failed(&mut report, &upload.location.to_string(), &e),
            }
        }
        self.hand_off(left, &mut report).await;
        for asset in unannounced {
            if converged.contains(&asset.id) {
                continue;
            }
            if out_of_time() {
                report.deferred += 1;
                continue;
            }
            match self.converger.announce(asset).await {
                Ok(_) => report.repaired += 1,
                Err(e) => failed(&mut report, &asset.id.to_string(), &e),
            }
        }
        if !unpurged.is_empty() {
            match &self.converger.purger {
                Some(cdn) => {
                    match crate::app::purge::purge_cdn(
                        &self.converger.assets,
                        cdn.as_ref(),
                        &unpurged,
                    )
                    .await
                    {
                        Ok(done) => report.repaired += done.assets as u64,
                        Err(e) => failed(&mut report, "the CDN purge", &IngestError::Store(e)),
                    }
                }
                // Found, not repairable from here: the counts say so, and the alarm fires.
                None => report.failed += unpurged.len() as u64,
            }
        }
        // However long the repairs took, the orphans go: many per request.
        let orphans: Vec<String> = orphans.into_iter().map(str::to_string).collect();
        for chunk in orphans.chunks(DELETE_CHUNK) {
            match self.converger.renditions.delete_many(chunk).await {
                Ok(()) => report.repaired += chunk.len() as u64,
                Err(e) => {
                    tracing::warn!(error = %e, keys = chunk.len(), "reconcile: deleting orphans failed; the next pass tries again");
                    report.failed += chunk.len() as u64;
                }
            }
        }
        Ok(report)
    }

    /// Sends the differences left when the pass ran out of time to the handoff, or leaves
    /// them to the next pass.
    async fn hand_off(&self, left: Vec<Difference>, report: &mut ReconcileReport) {
        if left.is_empty() {
            return;
        }
        let Some(handoff) = &self.handoff else {
            report.deferred += left.len() as u64;
            return;
        };
        let repairs: Vec<Repair> = left
            .into_iter()
            .map(|d| Repair {
                location: d.location,
                redo: d.intent == Intent::Repair,
            })
            .collect();
        for chunk in repairs.chunks(HANDOFF_CHUNK) {
            match handoff.hand_off(chunk).await {
                Ok(()) => report.handed_off += chunk.len() as u64,
                Err(e) => {
                    tracing::warn!(error = %e, repairs = chunk.len(), "reconcile: handing repairs off failed; the next pass finds them again");
                    report.failed += chunk.len() as u64;
                }
            }
        }
    }
}

/// Keeps a pass's report under its time, and as the latest one (which the daily report
/// includes). Returns the timed key.
pub async fn publish<B: BlobStore + ?Sized>(
    blobs: &B,
    report: &ReconcileReport,
) -> Result<String, StoreError> {
    let at = report.at.unwrap_or_else(OffsetDateTime::now_utc);
    let stamp = at
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour][minute][second]Z"
        ))
        .map_err(|e| StoreError::Other(format!("formatting the time: {e}")))?;
    let body = serde_json::to_vec_pretty(report)
        .map_err(|e| StoreError::Other(format!("encoding the reconcile report: {e}")))?;
    let key = layout::reconcile_report_key(&stamp);
    blobs.put(&key, body.clone(), "application/json").await?;
    blobs
        .put(layout::RECONCILE_LATEST, body, "application/json")
        .await?;
    Ok(key)
}

/// The latest pass's report, if a pass has run (an unreadable one counts as none).
pub async fn latest<B: BlobStore + ?Sized>(
    blobs: &B,
) -> Result<Option<ReconcileReport>, StoreError> {
    match blobs.get(layout::RECONCILE_LATEST).await {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn failed(report: &mut ReconcileReport, what: &str, error: &IngestError) {
    tracing::warn!(%what, %error, "reconcile: repair failed; the next pass tries again");
    report.failed += 1;
}

/// Whether a live record describes another write than the one listed now. Only stores that
/// list ETags can tell; the record keeps the ETag of what it last read.
fn is_outdated(asset: &Asset, listed_etag: Option<&str>) -> bool {
    let recorded = asset.revision.as_ref().and_then(|r| r.etag.as_deref());
    matches!((recorded, listed_etag), (Some(a), Some(b)) if a != b)
}

/// Every record, page by page.
async fn all_records<A: AssetStore>(assets: &A) -> Result<HashMap<AssetId, Asset>, StoreError> {
    let mut records = HashMap::new();
    let mut cursor = None;
    loop {
        let page = assets
            .list(&AssetQuery {
                limit: MAX_PAGE,
                cursor,
                ..AssetQuery::default()
            })
            .await?;
        records.extend(page.items.into_iter().map(|a| (a.id.clone(), a)));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(records),
        }
    }
}
