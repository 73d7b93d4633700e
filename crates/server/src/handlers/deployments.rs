//! Deployments: start the next one of a turnover, watch, retry, abandon, validate; complete manual runs;
//! read run logs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::DeploymentState;
use railyard_service::{
    CompleteRunInput, DeployInput, DeploymentFilter, DeploymentView, Page, RetryInput, RunLog, Service, ValidateInput,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, Problem};
use crate::extract::Body;
use crate::extract::{Authed, OptionalBody, Params};

/// Schedules the turnover's next deployment (R8: the next stage once the last is validated, optional
/// stages skipped only when named; or again into the same stage after a failure, where redeploys are
/// allowed). The engine starts it as soon as its environment is open (R13).
#[utoipa::path(post, operation_id = "deploy_turnover", path = "/api/v1/turnovers/{id}/deploy", tag = "deployments", params(("id" = String, Path, example = "TO-4")), request_body = Option<DeployInput>,
    security(("bearer" = [])), responses((status = 201, body = DeploymentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn deploy(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    OptionalBody(b): OptionalBody<DeployInput>,
) -> ApiResult<(StatusCode, Json<DeploymentView>)> {
    Ok((StatusCode::CREATED, Json(s.deploy(&a, &id, b.unwrap_or_default()).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeploymentParams {
    pub turnover: Option<String>,
    pub environment: Option<String>,
    pub state: Option<DeploymentState>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "list_deployments", path = "/api/v1/deployments", tag = "deployments", params(DeploymentParams), security(("bearer" = [])),
    responses((status = 200, body = Page<DeploymentView>)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<DeploymentParams>,
) -> ApiResult<Json<Page<DeploymentView>>> {
    let filter = DeploymentFilter {
        turnover: p.turnover,
        environment: p.environment,
        states: p.state.into_iter().collect(),
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(s.deployments(&a, filter).await?))
}

#[utoipa::path(get, operation_id = "get_deployment", path = "/api/v1/deployments/{id}", tag = "deployments", params(("id" = String, Path, example = "DE-20")),
    security(("bearer" = [])), responses((status = 200, body = DeploymentView), (status = 404, body = Problem)))]
pub async fn show(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<DeploymentView>> {
    Ok(Json(s.deployment(&a, &id).await?))
}

/// failed → running: failed, timed-out and interrupted runs run again; succeeded runs are skipped
/// unless named in `rerun`.
#[utoipa::path(post, operation_id = "retry_deployment", path = "/api/v1/deployments/{id}/retry", tag = "deployments", params(("id" = String, Path, example = "DE-20")), request_body = Option<RetryInput>,
    security(("bearer" = [])), responses((status = 200, body = DeploymentView), (status = 409, body = Problem)))]
pub async fn retry(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    OptionalBody(b): OptionalBody<RetryInput>,
) -> ApiResult<Json<DeploymentView>> {
    Ok(Json(s.retry_deployment(&a, &id, b.unwrap_or_default()).await?))
}

#[utoipa::path(post, operation_id = "abandon_deployment", path = "/api/v1/deployments/{id}/abandon", tag = "deployments", params(("id" = String, Path, example = "DE-20")),
    security(("bearer" = [])), responses((status = 200, body = DeploymentView), (status = 409, body = Problem)))]
pub async fn abandon(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<DeploymentView>> {
    Ok(Json(s.abandon_deployment(&a, &id).await?))
}

/// succeeded → validated (`passed: true`) or rejected (with a note).
#[utoipa::path(post, operation_id = "validate_deployment", path = "/api/v1/deployments/{id}/validate", tag = "deployments", params(("id" = String, Path, example = "DE-20")), request_body = ValidateInput,
    security(("bearer" = [])), responses((status = 200, body = DeploymentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn validate(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<ValidateInput>,
) -> ApiResult<Json<DeploymentView>> {
    Ok(Json(s.validate_deployment(&a, &id, b).await?))
}

/// R15: the owner of a manual run (or a release engineer) completes it, done or failed, with a note.
#[utoipa::path(post, operation_id = "complete_task_run", path = "/api/v1/deployments/{id}/runs/{run}/complete", tag = "deployments", params(("id" = String, Path, example = "DE-20"), ("run" = String, Path, example = "R1")),
    request_body = CompleteRunInput, security(("bearer" = [])), responses((status = 200, body = DeploymentView), (status = 409, body = Problem)))]
pub async fn complete_run(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, run)): Path<(String, String)>,
    Body(b): Body<CompleteRunInput>,
) -> ApiResult<Json<DeploymentView>> {
    Ok(Json(s.complete_run(&a, &id, &run, b).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    /// Which attempt (default: the latest).
    pub attempt: Option<u32>,
    /// The first line to return (0-based; default 0): page through a long log.
    pub from_line: Option<usize>,
    /// How many lines at most (default: all).
    pub limit: Option<usize>,
}

/// A run's output: stdout and stderr lines with their times.
#[utoipa::path(get, operation_id = "get_task_run_log", path = "/api/v1/deployments/{id}/runs/{run}/log", tag = "deployments", params(("id" = String, Path, example = "DE-20"), ("run" = String, Path, example = "R1"), LogParams),
    security(("bearer" = [])), responses((status = 200, body = RunLog), (status = 404, body = Problem)))]
pub async fn log(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, run)): Path<(String, String)>,
    Params(p): Params<LogParams>,
) -> ApiResult<Json<RunLog>> {
    let mut log = s.run_log(&a, &id, &run, p.attempt).await?;
    let from = p.from_line.unwrap_or(0).min(log.lines.len());
    let to = p.limit.map_or(log.lines.len(), |n| from.saturating_add(n).min(log.lines.len()));
    log.lines = log.lines[from..to].to_vec();
    Ok(Json(log))
}
