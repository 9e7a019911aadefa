//! Test support: the local server (`scripts/local-postgres`, started on first use) and a fresh
//! database on it for each test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use tokio_postgres::NoTls;

/// The URL of the local server's `postgres` database, starting the server if it is not running.
pub fn server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| pictor_core::ports::samples::start_local_server("local-postgres"))
        .clone()
}

/// A new, empty database on the local server; returns its URL.
pub async fn fresh_database() -> String {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let server = server_url();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    );
    let (client, connection) = tokio_postgres::connect(&server, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {server}: {e}"));
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
    drop(client);
    let _ = driver.await;
    match server.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("{server} names no database"),
    }
}
