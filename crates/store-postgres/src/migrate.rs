//! Embedded schema migrations, applied in order at connect and recorded in `schema_migrations`.

use railyard_store::{StoreError, StoreResult, baseline_event, format_time, written_record};

use crate::map_err;

/// Every migration, in order. A migration, once released, is never edited: add a new one.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "0001_init", include_str!("../migrations/0001_init.sql")),
    (2, "0002_record_listing", include_str!("../migrations/0002_record_listing.sql")),
    (3, "0003_bytewise_scan", include_str!("../migrations/0003_bytewise_scan.sql")),
];

/// The migration that introduced the listings of written records: after its SQL, a database that
/// already has records gets one baseline event listing them ([`baseline`]).
const LISTINGS: i64 = 2;

/// The advisory lock key that serialises migrations ("RAILYARD" in ASCII, as a number).
const MIGRATION_LOCK: i64 = 0x5241_494C_5941_5244;

/// Applies the migrations this database lacks. Everything happens in one transaction that first takes a
/// transaction-scoped advisory lock, so servers starting at once wait for each other and the later ones
/// find nothing left to do; PostgreSQL DDL is transactional, so a failed migration leaves nothing behind.
pub(crate) async fn run(client: &mut deadpool_postgres::Object) -> StoreResult<()> {
    let tx = client.transaction().await.map_err(map_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(map_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version     BIGINT PRIMARY KEY,
            name        TEXT NOT NULL,
            applied_at  TEXT NOT NULL
        )",
    )
    .await
    .map_err(map_err)?;
    let newest: Option<i64> = tx
        .query_one("SELECT MAX(version) FROM schema_migrations", &[])
        .await
        .map_err(map_err)?
        .try_get(0)
        .map_err(map_err)?;
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if let Some(newest) = newest.filter(|n| *n > known) {
        return Err(StoreError::Backend(format!(
            "the database has schema version {newest}, newer than this server knows ({known}): upgrade the server"
        )));
    }
    for (version, name, sql) in MIGRATIONS {
        if newest.is_some_and(|n| n >= *version) {
            continue;
        }
        tx.batch_execute(sql).await.map_err(|e| StoreError::Backend(format!("migration {name} failed: {e}")))?;
        if *version == LISTINGS {
            baseline(&tx).await?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[version, name, &format_time(&chrono::Utc::now())],
        )
        .await
        .map_err(map_err)?;
        tracing::info!(migration = name, "applied PostgreSQL migration");
    }
    tx.commit().await.map_err(map_err)
}

/// When the database already has records, one event lists them all as they are
/// ([`railyard_store::baseline_event`]), appended after the chain head in the migration's transaction.
async fn baseline(tx: &deadpool_postgres::Transaction<'_>) -> StoreResult<()> {
    let sql = format!("SELECT {} FROM records ORDER BY kind, id", crate::read::RECORD_COLUMNS);
    let rows = tx.query(&sql, &[]).await.map_err(map_err)?;
    let mut written = Vec::with_capacity(rows.len());
    for row in &rows {
        let r = crate::read::record_from_row(row)?;
        written.push(written_record(&r, r.version));
    }
    if written.is_empty() {
        return Ok(());
    }
    let event = baseline_event(written.len(), chrono::Utc::now());
    crate::write::append(tx, vec![event], &written).await?;
    Ok(())
}
