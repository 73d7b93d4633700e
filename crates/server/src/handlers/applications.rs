use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{ApplicationPatch, ApplicationSpec};
use railyard_service::{ApplicationView, Page, Service};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApplicationParams {
    /// Include archived applications.
    pub archived: Option<bool>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "list_applications", path = "/api/v1/applications", tag = "applications", params(ApplicationParams), security(("bearer" = [])),
    responses((status = 200, body = Page<ApplicationView>)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<ApplicationParams>,
) -> ApiResult<Json<Page<ApplicationView>>> {
    Ok(Json(s.applications(&a, p.archived.unwrap_or(false), p.limit, p.cursor.as_deref()).await?))
}

#[utoipa::path(post, operation_id = "create_application", path = "/api/v1/applications", tag = "applications", request_body = ApplicationSpec, security(("bearer" = [])),
    responses((status = 201, body = ApplicationView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<ApplicationSpec>,
) -> ApiResult<(StatusCode, Json<ApplicationView>)> {
    Ok((StatusCode::CREATED, Json(s.create_application(&a, b).await?)))
}

#[utoipa::path(get, operation_id = "get_application", path = "/api/v1/applications/{key}", tag = "applications", params(("key" = String, Path, example = "PAY")),
    security(("bearer" = [])), responses((status = 200, body = ApplicationView), (status = 404, body = Problem)))]
pub async fn show(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(key): Path<String>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(s.application(&a, &key).await?))
}

#[utoipa::path(patch, operation_id = "update_application", path = "/api/v1/applications/{key}", tag = "applications", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("key" = String, Path, example = "PAY")),
    request_body = ApplicationPatch, security(("bearer" = [])), responses((status = 200, body = ApplicationView), (status = 409, body = Problem)))]
pub async fn update(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(key): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<ApplicationPatch>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(s.update_application(&a, &key, b, v).await?))
}

#[utoipa::path(post, operation_id = "archive_application", path = "/api/v1/applications/{key}/archive", tag = "applications", params(("key" = String, Path, example = "PAY")),
    security(("bearer" = [])), responses((status = 200, body = ApplicationView), (status = 409, body = Problem)))]
pub async fn archive(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(key): Path<String>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(s.archive_application(&a, &key).await?))
}
