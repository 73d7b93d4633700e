//! Reads: a small pool of read-only connections, used from `spawn_blocking`.
//!
//! In WAL mode a reader sees the last committed state and neither waits for nor blocks the writer, so
//! reads scale with the pool while the writer thread does all the writing.

use std::path::PathBuf;
use std::sync::Mutex;

use railyard_store::{
    Event, EventQuery, ListQuery, Record, RecordScan, StoreError, StoreResult, format_time, parse_time,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, Row, params_from_iter};
use tokio::sync::Semaphore;

use crate::{BUSY_TIMEOUT, map_err};

/// At most this many reads run at once (and so at most this many reader connections exist).
pub(crate) const MAX_READERS: usize = 4;

pub(crate) const RECORD_COLUMNS: &str =
    "kind, id, seq, version, state, parent_id, category, unique_key, created_at, updated_at, doc";
const EVENT_COLUMNS: &str = "seq, commit_seq, at, actor, object_kind, object_id, action, data, prev_hash, hash, writes";

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    pub(crate) fn new(path: PathBuf) -> Readers {
        Readers { path, idle: Mutex::new(Vec::new()), permits: Semaphore::new(MAX_READERS) }
    }

    /// Runs `f` on a pooled reader connection on the blocking thread pool.
    pub(crate) async fn run<T, F>(self: &std::sync::Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let _permit =
            self.permits.acquire().await.map_err(|_| StoreError::Unavailable("the reader pool is closed".into()))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = this.take()?;
            let result = f(&conn);
            this.give_back(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("a read task failed: {e}")))?
    }

    fn take(&self) -> StoreResult<Connection> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => open_reader(&self.path),
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_READERS {
            idle.push(conn);
        }
    }
}

fn open_reader(path: &std::path::Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(map_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(map_err)?;
    // Read-write flags so the reader can maintain the WAL index, but no statement may write.
    conn.pragma_update(None, "query_only", "ON").map_err(map_err)?;
    Ok(conn)
}

pub(crate) fn get(conn: &Connection, kind: &str, id: &str) -> StoreResult<Option<Record>> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE kind = ?1 AND id = ?2");
    one_record(conn, &sql, [kind, id])
}

pub(crate) fn get_by_key(conn: &Connection, kind: &str, key: &str) -> StoreResult<Option<Record>> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE kind = ?1 AND unique_key = ?2");
    one_record(conn, &sql, [kind, key])
}

fn one_record(conn: &Connection, sql: &str, params: [&str; 2]) -> StoreResult<Option<Record>> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
    let mut rows = stmt.query(params).map_err(map_err)?;
    match rows.next().map_err(map_err)? {
        Some(row) => record_from_row(row).map(Some),
        None => Ok(None),
    }
}

/// Builds a `WHERE` clause with numbered parameters (`?1`, `?2`, ...).
#[derive(Default)]
struct Filter {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl Filter {
    fn param(&mut self, v: Value) -> String {
        self.params.push(v);
        format!("?{}", self.params.len())
    }

    fn eq(&mut self, column: &str, v: Option<&String>) {
        if let Some(v) = v {
            let p = self.param(Value::Text(v.clone()));
            self.clauses.push(format!("{column} = {p}"));
        }
    }

    fn cmp(&mut self, column: &str, op: &str, v: Value) {
        let p = self.param(v);
        self.clauses.push(format!("{column} {op} {p}"));
    }

    fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }
}

pub(crate) fn list(conn: &Connection, q: &ListQuery) -> StoreResult<Vec<Record>> {
    let mut f = Filter::default();
    f.cmp("kind", "=", Value::Text(q.kind.clone()));
    if !q.states.is_empty() {
        let ps: Vec<String> = q.states.iter().map(|s| f.param(Value::Text(s.clone()))).collect();
        f.clauses.push(format!("state IN ({})", ps.join(", ")));
    }
    f.eq("parent_id", q.parent_id.as_ref());
    f.eq("category", q.category.as_ref());
    if let Some(after) = q.after_seq {
        f.cmp("seq", ">", Value::Integer(after));
    }
    if let Some(before) = q.before_seq {
        f.cmp("seq", "<", Value::Integer(before));
    }
    if let Some(since) = &q.updated_since {
        f.cmp("updated_at", ">=", Value::Text(format_time(since)));
    }
    let order = if q.newest_first { " DESC" } else { "" };
    let limit = f.param(Value::Integer(i64::from(q.limit)));
    let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE {} ORDER BY seq{order} LIMIT {limit}", f.sql());
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut rows = stmt.query(params_from_iter(f.params.iter())).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_err)? {
        out.push(record_from_row(row)?);
    }
    Ok(out)
}

/// Every record in `(kind, id)` order (the primary key's), a page at a time.
pub(crate) fn scan(conn: &Connection, scan: &RecordScan) -> StoreResult<Vec<Record>> {
    let limit = i64::from(scan.limit);
    let (sql, params) = match &scan.after {
        Some((kind, id)) => (
            format!("SELECT {RECORD_COLUMNS} FROM records WHERE (kind, id) > (?1, ?2) ORDER BY kind, id LIMIT ?3"),
            vec![Value::Text(kind.clone()), Value::Text(id.clone()), Value::Integer(limit)],
        ),
        None => {
            (format!("SELECT {RECORD_COLUMNS} FROM records ORDER BY kind, id LIMIT ?1"), vec![Value::Integer(limit)])
        }
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut rows = stmt.query(params_from_iter(params.iter())).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_err)? {
        out.push(record_from_row(row)?);
    }
    Ok(out)
}

pub(crate) fn events(conn: &Connection, q: &EventQuery) -> StoreResult<Vec<Event>> {
    let mut f = Filter::default();
    f.cmp("seq", ">", Value::Integer(q.after_seq.unwrap_or(0)));
    if let Some(commit) = q.commit_seq {
        f.cmp("commit_seq", "=", Value::Integer(commit));
    }
    f.eq("object_kind", q.object_kind.as_ref());
    f.eq("object_id", q.object_id.as_ref());
    f.eq("actor", q.actor.as_ref());
    if let Some(from) = &q.from {
        f.cmp("at", ">=", Value::Text(format_time(from)));
    }
    if let Some(to) = &q.to {
        f.cmp("at", "<", Value::Text(format_time(to)));
    }
    let limit = f.param(Value::Integer(i64::from(q.limit)));
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE {} ORDER BY seq LIMIT {limit}", f.sql());
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut rows = stmt.query(params_from_iter(f.params.iter())).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_err)? {
        out.push(event_from_row(row)?);
    }
    Ok(out)
}

/// A row of `SELECT {RECORD_COLUMNS}`.
pub(crate) fn record_from_row(row: &Row<'_>) -> StoreResult<Record> {
    Ok(Record {
        kind: row.get(0).map_err(map_err)?,
        id: row.get(1).map_err(map_err)?,
        seq: row.get(2).map_err(map_err)?,
        version: row.get(3).map_err(map_err)?,
        state: row.get(4).map_err(map_err)?,
        parent_id: row.get(5).map_err(map_err)?,
        category: row.get(6).map_err(map_err)?,
        unique_key: row.get(7).map_err(map_err)?,
        created_at: parse_time(&row.get::<_, String>(8).map_err(map_err)?)?,
        updated_at: parse_time(&row.get::<_, String>(9).map_err(map_err)?)?,
        doc: row.get(10).map_err(map_err)?,
    })
}

fn event_from_row(row: &Row<'_>) -> StoreResult<Event> {
    Ok(Event {
        seq: row.get(0).map_err(map_err)?,
        commit_seq: row.get(1).map_err(map_err)?,
        at: parse_time(&row.get::<_, String>(2).map_err(map_err)?)?,
        actor: row.get(3).map_err(map_err)?,
        object_kind: row.get(4).map_err(map_err)?,
        object_id: row.get(5).map_err(map_err)?,
        action: row.get(6).map_err(map_err)?,
        data: row.get(7).map_err(map_err)?,
        prev_hash: row.get(8).map_err(map_err)?,
        hash: row.get(9).map_err(map_err)?,
        writes: row.get(10).map_err(map_err)?,
    })
}
