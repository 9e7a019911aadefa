//! Local adapters: the embedded default, no cloud and no server needed.

mod fs_blobs;
mod sqlite_assets;

pub use fs_blobs::FsBlobStore;
pub use sqlite_assets::SqliteAssetStore;
