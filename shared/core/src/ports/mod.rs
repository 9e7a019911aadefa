//! Every port: what the use cases need from the world, as traits the adapters implement
//! (`local` here, `pictor-aws` for AWS), with the conformance suites every adapter of a
//! storage port passes and the sample records tests share.

mod cdn;
mod events;
mod refocus;
mod repairs;
mod stores;
mod uploads;
mod urls;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(any(test, feature = "conformance"))]
pub mod samples;

pub use cdn::CdnPurge;
pub use events::EventSink;
pub use refocus::{Refocus, RefocusError};
pub use repairs::{Repair, RepairHandoff};
pub use stores::*;
pub use uploads::{UploadDesk, UploadForm, UploadTarget};
pub use urls::{BaseUrl, RenditionUrls};
