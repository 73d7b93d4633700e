//! What the service returns: aggregates with their metadata and derived fields, and pages of them.

use chrono::{DateTime, NaiveDate, Utc};
use railyard_domain::{Approval, GateName, Guard, Train};
use railyard_store::ListQuery;
use serde::Serialize;
use utoipa::ToSchema;

use crate::persist::{Aggregate, Stored, decode};
use crate::{MAX_PAGE, Service, ServiceError, ServiceResult};

/// Every object carries these (DESIGN.md §5).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Meta {
    /// Send it back in `If-Match` to update the object.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Meta {
    pub(crate) fn of<T>(s: &Stored<T>) -> Meta {
        Meta { version: s.version, created_at: s.created_at, updated_at: s.updated_at }
    }
}

/// One page of a list. Pass `next_cursor` as `cursor` to get the next page; `null` means the end.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub(crate) fn parse_limit(limit: Option<u32>) -> ServiceResult<u32> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => {
            Err(ServiceError::invalid("limit", format!("{n} is out of range: limit must be between 1 and {MAX_PAGE}")))
        }
    }
}

pub(crate) fn parse_cursor(cursor: Option<&str>) -> ServiceResult<Option<i64>> {
    cursor
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ServiceError::invalid("cursor", format!("'{c}' is not a cursor this server gave out")))
        })
        .transpose()
}

/// A page of records of one kind, keeping those `keep` accepts.
pub(crate) async fn page_filtered<T: Aggregate, V>(
    svc: &Service,
    q: &mut ListQuery,
    limit: Option<u32>,
    cursor: Option<&str>,
    keep: impl Fn(&T) -> bool,
    view: impl Fn(Stored<T>) -> ServiceResult<V>,
) -> ServiceResult<Page<V>> {
    let limit = parse_limit(limit)? as usize;
    q.after_seq = parse_cursor(cursor)?;
    q.limit = (limit as u32 + 1).max(100);
    let mut items = Vec::new();
    let mut last_seq = None;
    loop {
        let batch = svc.store().list(q).await?;
        let exhausted = batch.len() < q.limit as usize;
        for r in batch {
            q.after_seq = Some(r.seq);
            let s: Stored<T> = decode(r)?;
            if !keep(&s.value) {
                continue;
            }
            if items.len() == limit {
                // One more exists: the next page starts after the last item of this one.
                return Ok(Page { items, next_cursor: last_seq.map(|s: i64| s.to_string()) });
            }
            last_seq = Some(s.seq);
            items.push(view(s)?);
        }
        if exhausted {
            return Ok(Page { items, next_cursor: None });
        }
    }
}

pub(crate) async fn page_of<T: Aggregate, V>(
    svc: &Service,
    q: &mut ListQuery,
    limit: Option<u32>,
    cursor: Option<&str>,
    view: impl Fn(Stored<T>) -> ServiceResult<V>,
) -> ServiceResult<Page<V>> {
    page_filtered(svc, q, limit, cursor, |_| true, view).await
}

/// Whether a gate is passed, and if not, what keeps it closed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GateStatus {
    pub gate: GateName,
    pub passed: bool,
    pub unmet: Vec<Guard>,
}

/// A train as the API shows it: the train, its metadata, and what is derived from it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrainView {
    #[serde(flatten)]
    pub train: Train,
    #[serde(flatten)]
    pub meta: Meta,
    pub gate_status: Vec<GateStatus>,
    /// Ids of open milestones past their due date.
    pub overdue_milestones: Vec<String>,
}

impl TrainView {
    pub(crate) fn of(s: Stored<Train>, today: NaiveDate) -> TrainView {
        let gate_status = GateName::ALL
            .into_iter()
            .map(|g| {
                let unmet = s.value.gates.get(g).unmet(g);
                GateStatus { gate: g, passed: unmet.is_empty(), unmet }
            })
            .collect();
        let overdue_milestones =
            s.value.milestones.iter().filter(|m| m.is_overdue(today)).map(|m| m.id.clone()).collect();
        TrainView { meta: Meta::of(&s), train: s.value, gate_status, overdue_milestones }
    }
}

/// An approval as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalView {
    #[serde(flatten)]
    pub approval: Approval,
    #[serde(flatten)]
    pub meta: Meta,
    /// The level being decided now (1-based), while pending.
    pub current_level: Option<usize>,
    /// Approvers of the current level who have not decided yet.
    pub waiting_for: Vec<String>,
}

impl ApprovalView {
    pub(crate) fn of(s: Stored<Approval>) -> ApprovalView {
        let a = &s.value;
        let current = a.current_level();
        let waiting_for = current
            .map(|l| {
                a.levels[l]
                    .approvers
                    .iter()
                    .filter(|u| **u != a.requested_by && !a.decisions.iter().any(|d| &d.user == *u))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        ApprovalView { meta: Meta::of(&s), current_level: current.map(|l| l + 1), waiting_for, approval: s.value }
    }
}
