//! Deployment paths.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{PathAction, PathPatch, PathSpec, PathState};
use railyard_service::{Page, PathView, Service};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PathParams {
    /// draft, active or retired.
    pub state: Option<PathState>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "list_deployment_paths", path = "/api/v1/deployment-paths", tag = "deployment paths", params(PathParams), security(("bearer" = [])),
    responses((status = 200, body = Page<PathView>)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<PathParams>,
) -> ApiResult<Json<Page<PathView>>> {
    Ok(Json(s.paths(&a, p.state.into_iter().collect(), p.limit, p.cursor.as_deref()).await?))
}

/// Creates a path in draft.
#[utoipa::path(post, operation_id = "create_deployment_path", path = "/api/v1/deployment-paths", tag = "deployment paths", request_body = PathSpec, security(("bearer" = [])),
    responses((status = 201, body = PathView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<PathSpec>,
) -> ApiResult<(StatusCode, Json<PathView>)> {
    Ok((StatusCode::CREATED, Json(s.create_path(&a, b).await?)))
}

#[utoipa::path(get, operation_id = "get_deployment_path", path = "/api/v1/deployment-paths/{id}", tag = "deployment paths", params(("id" = String, Path, example = "DP-1")),
    security(("bearer" = [])), responses((status = 200, body = PathView), (status = 404, body = Problem)))]
pub async fn show(State(s): State<Service>, Authed(a): Authed, Path(id): Path<String>) -> ApiResult<Json<PathView>> {
    Ok(Json(s.path(&a, &id).await?))
}

/// Edits a path in draft.
#[utoipa::path(patch, operation_id = "update_deployment_path", path = "/api/v1/deployment-paths/{id}", tag = "deployment paths", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "DP-1")),
    request_body = PathPatch, security(("bearer" = [])), responses((status = 200, body = PathView), (status = 409, body = Problem)))]
pub async fn update(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<PathPatch>,
) -> ApiResult<Json<PathView>> {
    Ok(Json(s.update_path(&a, &id, b, v).await?))
}

/// draft → active: it needs stages, each on an environment that exists and is not decommissioned.
#[utoipa::path(post, operation_id = "activate_deployment_path", path = "/api/v1/deployment-paths/{id}/activate", tag = "deployment paths", params(("id" = String, Path, example = "DP-1")),
    security(("bearer" = [])), responses((status = 200, body = PathView), (status = 409, body = Problem)))]
pub async fn activate(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<PathView>> {
    Ok(Json(s.path_action(&a, &id, PathAction::Activate).await?))
}

/// active → draft, to edit it; turnovers already on it keep the stages they started with.
#[utoipa::path(post, operation_id = "return_deployment_path_to_draft", path = "/api/v1/deployment-paths/{id}/return-to-draft", tag = "deployment paths", params(("id" = String, Path, example = "DP-1")),
    security(("bearer" = [])), responses((status = 200, body = PathView), (status = 409, body = Problem)))]
pub async fn return_to_draft(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<PathView>> {
    Ok(Json(s.path_action(&a, &id, PathAction::ReturnToDraft).await?))
}

#[utoipa::path(post, operation_id = "retire_deployment_path", path = "/api/v1/deployment-paths/{id}/retire", tag = "deployment paths", params(("id" = String, Path, example = "DP-1")),
    security(("bearer" = [])), responses((status = 200, body = PathView), (status = 409, body = Problem)))]
pub async fn retire(State(s): State<Service>, Authed(a): Authed, Path(id): Path<String>) -> ApiResult<Json<PathView>> {
    Ok(Json(s.path_action(&a, &id, PathAction::Retire).await?))
}
