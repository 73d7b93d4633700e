//! Into production: production-ready turnovers, their scheduled deployments into locked environments,
//! early starts, verification, rollback; and stopping the line.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{Line, ProductionSpec, ProposedOrder};
use railyard_service::{
    DeploymentView, LineInput, ReviewInput, RollbackInput, ScheduleInput, Service, StartInput, TurnoverView,
    VerifyInput,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, OptionalBody, Params};

/// Creates a production-ready turnover in draft: application releases of one train in verification,
/// locked environments, optionally from a validated pre-production turnover (its tasks, artifacts and
/// work items are copied).
#[utoipa::path(post, operation_id = "create_production_turnover", path = "/api/v1/production-turnovers", tag = "production", request_body = ProductionSpec,
    security(("bearer" = [])), responses((status = 201, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<ProductionSpec>,
) -> ApiResult<(StatusCode, Json<TurnoverView>)> {
    Ok((StatusCode::CREATED, Json(s.create_production_turnover(&a, b).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderParams {
    /// Tier order, comma-separated (default: database,app,web; other tiers follow alphabetically).
    pub tiers: Option<String>,
}

/// The proposed task order: application releases by their dependencies (R5), then by tier. Apply it,
/// as is or edited, with `reorder-tasks`.
#[utoipa::path(get, operation_id = "get_proposed_task_order", path = "/api/v1/turnovers/{id}/proposed-order", tag = "production", params(("id" = String, Path, example = "TO-12"), OrderParams),
    security(("bearer" = [])), responses((status = 200, body = ProposedOrder), (status = 404, body = Problem)))]
pub async fn proposed_order(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Params(p): Params<OrderParams>,
) -> ApiResult<Json<ProposedOrder>> {
    let tiers: Vec<String> =
        p.tiers.unwrap_or_default().split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect();
    Ok(Json(s.proposed_order(&a, &id, tiers).await?))
}

/// draft → delivered to release engineering.
#[utoipa::path(post, operation_id = "deliver_turnover", path = "/api/v1/turnovers/{id}/deliver", tag = "production", params(("id" = String, Path, example = "TO-12")),
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem)))]
pub async fn deliver(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.deliver_turnover(&a, &id).await?))
}

/// delivered → accepted (and frozen, R12), by a release engineer other than its developer.
#[utoipa::path(post, operation_id = "accept_turnover", path = "/api/v1/turnovers/{id}/accept", tag = "production", params(("id" = String, Path, example = "TO-12")),
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem)))]
pub async fn accept(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.accept_turnover(&a, &id).await?))
}

/// delivered → draft, with a comment.
#[utoipa::path(post, operation_id = "reject_turnover", path = "/api/v1/turnovers/{id}/reject", tag = "production", params(("id" = String, Path, example = "TO-12")), request_body = ReviewInput,
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reject(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<ReviewInput>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.reject_turnover(&a, &id, b).await?))
}

/// R11: schedules an accepted production-ready turnover into one of its locked environments (or moves a
/// deployment that has not started). Conflicts with other deployments and blackouts are reported in the
/// deployment's `conflicts`.
#[utoipa::path(post, operation_id = "schedule_turnover", path = "/api/v1/turnovers/{id}/schedule", tag = "production", params(("id" = String, Path, example = "TO-12")), request_body = ScheduleInput,
    security(("bearer" = [])), responses((status = 201, body = DeploymentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn schedule(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<ScheduleInput>,
) -> ApiResult<(StatusCode, Json<DeploymentView>)> {
    Ok((StatusCode::CREATED, Json(s.schedule_turnover(&a, &id, b).await?)))
}

/// Verifies a deployed production turnover (in one environment, or each awaiting verification).
#[utoipa::path(post, operation_id = "verify_turnover", path = "/api/v1/turnovers/{id}/verify", tag = "production", params(("id" = String, Path, example = "TO-12")), request_body = VerifyInput,
    security(("bearer" = [])), responses((status = 200, body = TurnoverView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn verify(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<VerifyInput>,
) -> ApiResult<Json<TurnoverView>> {
    Ok(Json(s.verify_turnover(&a, &id, b).await?))
}

/// Rolls a failed production deployment back: runs the turnover's tasks marked `rollback`.
#[utoipa::path(post, operation_id = "roll_back_turnover", path = "/api/v1/turnovers/{id}/rollback", tag = "production", params(("id" = String, Path, example = "TO-12")), request_body = RollbackInput,
    security(("bearer" = [])), responses((status = 201, body = DeploymentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn rollback(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<RollbackInput>,
) -> ApiResult<(StatusCode, Json<DeploymentView>)> {
    Ok((StatusCode::CREATED, Json(s.rollback_turnover(&a, &id, b).await?)))
}

/// R11: starts a scheduled deployment before its time: refused without `override`; with it, only by the
/// train's manager and with a reason (recorded in the audit log).
#[utoipa::path(post, operation_id = "start_deployment", path = "/api/v1/deployments/{id}/start", tag = "production", params(("id" = String, Path, example = "DE-20")), request_body = Option<StartInput>,
    security(("bearer" = [])), responses((status = 200, body = DeploymentView), (status = 409, body = Problem)))]
pub async fn start(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    OptionalBody(b): OptionalBody<StartInput>,
) -> ApiResult<Json<DeploymentView>> {
    Ok(Json(s.start_deployment(&a, &id, b.unwrap_or_default()).await?))
}

/// Whether the line is stopped.
#[utoipa::path(get, operation_id = "get_line", path = "/api/v1/line", tag = "production", security(("bearer" = [])), responses((status = 200, body = Line)))]
pub async fn line(State(s): State<Service>, Authed(a): Authed) -> ApiResult<Json<Line>> {
    Ok(Json(s.line(&a).await?))
}

/// Stops the line: no deployment starts anywhere until it is resumed, except rollbacks; runs in flight
/// finish.
#[utoipa::path(post, operation_id = "halt_line", path = "/api/v1/line/halt", tag = "production", request_body = LineInput,
    security(("bearer" = [])), responses((status = 200, body = Line), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn halt(State(s): State<Service>, Authed(a): Authed, Body(b): Body<LineInput>) -> ApiResult<Json<Line>> {
    Ok(Json(s.set_line(&a, true, b).await?))
}

#[utoipa::path(post, operation_id = "resume_line", path = "/api/v1/line/resume", tag = "production", request_body = LineInput,
    security(("bearer" = [])), responses((status = 200, body = Line), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn resume(State(s): State<Service>, Authed(a): Authed, Body(b): Body<LineInput>) -> ApiResult<Json<Line>> {
    Ok(Json(s.set_line(&a, false, b).await?))
}
