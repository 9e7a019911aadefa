//! Pictor's cloud-neutral core: the domain types, the storage ports and their local
//! (filesystem + SQLite) adapters, the use cases and the HTTP API. The image pipeline and the
//! spec are `pictor_image`'s.
//!
//! Nothing here knows about any cloud; adapters for one live in their own crate.

pub mod api;
pub mod asset;
pub mod asset_json;
pub mod events;
pub mod identity;
pub mod ingest;
pub mod layout;
#[cfg(feature = "local")]
pub mod local;
pub mod ports;
pub mod presets;
pub mod purge;
pub mod reconcile;
pub mod refocus;
pub mod report;
pub mod reprocess;
pub mod source;
pub mod uploads;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(any(test, feature = "conformance"))]
pub mod samples;

pub use asset::{Asset, AssetId, AssetStatus, Revision, StoredRendition};
pub use ingest::{Ingestor, Intent, Outcome};
pub use pictor_image::{ErrorKind, Pipeline, ProcessError, Spec};
pub use presets::{Presets, SpecFile};

pub use source::{SourceLocation, Upload, UploadPrefix};
