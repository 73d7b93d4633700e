//! Embedded schema migrations, applied in order at open and recorded in `schema_migrations`.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use railyard_store::{StoreError, StoreResult, format_time};

use crate::map_err;

/// Every migration, in order. A migration, once released, is never edited: add a new one.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "0001_init", include_str!("../migrations/0001_init.sql")),
    (2, "0002_chain_head", include_str!("../migrations/0002_chain_head.sql")),
];

/// The migration that introduced the listings of written records: after its SQL, a database that
/// already has records gets one baseline event listing them ([`crate::append::baseline`]).
const LISTINGS: i64 = 2;

/// Applies the migrations this database lacks, all in one `IMMEDIATE` transaction so two processes
/// opening the same new file cannot both apply them.
pub(crate) fn run(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(map_err)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version     INTEGER PRIMARY KEY,
            name        TEXT NOT NULL,
            applied_at  TEXT NOT NULL
        )",
    )
    .map_err(map_err)?;
    let newest: Option<i64> = tx
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0))
        .optional()
        .map_err(map_err)?
        .flatten();
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
        tx.execute_batch(sql).map_err(|e| StoreError::Backend(format!("migration {name} failed: {e}")))?;
        if *version == LISTINGS {
            crate::append::baseline(&tx)?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![version, name, format_time(&chrono::Utc::now())],
        )
        .map_err(map_err)?;
        tracing::info!(migration = name, "applied SQLite migration");
    }
    tx.commit().map_err(map_err)
}
