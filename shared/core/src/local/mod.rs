//! Local adapters: the embedded default, no cloud and no server needed.

mod fs_blobs;
mod fs_originals;
mod sqlite_assets;
mod walk;

pub use fs_blobs::FsBlobStore;
pub use fs_originals::FsOriginals;
pub use sqlite_assets::SqliteAssetStore;
