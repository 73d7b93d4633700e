//! Reads: plain queries on a pooled connection, with the same filters and ordering as SQLite.

use railyard_store::{
    ChainHead, Event, EventQuery, ListQuery, Record, RecordScan, StoreResult, format_time, parse_time,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::map_err;

pub(crate) const RECORD_COLUMNS: &str =
    "kind, id, seq, version, state, parent_id, category, unique_key, created_at, updated_at, doc";
const EVENT_COLUMNS: &str = "seq, commit_seq, at, actor, object_kind, object_id, action, data, prev_hash, hash, writes";

type Client = deadpool_postgres::Object;

pub(crate) async fn get(client: &Client, kind: &str, id: &str) -> StoreResult<Option<Record>> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE kind = $1 AND id = $2");
    one_record(client, &sql, kind, id).await
}

pub(crate) async fn get_by_key(client: &Client, kind: &str, key: &str) -> StoreResult<Option<Record>> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE kind = $1 AND unique_key = $2");
    one_record(client, &sql, kind, key).await
}

async fn one_record(client: &Client, sql: &str, a: &str, b: &str) -> StoreResult<Option<Record>> {
    let stmt = client.prepare_cached(sql).await.map_err(map_err)?;
    match client.query_opt(&stmt, &[&a, &b]).await.map_err(map_err)? {
        Some(row) => record_from_row(&row).map(Some),
        None => Ok(None),
    }
}

/// Builds a `WHERE` clause with numbered parameters (`$1`, `$2`, ...).
#[derive(Default)]
struct Filter {
    clauses: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Filter {
    fn param(&mut self, v: Box<dyn ToSql + Sync + Send>) -> String {
        self.params.push(v);
        format!("${}", self.params.len())
    }

    fn cmp(&mut self, column: &str, op: &str, v: Box<dyn ToSql + Sync + Send>) {
        let p = self.param(v);
        self.clauses.push(format!("{column} {op} {p}"));
    }

    fn eq(&mut self, column: &str, v: Option<&String>) {
        if let Some(v) = v {
            self.cmp(column, "=", Box::new(v.clone()));
        }
    }

    fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
    }
}

pub(crate) async fn list(client: &Client, q: &ListQuery) -> StoreResult<Vec<Record>> {
    let mut f = Filter::default();
    f.cmp("kind", "=", Box::new(q.kind.clone()));
    if !q.states.is_empty() {
        let p = f.param(Box::new(q.states.clone()));
        f.clauses.push(format!("state = ANY({p})"));
    }
    f.eq("parent_id", q.parent_id.as_ref());
    f.eq("category", q.category.as_ref());
    if let Some(after) = q.after_seq {
        f.cmp("seq", ">", Box::new(after));
    }
    if let Some(before) = q.before_seq {
        f.cmp("seq", "<", Box::new(before));
    }
    if let Some(since) = &q.updated_since {
        f.cmp("updated_at", ">=", Box::new(format_time(since)));
    }
    let order = if q.newest_first { " DESC" } else { "" };
    let limit = f.param(Box::new(i64::from(q.limit)));
    let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE {} ORDER BY seq{order} LIMIT {limit}", f.sql());
    let stmt = client.prepare_cached(&sql).await.map_err(map_err)?;
    let rows = client.query(&stmt, &f.refs()).await.map_err(map_err)?;
    rows.iter().map(record_from_row).collect()
}

/// Every record in `(kind, id)` order compared bytewise (`COLLATE "C"`, whatever the database's
/// collation; the index `records_kind_id_bytewise` serves it), a page at a time.
pub(crate) async fn scan(client: &Client, scan: &RecordScan) -> StoreResult<Vec<Record>> {
    let limit = i64::from(scan.limit);
    let rows = match &scan.after {
        Some((kind, id)) => {
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE (kind COLLATE \"C\", id COLLATE \"C\") > ($1, $2) \
                 ORDER BY kind COLLATE \"C\", id COLLATE \"C\" LIMIT $3"
            );
            let stmt = client.prepare_cached(&sql).await.map_err(map_err)?;
            client.query(&stmt, &[kind, id, &limit]).await.map_err(map_err)?
        }
        None => {
            let sql =
                format!("SELECT {RECORD_COLUMNS} FROM records ORDER BY kind COLLATE \"C\", id COLLATE \"C\" LIMIT $1");
            let stmt = client.prepare_cached(&sql).await.map_err(map_err)?;
            client.query(&stmt, &[&limit]).await.map_err(map_err)?
        }
    };
    rows.iter().map(record_from_row).collect()
}

/// The `chain_head` row; `None` when it is missing.
pub(crate) async fn chain_head(client: &Client) -> StoreResult<Option<ChainHead>> {
    let stmt = client.prepare_cached("SELECT seq, hash FROM chain_head WHERE id = 1").await.map_err(map_err)?;
    match client.query_opt(&stmt, &[]).await.map_err(map_err)? {
        Some(row) => {
            Ok(Some(ChainHead { seq: row.try_get(0).map_err(map_err)?, hash: row.try_get(1).map_err(map_err)? }))
        }
        None => Ok(None),
    }
}

pub(crate) async fn events(client: &Client, q: &EventQuery) -> StoreResult<Vec<Event>> {
    let mut f = Filter::default();
    f.cmp("seq", ">", Box::new(q.after_seq.unwrap_or(0)));
    if let Some(commit) = q.commit_seq {
        f.cmp("commit_seq", "=", Box::new(commit));
    }
    f.eq("object_kind", q.object_kind.as_ref());
    f.eq("object_id", q.object_id.as_ref());
    f.eq("actor", q.actor.as_ref());
    if let Some(from) = &q.from {
        f.cmp("at", ">=", Box::new(format_time(from)));
    }
    if let Some(to) = &q.to {
        f.cmp("at", "<", Box::new(format_time(to)));
    }
    let limit = f.param(Box::new(i64::from(q.limit)));
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE {} ORDER BY seq LIMIT {limit}", f.sql());
    let stmt = client.prepare_cached(&sql).await.map_err(map_err)?;
    let rows = client.query(&stmt, &f.refs()).await.map_err(map_err)?;
    rows.iter().map(event_from_row).collect()
}

pub(crate) fn record_from_row(row: &Row) -> StoreResult<Record> {
    Ok(Record {
        kind: row.try_get(0).map_err(map_err)?,
        id: row.try_get(1).map_err(map_err)?,
        seq: row.try_get(2).map_err(map_err)?,
        version: row.try_get(3).map_err(map_err)?,
        state: row.try_get(4).map_err(map_err)?,
        parent_id: row.try_get(5).map_err(map_err)?,
        category: row.try_get(6).map_err(map_err)?,
        unique_key: row.try_get(7).map_err(map_err)?,
        created_at: parse_time(row.try_get(8).map_err(map_err)?)?,
        updated_at: parse_time(row.try_get(9).map_err(map_err)?)?,
        doc: row.try_get(10).map_err(map_err)?,
    })
}

fn event_from_row(row: &Row) -> StoreResult<Event> {
    Ok(Event {
        seq: row.try_get(0).map_err(map_err)?,
        commit_seq: row.try_get(1).map_err(map_err)?,
        at: parse_time(row.try_get(2).map_err(map_err)?)?,
        actor: row.try_get(3).map_err(map_err)?,
        object_kind: row.try_get(4).map_err(map_err)?,
        object_id: row.try_get(5).map_err(map_err)?,
        action: row.try_get(6).map_err(map_err)?,
        data: row.try_get(7).map_err(map_err)?,
        prev_hash: row.try_get(8).map_err(map_err)?,
        hash: row.try_get(9).map_err(map_err)?,
        writes: row.try_get(10).map_err(map_err)?,
    })
}
