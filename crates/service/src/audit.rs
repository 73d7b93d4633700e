//! The audit log: list events with filters, print the chain head to witness it elsewhere, and verify
//! the hash chain, the stored head, an expected (witnessed) head, and every record against the log.
//!
//! What `verify` can and cannot tell (see `railyard_store`'s crate docs for how):
//! * an event edited, inserted or removed in the middle of the log: the hash chain breaks there;
//! * the newest events deleted: the chain ends short of the stored head (both stores keep it in a row
//!   of their own, moved in each commit's transaction);
//! * a record edited, inserted or deleted without an event: it differs from the newest listing of it
//!   (each change lists the records it wrote, with version, state and content digest, inside the hash);
//!   records that changed by events since deleted are ahead of the log;
//! * what it cannot tell alone: the newest events, the records they wrote *and* the head row all put
//!   back to an older consistent state. Only a head kept elsewhere (`GET /api/v1/audit/head`,
//!   `railyard audit head`) checked later (`verify?expect=SEQ:HASH`, `railyard audit verify --expect`)
//!   tells that apart.
//!
//! A full verification reads every event and every record in bounded memory (the store's cross-check
//! works in passes), and one runs at a time per server: callers who ask meanwhile wait and share the
//! next one, which starts after they asked (`audit_gate.rs`). The console's audit page does not run one
//! on every load: it checks the chain head against the newest event ([`Service::audit_status`]) and
//! shows the newest full verification with its time.

use chrono::{DateTime, Utc};
use railyard_domain::{Actor, Operation};
use railyard_store::{ChainHead, EventQuery, RecordRule};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::audit_gate;
use crate::views::{Page, parse_cursor, parse_limit};
use crate::{Service, ServiceError, ServiceResult};

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
    /// On a change's first event, the records it wrote: kind, id, version, state and content digest
    /// (what `verify` compares the records with). Empty on the other events.
    pub writes: Value,
}

/// The result of verifying the audit log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainView {
    /// When this verification started: always after the request that asked for it (one runs at a
    /// time per server; requests that arrive meanwhile share the next one).
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub verified_at: DateTime<Utc>,
    /// The chain, its stored head, the expected head (if given) and every record all verify.
    pub intact: bool,
    pub events_checked: u64,
    /// The hash of the last event walked.
    pub head_hash: String,
    /// The first event that does not verify, or where the chain disagrees with the stored or the
    /// expected head.
    pub first_broken_seq: Option<i64>,
    /// The first problem, in words: of the chain if it has one, else of the records.
    pub reason: Option<String>,
    /// The chain head as the database stores it; absent when its row is missing.
    pub head: Option<HeadView>,
    /// The head given to check against (`expect`), when one was.
    pub expected: Option<HeadView>,
    pub records_checked: u64,
    /// How many records the log does not explain.
    pub records_differing: u64,
    /// The first of them, in kind and id order.
    pub first_record_mismatch: Option<RecordMismatchView>,
}

/// A head of the chain: the seq and hash of its newest event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeadView {
    pub seq: i64,
    pub hash: String,
    /// The same as `SEQ:HASH`, as `verify?expect=` and `railyard audit verify --expect` take it.
    pub expect: String,
}

impl From<ChainHead> for HeadView {
    fn from(h: ChainHead) -> Self {
        HeadView { expect: format!("{}:{}", h.seq, h.hash), seq: h.seq, hash: h.hash }
    }
}

/// A record the audit log does not explain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordMismatchView {
    pub kind: String,
    pub id: String,
    /// What the stored record says (version, last change, ...).
    pub record: String,
    /// What the audit log says about it.
    pub events: String,
}

/// How each kind of record relates to the audit log (the cross-check of `verify`). Every kind not
/// named here is [`RecordRule::Exact`]: it is only ever written by a change with events, so it must be
/// exactly what the newest change that wrote it left.
///
/// | kind | rule | why |
/// |---|---|---|
/// | `deployment_lease` | housekeeping | the engine claims and renews its lease on a deployment (`leases.rs`, `engine_work.rs`) without an event, every few seconds while it runs |
///
/// Deployments are exact: their lease is not part of them, so that an edit to a run's result, who
/// completed a manual run, the validation or an early start is reported even with the version moved on.
/// A kind that gains writes without events (a heartbeat, a last-seen time) must be listed here, or
/// `verify` reports it.
pub fn record_rule(kind: &str) -> RecordRule {
    match kind {
        "deployment_lease" | "run_claim" | "runner_presence" | "run_output" => RecordRule::Housekeeping,
        _ => RecordRule::Exact,
    }
}

/// Parses a head given as `SEQ:HASH` (as `audit head` prints it).
pub fn parse_head(field: &str, text: &str) -> ServiceResult<ChainHead> {
    let bad = |why: &str| {
        ServiceError::invalid(
            field,
            format!("'{text}' is not a chain head: {why}; give it as SEQ:HASH, as `railyard audit head` prints it"),
        )
    };
    let (seq, hash) = text.trim().split_once(':').ok_or_else(|| bad("there is no ':'"))?;
    let seq: i64 = seq.trim().parse().map_err(|_| bad("SEQ must be a whole number"))?;
    if seq < 0 {
        return Err(bad("SEQ cannot be negative"));
    }
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("HASH must be the 64 hexadecimal digits of a SHA-256"));
    }
    Ok(ChainHead { seq, hash })
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
                writes: if e.writes.is_empty() {
                    Value::Array(Vec::new())
                } else {
                    serde_json::from_str(&e.writes).unwrap_or(Value::String(e.writes))
                },
            })
            .map(|mut e| {
                crate::sessions::hide_sign_in_details(actor, &mut e);
                e
            })
            .collect();
        Ok(Page { items, next_cursor })
    }

    /// The chain head as stored, to be kept elsewhere and checked later with `verify`'s `expect`.
    pub async fn audit_head(&self, actor: &Actor) -> ServiceResult<HeadView> {
        self.authorize(actor, Operation::Read)?;
        let head = self.store.chain_head().await?;
        head.map(HeadView::from).ok_or_else(|| {
            ServiceError::Internal("the stored chain head is missing: the database was edited outside Railyard".into())
        })
    }

    pub async fn verify_audit(&self, actor: &Actor) -> ServiceResult<ChainView> {
        self.verify_audit_expecting(actor, None).await
    }

    /// Verifies the chain, the stored head, `expect` (a head witnessed earlier, `SEQ:HASH`) and every
    /// record against the log: a full verification, started after this call, one at a time per server
    /// and shared by the callers waiting for it (see `audit_gate.rs`).
    pub async fn verify_audit_expecting(&self, actor: &Actor, expect: Option<&str>) -> ServiceResult<ChainView> {
        self.authorize(actor, Operation::Read)?;
        let expect = expect.map(|e| parse_head("expect", e)).transpose()?;
        let finished = self.verifications.verify(&self.store, &self.clock, expect.as_ref().map(|w| w.seq)).await;
        chain_view(&finished, expect)
    }

    /// What the audit page shows without a full verification: the chain head checked against the newest
    /// event, and the newest full verification this server made (when), if any.
    pub async fn audit_status(&self, actor: &Actor) -> ServiceResult<AuditStatus> {
        self.authorize(actor, Operation::Read)?;
        let head = self.store.chain_head().await?;
        let problem = match &head {
            None => Some("the stored chain head is missing: the database was edited outside Railyard".to_string()),
            Some(h) => self.head_problem(h).await?,
        };
        let last = self.verifications.last().map(|f| chain_view(&f, None)).transpose()?;
        Ok(AuditStatus { head: head.map(HeadView::from), head_problem: problem, last })
    }

    /// The stored head must be the newest event, whose hash is its own and the head's.
    async fn head_problem(&self, head: &ChainHead) -> ServiceResult<Option<String>> {
        let q = EventQuery { after_seq: Some((head.seq - 1).max(0)), limit: 2, ..Default::default() };
        let events = self.store.events(&q).await?;
        if head.seq == 0 {
            return Ok(events.first().map(|e| format!("event {} lies past the stored chain head (event 0)", e.seq)));
        }
        let Some(newest) = events.first().filter(|e| e.seq == head.seq) else {
            return Ok(Some(format!(
                "event {} is missing: the stored chain head is event {} (hash {}); the newest events were deleted",
                head.seq, head.seq, head.hash
            )));
        };
        if let Some(past) = events.get(1) {
            return Ok(Some(format!("event {} lies past the stored chain head (event {})", past.seq, head.seq)));
        }
        let e = newest;
        let recomputed = e.content_hash();
        if recomputed != e.hash || e.hash != head.hash {
            return Ok(Some(format!(
                "event {} does not match the stored chain head (hash {}): it was changed after it was written",
                head.seq, head.hash
            )));
        }
        Ok(None)
    }
}

/// The audit log at a glance, as the console's audit page shows it on every load.
#[derive(Debug, Clone)]
pub struct AuditStatus {
    /// The stored chain head.
    pub head: Option<HeadView>,
    /// What is wrong with the newest event and the stored head, if anything (a cheap check: the rest
    /// of the log is checked by a full verification).
    pub head_problem: Option<String>,
    /// The newest full verification this server made, with its time.
    pub last: Option<ChainView>,
}

fn chain_view(finished: &audit_gate::Finished, expect: Option<ChainHead>) -> ServiceResult<ChainView> {
    let r = match &finished.result {
        Ok(run) => run.expecting(expect.as_ref()),
        Err(e) => return Err(e.clone().into()),
    };
    let intact = r.intact();
    let (chain, records) = (r.chain, r.records);
    let mismatch = records.first.map(|m| RecordMismatchView {
        record: m.record.clone(),
        events: m.events.clone(),
        kind: m.kind.clone(),
        id: m.id.clone(),
    });
    let reason = chain.first_broken.as_ref().map(|b| b.reason.clone()).or_else(|| {
        mismatch
            .as_ref()
            .map(|m| format!("{} {}: the record says {}; the audit log says {}", m.kind, m.id, m.record, m.events))
    });
    Ok(ChainView {
        started_at: finished.started_at,
        verified_at: finished.finished_at,
        intact,
        events_checked: chain.events_checked,
        head_hash: chain.head_hash,
        first_broken_seq: chain.first_broken.map(|b| b.seq),
        reason,
        head: chain.stored_head.map(HeadView::from),
        expected: expect.map(HeadView::from),
        records_checked: records.records_checked,
        records_differing: records.mismatches,
        first_record_mismatch: mismatch,
    })
}
