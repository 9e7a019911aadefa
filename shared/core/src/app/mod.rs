//! The use cases, each over the ports: converge one upload (`ingest`), hold the records to
//! the bucket (`reconcile`), move a focal point (`refocus`), choose what to process again
//! (`reprocess`), the report, apps' uploads, and the CDN purge of deleted renditions.

pub mod ingest;
pub mod purge;
pub mod reconcile;
pub mod refocus;
pub mod report;
pub mod reprocess;
pub mod uploads;
