//! Pictor's cloud-neutral core, laid out by role (ARCHITECTURE.md has the rules):
//! - `domain`: the asset and its record, where an original is, identity, presets, the output
//!   layout, events;
//! - `ports`: every trait the use cases need from the world, with the conformance suites;
//! - `app`: the use cases over the ports (ingest, reconcile, refocus, reprocess, report,
//!   uploads, purge);
//! - `http`: the query API as one router;
//! - `local` (feature `local`): the embedded adapters, files and SQLite.
//!
//! The image pipeline and the spec are `pictor_image`'s. Nothing here knows about any cloud;
//! adapters for one live in their own crate.

pub mod app;
pub mod domain;
pub mod http;
#[cfg(feature = "local")]
pub mod local;
pub mod ports;

pub use app::ingest::{Converger, Intent, Outcome};
pub use domain::asset::{Asset, AssetId, AssetStatus, Revision, StoredRendition};
pub use domain::presets::{Presets, SpecFile};
pub use domain::source::{SourceLocation, Upload, UploadPrefix};
pub use pictor_image::{ErrorKind, Pipeline, ProcessError, Spec};
