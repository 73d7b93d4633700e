//! The audit log: list events with filters, and verify the hash chain.

use chrono::{DateTime, Utc};
use railyard_domain::{Actor, Operation};
use railyard_store::{EventQuery, verify_chain};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::views::{Page, parse_cursor, parse_limit};
use crate::{Service, ServiceResult};

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// An object id ("RT-3"); with `object_kind`, or alone.
    pub object_id: Option<String>,
    pub object_kind: Option<String>,
    pub actor: Option<String>,
    /// Only the events of one commit (one change).
    pub commit_seq: Option<i64>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub seq: i64,
    /// The seq of the first event of the commit that wrote this one: events of one change share it.
    pub commit_seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub object_kind: String,
    pub object_id: String,
    pub action: String,
    pub data: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of verifying the chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainView {
    pub intact: bool,
    pub events_checked: u64,
    pub head_hash: String,
    /// The first event that does not verify.
    pub first_broken_seq: Option<i64>,
    pub reason: Option<String>,
}

impl Service {
    pub async fn events(&self, actor: &Actor, filter: AuditFilter) -> ServiceResult<Page<EventView>> {
        self.authorize(actor, Operation::Read)?;
        let limit = parse_limit(filter.limit)?;
        let q = EventQuery {
            object_kind: filter.object_kind,
            object_id: filter.object_id,
            actor: filter.actor,
            from: filter.from,
            to: filter.to,
            after_seq: parse_cursor(filter.cursor.as_deref())?,
            commit_seq: filter.commit_seq,
            limit: limit + 1,
        };
        let mut events = self.store.events(&q).await?;
        let more = events.len() > limit as usize;
        events.truncate(limit as usize);
        let next_cursor = if more { events.last().map(|e| e.seq.to_string()) } else { None };
        let items = events
            .into_iter()
            .map(|e| EventView {
                seq: e.seq,
                commit_seq: e.commit_seq,
                at: e.at,
                actor: e.actor,
                object_kind: e.object_kind,
                object_id: e.object_id,
                action: e.action,
                data: serde_json::from_str(&e.data).unwrap_or(Value::String(e.data)),
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .map(|mut e| {
                crate::sessions::hide_sign_in_details(actor, &mut e);
                e
            })
            .collect();
        Ok(Page { items, next_cursor })
    }

    pub async fn verify_audit(&self, actor: &Actor) -> ServiceResult<ChainView> {
        self.authorize(actor, Operation::Read)?;
        let r = verify_chain(self.store.as_ref()).await?;
        Ok(ChainView {
            intact: r.first_broken.is_none(),
            events_checked: r.events_checked,
            head_hash: r.head_hash,
            first_broken_seq: r.first_broken.as_ref().map(|b| b.seq),
            reason: r.first_broken.map(|b| b.reason),
        })
    }
}
