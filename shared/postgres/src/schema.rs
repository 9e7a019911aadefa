//! The schema, as numbered migrations applied in order and recorded in `pictor_migrations`.
//! Every process that opens the store runs `migrate`; an advisory lock makes those that start
//! together wait for the first instead of racing it.

use tokio_postgres::Client;

/// Each step runs once, in the transaction of the `migrate` that applies it, and is never
/// edited once released: a change is a new step. The record is TEXT, not JSONB: JSONB refuses
/// the escaped NUL character that a decoder's message about hostile bytes may hold, and a
/// record that cannot be written is an upload without its FAILED record. Query it by hand
/// with `record::jsonb`.
pub const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "CREATE TABLE assets (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        creator TEXT,
        spec_hash TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        version BIGINT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX assets_by_status ON assets (status, created_ms DESC, id DESC);
    CREATE INDEX assets_by_creator ON assets (creator, created_ms DESC, id DESC);
    CREATE INDEX assets_by_spec ON assets (spec_hash, created_ms DESC, id DESC);",
)];

/// Any number, the same in every process: the key of the advisory lock migrations hold.
const LOCK_KEY: i64 = 0x7069_6374_6f72; // "pictor"

/// Applies the steps not yet recorded; returns how many it applied.
pub async fn migrate(client: &mut Client) -> Result<usize, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    // Held until the transaction ends; a second process waits here for the first.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS pictor_migrations (
            version INTEGER PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .await?;
    let done: Vec<i32> = tx
        .query("SELECT version FROM pictor_migrations", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut applied = 0;
    for (version, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO pictor_migrations (version) VALUES ($1)",
            &[version],
        )
        .await?;
        applied += 1;
    }
    tx.commit().await?;
    Ok(applied)
}
