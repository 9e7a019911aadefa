//! Pictor's image pipeline: the rendition spec (`pictor.toml`), and one picture's way from
//! uploaded bytes to encoded renditions: decode → colour → orient → resize → watermark →
//! encode, with the facts found on the way (size, EXIF, BlurHash, focal point).
//!
//! Pure and synchronous: no async runtime, no store, no cloud. Whatever runs it (a function,
//! the CLI, a benchmark) reads the bytes and keeps the results.

pub mod error;
pub mod memory;
pub mod pipeline;
pub mod spec;

pub use error::{ErrorKind, ProcessError};
pub use pipeline::Pipeline;
pub use spec::Spec;
