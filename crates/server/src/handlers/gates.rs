//! Gates and their exit criteria.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{CriterionPatch, CriterionSpec, CriterionState, GateName};
use railyard_service::{DecideCriterionInput, GateInput, Service, TrainView};

use super::parse_one;
use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch};

#[utoipa::path(patch, operation_id = "update_gate", path = "/api/v1/trains/{id}/gates/{gate}", tag = "gates", request_body = GateInput,
    params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "RT-4"), ("gate" = GateName, Path, description = "scoping, construction or verification")),
    security(("bearer" = [])), responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn update(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, gate)): Path<(String, String)>,
    IfMatch(v): IfMatch,
    Body(b): Body<GateInput>,
) -> ApiResult<Json<TrainView>> {
    let gate = parse_one::<GateName>("gate", &gate)?;
    Ok(Json(s.update_gate(&a, &id, gate, b, v).await?))
}

/// Requests the approval of a gate that requires one, under the train's gate policy.
#[utoipa::path(post, operation_id = "request_gate_approval", path = "/api/v1/trains/{id}/gates/{gate}/request-approval", tag = "gates",
    params(("id" = String, Path, example = "RT-4"), ("gate" = GateName, Path, description = "scoping, construction or verification")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn request_approval(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, gate)): Path<(String, String)>,
) -> ApiResult<Json<TrainView>> {
    let gate = parse_one::<GateName>("gate", &gate)?;
    Ok(Json(s.request_gate_approval(&a, &id, gate).await?))
}

#[utoipa::path(post, operation_id = "add_exit_criterion", path = "/api/v1/trains/{id}/gates/{gate}/criteria", tag = "gates", request_body = CriterionSpec,
    params(("id" = String, Path, example = "RT-4"), ("gate" = GateName, Path, description = "scoping, construction or verification")), security(("bearer" = [])),
    responses((status = 201, body = TrainView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_criterion(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, gate)): Path<(String, String)>,
    Body(b): Body<CriterionSpec>,
) -> ApiResult<(StatusCode, Json<TrainView>)> {
    let gate = parse_one::<GateName>("gate", &gate)?;
    Ok((StatusCode::CREATED, Json(s.add_criterion(&a, &id, gate, b).await?)))
}

#[utoipa::path(patch, operation_id = "update_exit_criterion", path = "/api/v1/trains/{id}/criteria/{criterion}", tag = "gates", request_body = CriterionPatch,
    params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "RT-4"), ("criterion" = String, Path, example = "EC-4")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn edit_criterion(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, criterion)): Path<(String, String)>,
    IfMatch(v): IfMatch,
    Body(b): Body<CriterionPatch>,
) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.edit_criterion(&a, &id, &criterion, b, v).await?))
}

#[utoipa::path(delete, operation_id = "remove_exit_criterion", path = "/api/v1/trains/{id}/criteria/{criterion}", tag = "gates",
    params(("id" = String, Path, example = "RT-4"), ("criterion" = String, Path, example = "EC-4")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn remove_criterion(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, criterion)): Path<(String, String)>,
) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.remove_criterion(&a, &id, &criterion).await?))
}

/// Meets a criterion, with evidence: `{"evidence": {"note": "...", "link": "..."}}`.
#[utoipa::path(post, operation_id = "meet_exit_criterion", path = "/api/v1/trains/{id}/criteria/{criterion}/meet", tag = "gates", request_body = DecideCriterionInput,
    params(("id" = String, Path, example = "RT-4"), ("criterion" = String, Path, example = "EC-4")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn meet(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, c)): Path<(String, String)>,
    Body(b): Body<DecideCriterionInput>,
) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.decide_criterion(&a, &id, &c, CriterionState::Met, b).await?))
}

/// Waives a criterion, with a reason: `{"reason": "..."}`.
#[utoipa::path(post, operation_id = "waive_exit_criterion", path = "/api/v1/trains/{id}/criteria/{criterion}/waive", tag = "gates", request_body = DecideCriterionInput,
    params(("id" = String, Path, example = "RT-4"), ("criterion" = String, Path, example = "EC-4")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn waive(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, c)): Path<(String, String)>,
    Body(b): Body<DecideCriterionInput>,
) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.decide_criterion(&a, &id, &c, CriterionState::Waived, b).await?))
}

#[utoipa::path(post, operation_id = "reopen_exit_criterion", path = "/api/v1/trains/{id}/criteria/{criterion}/reopen", tag = "gates",
    params(("id" = String, Path, example = "RT-4"), ("criterion" = String, Path, example = "EC-4")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn reopen(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, c)): Path<(String, String)>,
) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.decide_criterion(&a, &id, &c, CriterionState::Open, DecideCriterionInput::default()).await?))
}
