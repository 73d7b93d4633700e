//! The writer thread: the only connection that writes, with group commit.
//!
//! Requests arrive over a channel. The thread blocks for the first, drains whatever else is already
//! queued (up to [`MAX_BATCH`]), and applies them all in one transaction, each inside its own savepoint:
//! a request that fails is rolled back to its savepoint alone and answered at once with its error; the
//! others are answered only after the single `COMMIT` (one WAL fsync for the whole batch) has returned.
//! Under load, batches grow by themselves: while one batch is being fsynced, the next one queues up.

use std::sync::mpsc::Receiver;

use railyard_store::{
    Commit, CommitReceipt, Record, StoreError, StoreResult, Write, WrittenRecord, deleted_record, format_time,
    parse_time, written_record,
};
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use tokio::sync::oneshot;

use crate::append::{Head, append_events, load_head, save_head};
use crate::{SqliteSettings, copy_err, map_err};

/// The most requests applied in one transaction. Bounds the latency a request can add to the others of
/// its batch, and the work lost to a failed `COMMIT`.
pub(crate) const MAX_BATCH: usize = 256;

pub(crate) enum Request {
    Commit(Commit, oneshot::Sender<StoreResult<CommitReceipt>>),
    /// Reserves a block of `count` (at least 1) numbers of a counter; answers the first.
    Seqs {
        counter: String,
        count: i64,
        reply: oneshot::Sender<StoreResult<i64>>,
    },
    Settings(oneshot::Sender<StoreResult<SqliteSettings>>),
}

impl Request {
    fn fail(self, e: StoreError) {
        // A requester that stopped waiting is no error of ours: ignore failed sends.
        match self {
            Request::Commit(_, reply) => drop(reply.send(Err(e))),
            Request::Seqs { reply, .. } => drop(reply.send(Err(e))),
            Request::Settings(reply) => drop(reply.send(Err(e))),
        }
    }
}

/// A request applied inside the open transaction, answered once it commits.
enum Applied {
    Commit(oneshot::Sender<StoreResult<CommitReceipt>>, CommitReceipt),
    Seqs(oneshot::Sender<StoreResult<i64>>, i64),
}

impl Applied {
    fn answer(self, outcome: Result<(), &StoreError>) {
        match (self, outcome) {
            (Applied::Commit(reply, receipt), Ok(())) => drop(reply.send(Ok(receipt))),
            (Applied::Seqs(reply, first), Ok(())) => drop(reply.send(Ok(first))),
            (Applied::Commit(reply, _), Err(e)) => drop(reply.send(Err(copy_err(e)))),
            (Applied::Seqs(reply, _), Err(e)) => drop(reply.send(Err(copy_err(e)))),
        }
    }
}

/// How one request inside the batch ended.
enum Outcome<T> {
    Done(T),
    /// The request failed and was rolled back to its savepoint; the batch goes on.
    Failed(StoreError),
    /// The transaction itself is no longer usable: the whole batch must be abandoned.
    Broken(StoreError),
}

pub(crate) struct Writer {
    conn: Connection,
    head: Head,
    inbox: Receiver<Request>,
}

impl Writer {
    pub(crate) fn new(conn: Connection, head: Head, inbox: Receiver<Request>) -> Writer {
        Writer { conn, head, inbox }
    }

    /// Serves batches until every sender is gone (the store was dropped).
    pub(crate) fn run(mut self) {
        while let Ok(first) = self.inbox.recv() {
            let mut batch = Vec::with_capacity(16);
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match self.inbox.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            self.run_batch(batch);
        }
        tracing::debug!("SQLite writer thread stopping");
    }

    fn run_batch(&mut self, batch: Vec<Request>) {
        if let Err(e) = self.begin() {
            for request in batch {
                request.fail(copy_err(&e));
            }
            return;
        }
        let start_head = self.head.clone();
        let mut applied = Vec::with_capacity(batch.len());
        let mut requests = batch.into_iter();
        let mut broken = None;
        for request in requests.by_ref() {
            match request {
                Request::Settings(reply) => drop(reply.send(self.settings())),
                Request::Commit(commit, reply) => {
                    match self.in_savepoint(|conn, head| apply_commit(conn, head, commit)) {
                        Outcome::Done(receipt) => applied.push(Applied::Commit(reply, receipt)),
                        Outcome::Failed(e) => drop(reply.send(Err(e))),
                        Outcome::Broken(e) => {
                            drop(reply.send(Err(copy_err(&e))));
                            broken = Some(e);
                            break;
                        }
                    }
                }
                Request::Seqs { counter, count, reply } => {
                    match self.in_savepoint(|conn, _| reserve_seqs(conn, &counter, count)) {
                        Outcome::Done(first) => applied.push(Applied::Seqs(reply, first)),
                        Outcome::Failed(e) => drop(reply.send(Err(e))),
                        Outcome::Broken(e) => {
                            drop(reply.send(Err(copy_err(&e))));
                            broken = Some(e);
                            break;
                        }
                    }
                }
            }
        }
        // The stored head moves once per batch, in the batch's transaction, if its commits appended.
        let result = match broken {
            Some(e) => Err(e),
            None if self.head != start_head => {
                save_head(&self.conn, &self.head).and_then(|()| self.conn.execute_batch("COMMIT").map_err(map_err))
            }
            None => self.conn.execute_batch("COMMIT").map_err(map_err),
        };
        match result {
            Ok(()) => applied.into_iter().for_each(|a| a.answer(Ok(()))),
            Err(e) => {
                tracing::error!(error = %e, "SQLite batch failed; rolling it back");
                // A failed COMMIT or an I/O error may already have ended the transaction.
                let rollback = if self.conn.is_autocommit() { Ok(()) } else { self.conn.execute_batch("ROLLBACK") };
                if let Err(rollback) = rollback {
                    tracing::error!(error = %rollback, "SQLite rollback failed");
                }
                self.head = start_head;
                applied.into_iter().for_each(|a| a.answer(Err(&e)));
                requests.for_each(|r| r.fail(copy_err(&e)));
            }
        }
    }

    /// Opens the batch's transaction and re-reads the stored chain head, in case another process appended
    /// to the log since our last batch (one lookup per batch, not per request).
    fn begin(&mut self) -> StoreResult<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(map_err)?;
        match load_head(&self.conn) {
            Ok(head) => {
                self.head = head;
                Ok(())
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Runs `f` inside a savepoint; on failure rolls back to it and restores the chain head.
    fn in_savepoint<T>(&mut self, f: impl FnOnce(&Connection, &mut Head) -> StoreResult<T>) -> Outcome<T> {
        if let Err(e) = self.conn.execute_batch("SAVEPOINT request") {
            return Outcome::Broken(map_err(e));
        }
        let saved = self.head.clone();
        match f(&self.conn, &mut self.head) {
            Ok(v) => match self.conn.execute_batch("RELEASE request") {
                Ok(()) => Outcome::Done(v),
                Err(e) => Outcome::Broken(map_err(e)),
            },
            Err(e) => {
                self.head = saved;
                match self.conn.execute_batch("ROLLBACK TO request; RELEASE request") {
                    Ok(()) => Outcome::Failed(e),
                    // E.g. an I/O error that already rolled back the whole transaction.
                    Err(rollback) => {
                        tracing::error!(error = %rollback, request_error = %e, "SQLite savepoint rollback failed");
                        Outcome::Broken(e)
                    }
                }
            }
        }
    }

    fn settings(&self) -> StoreResult<SqliteSettings> {
        let journal_mode: String = self.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(map_err)?;
        let synchronous: i64 = self.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).map_err(map_err)?;
        let synchronous = match synchronous {
            0 => "OFF",
            1 => "NORMAL",
            2 => "FULL",
            3 => "EXTRA",
            _ => "UNKNOWN",
        };
        Ok(SqliteSettings { journal_mode, synchronous: synchronous.to_string() })
    }
}

/// Moves the counter on by `count` and returns the first number of the block: `next_seq` is a block of 1.
/// The counter stores the last number handed out.
fn reserve_seqs(conn: &Connection, counter: &str, count: i64) -> StoreResult<i64> {
    let last: i64 = conn
        .prepare_cached(
            "INSERT INTO counters (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value
             RETURNING value",
        )
        .and_then(|mut stmt| stmt.query_row(params![counter, count], |r| r.get(0)))
        .map_err(map_err)?;
    Ok(last - count + 1)
}

fn apply_commit(conn: &Connection, head: &mut Head, commit: Commit) -> StoreResult<CommitReceipt> {
    let mut written = Vec::with_capacity(commit.writes.len());
    for write in &commit.writes {
        written.push(match write {
            Write::Insert(record) => insert(conn, record)?,
            Write::Update { record, expected_version } => update(conn, record, *expected_version)?,
            Write::Delete { kind, id, expected_version } => delete(conn, kind, id, *expected_version)?,
        });
    }
    let events = append_events(conn, head, commit.events, &written)?;
    Ok(CommitReceipt { events })
}

/// A unique-constraint failure while writing `r` can only be its `(kind, unique_key)`: the id is handled
/// by `ON CONFLICT (kind, id) DO NOTHING`.
fn write_err(e: rusqlite::Error, r: &Record) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => {
            StoreError::DuplicateKey { kind: r.kind.clone(), key: r.unique_key.clone().unwrap_or_default() }
        }
        _ => map_err(e),
    }
}

fn insert(conn: &Connection, r: &Record) -> StoreResult<WrittenRecord> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO records (id, kind, seq, version, state, parent_id, category, unique_key, created_at, updated_at, doc)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (kind, id) DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                r.id,
                r.kind,
                r.seq,
                r.state,
                r.parent_id,
                r.category,
                r.unique_key,
                format_time(&r.created_at),
                format_time(&r.updated_at),
                r.doc
            ])
        })
        .map_err(|e| write_err(e, r))?;
    if inserted == 1 {
        return Ok(written_record(r, 1));
    }
    let found: Option<i64> = conn
        .prepare_cached("SELECT version FROM records WHERE kind = ?1 AND id = ?2")
        .and_then(|mut stmt| stmt.query_row([&r.kind, &r.id], |row| row.get(0)).optional())
        .map_err(map_err)?;
    Err(StoreError::Conflict { kind: r.kind.clone(), id: r.id.clone(), expected: 0, found })
}

/// Updates the record when it is at `expected` and returns it as stored (its `seq` and `created_at` are
/// the stored ones, not those given).
fn update(conn: &Connection, r: &Record, expected: i64) -> StoreResult<WrittenRecord> {
    let updated = conn
        .prepare_cached(
            "UPDATE records
             SET version = version + 1, state = ?1, parent_id = ?2, category = ?3, unique_key = ?4,
                 updated_at = ?5, doc = ?6
             WHERE id = ?7 AND kind = ?8 AND version = ?9
             RETURNING seq, created_at, version",
        )
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    r.state,
                    r.parent_id,
                    r.category,
                    r.unique_key,
                    format_time(&r.updated_at),
                    r.doc,
                    r.id,
                    r.kind,
                    expected
                ],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?)),
            )
            .optional()
        })
        .map_err(|e| write_err(e, r))?;
    if let Some((seq, created_at, version)) = updated {
        let stored = Record { seq, created_at: parse_time(&created_at)?, version, ..r.clone() };
        return Ok(written_record(&stored, version));
    }
    let found: Option<i64> = conn
        .prepare_cached("SELECT version FROM records WHERE id = ?1 AND kind = ?2")
        .and_then(|mut stmt| stmt.query_row([&r.id, &r.kind], |row| row.get(0)).optional())
        .map_err(map_err)?;
    Err(StoreError::Conflict { kind: r.kind.clone(), id: r.id.clone(), expected, found })
}

/// Deletes the record when it is at `expected` and lists it as it was.
fn delete(conn: &Connection, kind: &str, id: &str, expected: i64) -> StoreResult<WrittenRecord> {
    let sql = format!(
        "DELETE FROM records WHERE kind = ?1 AND id = ?2 AND version = ?3 RETURNING {}",
        crate::read::RECORD_COLUMNS
    );
    let deleted = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row(params![kind, id, expected], |row| Ok(crate::read::record_from_row(row))).optional()
        })
        .map_err(map_err)?;
    if let Some(r) = deleted {
        return Ok(deleted_record(&r?));
    }
    let found: Option<i64> = conn
        .prepare_cached("SELECT version FROM records WHERE kind = ?1 AND id = ?2")
        .and_then(|mut stmt| stmt.query_row([kind, id], |row| row.get(0)).optional())
        .map_err(map_err)?;
    Err(StoreError::Conflict { kind: kind.to_string(), id: id.to_string(), expected, found })
}
