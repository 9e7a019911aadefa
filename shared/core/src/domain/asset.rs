//! Domain types of a processed (or refused) upload.

use pictor_image::error::ProcessError;
use pictor_image::pipeline::{SourceInfo, Timings};
use pictor_image::spec::OutputFormat;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use time::OffsetDateTime;

/// Deterministic id of an asset: the same source identity always maps to the same asset, so
/// processing a source again updates its record instead of creating a duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AssetId(String);

impl AssetId {
    const LEN: usize = 32;

    pub fn for_source(identity: &str) -> AssetId {
        let digest = Sha256::digest(identity.as_bytes());
        AssetId(hex::encode(&digest[..Self::LEN / 2]))
    }

    /// Accepts only the exact shape ids are minted in (32 lowercase hex digits).
    pub fn parse(s: &str) -> Result<AssetId, String> {
        let ok = s.len() == Self::LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(AssetId(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is not an asset id (32 lowercase hex digits)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AssetId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        AssetId::parse(&s)
    }
}

impl From<AssetId> for String {
    fn from(id: AssetId) -> String {
        id.0
    }
}

/// An object store's account of one write of a source (S3: event sequencer, version id,
/// ETag). Lets a runner recognise a duplicate or out-of-order notification before it
/// downloads anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl Revision {
    /// Orders two S3 sequencers for the same key. They are hexadecimal strings of varying
    /// length, and S3's documentation of the notification structure says how to compare them:
    /// right-pad the shorter with zeros, then compare lexicographically. (A sequencer grows
    /// at its end, not at its start: read as numbers, "FF" would wrongly sort before "0100".)
    /// `None` when either is missing or not hexadecimal.
    pub fn compare_sequencer(&self, other: &Revision) -> Option<std::cmp::Ordering> {
        let (a, b) = (self.sequencer.as_deref()?, other.sequencer.as_deref()?);
        let valid = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_hexdigit());
        if !valid(a) || !valid(b) {
            return None;
        }
        let width = a.len().max(b.len());
        let pad = |s: &str| format!("{:0<width$}", s.to_ascii_uppercase());
        Some(pad(a).cmp(&pad(b)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetStatus {
    Ready,
    Failed,
    Deleted,
}

impl AssetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetStatus::Ready => "ready",
            AssetStatus::Failed => "failed",
            AssetStatus::Deleted => "deleted",
        }
    }
}

impl std::str::FromStr for AssetStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ready" => Ok(AssetStatus::Ready),
            "failed" => Ok(AssetStatus::Failed),
            "deleted" => Ok(AssetStatus::Deleted),
            _ => Err(format!("unknown status {s:?} (ready, failed or deleted)")),
        }
    }
}

impl fmt::Display for AssetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rendition of an asset as its record lists it: written to the output bucket at `key`.
/// (A spec's *variant* is the recipe; a *rendition* is the file made from it: in memory a
/// [`pictor_image::pipeline::Rendition`], once stored a `StoredRendition`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRendition {
    pub name: String,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// Key in the renditions blob store.
    pub key: String,
    /// With a SSIMULACRA2 target: the encoder quality the rendition was written at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
    /// With a SSIMULACRA2 target: the rendition's score against the picture it was encoded
    /// from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssimulacra2: Option<f64>,
}

/// The record of one source: READY with its renditions, or FAILED with a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    pub id: AssetId,
    pub source: String,
    pub source_identity: String,
    pub creator: Option<String>,
    /// What the creator's file was called, when the upload kept it: for display only, never
    /// a key or a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: AssetStatus,
    pub error: Option<ProcessError>,
    /// SHA-256 of the source bytes, when they could be read.
    pub sha256: Option<String>,
    pub source_bytes: Option<u64>,
    /// What decoding revealed; absent when the source could not be decoded.
    pub image: Option<SourceInfo>,
    /// Its renditions: the files the spec's variants (the recipes) made. Stored and shown as
    /// `variants`, the name every reader of the JSON already knows.
    #[serde(rename = "variants")]
    pub renditions: Vec<StoredRendition>,
    pub timings: Option<Timings>,
    /// The preset (named spec) the renditions are made with; `spec_hash` is its hash.
    #[serde(default = "default_preset")]
    pub preset: String,
    pub spec_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Incremented on every write; writes are conditional on the version read.
    pub version: u64,
    /// The source write this record reflects, when its store reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
    /// The Pictor release that wrote the record (`ingest::ENGINE`): a failure recorded by an
    /// older release may be worth retrying after an upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The version whose state was last published as an event (see `events`); behind
    /// `version` until the event of the latest state is out (`Some(0)`: none yet). `None` on
    /// records written before events existed, which owe none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announced: Option<u64>,
    /// Keys of removed renditions whose copies a CDN may still serve: a tombstone lists its
    /// asset's last renditions here until the CDN has been told to drop them (see
    /// `purge`), then the list is emptied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cdn_purge: Vec<String>,
}

fn default_preset() -> String {
    crate::domain::presets::DEFAULT_PRESET.to_string()
}

impl Asset {
    /// The record as a DELETED tombstone keeps it: only what identifies the asset (its id,
    /// creator, preset and where its original was, which the reconciler matches), its
    /// version and times. What described the picture (its name, hash, size, EXIF camera and
    /// capture time, blurhash, colours, focal point) and any failure go with the upload.
    pub fn forget_content(mut self) -> Asset {
        self.status = AssetStatus::Deleted;
        self.source = String::new();
        self.name = None;
        self.error = None;
        self.sha256 = None;
        self.source_bytes = None;
        self.image = None;
        self.renditions = Vec::new();
        self.timings = None;
        self
    }

    pub fn bytes_out(&self) -> u64 {
        self.renditions.iter().map(|v| v.bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_validated() {
        let a = AssetId::for_source("file:///photos/a.jpg");
        assert_eq!(a, AssetId::for_source("file:///photos/a.jpg"));
        assert_ne!(a, AssetId::for_source("file:///photos/b.jpg"));
        assert_eq!(AssetId::parse(a.as_str()).unwrap(), a);
        assert!(AssetId::parse("../etc/passwd").is_err());
        assert!(AssetId::parse(&a.as_str().to_uppercase()).is_err());
    }

    #[test]
    fn sequencers_compare_right_padded_as_s3_documents() {
        use std::cmp::Ordering::*;
        let r = |s: &str| Revision {
            sequencer: Some(s.to_string()),
            ..Revision::default()
        };
        // The same length: plain comparison, case-insensitive.
        assert_eq!(
            r("0055AED6DCD90281E5").compare_sequencer(&r("0055AED6DCD90281E6")),
            Some(Less)
        );
        assert_eq!(r("00ff").compare_sequencer(&r("00FF")), Some(Equal));
        // Different lengths: the shorter is padded on the right, so a longer sequencer that
        // extends a shorter one comes after it, and "FF" is "FF00", after "0100".
        assert_eq!(
            r("0055AED6DCD90281E5").compare_sequencer(&r("0055AED6DCD90281E500")),
            Some(Equal)
        );
        assert_eq!(
            r("0055AED6DCD90281E5").compare_sequencer(&r("0055AED6DCD90281E501")),
            Some(Less)
        );
        assert_eq!(
            r("0055AED6DCD90281E6").compare_sequencer(&r("0055AED6DCD90281E5FF")),
            Some(Greater)
        );
        assert_eq!(r("FF").compare_sequencer(&r("0100")), Some(Greater));
        assert_eq!(r("0100").compare_sequencer(&r("FF")), Some(Less));
        assert_eq!(r("zz").compare_sequencer(&r("01")), None);
        assert_eq!(Revision::default().compare_sequencer(&r("01")), None);
    }
}
