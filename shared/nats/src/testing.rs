//! Test support: the local server (`scripts/local-nats`, started on first use) and names no
//! other test uses.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The local server's URL, starting it if it is not running.
pub fn server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| pictor_core::ports::samples::start_local_server("local-nats"))
        .clone()
}

/// A subject prefix (and so stream and consumer names) of this test alone.
pub fn unique_prefix(name: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{name}-{}-{}-{nanos:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
