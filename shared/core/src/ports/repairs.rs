//! Where a reconcile pass hands the repairs it has no time to make itself.

use super::StoreError;
use crate::domain::source::SourceLocation;
use async_trait::async_trait;

/// One repair a reconcile pass found and hands to the runners that converge uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    pub location: SourceLocation,
    /// Process the original again even where its record claims to reflect it (the record
    /// lists renditions that are missing).
    pub redo: bool,
}

/// Where a reconcile pass sends the repairs it has no time to make itself: the queue the
/// ingest function reads, which spreads them over as many functions as it runs.
#[async_trait]
pub trait RepairHandoff: Send + Sync {
    /// Queues every repair; `Ok` once all are queued.
    async fn hand_off(&self, repairs: &[Repair]) -> Result<(), StoreError>;
}
