//! Runbooks: reusable, reviewed task lists.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{RunbookAction, RunbookSpec, RunbookState};
use railyard_service::{Page, ReviewInput, RunbookRef, RunbookView, SaveAsRunbookInput, Service, TurnoverView};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, OptionalBody, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunbookParams {
    /// draft, in_review, accepted or inactive.
    pub state: Option<RunbookState>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "list_runbooks", path = "/api/v1/runbooks", tag = "runbooks", params(RunbookParams), security(("bearer" = [])),
    responses((status = 200, body = Page<RunbookView>)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<RunbookParams>,
) -> ApiResult<Json<Page<RunbookView>>> {
    Ok(Json(s.runbooks(&a, p.state, p.limit, p.cursor.as_deref()).await?))
}

#[utoipa::path(post, operation_id = "create_runbook", path = "/api/v1/runbooks", tag = "runbooks", request_body = RunbookSpec, security(("bearer" = [])),
    responses((status = 201, body = RunbookView), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<RunbookSpec>,
) -> ApiResult<(StatusCode, Json<RunbookView>)> {
    Ok((StatusCode::CREATED, Json(s.create_runbook(&a, b).await?)))
}

#[utoipa::path(get, operation_id = "get_runbook", path = "/api/v1/runbooks/{id}", tag = "runbooks", params(("id" = String, Path, example = "RB-1")), security(("bearer" = [])),
    responses((status = 200, body = RunbookView), (status = 404, body = Problem)))]
pub async fn show(State(s): State<Service>, Authed(a): Authed, Path(id): Path<String>) -> ApiResult<Json<RunbookView>> {
    Ok(Json(s.runbook(&a, &id).await?))
}

async fn act(
    s: &Service,
    a: &railyard_domain::Actor,
    id: &str,
    action: RunbookAction,
    b: Option<ReviewInput>,
) -> ApiResult<Json<RunbookView>> {
    Ok(Json(s.runbook_action(a, id, action, b.unwrap_or_default()).await?))
}

/// draft → in review.
#[utoipa::path(post, operation_id = "submit_runbook", path = "/api/v1/runbooks/{id}/submit", tag = "runbooks", params(("id" = String, Path, example = "RB-1")), security(("bearer" = [])),
    responses((status = 200, body = RunbookView), (status = 409, body = Problem)))]
pub async fn submit(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<RunbookView>> {
    act(&s, &a, &id, RunbookAction::Submit, None).await
}

/// in review → accepted, by a release engineer or manager who did not write it.
#[utoipa::path(post, operation_id = "accept_runbook", path = "/api/v1/runbooks/{id}/accept", tag = "runbooks", params(("id" = String, Path, example = "RB-1")), request_body = Option<ReviewInput>,
    security(("bearer" = [])), responses((status = 200, body = RunbookView), (status = 409, body = Problem)))]
pub async fn accept(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    OptionalBody(b): OptionalBody<ReviewInput>,
) -> ApiResult<Json<RunbookView>> {
    act(&s, &a, &id, RunbookAction::Accept, b).await
}

/// in review → draft, with a comment.
#[utoipa::path(post, operation_id = "reject_runbook", path = "/api/v1/runbooks/{id}/reject", tag = "runbooks", params(("id" = String, Path, example = "RB-1")), request_body = Option<ReviewInput>,
    security(("bearer" = [])), responses((status = 200, body = RunbookView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reject(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    OptionalBody(b): OptionalBody<ReviewInput>,
) -> ApiResult<Json<RunbookView>> {
    act(&s, &a, &id, RunbookAction::Reject, b).await
}

#[utoipa::path(post, operation_id = "deactivate_runbook", path = "/api/v1/runbooks/{id}/deactivate", tag = "runbooks", params(("id" = String, Path, example = "RB-1")), security(("bearer" = [])),
    responses((status = 200, body = RunbookView), (status = 409, body = Problem)))]
pub async fn deactivate(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<RunbookView>> {
    act(&s, &a, &id, RunbookAction::Deactivate, None).await
}

/// Copies an accepted runbook's tasks into the turnover.
#[utoipa::path(post, operation_id = "copy_tasks_from_runbook", path = "/api/v1/turnovers/{id}/tasks/from-runbook", tag = "turnovers", params(("id" = String, Path, example = "TO-2")), request_body = RunbookRef,
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn copy_into(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<RunbookRef>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.copy_runbook(&a, &id, b).await?))
}

/// Saves the turnover's tasks as a new draft runbook.
#[utoipa::path(post, operation_id = "save_turnover_as_runbook", path = "/api/v1/turnovers/{id}/save-as-runbook", tag = "turnovers", params(("id" = String, Path, example = "TO-1")), request_body = SaveAsRunbookInput,
    security(("bearer" = [])), responses((status = 201, body = RunbookView), (status = 422, body = Problem)))]
pub async fn save_from(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<SaveAsRunbookInput>,
) -> ApiResult<(StatusCode, Json<RunbookView>)> {
    Ok((StatusCode::CREATED, Json(s.save_as_runbook(&a, &id, b).await?)))
}
