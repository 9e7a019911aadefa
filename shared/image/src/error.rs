//! Why an image could not be processed, in terms a user can act on.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The class of a processing failure. Permanent kinds are recorded and never retried;
/// transient ones are worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Not an image format Pictor accepts (SVG, TIFF, text, empty files, ...).
    Unsupported,
    /// Claims to be a supported format but cannot be decoded (truncated, damaged, hostile).
    Corrupt,
    /// Over the configured file size, pixel count or side length.
    TooLarge,
    /// The source disappeared before it could be read.
    NotFound,
    /// The store refuses to hand the original over (no permission, or a KMS key the
    /// functions may not use): retrying will not help until an operator changes access.
    AccessDenied,
    /// The original is in an archive storage class and must be restored before it is read.
    Archived,
    /// A storage or network problem that may go away on its own.
    Transient,
    /// A bug in Pictor; reported rather than crashing the batch.
    Internal,
}

impl ErrorKind {
    /// Whether retrying the same input can possibly succeed.
    pub fn is_permanent(self) -> bool {
        !matches!(self, ErrorKind::Transient)
    }

    /// Permanent until an operator acts (grants access, restores from the archive): a
    /// notification does not retry it, but `reprocess` does.
    pub fn awaits_operator(self) -> bool {
        matches!(self, ErrorKind::AccessDenied | ErrorKind::Archived)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::Archived => "archived",
            ErrorKind::Transient => "transient",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure to turn one source into renditions: a kind plus a human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{kind}: {message}")]
pub struct ProcessError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ProcessError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}
