//! The audit chain on SQLite: the stored head row, appending a commit's events after it, and the
//! baseline listing of the records an upgraded database already had.

use railyard_store::{
    ChainHead, Event, NewEvent, StoreError, StoreResult, WrittenRecord, baseline_event, event_hash, format_time,
    to_stored_precision, writes_text, written_record,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::map_err;
use crate::read::{RECORD_COLUMNS, record_from_row};

/// The last event of the chain: the next event gets `seq + 1` and links to `hash`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Head {
    pub(crate) seq: i64,
    pub(crate) hash: String,
}

/// The stored head (`chain_head`), not the newest stored event: after the newest events were deleted,
/// the next commit goes on after the head and leaves the gap for `verify` to find.
pub(crate) fn load_head(conn: &Connection) -> StoreResult<Head> {
    conn.prepare_cached("SELECT seq, hash FROM chain_head WHERE id = 1")
        .and_then(|mut stmt| stmt.query_row([], |r| Ok(Head { seq: r.get(0)?, hash: r.get(1)? })).optional())
        .map_err(map_err)?
        .ok_or_else(|| StoreError::Corrupt("the chain_head row is missing".into()))
}

/// The stored head as `Store::chain_head` answers it: `None` when the row is missing.
pub(crate) fn read_head(conn: &Connection) -> StoreResult<Option<ChainHead>> {
    conn.prepare_cached("SELECT seq, hash FROM chain_head WHERE id = 1")
        .and_then(|mut stmt| stmt.query_row([], |r| Ok(ChainHead { seq: r.get(0)?, hash: r.get(1)? })).optional())
        .map_err(map_err)
}

pub(crate) fn save_head(conn: &Connection, head: &Head) -> StoreResult<()> {
    let n = conn
        .prepare_cached("UPDATE chain_head SET seq = ?1, hash = ?2 WHERE id = 1")
        .and_then(|mut stmt| stmt.execute(params![head.seq, head.hash]))
        .map_err(map_err)?;
    if n != 1 {
        return Err(StoreError::Corrupt("the chain_head row is missing".into()));
    }
    Ok(())
}

/// Appends a commit's events after `head` and moves `head` (in memory; [`save_head`] stores it). The
/// first event lists `written`. A commit without events appends nothing.
pub(crate) fn append_events(
    conn: &Connection,
    head: &mut Head,
    events: Vec<NewEvent>,
    written: &[WrittenRecord],
) -> StoreResult<Vec<Event>> {
    let mut out = Vec::with_capacity(events.len());
    if events.is_empty() {
        return Ok(out);
    }
    let listing = writes_text(written)?;
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO events (seq, commit_seq, at, actor, object_kind, object_id, action, data, prev_hash, hash, writes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .map_err(map_err)?;
    // The commit's id is the seq of its first event.
    let commit_seq = head.seq + 1;
    for e in events {
        let seq = head.seq + 1;
        let writes = if seq == commit_seq { listing.clone() } else { String::new() };
        let hash = event_hash(
            seq,
            commit_seq,
            &e.at,
            &e.actor,
            &e.object_kind,
            &e.object_id,
            &e.action,
            &e.data,
            &head.hash,
            &writes,
        );
        stmt.execute(params![
            seq,
            commit_seq,
            format_time(&e.at),
            e.actor,
            e.object_kind,
            e.object_id,
            e.action,
            e.data,
            head.hash,
            hash,
            writes
        ])
        .map_err(map_err)?;
        let prev_hash = std::mem::replace(&mut head.hash, hash.clone());
        head.seq = seq;
        out.push(Event {
            seq,
            commit_seq,
            at: to_stored_precision(e.at),
            actor: e.actor,
            object_kind: e.object_kind,
            object_id: e.object_id,
            action: e.action,
            data: e.data,
            prev_hash,
            hash,
            writes,
        });
    }
    Ok(out)
}

/// Run by the migration that introduced the listings, inside its transaction: when the database already
/// has records, one event lists them all as they are ([`baseline_event`]).
pub(crate) fn baseline(conn: &Connection) -> StoreResult<()> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM records ORDER BY kind, id");
    let mut stmt = conn.prepare(&sql).map_err(map_err)?;
    let mut rows = stmt.query([]).map_err(map_err)?;
    let mut written = Vec::new();
    while let Some(row) = rows.next().map_err(map_err)? {
        let r = record_from_row(row)?;
        written.push(written_record(&r, r.version));
    }
    if written.is_empty() {
        return Ok(());
    }
    let mut head = load_head(conn)?;
    let event = baseline_event(written.len(), chrono::Utc::now());
    append_events(conn, &mut head, vec![event], &written)?;
    save_head(conn, &head)
}
