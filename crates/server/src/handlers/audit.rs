use axum::Json;
use axum::extract::State;
use railyard_service::{AuditFilter, ChainView, EventView, Page, Service};
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

/// Walks the whole hash chain and reports the first event that does not verify.
#[utoipa::path(get, operation_id = "verify_audit_log", path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])), responses((status = 200, body = ChainView)))]
pub async fn verify(State(s): State<Service>, Authed(a): Authed) -> ApiResult<Json<ChainView>> {
    Ok(Json(s.verify_audit(&a).await?))
}
