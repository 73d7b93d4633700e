//! Commits: the writes, then the events appended after the locked chain head, in one transaction.

use deadpool_postgres::{Object, Transaction};
use railyard_store::{
    Commit, CommitReceipt, Event, NewEvent, Record, StoreError, StoreResult, Write, WrittenRecord, deleted_record,
    event_hash, format_time, parse_time, to_stored_precision, writes_text, written_record,
};
use tokio_postgres::error::SqlState;

use crate::map_err;

pub(crate) async fn commit(client: &mut Object, commit: Commit) -> StoreResult<CommitReceipt> {
    let tx = client.transaction().await.map_err(map_err)?;
    match apply(&tx, commit).await {
        Ok(receipt) => {
            tx.commit().await.map_err(map_err)?;
            Ok(receipt)
        }
        Err(e) => {
            // Dropping the transaction would roll back too, but without waiting for the server.
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "PostgreSQL rollback failed");
            }
            Err(e)
        }
    }
}

async fn apply(tx: &Transaction<'_>, commit: Commit) -> StoreResult<CommitReceipt> {
    let mut written = Vec::with_capacity(commit.writes.len());
    for write in &commit.writes {
        written.push(match write {
            Write::Insert(record) => insert(tx, record).await?,
            Write::Update { record, expected_version } => update(tx, record, *expected_version).await?,
            Write::Delete { kind, id, expected_version } => delete(tx, kind, id, *expected_version).await?,
        });
    }
    let events = append(tx, commit.events, &written).await?;
    Ok(CommitReceipt { events })
}

/// Appends events after the locked chain head and moves the head; the first event lists `written`.
/// No events: nothing is appended and the head is not locked.
pub(crate) async fn append(
    tx: &Transaction<'_>,
    new_events: Vec<NewEvent>,
    written: &[WrittenRecord],
) -> StoreResult<Vec<Event>> {
    if new_events.is_empty() {
        return Ok(Vec::new());
    }
    let listing = writes_text(written)?;

    // The serial section: from here to COMMIT, other commits with events wait for this row.
    let lock = tx.prepare_cached("SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE").await.map_err(map_err)?;
    let head = tx.query_opt(&lock, &[]).await.map_err(map_err)?;
    let Some(head) = head else {
        return Err(StoreError::Corrupt("the chain_head row is missing".into()));
    };
    let mut seq: i64 = head.try_get(0).map_err(map_err)?;
    let mut hash: String = head.try_get(1).map_err(map_err)?;

    // The commit's id is the seq of its first event.
    let commit_seq = seq + 1;
    let mut events = Vec::with_capacity(new_events.len());
    for e in new_events {
        seq += 1;
        let prev_hash = hash;
        let writes = if seq == commit_seq { listing.clone() } else { String::new() };
        hash = event_hash(
            seq,
            commit_seq,
            &e.at,
            &e.actor,
            &e.object_kind,
            &e.object_id,
            &e.action,
            &e.data,
            &prev_hash,
            &writes,
        );
        events.push(Event {
            seq,
            commit_seq,
            at: to_stored_precision(e.at),
            actor: e.actor,
            object_kind: e.object_kind,
            object_id: e.object_id,
            action: e.action,
            data: e.data,
            prev_hash,
            hash: hash.clone(),
            writes,
        });
    }
    let column = |f: fn(&Event) -> String| events.iter().map(f).collect::<Vec<String>>();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let (ats, actors, kinds) =
        (column(|e| format_time(&e.at)), column(|e| e.actor.clone()), column(|e| e.object_kind.clone()));
    let (ids, actions, data) =
        (column(|e| e.object_id.clone()), column(|e| e.action.clone()), column(|e| e.data.clone()));
    let (prevs, hashes) = (column(|e| e.prev_hash.clone()), column(|e| e.hash.clone()));
    let writes = column(|e| e.writes.clone());
    // One round trip appends every event and moves the head.
    let append = tx
        .prepare_cached(
            "WITH appended AS (
                 INSERT INTO events (seq, commit_seq, at, actor, object_kind, object_id, action, data, prev_hash, hash,
                                     writes)
                 SELECT u.seq, $12::BIGINT, u.at, u.actor, u.object_kind, u.object_id, u.action, u.data,
                        u.prev_hash, u.hash, u.writes
                 FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[],
                             $7::TEXT[], $8::TEXT[], $9::TEXT[], $13::TEXT[])
                      AS u (seq, at, actor, object_kind, object_id, action, data, prev_hash, hash, writes)
             )
             UPDATE chain_head SET seq = $10, hash = $11 WHERE id = 1",
        )
        .await
        .map_err(map_err)?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 13] =
        [&seqs, &ats, &actors, &kinds, &ids, &actions, &data, &prevs, &hashes, &seq, &hash, &commit_seq, &writes];
    tx.execute(&append, &params).await.map_err(map_err)?;
    Ok(events)
}

/// A unique violation while writing `r` is its `(kind, unique_key)`. The id is handled by
/// `ON CONFLICT (kind, id) DO NOTHING` (which also reports the stored version), but a primary-key violation
/// is still mapped to `Conflict` should one ever surface.
fn write_err(e: tokio_postgres::Error, r: &Record) -> StoreError {
    match e.as_db_error() {
        Some(db) if *db.code() == SqlState::UNIQUE_VIOLATION && db.constraint() == Some("records_pkey") => {
            StoreError::Conflict { kind: r.kind.clone(), id: r.id.clone(), expected: 0, found: None }
        }
        Some(db) if *db.code() == SqlState::UNIQUE_VIOLATION && db.constraint() == Some("records_kind_unique_key") => {
            StoreError::DuplicateKey { kind: r.kind.clone(), key: r.unique_key.clone().unwrap_or_default() }
        }
        _ => map_err(e),
    }
}

async fn insert(tx: &Transaction<'_>, r: &Record) -> StoreResult<WrittenRecord> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO records (id, kind, seq, version, state, parent_id, category, unique_key, created_at, updated_at, doc)
             VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (kind, id) DO NOTHING",
        )
        .await
        .map_err(map_err)?;
    let inserted = tx
        .execute(
            &stmt,
            &[
                &r.id,
                &r.kind,
                &r.seq,
                &r.state,
                &r.parent_id,
                &r.category,
                &r.unique_key,
                &format_time(&r.created_at),
                &format_time(&r.updated_at),
                &r.doc,
            ],
        )
        .await
        .map_err(|e| write_err(e, r))?;
    if inserted == 1 {
        return Ok(written_record(r, 1));
    }
    let stmt = tx.prepare_cached("SELECT version FROM records WHERE kind = $1 AND id = $2").await.map_err(map_err)?;
    let found = match tx.query_opt(&stmt, &[&r.kind, &r.id]).await.map_err(map_err)? {
        Some(row) => Some(row.try_get(0).map_err(map_err)?),
        None => None,
    };
    Err(StoreError::Conflict { kind: r.kind.clone(), id: r.id.clone(), expected: 0, found })
}

/// Updates the record when it is at `expected` and returns it as stored (its `seq` and `created_at` are
/// the stored ones, not those given).
async fn update(tx: &Transaction<'_>, r: &Record, expected: i64) -> StoreResult<WrittenRecord> {
    let stmt = tx
        .prepare_cached(
            "UPDATE records
             SET version = version + 1, state = $1, parent_id = $2, category = $3, unique_key = $4,
                 updated_at = $5, doc = $6
             WHERE id = $7 AND kind = $8 AND version = $9
             RETURNING seq, created_at, version",
        )
        .await
        .map_err(map_err)?;
    let updated = tx
        .query_opt(
            &stmt,
            &[
                &r.state,
                &r.parent_id,
                &r.category,
                &r.unique_key,
                &format_time(&r.updated_at),
                &r.doc,
                &r.id,
                &r.kind,
                &expected,
            ],
        )
        .await
        .map_err(|e| write_err(e, r))?;
    if let Some(row) = updated {
        let (seq, created_at, version): (i64, String, i64) =
            (row.try_get(0).map_err(map_err)?, row.try_get(1).map_err(map_err)?, row.try_get(2).map_err(map_err)?);
        let stored = Record { seq, created_at: parse_time(&created_at)?, version, ..r.clone() };
        return Ok(written_record(&stored, version));
    }
    // Under READ COMMITTED a concurrent winner's row is seen here once it has committed.
    let stmt = tx.prepare_cached("SELECT version FROM records WHERE id = $1 AND kind = $2").await.map_err(map_err)?;
    let found = match tx.query_opt(&stmt, &[&r.id, &r.kind]).await.map_err(map_err)? {
        Some(row) => Some(row.try_get(0).map_err(map_err)?),
        None => None,
    };
    Err(StoreError::Conflict { kind: r.kind.clone(), id: r.id.clone(), expected, found })
}

/// Deletes the record when it is at `expected` and lists it as it was.
async fn delete(tx: &Transaction<'_>, kind: &str, id: &str, expected: i64) -> StoreResult<WrittenRecord> {
    let sql = format!(
        "DELETE FROM records WHERE kind = $1 AND id = $2 AND version = $3 RETURNING {}",
        crate::read::RECORD_COLUMNS
    );
    let stmt = tx.prepare_cached(&sql).await.map_err(map_err)?;
    if let Some(row) = tx.query_opt(&stmt, &[&kind, &id, &expected]).await.map_err(map_err)? {
        return Ok(deleted_record(&crate::read::record_from_row(&row)?));
    }
    let stmt = tx.prepare_cached("SELECT version FROM records WHERE kind = $1 AND id = $2").await.map_err(map_err)?;
    let found = match tx.query_opt(&stmt, &[&kind, &id]).await.map_err(map_err)? {
        Some(row) => Some(row.try_get(0).map_err(map_err)?),
        None => None,
    };
    Err(StoreError::Conflict { kind: kind.to_string(), id: id.to_string(), expected, found })
}
