use axum::Json;
use axum::extract::{Path, State};
use railyard_domain::{ApprovalKind, ApprovalState, Verdict};
use railyard_service::{ApprovalFilter, ApprovalView, DecideInput, OverrideInput, Page, Service};
use serde::Deserialize;
use utoipa::IntoParams;

use super::parse_list;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch, OptionalBody, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApprovalParams {
    /// `true`: only approvals waiting for my decision now.
    pub mine: Option<bool>,
    /// One state or several, comma-separated.
    pub state: Option<String>,
    /// A train id.
    pub train: Option<String>,
    /// `train`, `development`, `executive` or `gate`.
    pub kind: Option<String>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn parse_kind(k: &str) -> Result<ApprovalKind, ApiError> {
    serde_json::from_value(serde_json::Value::String(k.to_string())).map_err(|_| {
        ApiError::invalid("kind", format!("unknown approval kind '{k}'; kinds are train, development, executive, gate"))
    })
}

#[utoipa::path(get, operation_id = "list_approvals", path = "/api/v1/approvals", tag = "approvals", params(ApprovalParams), security(("bearer" = [])),
    responses((status = 200, body = Page<ApprovalView>), (status = 422, body = Problem)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<ApprovalParams>,
) -> ApiResult<Json<Page<ApprovalView>>> {
    let states = parse_list::<ApprovalState>("state", p.state.as_deref())?;
    let filter = ApprovalFilter {
        mine: p.mine.unwrap_or(false),
        states,
        train: p.train,
        kind: p.kind.as_deref().map(parse_kind).transpose()?,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(s.approvals(&a, filter).await?))
}

#[utoipa::path(get, operation_id = "get_approval", path = "/api/v1/approvals/{id}", tag = "approvals", params(("id" = String, Path, example = "AP-13")),
    security(("bearer" = [])), responses((status = 200, body = ApprovalView), (status = 404, body = Problem)))]
pub async fn show(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ApprovalView>> {
    Ok(Json(s.approval(&a, &id).await?))
}

/// Approves at the current level; only its listed approvers, never the requester (R2).
#[utoipa::path(post, operation_id = "approve_approval", path = "/api/v1/approvals/{id}/approve", tag = "approvals", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "AP-19")), request_body = Option<DecideInput>,
    security(("bearer" = [])), responses((status = 200, body = ApprovalView), (status = 409, body = Problem)))]
pub async fn approve(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    OptionalBody(b): OptionalBody<DecideInput>,
) -> ApiResult<Json<ApprovalView>> {
    let input = b.unwrap_or_default();
    Ok(Json(s.decide_approval(&a, &id, Verdict::Approve, input, v).await?))
}

/// Rejects, with a comment; an executive rejection says where the train goes back to (`return_to`).
#[utoipa::path(post, operation_id = "reject_approval", path = "/api/v1/approvals/{id}/reject", tag = "approvals", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "AP-13")), request_body = DecideInput,
    security(("bearer" = [])), responses((status = 200, body = ApprovalView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reject(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<DecideInput>,
) -> ApiResult<Json<ApprovalView>> {
    Ok(Json(s.decide_approval(&a, &id, Verdict::Reject, b, v).await?))
}

/// Overrides a pending approval: the train's manager only, where the policy allows, with a reason (R3).
#[utoipa::path(post, operation_id = "override_approval", path = "/api/v1/approvals/{id}/override", tag = "approvals", params(("id" = String, Path, example = "AP-13")), request_body = OverrideInput,
    security(("bearer" = [])), responses((status = 200, body = ApprovalView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn override_(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<OverrideInput>,
) -> ApiResult<Json<ApprovalView>> {
    Ok(Json(s.override_approval(&a, &id, b).await?))
}
