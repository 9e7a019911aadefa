//! The cleanup function: removal notifications from the uploads bucket.
//!
//! A removal is a hint like any other notification, so this is the ingest function's handler
//! on its own queue: it looks at the key's current state and converges the asset to it. The
//! object gone: renditions removed, record a DELETED tombstone (written even when no record
//! existed yet). A noncurrent version removed: nothing changes. The current version removed
//! and an older one current again, or a delete marker removed (a restore): the object as it
//! now stands is ingested. A stale removal, replayed after the key was written again: nothing.
//!
//! It has its own queue, concurrency and dead-letter queue, so a burst of deletes never waits
//! behind a burst of uploads.

pub use pictor_ingest::{
    run, AwsIngest as AwsCleanup, Config, ConfigError, Handled, HandlerError, Ingest as Cleanup,
    ENV_VARS,
};
