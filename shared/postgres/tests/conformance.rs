//! The PostgreSQL store against a real server on 127.0.0.1: the asset store suite every store
//! passes, and what only a shared server shows.

use pictor_core::domain::asset::AssetStatus;
use pictor_core::ports::conformance::{asset_store_suite, sample};
use pictor_core::ports::{AssetStore, Expected, StoreError};
use pictor_postgres::testing::fresh_database;
use pictor_postgres::{schema, PgAssetStore, PgError};

#[tokio::test]
async fn passes_the_asset_store_suite() {
    let store = PgAssetStore::connect(&fresh_database().await)
        .await
        .unwrap();
    asset_store_suite(&store).await;
}

#[tokio::test]
async fn processes_starting_together_migrate_once_and_share_the_records() {
    let url = fresh_database().await;
    let (a, b, c) = tokio::join!(
        PgAssetStore::connect(&url),
        PgAssetStore::connect(&url),
        PgAssetStore::connect(&url)
    );
    let (a, b, _c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let (mut client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let steps: i64 = client
        .query_one("SELECT count(*) FROM pictor_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(steps, schema::MIGRATIONS.len() as i64);
    assert_eq!(schema::migrate(&mut client).await.unwrap(), 0);

    // One writer's record is the other's to read, and its version the other's to respect.
    let asset = sample(
        1,
        "ana",
        AssetStatus::Ready,
        time::OffsetDateTime::UNIX_EPOCH,
    );
    a.put(&asset, Expected::Absent).await.unwrap();
    assert_eq!(b.get(&asset.id).await.unwrap().as_ref(), Some(&asset));
    assert!(matches!(
        b.put(&asset, Expected::Absent).await,
        Err(StoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn a_record_with_a_nul_in_its_reason_is_kept() {
    let store = PgAssetStore::connect(&fresh_database().await)
        .await
        .unwrap();
    let mut asset = sample(
        2,
        "ben",
        AssetStatus::Failed,
        time::OffsetDateTime::UNIX_EPOCH,
    );
    asset.error = Some(pictor_core::ProcessError::corrupt(
        "unexpected byte \0 at 12",
    ));
    store.put(&asset, Expected::Absent).await.unwrap();
    assert_eq!(store.get(&asset.id).await.unwrap(), Some(asset));
}

#[tokio::test]
async fn a_server_that_is_not_there_is_unavailable_and_a_bad_url_is_named() {
    // A port nothing listens on: the connection is refused at once.
    let closed = PgAssetStore::connect("postgres://pictor@127.0.0.1:9/postgres").await;
    let e = closed.err().expect("no server answers there");
    assert!(matches!(e, PgError::Connect(_)), "{e}");
    assert!(StoreError::from(e).is_transient());
    let bad = PgAssetStore::connect("mysql://somewhere").await;
    assert!(matches!(bad.err(), Some(PgError::Url(_))));
}
