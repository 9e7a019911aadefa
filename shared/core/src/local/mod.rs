//! Local adapters: the embedded default, no cloud and no server needed.

mod fs_blobs;
mod fs_originals;
mod ndjson_events;
mod sqlite_assets;
mod walk;

pub use fs_blobs::FsBlobStore;
pub use fs_originals::{name_file, FsOriginals};
pub use ndjson_events::{NdjsonEvents, EVENTS_FILE, EVENT_SOURCE};
pub use sqlite_assets::SqliteAssetStore;
