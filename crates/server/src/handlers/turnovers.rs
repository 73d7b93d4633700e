//! Turnovers and their tasks.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{TaskPatch, TaskSpec, TurnoverPatch, TurnoverSpec, TurnoverState};
use railyard_service::{
    CopyTasksInput, LinkInput, Page, ReasonInput, ReorderInput, Service, TurnoverFilter, TurnoverView,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TurnoverParams {
    /// An application release id.
    pub release: Option<String>,
    /// A train id.
    pub train: Option<String>,
    /// draft, in_flight, completed, delivered, accepted, deploying, deployed, verified, rolled_back, closed
    /// or cancelled.
    pub state: Option<TurnoverState>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "list_turnovers", path = "/api/v1/turnovers", tag = "turnovers", params(TurnoverParams), security(("bearer" = [])),
    responses((status = 200, body = Page<TurnoverView>), (status = 422, body = Problem)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<TurnoverParams>,
) -> ApiResult<Json<Page<TurnoverView>>> {
    let filter = TurnoverFilter {
        release: p.release,
        train: p.train,
        states: p.state.into_iter().collect(),
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(s.turnovers(&a, filter).await?))
}

/// Creates a turnover of an application release on an active path (R6: the train in construction or
/// later, the release having begun work).
#[utoipa::path(post, operation_id = "create_turnover", path = "/api/v1/turnovers", tag = "turnovers", request_body = TurnoverSpec, security(("bearer" = [])),
    responses((status = 201, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<TurnoverSpec>,
) -> ApiResult<(StatusCode, Json<TurnoverView>)> {
    Ok((StatusCode::CREATED, Json(s.create_turnover(&a, b).await?)))
}

#[utoipa::path(get, operation_id = "get_turnover", path = "/api/v1/turnovers/{id}", tag = "turnovers", params(("id" = String, Path, example = "TO-2")),
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 404, body = Problem)))]
pub async fn show(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.turnover(&a, &id).await?))
}

#[utoipa::path(patch, operation_id = "update_turnover", path = "/api/v1/turnovers/{id}", tag = "turnovers", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "TO-2")), request_body = TurnoverPatch,
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<TurnoverPatch>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.update_turnover(&a, &id, b, v).await?))
}

#[utoipa::path(post, operation_id = "cancel_turnover", path = "/api/v1/turnovers/{id}/cancel", tag = "turnovers", params(("id" = String, Path, example = "TO-2")), request_body = ReasonInput,
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<ReasonInput>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.cancel_turnover(&a, &id, b).await?))
}

/// R7: links done work items of the turnover's own release.
#[utoipa::path(post, operation_id = "link_work_items", path = "/api/v1/turnovers/{id}/work-items", tag = "turnovers", params(("id" = String, Path, example = "TO-2")), request_body = LinkInput,
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn link(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<LinkInput>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.link_work_items(&a, &id, b).await?))
}

#[utoipa::path(delete, operation_id = "unlink_work_item", path = "/api/v1/turnovers/{id}/work-items/{item}", tag = "turnovers", params(("id" = String, Path, example = "TO-2"), ("item" = String, Path, example = "WI-1")),
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 422, body = Problem)))]
pub async fn unlink(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, item)): Path<(String, String)>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.unlink_work_item(&a, &id, &item).await?))
}

/// Adds a task: manual (an owner) or automation (an action: a command or an HTTP call).
#[utoipa::path(post, operation_id = "add_task", path = "/api/v1/turnovers/{id}/tasks", tag = "turnovers", params(("id" = String, Path, example = "TO-2")), request_body = TaskSpec,
    security(("bearer" = [])), responses((status = 201, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_task(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<TaskSpec>,
) -> ApiResult<(StatusCode, Json<TurnoverView>)> {
    Ok((StatusCode::CREATED, Json(s.add_task(&a, &id, b).await?)))
}

#[utoipa::path(patch, operation_id = "update_task", path = "/api/v1/turnovers/{id}/tasks/{task}", tag = "turnovers", params(("id" = String, Path, example = "TO-2"), ("task" = String, Path, example = "TA-2")),
    request_body = TaskPatch, security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn edit_task(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, task)): Path<(String, String)>,
    Body(b): Body<TaskPatch>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.edit_task(&a, &id, &task, b, None).await?))
}

#[utoipa::path(delete, operation_id = "remove_task", path = "/api/v1/turnovers/{id}/tasks/{task}", tag = "turnovers", params(("id" = String, Path, example = "TO-2"), ("task" = String, Path, example = "TA-2")),
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn remove_task(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, task)): Path<(String, String)>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.remove_task(&a, &id, &task).await?))
}

/// Gives tasks new sequence numbers (equal numbers run in parallel).
#[utoipa::path(post, operation_id = "reorder_tasks", path = "/api/v1/turnovers/{id}/tasks/reorder", tag = "turnovers", params(("id" = String, Path, example = "TO-2")), request_body = ReorderInput,
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reorder(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<ReorderInput>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.reorder_tasks(&a, &id, b).await?))
}

/// Copies tasks from another turnover under new ids.
#[utoipa::path(post, operation_id = "copy_tasks", path = "/api/v1/turnovers/{id}/tasks/copy", tag = "turnovers", params(("id" = String, Path, example = "TO-2")), request_body = CopyTasksInput,
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn copy_tasks(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<CopyTasksInput>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.copy_tasks(&a, &id, b).await?))
}
