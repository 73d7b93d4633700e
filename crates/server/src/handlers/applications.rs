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
#[serde(deny_unknown_fields)]
pub struct ApplicationParams {
    /// Include archived applications.
    pub archived: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(ApplicationParams), security(("bearer" = [])),
    responses((status = 200, body = Page<ApplicationView>)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<ApplicationParams>,
) -> ApiResult<Json<Page<ApplicationView>>> {
    Ok(Json(s.applications(&a, p.archived.unwrap_or(false), p.limit, p.cursor.as_deref()).await?))
}

#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = ApplicationSpec, security(("bearer" = [])),
    responses((status = 201, body = ApplicationView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<ApplicationSpec>,
) -> ApiResult<(StatusCode, Json<ApplicationView>)> {
    Ok((StatusCode::CREATED, Json(s.create_application(&a, b).await?)))
}

#[utoipa::path(get, path = "/api/v1/applications/{key}", tag = "applications", params(("key" = String, Path, example = "PAY")),
    security(("bearer" = [])), responses((status = 200, body = ApplicationView), (status = 404, body = Problem)))]
pub async fn show(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(key): Path<String>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(s.application(&a, &key).await?))
}

#[utoipa::path(patch, path = "/api/v1/applications/{key}", tag = "applications", params(("key" = String, Path)),
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

#[utoipa::path(post, path = "/api/v1/applications/{key}/archive", tag = "applications", params(("key" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = ApplicationView), (status = 409, body = Problem)))]
pub async fn archive(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(key): Path<String>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(s.archive_application(&a, &key).await?))
}
