use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{MilestonePatch, MilestoneSpec, MilestoneState};
use railyard_service::{Service, TrainView};

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch};

#[utoipa::path(post, operation_id = "add_train_milestone", path = "/api/v1/trains/{id}/milestones", tag = "milestones", request_body = MilestoneSpec,
    params(("id" = String, Path, example = "RT-4")), security(("bearer" = [])),
    responses((status = 201, body = TrainView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<MilestoneSpec>,
) -> ApiResult<(StatusCode, Json<TrainView>)> {
    Ok((StatusCode::CREATED, Json(s.add_milestone(&a, &id, b).await?)))
}

#[utoipa::path(patch, operation_id = "update_train_milestone", path = "/api/v1/trains/{id}/milestones/{milestone}", tag = "milestones", request_body = MilestonePatch,
    params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "RT-4"), ("milestone" = String, Path, example = "MS-9")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn edit(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, m)): Path<(String, String)>,
    IfMatch(v): IfMatch,
    Body(b): Body<MilestonePatch>,
) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.edit_milestone(&a, &id, &m, b, v).await?))
}

#[utoipa::path(delete, operation_id = "remove_train_milestone", path = "/api/v1/trains/{id}/milestones/{milestone}", tag = "milestones",
    params(("id" = String, Path, example = "RT-4"), ("milestone" = String, Path, example = "MS-9")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn remove(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, m)): Path<(String, String)>,
) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.remove_milestone(&a, &id, &m).await?))
}

#[utoipa::path(post, operation_id = "complete_train_milestone", path = "/api/v1/trains/{id}/milestones/{milestone}/complete", tag = "milestones",
    params(("id" = String, Path, example = "RT-4"), ("milestone" = String, Path, example = "MS-9")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn complete(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, m)): Path<(String, String)>,
) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.decide_milestone(&a, &id, &m, MilestoneState::Completed).await?))
}

#[utoipa::path(post, operation_id = "miss_train_milestone", path = "/api/v1/trains/{id}/milestones/{milestone}/miss", tag = "milestones",
    params(("id" = String, Path, example = "RT-4"), ("milestone" = String, Path, example = "MS-9")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, body = Problem)))]
pub async fn miss(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, m)): Path<(String, String)>,
) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.decide_milestone(&a, &id, &m, MilestoneState::Missed).await?))
}
