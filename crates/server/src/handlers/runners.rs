//! Runners: the registry (admins and release engineers register and revoke them) and the runner
//! protocol (docs/runner-protocol.md), which only runner tokens may speak.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{AvailableAction, RunnerSpec};
use railyard_service::{ClaimInput, Claims, HeartbeatInput, LeaseView, Page, ResultInput, RunnerView, Service};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, RunnerAuthed};

#[utoipa::path(get, operation_id = "list_runners", path = "/api/v1/runners", tag = "runners", security(("bearer" = [])),
    responses((status = 200, body = Page<RunnerView>)))]
pub async fn list(State(s): State<Service>, Authed(a): Authed) -> ApiResult<Json<Page<RunnerView>>> {
    Ok(Json(s.runners(&a).await?))
}

/// Registers a runner (admins and release engineers). The answer carries its token, shown this once.
#[utoipa::path(post, operation_id = "register_runner", path = "/api/v1/runners", tag = "runners", request_body = RunnerSpec, security(("bearer" = [])),
    responses((status = 201, body = RunnerView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn register(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<RunnerSpec>,
) -> ApiResult<(StatusCode, Json<RunnerView>)> {
    Ok((StatusCode::CREATED, Json(s.register_runner(&a, b).await?)))
}

#[utoipa::path(get, operation_id = "get_runner", path = "/api/v1/runners/{runner}", tag = "runners", params(("runner" = String, Path, description = "Its id or name", example = "eu-1")),
    security(("bearer" = [])), responses((status = 200, body = RunnerView), (status = 404, body = Problem)))]
pub async fn show(State(s): State<Service>, Authed(a): Authed, Path(id): Path<String>) -> ApiResult<Json<RunnerView>> {
    Ok(Json(s.runner(&a, &id).await?))
}

/// Revokes a runner: its token stops working at once; the runs it holds are interrupted when their
/// leases expire.
#[utoipa::path(post, operation_id = "revoke_runner", path = "/api/v1/runners/{runner}/revoke", tag = "runners", params(("runner" = String, Path, description = "Its id or name", example = "eu-1")),
    security(("bearer" = [])), responses((status = 200, body = RunnerView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn revoke(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<RunnerView>> {
    Ok(Json(s.revoke_runner(&a, &id).await?))
}

/// What the caller may do to each runner (`revoke`, on its name).
#[utoipa::path(get, operation_id = "runner_actions", path = "/api/v1/runners/actions", tag = "runners", security(("bearer" = [])),
    responses((status = 200, body = Vec<AvailableAction>)))]
pub async fn actions(State(s): State<Service>, Authed(a): Authed) -> ApiResult<Json<Vec<AvailableAction>>> {
    Ok(Json(s.runner_actions_for(&a).await?))
}

/// Claims up to `capacity` queued runs whose labels the runner serves (runner tokens only).
#[utoipa::path(post, operation_id = "runner_claim", path = "/api/v1/runner/claim", tag = "runner protocol", request_body = ClaimInput, security(("bearer" = [])),
    responses((status = 200, body = Claims), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn claim(
    State(s): State<Service>,
    RunnerAuthed(r): RunnerAuthed,
    Body(b): Body<ClaimInput>,
) -> ApiResult<Json<Claims>> {
    Ok(Json(s.runner_claim(&r, b).await?))
}

/// Renews the lease on a run the runner holds, with its output since the last heartbeat. 409
/// `lease_lost`: the runner must stop the run.
#[utoipa::path(post, operation_id = "runner_heartbeat", path = "/api/v1/runner/runs/{claim}/heartbeat", tag = "runner protocol", params(("claim" = String, Path, example = "DE-5:R1:1")),
    request_body = HeartbeatInput, security(("bearer" = [])),
    responses((status = 200, body = LeaseView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn heartbeat(
    State(s): State<Service>,
    RunnerAuthed(r): RunnerAuthed,
    Path(claim): Path<String>,
    Body(b): Body<HeartbeatInput>,
) -> ApiResult<Json<LeaseView>> {
    Ok(Json(s.runner_heartbeat(&r, &claim, b).await?))
}

/// Whether a result was recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recorded {
    pub recorded: bool,
}

/// Reports how a run the runner holds ended. 409 `lease_lost`: it does not hold it (any more); the
/// result is not recorded.
#[utoipa::path(post, operation_id = "runner_result", path = "/api/v1/runner/runs/{claim}/result", tag = "runner protocol", params(("claim" = String, Path, example = "DE-5:R1:1")),
    request_body = ResultInput, security(("bearer" = [])),
    responses((status = 200, body = Recorded), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn result(
    State(s): State<Service>,
    RunnerAuthed(r): RunnerAuthed,
    Path(claim): Path<String>,
    Body(b): Body<ResultInput>,
) -> ApiResult<Json<Recorded>> {
    s.runner_result(&r, &claim, b).await?;
    Ok(Json(Recorded { recorded: true }))
}
