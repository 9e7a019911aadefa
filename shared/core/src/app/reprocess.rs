//! Choosing which assets to process again: after a spec change (their spec hash is stale),
//! after an upgrade that may fix recorded failures, for one creator or one folder.
//!
//! Selection only picks assets that processing again can change, so a second run right after
//! a complete one selects nothing, and a run that stopped half-way resumes where it stopped:
//! - a stale spec hash always needs work;
//! - a READY asset under the current spec never does (ingest would find it unchanged);
//! - a FAILED asset under the current spec does unless its failure is settled: permanent,
//!   and recorded by this very release (`ingest::ENGINE`), which would only fail again.

use crate::app::ingest::ENGINE;
use crate::domain::asset::{Asset, AssetId, AssetStatus};
use crate::domain::presets::CurrentSpecs;
use crate::domain::source::{SourceLocation, SourceLocationError, Upload};
use crate::ports::{AssetQuery, AssetStore, StoreError, MAX_PAGE};
use serde::{Deserialize, Serialize};

/// Which assets to consider. Every field narrows the selection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selection {
    /// Only READY or only FAILED assets (DELETED ones are never selected: no source).
    #[serde(default)]
    pub status: Option<AssetStatus>,
    /// Only assets whose spec hash differs from the current one.
    #[serde(default)]
    pub stale_spec: bool,
    #[serde(default)]
    pub creator: Option<String>,
    /// Only sources whose location (an S3 key, a path as given) starts with this.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Only assets made with this preset.
    #[serde(default)]
    pub preset: Option<String>,
}

/// Why an asset was selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Made under another spec.
    StaleSpec,
    /// FAILED, and this release may succeed where the recorded attempt did not.
    RetryFailure,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::StaleSpec => "stale_spec",
            Reason::RetryFailure => "retry_failure",
        }
    }
}

/// An asset to process again, with what is needed to find and re-ingest its source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: AssetId,
    pub source: String,
    pub source_identity: String,
    pub creator: Option<String>,
    pub status: AssetStatus,
    pub reason: Reason,
}

impl Candidate {
    /// Where the original is, as its record stores it.
    pub fn location(&self) -> Result<SourceLocation, SourceLocationError> {
        self.source_identity.parse()
    }

    /// The upload to ingest again with [`crate::Intent::Reprocess`], which keeps the record's
    /// creator and revision.
    pub fn upload(&self) -> Result<Upload, SourceLocationError> {
        Ok(Upload::new(self.location()?).with_display(self.source.clone()))
    }
}

impl Selection {
    /// Why `asset` should be processed again under the current specs, or `None`.
    /// `current` is the spec hash of every preset (a `str` for one spec, or the `Presets`).
    pub fn reason<C: CurrentSpecs + ?Sized>(&self, asset: &Asset, current: &C) -> Option<Reason> {
        if asset.status == AssetStatus::Deleted {
            return None;
        }
        if self.status.is_some_and(|s| s != asset.status) {
            return None;
        }
        if let Some(creator) = &self.creator {
            if asset.creator.as_ref() != Some(creator) {
                return None;
            }
        }
        if let Some(prefix) = &self.prefix {
            if !asset.source.starts_with(prefix.as_str()) {
                return None;
            }
        }
        if self.preset.as_ref().is_some_and(|p| *p != asset.preset) {
            return None;
        }
        if asset.spec_hash != current.hash_of(&asset.preset) {
            return Some(Reason::StaleSpec);
        }
        if self.stale_spec || asset.status != AssetStatus::Failed {
            return None;
        }
        let settled = asset.engine.as_deref() == Some(ENGINE)
            && asset
                .error
                .as_ref()
                .is_some_and(|e| e.kind.is_permanent() && !e.kind.awaits_operator());
        (!settled).then_some(Reason::RetryFailure)
    }

    fn query(&self, cursor: Option<String>) -> AssetQuery {
        AssetQuery {
            status: self.status,
            creator: self.creator.clone(),
            spec_hash: None,
            limit: MAX_PAGE,
            cursor,
        }
    }

    /// One page of the store, filtered: the candidates on it and the cursor of the next page
    /// (`None` at the end). Pages keep memory flat on stores of any size.
    pub async fn select_page<S: AssetStore + ?Sized, C: CurrentSpecs + ?Sized>(
        &self,
        store: &S,
        current_spec: &C,
        cursor: Option<String>,
    ) -> Result<(Vec<Candidate>, Option<String>), StoreError> {
        if self.status == Some(AssetStatus::Deleted) {
            return Ok((Vec::new(), None));
        }
        let page = store.list(&self.query(cursor)).await?;
        let candidates = page
            .items
            .into_iter()
            .filter_map(|asset| {
                let reason = self.reason(&asset, current_spec)?;
                Some(Candidate {
                    id: asset.id,
                    source: asset.source,
                    source_identity: asset.source_identity,
                    creator: asset.creator,
                    status: asset.status,
                    reason,
                })
            })
            .collect();
        Ok((candidates, page.next_cursor))
    }

    /// Every candidate in the store, newest first.
    pub async fn select_all<S: AssetStore + ?Sized, C: CurrentSpecs + ?Sized>(
        &self,
        store: &S,
        current_spec: &C,
    ) -> Result<Vec<Candidate>, StoreError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let (mut page, next) = self.select_page(store, current_spec, cursor).await?;
            all.append(&mut page);
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::samples::SampleAsset;
    use pictor_image::error::ProcessError;

    const CURRENT: &str = "current";

    fn sample() -> SampleAsset {
        SampleAsset::at(&SourceLocation::s3("b", "uploads/ana/a.jpg")).creator("ana")
    }

    fn asset(status: AssetStatus, spec: &str) -> Asset {
        sample()
            .status(status)
            .spec_hash(spec)
            .engine(Some(ENGINE))
            .build()
    }

    fn failed(error: ProcessError, engine: Option<&str>) -> Asset {
        sample()
            .failed(error)
            .spec_hash(CURRENT)
            .engine(engine)
            .build()
    }

    #[test]
    fn stale_spec_is_always_work_and_current_ready_never() {
        let all = Selection::default();
        assert_eq!(
            all.reason(&asset(AssetStatus::Ready, "old"), CURRENT),
            Some(Reason::StaleSpec)
        );
        assert_eq!(
            all.reason(&asset(AssetStatus::Ready, CURRENT), CURRENT),
            None
        );
        assert_eq!(
            all.reason(&asset(AssetStatus::Deleted, "old"), CURRENT),
            None
        );
    }

    #[test]
    fn a_failure_is_retried_only_when_another_release_or_a_transient_cause_recorded_it() {
        let all = Selection::default();
        let corrupt = ProcessError::corrupt("truncated");
        assert_eq!(
            all.reason(&failed(corrupt.clone(), Some(ENGINE)), CURRENT),
            None
        );
        assert_eq!(
            all.reason(&failed(corrupt.clone(), Some("pictor-core/0.0.1")), CURRENT),
            Some(Reason::RetryFailure)
        );
        assert_eq!(
            all.reason(&failed(corrupt, None), CURRENT),
            Some(Reason::RetryFailure)
        );
        let transient = ProcessError::new(crate::ErrorKind::Transient, "throttled");
        assert_eq!(
            all.reason(&failed(transient, Some(ENGINE)), CURRENT),
            Some(Reason::RetryFailure)
        );
        // Fixed by an operator (access granted, restored from the archive): worth another go.
        for kind in [crate::ErrorKind::AccessDenied, crate::ErrorKind::Archived] {
            let error = ProcessError::new(kind, "refused");
            assert_eq!(
                all.reason(&failed(error, Some(ENGINE)), CURRENT),
                Some(Reason::RetryFailure)
            );
        }
    }

    #[test]
    fn every_filter_narrows() {
        let stale = asset(AssetStatus::Ready, "old");
        let only = |s: Selection| s.reason(&stale, CURRENT);
        assert!(only(Selection {
            status: Some(AssetStatus::Ready),
            creator: Some("ana".into()),
            prefix: Some("uploads/ana/".into()),
            stale_spec: true,
            preset: Some("default".into()),
        })
        .is_some());
        assert_eq!(
            only(Selection {
                preset: Some("avatars".into()),
                ..Selection::default()
            }),
            None
        );
        assert_eq!(
            only(Selection {
                status: Some(AssetStatus::Failed),
                ..Selection::default()
            }),
            None
        );
        assert_eq!(
            only(Selection {
                creator: Some("bo".into()),
                ..Selection::default()
            }),
            None
        );
        assert_eq!(
            only(Selection {
                prefix: Some("uploads/bo/".into()),
                ..Selection::default()
            }),
            None
        );
        let retry = failed(ProcessError::corrupt("x"), None);
        let stale_only = Selection {
            stale_spec: true,
            ..Selection::default()
        };
        assert_eq!(stale_only.reason(&retry, CURRENT), None);
    }
}
