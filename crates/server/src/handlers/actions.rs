//! Which actions the token's user may take on an object now, and why not: one route per collection
//! with actions, each answering the domain's list ([`railyard_domain::available`]).

use axum::Json;
use axum::extract::{Path, State};
use railyard_domain::AvailableAction;
use railyard_service::Service;

use crate::error::{ApiResult, Problem};
use crate::extract::Authed;

#[utoipa::path(get, operation_id = "list_global_actions", path = "/api/v1/actions", tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "What the token's user may start without an object yet (create a train, an environment, manage users, ...), allowed or not", body = Vec<AvailableAction>), (status = 401, body = Problem)))]
pub async fn global(State(s): State<Service>, Authed(a): Authed) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.global_actions_for(&a)))
}

#[utoipa::path(get, operation_id = "list_train_actions", path = "/api/v1/trains/{id}/actions", tag = "trains", params(("id" = String, Path, example = "RT-1")), security(("bearer" = [])),
    responses((status = 200, description = "Each lifecycle action, allowed or not, with the guards that block it", body = Vec<AvailableAction>), (status = 404, body = Problem)))]
pub async fn train(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.train_actions_for(&a, &id).await?))
}

#[utoipa::path(get, operation_id = "list_release_actions", path = "/api/v1/application-releases/{id}/actions", tag = "application releases", params(("id" = String, Path, example = "AR-1")), security(("bearer" = [])),
    responses((status = 200, description = "Each lifecycle and membership action, and those on what belongs to it (edit, work items, dependencies, milestones, a new turnover), allowed or not, with the guards that block it", body = Vec<AvailableAction>), (status = 404, body = Problem)))]
pub async fn release(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.release_actions_for(&a, &id).await?))
}

#[utoipa::path(get, operation_id = "list_turnover_actions", path = "/api/v1/turnovers/{id}/actions", tag = "turnovers", params(("id" = String, Path, example = "TO-1")), security(("bearer" = [])),
    responses((status = 200, description = "Deploy, cancel and the production review, allowed or not, with the guards that block each", body = Vec<AvailableAction>), (status = 404, body = Problem)))]
pub async fn turnover(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.turnover_actions_for(&a, &id).await?))
}

#[utoipa::path(get, operation_id = "list_deployment_actions", path = "/api/v1/deployments/{id}/actions", tag = "deployments", params(("id" = String, Path, example = "DE-1")), security(("bearer" = [])),
    responses((status = 200, description = "Retry, abandon, validate and start, allowed or not, with the guards that block each", body = Vec<AvailableAction>), (status = 404, body = Problem)))]
pub async fn deployment(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.deployment_actions_for(&a, &id).await?))
}

#[utoipa::path(get, operation_id = "list_approval_actions", path = "/api/v1/approvals/{id}/actions", tag = "approvals", params(("id" = String, Path, example = "AP-1")), security(("bearer" = [])),
    responses((status = 200, description = "Approve, reject and override, allowed or not, with the guards that block each", body = Vec<AvailableAction>), (status = 404, body = Problem)))]
pub async fn approval(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.approval_actions_for(&a, &id).await?))
}

#[utoipa::path(get, operation_id = "list_runbook_actions", path = "/api/v1/runbooks/{id}/actions", tag = "runbooks", params(("id" = String, Path, example = "RB-1")), security(("bearer" = [])),
    responses((status = 200, description = "The review actions, allowed or not, with the guards that block each", body = Vec<AvailableAction>), (status = 404, body = Problem)))]
pub async fn runbook(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.runbook_actions_for(&a, &id).await?))
}

#[utoipa::path(get, operation_id = "list_environment_actions", path = "/api/v1/environments/{name}/actions", tag = "environments", params(("name" = String, Path, example = "staging")), security(("bearer" = [])),
    responses((status = 200, description = "The lifecycle actions, allowed or not, with the guards that block each", body = Vec<AvailableAction>), (status = 404, body = Problem)))]
pub async fn environment(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.environment_actions_for(&a, &name).await?))
}

#[utoipa::path(get, operation_id = "list_deployment_path_actions", path = "/api/v1/deployment-paths/{id}/actions", tag = "deployment paths", params(("id" = String, Path, example = "DP-1")), security(("bearer" = [])),
    responses((status = 200, description = "The lifecycle actions, allowed or not, with the guards that block each", body = Vec<AvailableAction>), (status = 404, body = Problem)))]
pub async fn path(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.path_actions_for(&a, &id).await?))
}

#[utoipa::path(get, operation_id = "list_application_actions", path = "/api/v1/applications/{key}/actions", tag = "applications", params(("key" = String, Path, example = "PAY")), security(("bearer" = [])),
    responses((status = 200, description = "Archive, edit and create a release, allowed or not, with the guards that block each", body = Vec<AvailableAction>), (status = 404, body = Problem)))]
pub async fn application(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.application_actions_for(&a, &key).await?))
}

#[utoipa::path(get, operation_id = "list_user_actions", path = "/api/v1/users/{name}/actions", tag = "users", params(("name" = String, Path, example = "dan")), security(("bearer" = [])),
    responses((status = 200, description = "Edit, set the password, keep the tokens and revoke each one (`on` the token), allowed or not, with the guards that block each", body = Vec<AvailableAction>), (status = 404, body = Problem)))]
pub async fn user(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.user_actions_for(&a, &name).await?))
}
