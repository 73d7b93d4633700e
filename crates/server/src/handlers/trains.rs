use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{ReleaseType, TrainPatch, TrainSpec, TrainState};
use railyard_service::{CopyInput, Page, Service, TrainFilter, TrainView};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{parse_list, parse_one};
use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrainParams {
    /// One state or several, comma-separated (`scoping,construction`).
    pub state: Option<String>,
    /// `major`, `minor`, `patch` or `emergency`.
    pub release_type: Option<String>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "list_trains", path = "/api/v1/trains", tag = "trains", params(TrainParams), security(("bearer" = [])),
    responses((status = 200, body = Page<TrainView>), (status = 422, body = Problem)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<TrainParams>,
) -> ApiResult<Json<Page<TrainView>>> {
    let filter = TrainFilter {
        states: parse_list::<TrainState>("state", p.state.as_deref())?,
        release_type: p.release_type.as_deref().map(|t| parse_one::<ReleaseType>("release_type", t)).transpose()?,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(s.trains(&a, filter).await?))
}

#[utoipa::path(post, operation_id = "create_train", path = "/api/v1/trains", tag = "trains", request_body = TrainSpec, security(("bearer" = [])),
    responses((status = 201, body = TrainView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<TrainSpec>,
) -> ApiResult<(StatusCode, Json<TrainView>)> {
    Ok((StatusCode::CREATED, Json(s.create_train(&a, b).await?)))
}

#[utoipa::path(get, operation_id = "get_train", path = "/api/v1/trains/{id}", tag = "trains", params(("id" = String, Path, example = "RT-4")), security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 404, body = Problem)))]
pub async fn show(State(s): State<Service>, Authed(a): Authed, Path(id): Path<String>) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.train(&a, &id).await?))
}

/// Partial update; `If-Match` with the train's version is required.
#[utoipa::path(patch, operation_id = "update_train", path = "/api/v1/trains/{id}", tag = "trains", params(("id" = String, Path, example = "RT-4"), ("If-Match" = String, Header, description = "The version the change is based on, e.g. `\"3\"`: required; a stale one is refused with 409")),
    request_body = TrainPatch, security(("bearer" = [])),
    responses((status = 200, body = TrainView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
pub async fn update(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<TrainPatch>,
) -> ApiResult<Json<TrainView>> {
    Ok(Json(s.update_train(&a, &id, b, v).await?))
}

/// A new draft train starting on `start`: every date shifted by the same offset; gates, criteria,
/// milestones and approval policies copied without their decisions.
#[utoipa::path(post, operation_id = "copy_train", path = "/api/v1/trains/{id}/copy", tag = "trains", params(("id" = String, Path, example = "RT-4")), request_body = CopyInput,
    security(("bearer" = [])), responses((status = 201, body = TrainView), (status = 404, body = Problem)))]
pub async fn copy(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<CopyInput>,
) -> ApiResult<(StatusCode, Json<TrainView>)> {
    Ok((StatusCode::CREATED, Json(s.copy_train(&a, &id, b).await?)))
}
