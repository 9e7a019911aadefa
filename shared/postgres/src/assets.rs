//! Asset records in PostgreSQL. As in the SQLite store, the record is kept whole as JSON and
//! the columns beside it serve the conditional write and the listings by status, creator and
//! spec. Each conditional write is one statement, so it needs no transaction: an insert that
//! does nothing when the id exists, or an update that matches only the expected version.

use crate::schema;
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use pictor_core::domain::asset::{Asset, AssetId};
use pictor_core::ports::cursor::{self, created_ms, parse_record};
use pictor_core::ports::{AssetPage, AssetQuery, AssetStore, Expected, StoreError};
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

/// Connections one store opens at most: a worker's messages in flight share them.
const POOL_SIZE: usize = 16;
/// How long a caller waits for a connection (the server restarting, all of them busy) before
/// the store reports itself unavailable and the message is retried later.
const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(10);

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("not a PostgreSQL URL ({0}); expected postgres://user@host:port/database")]
    Url(String),
    #[error("cannot reach PostgreSQL: {0}")]
    Connect(String),
    #[error("cannot bring the schema up to date: {0}")]
    Migrate(#[source] tokio_postgres::Error),
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> StoreError {
        match e {
            PgError::Connect(_) => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        }
    }
}

pub struct PgAssetStore {
    pool: Pool,
}

impl PgAssetStore {
    /// Connects to the database at `url` and migrates its schema.
    pub async fn connect(url: &str) -> Result<PgAssetStore, PgError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| PgError::Url(e.to_string()))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            // A pooled connection is checked before reuse, so one the server dropped on a
            // restart is replaced rather than handed out.
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(WAIT_FOR_CONNECTION))
            .create_timeout(Some(WAIT_FOR_CONNECTION))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| PgError::Connect(e.to_string()))?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| PgError::Connect(e.to_string()))?;
        schema::migrate(&mut client)
            .await
            .map_err(PgError::Migrate)?;
        Ok(PgAssetStore { pool })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("postgres: {e}")))
    }
}

/// A lost connection, a server shutting down or starting, too many clients, a serialisation
/// failure: a retry may succeed. Anything else is a bug or a schema problem.
fn db_error(e: tokio_postgres::Error) -> StoreError {
    let transient = match e.code() {
        None => {
            e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
        }
        Some(code) => {
            code.code().starts_with("08")
                || code.code().starts_with("53")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::T_R_DEADLOCK_DETECTED,
                ]
                .contains(code)
        }
    };
    if transient {
        StoreError::Unavailable(format!("postgres: {e}"))
    } else {
        StoreError::Other(format!("postgres: {e}"))
    }
}

#[async_trait]
impl AssetStore for PgAssetStore {
    async fn get(&self, id: &AssetId) -> Result<Option<Asset>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT record FROM assets WHERE id = $1", &[&id.as_str()])
            .await
            .map_err(db_error)?;
        row.map(|r| parse_record(r.get(0))).transpose()
    }

    async fn put(&self, asset: &Asset, expected: Expected) -> Result<(), StoreError> {
        let record = serde_json::to_string(asset)
            .map_err(|e| StoreError::Other(format!("cannot serialise asset: {e}")))?;
        let version = i64::try_from(asset.version).unwrap_or(i64::MAX);
        let (id, status, created) = (asset.id.as_str(), asset.status.as_str(), created_ms(asset));
        let client = self.client().await?;
        let written = match expected {
            Expected::Absent => {
                client
                    .execute(
                        "INSERT INTO assets (id, status, creator, spec_hash, created_ms, version, record)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (id) DO NOTHING",
                        &[&id, &status, &asset.creator, &asset.spec_hash, &created, &version, &record],
                    )
                    .await
            }
            Expected::Version(stored) => {
                let Ok(stored) = i64::try_from(stored) else {
                    return Err(StoreError::Conflict(asset.id.to_string()));
                };
                client
                    .execute(
                        "UPDATE assets SET status = $2, creator = $3, spec_hash = $4,
                             created_ms = $5, version = $6, record = $7
                         WHERE id = $1 AND version = $8",
                        &[&id, &status, &asset.creator, &asset.spec_hash, &created, &version, &record, &stored],
                    )
                    .await
            }
        }
        .map_err(db_error)?;
        if written == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict(asset.id.to_string()))
        }
    }

    async fn list(&self, query: &AssetQuery) -> Result<AssetPage, StoreError> {
        let (after_ms, after_id) = cursor::resume_after(query.cursor.as_deref())?;
        let size = query.page_size();
        let fetch = (size + 1) as i64;
        let status = query.status.map(|s| s.as_str());
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT record FROM assets
                 WHERE ($1::text IS NULL OR status = $1)
                   AND ($2::text IS NULL OR creator = $2)
                   AND ($3::bigint IS NULL OR (created_ms, id) < ($3, $4::text))
                   AND ($5::text IS NULL OR spec_hash = $5)
                 ORDER BY created_ms DESC, id DESC
                 LIMIT $6",
                &[
                    &status,
                    &query.creator,
                    &after_ms,
                    &after_id,
                    &query.spec_hash,
                    &fetch,
                ],
            )
            .await
            .map_err(db_error)?;
        let items = rows
            .iter()
            .map(|r| parse_record(r.get(0)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(cursor::page(items, size))
    }
}
