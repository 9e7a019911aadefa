//! Pictor's PostgreSQL adapter: the asset store on a server that many workers and the CLI
//! share (`PgAssetStore`), with the schema it needs brought up to date by the program itself
//! (`schema`).

mod assets;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;

pub use assets::{PgAssetStore, PgError};
