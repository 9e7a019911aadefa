//! Events of a local run as newline-delimited JSON, one line per event appended to
//! `<out>/events.ndjson`: `tail -f` it, or read it from a script. Each line has the shape an
//! EventBridge rule delivers (`detail-type`, `source`, `time`, `detail`).

use crate::domain::events::AssetEvent;
use crate::ports::EventSink;
use crate::ports::StoreError;
use async_trait::async_trait;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file events go to in an output directory.
pub const EVENTS_FILE: &str = "events.ndjson";

pub struct NdjsonEvents {
    path: PathBuf,
    // One writer at a time, so lines never interleave.
    lock: Mutex<()>,
}

impl NdjsonEvents {
    pub fn new(path: &Path) -> NdjsonEvents {
        NdjsonEvents {
            path: path.to_path_buf(),
            lock: Mutex::new(()),
        }
    }
}

#[async_trait]
impl EventSink for NdjsonEvents {
    async fn announce(&self, event: &AssetEvent) -> Result<(), StoreError> {
        let mut text = event.envelope(time::OffsetDateTime::now_utc()).to_string();
        text.push('\n');
        let _guard = self
            .lock
            .lock()
            .map_err(|_| StoreError::Other("event writer poisoned".into()))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", self.path.display())))?;
        file.write_all(text.as_bytes())
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", self.path.display())))
    }
}
