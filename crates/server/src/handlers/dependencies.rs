//! Dependencies between application releases; a train's conflicts, dependency order and timeline.

use axum::Json;
use axum::extract::{Path, State};
use railyard_domain::graph::Conflict;
use railyard_service::{DependencyInput, OrderEntry, Page, ReleaseView, Service};

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body};

/// Adds a dependency; one that would close a cycle is refused, naming the whole cycle (R5).
#[utoipa::path(post, operation_id = "add_release_dependency", path = "/api/v1/application-releases/{id}/dependencies", tag = "application releases",
    params(("id" = String, Path, example = "AR-4")), request_body = DependencyInput, security(("bearer" = [])),
    responses((status = 200, body = ReleaseView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    Body(b): Body<DependencyInput>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.add_dependency(&a, &id, b).await?))
}

#[utoipa::path(delete, operation_id = "remove_release_dependency", path = "/api/v1/application-releases/{id}/dependencies/{on}", tag = "application releases",
    params(("id" = String, Path, example = "AR-4"), ("on" = String, Path, example = "AR-9")), security(("bearer" = [])),
    responses((status = 200, body = ReleaseView), (status = 409, body = Problem)))]
pub async fn remove(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((id, on)): Path<(String, String)>,
) -> ApiResult<Json<ReleaseView>> {
    Ok(Json(s.remove_dependency(&a, &id, &on).await?))
}

/// Every schedule conflict of the train: a dependency ending after its dependent starts (R5).
#[utoipa::path(get, operation_id = "list_dependency_conflicts", path = "/api/v1/trains/{id}/conflicts", tag = "trains", params(("id" = String, Path, example = "RT-2")), security(("bearer" = [])),
    responses((status = 200, body = Page<Conflict>), (status = 404, body = Problem)))]
pub async fn conflicts(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Page<Conflict>>> {
    Ok(Json(Page { items: s.train_conflicts(&a, &id).await?, next_cursor: None }))
}

/// The train's accepted application releases, dependencies first.
#[utoipa::path(get, operation_id = "get_release_order", path = "/api/v1/trains/{id}/order", tag = "trains", params(("id" = String, Path, example = "RT-2")), security(("bearer" = [])),
    responses((status = 200, body = Page<OrderEntry>), (status = 404, body = Problem)))]
pub async fn order(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<Page<OrderEntry>>> {
    Ok(Json(Page { items: s.train_order(&a, &id).await?, next_cursor: None }))
}

/// The train's timeline: stages planned and actual, gates, milestones, and each application release's
/// planned and actual bar with its dependencies — in one response a chart can draw.
#[utoipa::path(get, operation_id = "get_train_timeline", path = "/api/v1/trains/{id}/timeline", tag = "trains", params(("id" = String, Path, example = "RT-2")), security(("bearer" = [])),
    responses((status = 200, body = railyard_service::Timeline), (status = 404, body = Problem)))]
pub async fn timeline(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<railyard_service::Timeline>> {
    Ok(Json(s.timeline(&a, &id).await?))
}
