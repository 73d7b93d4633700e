//! Loading and saving aggregates as store records, and committing them with their audit events.

use chrono::{DateTime, Utc};
use railyard_domain::{
    Actor, Application, ApplicationRelease, Approval, Change, Deployment, DeploymentPath, Environment, Line, Runbook,
    Train, Turnover, WorkItem,
};
use railyard_store::{Commit, NewEvent, Record, Write};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::users::{Token, User};
use crate::{Service, ServiceError, ServiceResult};

/// Something stored as one record.
pub(crate) trait Aggregate: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn id(&self) -> &str;
    fn state(&self) -> Option<String>;
    fn parent_id(&self) -> Option<String> {
        None
    }
    fn category(&self) -> Option<String> {
        None
    }
    fn unique_key(&self) -> Option<String> {
        None
    }
}

impl Aggregate for Train {
    const KIND: &'static str = "train";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(self.state.as_str().to_string())
    }
    fn category(&self) -> Option<String> {
        Some(self.release_type.as_str().to_string())
    }
}

impl Aggregate for Approval {
    const KIND: &'static str = "approval";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(self.state.as_str().to_string())
    }
    fn parent_id(&self) -> Option<String> {
        Some(self.train_id.clone())
    }
    fn category(&self) -> Option<String> {
        Some(self.kind.as_str().to_string())
    }
}

impl Aggregate for Application {
    const KIND: &'static str = "application";
    fn id(&self) -> &str {
        &self.key
    }
    fn state(&self) -> Option<String> {
        Some(if self.archived { "archived" } else { "active" }.to_string())
    }
}

impl Aggregate for ApplicationRelease {
    const KIND: &'static str = "application_release";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(self.state.as_str().to_string())
    }
    /// The train it is proposed to or accepted on.
    fn parent_id(&self) -> Option<String> {
        self.active_train().map(str::to_string)
    }
    fn category(&self) -> Option<String> {
        Some(self.application.clone())
    }
}

impl Aggregate for WorkItem {
    const KIND: &'static str = "work_item";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(self.status.as_str().to_string())
    }
    fn parent_id(&self) -> Option<String> {
        Some(self.release_id.clone())
    }
    fn category(&self) -> Option<String> {
        Some(self.kind.as_str().to_string())
    }
    /// A key is unique within its application release.
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", self.release_id, self.key))
    }
}

impl Aggregate for Environment {
    const KIND: &'static str = "environment";
    fn id(&self) -> &str {
        &self.name
    }
    fn state(&self) -> Option<String> {
        Some(self.state.as_str().to_string())
    }
    fn category(&self) -> Option<String> {
        Some(self.kind.as_str().to_string())
    }
}

impl Aggregate for DeploymentPath {
    const KIND: &'static str = "deployment_path";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(self.state.as_str().to_string())
    }
    /// Path names are unique.
    fn unique_key(&self) -> Option<String> {
        Some(self.name.to_lowercase())
    }
}

impl Aggregate for Turnover {
    const KIND: &'static str = "turnover";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(self.state.as_str().to_string())
    }
    /// Its (first) application release.
    fn parent_id(&self) -> Option<String> {
        self.releases.first().cloned()
    }
    fn category(&self) -> Option<String> {
        Some(self.train_id.clone())
    }
}

impl Aggregate for Deployment {
    const KIND: &'static str = "deployment";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(self.state.as_str().to_string())
    }
    fn parent_id(&self) -> Option<String> {
        Some(self.turnover_id.clone())
    }
    fn category(&self) -> Option<String> {
        Some(self.environment.clone())
    }
}

impl Aggregate for Line {
    const KIND: &'static str = "line";
    fn id(&self) -> &str {
        Line::ID
    }
    fn state(&self) -> Option<String> {
        Some(if self.halted { "halted" } else { "running" }.to_string())
    }
}

impl Aggregate for Runbook {
    const KIND: &'static str = "runbook";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(self.state.as_str().to_string())
    }
}

impl Aggregate for User {
    const KIND: &'static str = "user";
    fn id(&self) -> &str {
        &self.name
    }
    fn state(&self) -> Option<String> {
        Some(if self.active { "active" } else { "disabled" }.to_string())
    }
}

impl Aggregate for Token {
    const KIND: &'static str = "token";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(if self.revoked_at.is_some() { "revoked" } else { "active" }.to_string())
    }
    fn parent_id(&self) -> Option<String> {
        Some(self.user.clone())
    }
    fn unique_key(&self) -> Option<String> {
        Some(self.hash.clone())
    }
}

/// An aggregate as loaded, with what the store knows about it.
#[derive(Debug, Clone)]
pub(crate) struct Stored<T> {
    pub value: T,
    pub seq: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn decode<T: Aggregate>(r: Record) -> ServiceResult<Stored<T>> {
    let value = serde_json::from_str(&r.doc)
        .map_err(|e| ServiceError::Internal(format!("stored {} {} cannot be read: {e}", r.kind, r.id)))?;
    Ok(Stored { value, seq: r.seq, version: r.version, created_at: r.created_at, updated_at: r.updated_at })
}

fn record<T: Aggregate>(value: &T, seq: i64, created_at: DateTime<Utc>, now: DateTime<Utc>) -> ServiceResult<Record> {
    let doc =
        serde_json::to_string(value).map_err(|e| ServiceError::Internal(format!("cannot encode {}: {e}", T::KIND)))?;
    Ok(Record {
        kind: T::KIND.to_string(),
        id: value.id().to_string(),
        seq,
        version: 0,
        state: value.state(),
        parent_id: value.parent_id(),
        category: value.category(),
        unique_key: value.unique_key(),
        created_at,
        updated_at: now,
        doc,
    })
}

/// The number in an id such as "RT-12".
pub(crate) fn seq_of(id: &str) -> i64 {
    id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// One use case's writes and events, committed together.
pub(crate) struct Tx {
    actor: String,
    now: DateTime<Utc>,
    commit: Commit,
}

impl Tx {
    pub fn new(actor: &Actor, now: DateTime<Utc>) -> Self {
        Tx { actor: actor.name.clone(), now, commit: Commit::default() }
    }

    pub fn insert<T: Aggregate>(&mut self, value: &T, seq: i64) -> ServiceResult<()> {
        let r = record(value, seq, self.now, self.now)?;
        self.commit.writes.push(Write::Insert(r));
        Ok(())
    }

    pub fn update<T: Aggregate>(&mut self, stored: &Stored<T>) -> ServiceResult<()> {
        let r = record(&stored.value, stored.seq, stored.created_at, self.now)?;
        self.commit.writes.push(Write::Update { record: r, expected_version: stored.version });
        Ok(())
    }

    /// Deletes a stored aggregate (housekeeping: the commit lists the deletion, see `Write::Delete`).
    pub fn delete<T: Aggregate>(&mut self, stored: &Stored<T>) {
        let (kind, id) = (T::KIND.to_string(), stored.value.id().to_string());
        self.commit.writes.push(Write::Delete { kind, id, expected_version: stored.version });
    }

    /// A write prepared by the caller (records that are not aggregates, such as run logs).
    pub fn raw(&mut self, write: Write) {
        self.commit.writes.push(write);
    }

    pub fn record(&mut self, changes: impl IntoIterator<Item = Change>) {
        for c in changes {
            self.commit.events.push(NewEvent {
                at: self.now,
                actor: self.actor.clone(),
                object_kind: c.object_kind.to_string(),
                object_id: c.object_id,
                action: c.action,
                data: c.data.to_string(),
            });
        }
    }
}

impl Service {
    pub(crate) async fn find<T: Aggregate>(&self, id: &str) -> ServiceResult<Option<Stored<T>>> {
        match self.store.get(T::KIND, id).await? {
            Some(r) => Ok(Some(decode(r)?)),
            None => Ok(None),
        }
    }

    pub(crate) async fn load<T: Aggregate>(&self, id: &str) -> ServiceResult<Stored<T>> {
        self.find(id).await?.ok_or_else(|| ServiceError::NotFound { kind: T::KIND, id: id.to_string() })
    }

    /// Refuses a new object whose user-chosen id (a user name, an application key, an environment
    /// name) is taken.
    pub(crate) async fn ensure_absent<T: Aggregate>(&self, id: &str) -> ServiceResult<()> {
        if self.store.get(T::KIND, id).await?.is_some() {
            return Err(ServiceError::Duplicate(format!("{} {id} already exists", T::KIND)));
        }
        Ok(())
    }

    pub(crate) async fn commit(&self, mut tx: Tx) -> ServiceResult<()> {
        // Writes in one order everywhere (kind, then id), so two commits touching the same records lock
        // them in the same order and never deadlock on PostgreSQL.
        tx.commit.writes.sort_by(|a, b| a.key().cmp(&b.key()));
        if self.demo_data {
            for e in &mut tx.commit.events {
                e.data = demo_marked(&e.data);
            }
        }
        self.store.commit(tx.commit).await?;
        Ok(())
    }

    /// A new id such as "RT-12" from the counter named by the prefix.
    pub(crate) async fn new_id(&self, prefix: &str) -> ServiceResult<String> {
        Ok(format!("{prefix}-{}", self.store.next_seq(prefix).await?))
    }

    /// Runs a read-decide-write step, again from a fresh read when another writer got there first,
    /// unless the caller pinned a version (`If-Match`): then the conflict is theirs to see.
    ///
    /// Between tries it waits a little, twice as long each time (4 ms, 8 ms, ... up to about 0.5 s,
    /// 1 s in all), with a random part: writers that met on one record (the dependency lock, a busy
    /// release) spread out instead of meeting again at once, which on a loaded machine could use up
    /// every try.
    pub(crate) async fn retrying<T, F, Fut>(&self, expected: Option<i64>, step: F) -> ServiceResult<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = ServiceResult<T>>,
    {
        const TRIES: u32 = 8;
        let mut attempt = 0;
        loop {
            match step().await {
                Err(ServiceError::Conflict(_)) if expected.is_none() && attempt < TRIES => {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }
}

/// How long to wait before try `attempt` (1, 2, ...) of a conflicting step: 2^(attempt+1) ms, times a
/// random factor between 0.5 and 1.5.
fn backoff(attempt: u32) -> std::time::Duration {
    let base = 2u64.pow(attempt.min(8) + 1);
    let mut byte = [0u8; 1];
    // Without randomness the wait is the base itself: still a backoff, only not spread.
    let factor = if getrandom::fill(&mut byte).is_ok() { 0.5 + f64::from(byte[0]) / 255.0 } else { 1.0 };
    std::time::Duration::from_micros((base as f64 * factor * 1000.0) as u64)
}

/// An event's data with the demo marker (`"demo": true`), for [`Service::marking_demo_data`].
fn demo_marked(data: &str) -> String {
    let mut value = match serde_json::from_str::<serde_json::Value>(data) {
        Ok(serde_json::Value::Object(map)) => map,
        Ok(other) => serde_json::Map::from_iter([("data".to_string(), other)]),
        Err(_) => serde_json::Map::from_iter([("data".to_string(), serde_json::Value::String(data.to_string()))]),
    };
    value.insert("demo".into(), serde_json::Value::Bool(true));
    serde_json::Value::Object(value).to_string()
}

/// Refuses a stale `If-Match` version.
pub(crate) fn check_version(kind: &str, id: &str, stored: i64, expected: Option<i64>) -> ServiceResult<()> {
    match expected {
        Some(v) if v != stored => Err(ServiceError::Conflict(format!(
            "{kind} {id} is at version {stored}, but the change was based on version {v}; reload it and try again"
        ))),
        _ => Ok(()),
    }
}

impl Service {
    /// Every record a query matches, page after page (the query's limit is the page size).
    pub(crate) async fn list_all<T: Aggregate>(
        &self,
        mut q: railyard_store::ListQuery,
    ) -> ServiceResult<Vec<Stored<T>>> {
        if q.limit == 0 {
            q.limit = crate::MAX_PAGE;
        }
        let mut out = Vec::new();
        loop {
            let batch = self.store.list(&q).await?;
            let done = batch.len() < q.limit as usize;
            for r in batch {
                q.after_seq = Some(r.seq);
                out.push(decode(r)?);
            }
            if done {
                return Ok(out);
            }
        }
    }
}
