use axum::Json;
use axum::extract::State;
use railyard_service::{AuditFilter, ChainView, EventView, HeadView, Page, Service};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// An object id, e.g. `RT-3`.
    pub object: Option<String>,
    /// `train`, `approval`, `user`, `token`.
    pub object_kind: Option<String>,
    pub actor: Option<String>,
    /// Only the events of one commit (one change): its `commit_seq`.
    pub commit: Option<i64>,
    /// RFC 3339; events at or after.
    pub from: Option<String>,
    /// RFC 3339; events before.
    pub to: Option<String>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "list_audit_events", path = "/api/v1/audit/events", tag = "audit", params(EventParams), security(("bearer" = [])),
    responses((status = 200, body = Page<EventView>), (status = 422, body = Problem)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<EventParams>,
) -> ApiResult<Json<Page<EventView>>> {
    let filter = AuditFilter {
        object_id: p.object,
        object_kind: p.object_kind,
        actor: p.actor,
        commit_seq: p.commit,
        from: super::parse_time("from", p.from.as_deref())?,
        to: super::parse_time("to", p.to.as_deref())?,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(s.events(&a, filter).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VerifyParams {
    /// A head witnessed earlier, `SEQ:HASH` (as `GET /api/v1/audit/head` gives it): it must still be
    /// in the chain.
    pub expect: Option<String>,
}

/// Walks the whole hash chain, checks it ends at the stored head (and contains `expect`), and
/// cross-checks every record against the log; reports the first problem. One verification runs at a
/// time per server: a request that arrives while one runs waits for it and shares the next one, which
/// starts after the request (`started_at`, `verified_at`), so an edit made before asking is always seen.
#[utoipa::path(get, operation_id = "verify_audit_log", path = "/api/v1/audit/verify", tag = "audit", params(VerifyParams), security(("bearer" = [])),
    responses((status = 200, body = ChainView), (status = 422, body = Problem)))]
pub async fn verify(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<VerifyParams>,
) -> ApiResult<Json<ChainView>> {
    Ok(Json(s.verify_audit_expecting(&a, p.expect.as_deref()).await?))
}

/// The chain head as stored (seq and hash of the newest event): keep it elsewhere, and check it later
/// with `verify?expect=SEQ:HASH`.
#[utoipa::path(get, operation_id = "get_audit_head", path = "/api/v1/audit/head", tag = "audit", security(("bearer" = [])), responses((status = 200, body = HeadView)))]
pub async fn head(State(s): State<Service>, Authed(a): Authed) -> ApiResult<Json<HeadView>> {
    Ok(Json(s.audit_head(&a).await?))
}
