//! Local adapters: the embedded default, no cloud and no server needed. Behind the `local`
//! feature: the functions never carry SQLite.

mod fs_blobs;
mod fs_originals;
mod ndjson_events;
mod sqlite_assets;
mod walk;

pub use fs_blobs::FsBlobStore;
pub use fs_originals::{name_file, FsOriginals};
pub use ndjson_events::{NdjsonEvents, EVENTS_FILE};
pub use sqlite_assets::SqliteAssetStore;
