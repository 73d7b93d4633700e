//! Railyard's SQLite backend.
//!
//! # Design
//!
//! SQLite allows one writer at a time, and a durable commit costs an fsync. Handing every request its own
//! transaction would make throughput the fsync rate (a few hundred per second on ordinary disks) and
//! would make concurrent writers fight over the lock (`SQLITE_BUSY`). So:
//!
//! * **One writer thread** ([`writer`]) owns the only connection that writes. Commit and counter requests
//!   (`next_seq` is a `reserve_seqs` of one number) reach it over a channel. It drains everything queued
//!   (up to [`writer::MAX_BATCH`]), runs each request inside its own `SAVEPOINT` of one transaction, so
//!   that a request that fails (a version conflict, a duplicate key) rolls back alone, then `COMMIT`s
//!   once: **group commit**, one fsync for the whole batch. Only after that `COMMIT` returns does it
//!   answer the requesters, so an acknowledged commit is on disk.
//! * **Durability**: `journal_mode=WAL` (readers never block the writer, and a commit is one sequential
//!   append) with `synchronous=FULL` (the WAL is fsynced at every commit). `synchronous=NORMAL` would be
//!   faster but can lose the last acknowledged commits on power loss, which an audit log must not.
//! * **The hash chain head** (last event seq and hash) is stored in its own row (`chain_head`) and kept
//!   in memory by the writer, so appending an event costs no read. It is loaded at open, re-read at the
//!   start of each batch (one lookup, in case another process wrote to the file), restored when a
//!   request's savepoint is rolled back, and written back once per batch, before its `COMMIT`. Events
//!   are appended after the stored head, never after the newest stored event: deleting the newest events
//!   leaves a gap that `verify` names, and later commits do not fill it.
//! * **Reads** run on a small pool of read-only connections (at most [`read::MAX_READERS`]) through
//!   `tokio::task::spawn_blocking`; in WAL mode they see the last committed state and never wait for the
//!   writer.
//! * **File permissions**: the database holds password hashes, token hashes and the audit log, and the
//!   server's tasks may run as other local users. The file is created `0600` before SQLite opens it (SQLite
//!   gives its `-wal`, `-shm` and `-journal` files the database's own mode), an existing database (and
//!   those files) more open than that is narrowed to `0600` at open, and a directory created for it is
//!   `0700`. Only the user the server runs as can read or write it.

mod append;
mod migrate;
mod read;
mod writer;

use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use railyard_store::{
    ChainHead, Commit, CommitReceipt, Event, EventQuery, ListQuery, Record, RecordScan, Store, StoreError, StoreResult,
    check_seq_count,
};
use rusqlite::{Connection, ErrorCode};
use tokio::sync::oneshot;

use read::Readers;
use writer::Request;

/// How long a connection waits for a lock held by another connection before giving up with
/// [`StoreError::Unavailable`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite [`Store`]. Cheap to share behind an `Arc`; dropping it stops the writer thread after the
/// requests already queued have been answered.
pub struct SqliteStore {
    path: PathBuf,
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
    readers: Arc<Readers>,
}

/// The durability settings of the writer connection, as SQLite reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteSettings {
    /// `wal`.
    pub journal_mode: String,
    /// `FULL`.
    pub synchronous: String,
}

impl SqliteStore {
    /// Opens (creating the file and its directory if missing) and migrates the database at `path`, and
    /// starts the writer thread. Blocking: call it at startup, or from `spawn_blocking`.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if path.as_os_str() == ":memory:" || path.as_os_str().is_empty() {
            // The writer and the readers are separate connections: they must share a file.
            return Err(StoreError::Backend("the SQLite store needs a file path, not an in-memory database".into()));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| StoreError::Unavailable(format!("cannot create directory {}: {e}", dir.display())))?;
        }
        private_files(path)?;
        let mut conn = Connection::open(path).map_err(map_err)?;
        configure_writer(&conn)?;
        migrate::run(&mut conn)?;
        let head = append::load_head(&conn)?;
        let (requests, inbox) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("railyard-sqlite-writer".into())
            .spawn(move || writer::Writer::new(conn, head, inbox).run())
            .map_err(|e| StoreError::Backend(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            requests: Some(requests),
            writer: Some(writer),
            readers: Arc::new(Readers::new(path.to_path_buf())),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer connection's `journal_mode` and `synchronous` settings.
    pub async fn settings(&self) -> StoreResult<SqliteSettings> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Settings(reply))?;
        answer.await.map_err(|_| writer_gone())?
    }

    /// A block of `count` (at least 1) numbers, reserved by the writer thread: one request, one round trip.
    async fn seqs(&self, counter: &str, count: i64) -> StoreResult<i64> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Seqs { counter: counter.to_string(), count, reply })?;
        answer.await.map_err(|_| writer_gone())?
    }

    fn send(&self, request: Request) -> StoreResult<()> {
        let requests = self.requests.as_ref().ok_or_else(writer_gone)?;
        requests.send(request).map_err(|_| writer_gone())
    }
}

/// Creates the database file `0600` if missing, and narrows it and its `-wal`, `-shm` and `-journal`
/// files to `0600` when they are more open (see the module doc).
fn private_files(path: &Path) -> StoreResult<()> {
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(StoreError::Unavailable(format!("cannot create {}: {e}", path.display()))),
    }
    let mut files = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    for file in files {
        let Ok(meta) = std::fs::metadata(&file) else { continue };
        if meta.is_file() && meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
                StoreError::Unavailable(format!(
                    "{} can be read by other users and cannot be made private (0600): {e}",
                    file.display()
                ))
            })?;
        }
    }
    Ok(())
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the channel ends the writer's loop once it has answered what is queued.
        drop(self.requests.take());
        if let Some(Err(_)) = self.writer.take().map(JoinHandle::join) {
            tracing::error!("the SQLite writer thread panicked");
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        if self.writer.as_ref().is_none_or(|w| w.is_finished()) {
            return Err(writer_gone());
        }
        self.readers.run(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(map_err)).await
    }

    async fn next_seq(&self, counter: &str) -> StoreResult<i64> {
        self.seqs(counter, 1).await
    }

    async fn reserve_seqs(&self, counter: &str, count: u32) -> StoreResult<i64> {
        self.seqs(counter, check_seq_count(counter, count)?).await
    }

    async fn get(&self, kind: &str, id: &str) -> StoreResult<Option<Record>> {
        let (kind, id) = (kind.to_string(), id.to_string());
        self.readers.run(move |conn| read::get(conn, &kind, &id)).await
    }

    async fn get_by_key(&self, kind: &str, unique_key: &str) -> StoreResult<Option<Record>> {
        let (kind, key) = (kind.to_string(), unique_key.to_string());
        self.readers.run(move |conn| read::get_by_key(conn, &kind, &key)).await
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<Vec<Record>> {
        let query = query.clone();
        self.readers.run(move |conn| read::list(conn, &query)).await
    }

    async fn commit(&self, commit: Commit) -> StoreResult<CommitReceipt> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Commit(commit, reply))?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn events(&self, query: &EventQuery) -> StoreResult<Vec<Event>> {
        let query = query.clone();
        self.readers.run(move |conn| read::events(conn, &query)).await
    }

    async fn head_seq(&self) -> StoreResult<i64> {
        Ok(self.chain_head().await?.map_or(0, |h| h.seq))
    }

    async fn chain_head(&self) -> StoreResult<Option<ChainHead>> {
        self.readers.run(append::read_head).await
    }

    async fn scan_records(&self, scan: &RecordScan) -> StoreResult<Vec<Record>> {
        let scan = scan.clone();
        self.readers.run(move |conn| read::scan(conn, &scan)).await
    }
}

/// WAL + `synchronous=FULL`: see the crate docs for why.
fn configure_writer(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(map_err)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(map_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!("SQLite refused WAL mode (journal_mode is {mode})")));
    }
    conn.pragma_update(None, "synchronous", "FULL").map_err(map_err)?;
    Ok(())
}

fn writer_gone() -> StoreError {
    StoreError::Unavailable("the SQLite writer thread has stopped".into())
}

/// Maps a rusqlite error: lock timeouts and unopenable files are `Unavailable` (try again later), bad
/// stored values `Corrupt`, everything else `Backend`.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::Error as E;
    match &e {
        E::SqliteFailure(f, _) => match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen => {
                StoreError::Unavailable(e.to_string())
            }
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Backend(e.to_string()),
        },
        E::FromSqlConversionFailure(..) | E::InvalidColumnType(..) | E::IntegralValueOutOfRange(..) => {
            StoreError::Corrupt(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// `StoreError` is not `Clone`; the writer needs one copy per requester when a whole batch fails.
pub(crate) fn copy_err(e: &StoreError) -> StoreError {
    match e {
        StoreError::Conflict { kind, id, expected, found } => {
            StoreError::Conflict { kind: kind.clone(), id: id.clone(), expected: *expected, found: *found }
        }
        StoreError::DuplicateKey { kind, key } => StoreError::DuplicateKey { kind: kind.clone(), key: key.clone() },
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Backend(m) => StoreError::Backend(m.clone()),
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
    }
}
