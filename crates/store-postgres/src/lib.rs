//! Railyard's PostgreSQL backend.
//!
//! # Design
//!
//! * A `deadpool-postgres` pool of `tokio-postgres` connections (no TLS); statements are prepared once
//!   per connection and cached.
//! * **Commits** are one transaction each: the writes first (inserts with `ON CONFLICT (id) DO NOTHING`,
//!   updates guarded by `version = expected`), then, if the commit has events, the one-row
//!   `chain_head` table is locked with `SELECT ... FOR UPDATE`, the events are appended after it and the
//!   head is moved, and the transaction commits. Several servers sharing the database thus append to the
//!   log one at a time and the chain never forks, while their writes to different records overlap.
//!   Taking the head lock last keeps that serial section to two statements and the `COMMIT`, and cannot
//!   deadlock: a transaction holding the head waits for no row lock. Events are appended after the
//!   stored head, never after the newest stored event: deleting the newest events leaves a gap that
//!   `verify` names. The first event of a commit lists the records it wrote (`events.writes`).
//! * **Durability** is PostgreSQL's: a commit acknowledged with the default `synchronous_commit=on` is
//!   in the server's WAL on disk.
//! * **Migrations** run at [`PostgresStore::connect`] in one transaction under a transaction-scoped
//!   advisory lock, so servers starting together apply them once.

mod migrate;
mod read;
#[cfg(feature = "testing")]
pub mod testing;
mod write;

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime};
use railyard_store::{
    ChainHead, Commit, CommitReceipt, Event, EventQuery, ListQuery, Record, RecordScan, Store, StoreError, StoreResult,
    check_seq_count,
};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

/// Connections per server unless [`PostgresStore::connect_with_pool_size`] says otherwise.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// The PostgreSQL [`Store`]. Cheap to share behind an `Arc`.
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`), checks that the database
    /// answers, and applies missing migrations.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        Self::connect_with_pool_size(url, DEFAULT_POOL_SIZE).await
    }

    /// [`connect`](Self::connect) with at most `max_connections` pooled connections.
    pub async fn connect_with_pool_size(url: &str, max_connections: usize) -> StoreResult<PostgresStore> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Backend(format!("bad PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("railyard");
        }
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))?;
        let store = PostgresStore { pool };
        let mut client = store.client().await?;
        migrate::run(&mut client).await?;
        drop(client);
        Ok(store)
    }

    /// Moves the counter on by `count` (at least 1) in one statement and returns the first number of the
    /// block: `next_seq` is a block of one. The upsert locks the counter's row until it commits, so
    /// concurrent callers, on this server or another, get disjoint blocks. The counter stores the last
    /// number handed out.
    async fn seqs(&self, counter: &str, count: i64) -> StoreResult<i64> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO counters (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = counters.value + EXCLUDED.value
                 RETURNING value",
            )
            .await
            .map_err(map_err)?;
        let row = client.query_one(&stmt, &[&counter, &count]).await.map_err(map_err)?;
        let last: i64 = row.try_get(0).map_err(map_err)?;
        Ok(last - count + 1)
    }

    async fn client(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(pool_err)
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await.map_err(map_err)?;
        Ok(())
    }

    async fn next_seq(&self, counter: &str) -> StoreResult<i64> {
        self.seqs(counter, 1).await
    }

    async fn reserve_seqs(&self, counter: &str, count: u32) -> StoreResult<i64> {
        self.seqs(counter, check_seq_count(counter, count)?).await
    }

    async fn get(&self, kind: &str, id: &str) -> StoreResult<Option<Record>> {
        read::get(&self.client().await?, kind, id).await
    }

    async fn get_by_key(&self, kind: &str, unique_key: &str) -> StoreResult<Option<Record>> {
        read::get_by_key(&self.client().await?, kind, unique_key).await
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<Vec<Record>> {
        read::list(&self.client().await?, query).await
    }

    async fn commit(&self, commit: Commit) -> StoreResult<CommitReceipt> {
        let mut client = self.client().await?;
        write::commit(&mut client, commit).await
    }

    async fn events(&self, query: &EventQuery) -> StoreResult<Vec<Event>> {
        read::events(&self.client().await?, query).await
    }

    async fn head_seq(&self) -> StoreResult<i64> {
        Ok(self.chain_head().await?.map_or(0, |h| h.seq))
    }

    async fn chain_head(&self) -> StoreResult<Option<ChainHead>> {
        read::chain_head(&self.client().await?).await
    }

    async fn scan_records(&self, scan: &RecordScan) -> StoreResult<Vec<Record>> {
        read::scan(&self.client().await?, scan).await
    }
}

/// Maps a driver error: lost or refused connections and server shutdowns are `Unavailable`, values that
/// cannot be decoded `Corrupt`, everything else `Backend`.
pub(crate) fn map_err(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let unavailable = code.code().starts_with("08") // connection exception
            || code.code().starts_with("53") // insufficient resources (too many connections, ...)
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::QUERY_CANCELED
            // Transient: two transactions locked the same records in opposite orders. Retrying works.
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::T_R_SERIALIZATION_FAILURE;
        let msg = format!("{} ({})", db.message(), code.code());
        return if unavailable { StoreError::Unavailable(msg) } else { StoreError::Backend(msg) };
    }
    if e.is_closed() || source_is_io(&e) {
        return StoreError::Unavailable(e.to_string());
    }
    let text = e.to_string();
    if text.contains("deserializing") {
        return StoreError::Corrupt(text);
    }
    StoreError::Backend(text)
}

fn source_is_io(e: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn pool_err(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => match map_err(e) {
            StoreError::Backend(m) => StoreError::Unavailable(format!("cannot connect to PostgreSQL: {m}")),
            other => other,
        },
        other => StoreError::Unavailable(format!("no PostgreSQL connection: {other}")),
    }
}
