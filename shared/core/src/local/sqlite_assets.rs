//! Asset store in one SQLite file. The record is kept as JSON; the columns beside it exist
//! for the conditional write and for listing by status and by creator.

use crate::domain::asset::{Asset, AssetId};
use crate::ports::cursor::{self, created_ms, parse_record};
use crate::ports::{AssetPage, AssetQuery, AssetStore, Expected, StoreError};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

pub struct SqliteAssetStore {
    conn: Mutex<Connection>,
}

fn db_error(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Unavailable(format!("sqlite: {e}"))
        }
        other => StoreError::Other(format!("sqlite: {other}")),
    }
}

/// How long a statement waits for another process's lock before the store reports itself
/// unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Puts the file in WAL mode. The mode is kept in the file, so only its first opener converts
/// it; openers racing that first one (`pictor watch` and `pictor serve` started together)
/// retry, because SQLite answers the conversion's lock with "busy" at once, without waiting
/// the busy timeout.
fn use_write_ahead_log(conn: &Connection) -> Result<(), StoreError> {
    let mode = |conn: &Connection| -> rusqlite::Result<String> {
        conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))
    };
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(5);
    loop {
        let converted = mode(conn).and_then(|m| {
            if m.eq_ignore_ascii_case("wal") {
                Ok(m)
            } else {
                conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            }
        });
        match converted.map_err(db_error) {
            Ok(m) if m.eq_ignore_ascii_case("wal") => return Ok(()),
            // An in-memory store has no log to keep.
            Ok(m) if m.eq_ignore_ascii_case("memory") => return Ok(()),
            Ok(m) => {
                return Err(StoreError::Other(format!(
                    "sqlite: the store stays in journal mode {m}, not WAL"
                )))
            }
            Err(StoreError::Unavailable(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            Err(e) => return Err(e),
        }
    }
}

impl SqliteAssetStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteAssetStore, StoreError> {
        let conn = Connection::open(path).map_err(db_error)?;
        Self::init(conn)
    }

    /// A private store in memory, for tests.
    pub fn in_memory() -> Result<SqliteAssetStore, StoreError> {
        Self::init(Connection::open_in_memory().map_err(db_error)?)
    }

    fn init(conn: Connection) -> Result<SqliteAssetStore, StoreError> {
        // WAL lets `pictor assets` read while `pictor watch` writes.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db_error)?;
        use_write_ahead_log(&conn)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS assets (
                id TEXT PRIMARY KEY,
                status TEXT NOT NULL,
                creator TEXT,
                spec_hash TEXT NOT NULL,
                created_ms INTEGER NOT NULL,
                version INTEGER NOT NULL,
                record TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS assets_by_status ON assets (status, created_ms DESC, id DESC);
            CREATE INDEX IF NOT EXISTS assets_by_creator ON assets (creator, created_ms DESC, id DESC);",
        )
        .map_err(db_error)?;
        Ok(SqliteAssetStore {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::Other("sqlite connection poisoned".into()))
    }
}

#[async_trait]
impl AssetStore for SqliteAssetStore {
    async fn get(&self, id: &AssetId) -> Result<Option<Asset>, StoreError> {
        let conn = self.lock()?;
        let json: Option<String> = conn
            .query_row(
                "SELECT record FROM assets WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_error)?;
        json.as_deref().map(parse_record).transpose()
    }

    async fn put(&self, asset: &Asset, expected: Expected) -> Result<(), StoreError> {
        let record = serde_json::to_string(asset)
            .map_err(|e| StoreError::Other(format!("cannot serialise asset: {e}")))?;
        let mut conn = self.lock()?;
        // IMMEDIATE: take the write lock before reading the version, so two processes
        // sharing the file cannot both pass the check.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_error)?;
        let current: Option<i64> = tx
            .query_row(
                "SELECT version FROM assets WHERE id = ?1",
                [asset.id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_error)?;
        let matches = match (expected, current) {
            (Expected::Absent, None) => true,
            (Expected::Version(v), Some(c)) => i64::try_from(v).is_ok_and(|v| v == c),
            _ => false,
        };
        if !matches {
            return Err(StoreError::Conflict(asset.id.to_string()));
        }
        tx.execute(
            "INSERT OR REPLACE INTO assets (id, status, creator, spec_hash, created_ms, version, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                asset.id.as_str(),
                asset.status.as_str(),
                asset.creator,
                asset.spec_hash,
                created_ms(asset),
                i64::try_from(asset.version).unwrap_or(i64::MAX),
                record
            ],
        )
        .map_err(db_error)?;
        tx.commit().map_err(db_error)
    }

    async fn list(&self, query: &AssetQuery) -> Result<AssetPage, StoreError> {
        let (after_ms, after_id) = cursor::resume_after(query.cursor.as_deref())?;
        let size = query.page_size();
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT record FROM assets
                 WHERE (?1 IS NULL OR status = ?1)
                   AND (?2 IS NULL OR creator = ?2)
                   AND (?3 IS NULL OR created_ms < ?3 OR (created_ms = ?3 AND id < ?4))
                   AND (?6 IS NULL OR json_extract(record, '$.spec_hash') = ?6)
                 ORDER BY created_ms DESC, id DESC
                 LIMIT ?5",
            )
            .map_err(db_error)?;
        let rows = stmt
            .query_map(
                params![
                    query.status.map(|s| s.as_str()),
                    query.creator,
                    after_ms,
                    after_id,
                    (size + 1) as i64,
                    query.spec_hash,
                ],
                |r| r.get::<_, String>(0),
            )
            .map_err(db_error)?;
        let mut items = Vec::with_capacity(size + 1);
        for row in rows {
            items.push(parse_record(&row.map_err(db_error)?)?);
        }
        Ok(cursor::page(items, size))
    }
}
