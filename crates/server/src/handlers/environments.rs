//! Environments and their calendars.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{
    EnvironmentAction, EnvironmentKind, EnvironmentPatch, EnvironmentSpec, EnvironmentState, EventSpec,
};
use railyard_service::{CalendarEntry, EnvironmentFilter, EnvironmentView, Page, Service, StateReason};
use serde::Deserialize;
use utoipa::IntoParams;

use super::parse_time;
use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch, OptionalBody, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentParams {
    /// development, test, staging or production.
    pub kind: Option<EnvironmentKind>,
    /// online, offline or decommissioned.
    pub state: Option<EnvironmentState>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "list_environments", path = "/api/v1/environments", tag = "environments", params(EnvironmentParams), security(("bearer" = [])),
    responses((status = 200, body = Page<EnvironmentView>), (status = 422, body = Problem)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<EnvironmentParams>,
) -> ApiResult<Json<Page<EnvironmentView>>> {
    let filter =
        EnvironmentFilter { kind: p.kind, states: p.state.into_iter().collect(), limit: p.limit, cursor: p.cursor };
    Ok(Json(s.environments(&a, filter).await?))
}

#[utoipa::path(post, operation_id = "create_environment", path = "/api/v1/environments", tag = "environments", request_body = EnvironmentSpec, security(("bearer" = [])),
    responses((status = 201, body = EnvironmentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<EnvironmentSpec>,
) -> ApiResult<(StatusCode, Json<EnvironmentView>)> {
    Ok((StatusCode::CREATED, Json(s.create_environment(&a, b).await?)))
}

#[utoipa::path(get, operation_id = "get_environment", path = "/api/v1/environments/{name}", tag = "environments", params(("name" = String, Path, example = "staging")),
    security(("bearer" = [])), responses((status = 200, body = EnvironmentView), (status = 404, body = Problem)))]
pub async fn show(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(name): Path<String>,
) -> ApiResult<Json<EnvironmentView>> {
    Ok(Json(s.environment(&a, &name).await?))
}

#[utoipa::path(patch, operation_id = "update_environment", path = "/api/v1/environments/{name}", tag = "environments", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("name" = String, Path, example = "staging")),
    request_body = EnvironmentPatch, security(("bearer" = [])), responses((status = 200, body = EnvironmentView), (status = 409, body = Problem)))]
pub async fn update(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(name): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<EnvironmentPatch>,
) -> ApiResult<Json<EnvironmentView>> {
    Ok(Json(s.update_environment(&a, &name, b, v).await?))
}

/// online → offline: nothing deploys here while it is offline (R13).
#[utoipa::path(post, operation_id = "take_environment_offline", path = "/api/v1/environments/{name}/take-offline", tag = "environments", params(("name" = String, Path, example = "staging")),
    request_body = Option<StateReason>, security(("bearer" = [])),
    responses((status = 200, body = EnvironmentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn take_offline(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(name): Path<String>,
    OptionalBody(b): OptionalBody<StateReason>,
) -> ApiResult<Json<EnvironmentView>> {
    Ok(Json(s.environment_action(&a, &name, EnvironmentAction::TakeOffline, b.unwrap_or_default()).await?))
}

#[utoipa::path(post, operation_id = "bring_environment_online", path = "/api/v1/environments/{name}/bring-online", tag = "environments", params(("name" = String, Path, example = "staging")),
    request_body = Option<StateReason>, security(("bearer" = [])),
    responses((status = 200, body = EnvironmentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn bring_online(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(name): Path<String>,
    OptionalBody(b): OptionalBody<StateReason>,
) -> ApiResult<Json<EnvironmentView>> {
    Ok(Json(s.environment_action(&a, &name, EnvironmentAction::BringOnline, b.unwrap_or_default()).await?))
}

#[utoipa::path(post, operation_id = "decommission_environment", path = "/api/v1/environments/{name}/decommission", tag = "environments", params(("name" = String, Path, example = "staging")),
    request_body = Option<StateReason>, security(("bearer" = [])),
    responses((status = 200, body = EnvironmentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decommission(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(name): Path<String>,
    OptionalBody(b): OptionalBody<StateReason>,
) -> ApiResult<Json<EnvironmentView>> {
    Ok(Json(s.environment_action(&a, &name, EnvironmentAction::Decommission, b.unwrap_or_default()).await?))
}

/// Adds a maintenance window, a blackout or a reservation for a train; overlapping maintenance is refused,
/// naming the other event.
#[utoipa::path(post, operation_id = "add_calendar_event", path = "/api/v1/environments/{name}/events", tag = "environments", params(("name" = String, Path, example = "staging")),
    request_body = EventSpec, security(("bearer" = [])),
    responses((status = 201, body = EnvironmentView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_event(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(name): Path<String>,
    Body(b): Body<EventSpec>,
) -> ApiResult<(StatusCode, Json<EnvironmentView>)> {
    Ok((StatusCode::CREATED, Json(s.add_calendar_event(&a, &name, b).await?)))
}

#[utoipa::path(delete, operation_id = "remove_calendar_event", path = "/api/v1/environments/{name}/events/{event}", tag = "environments",
    params(("name" = String, Path, example = "staging"), ("event" = String, Path, example = "CE-1")), security(("bearer" = [])),
    responses((status = 200, body = EnvironmentView), (status = 422, body = Problem)))]
pub async fn remove_event(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((name, event)): Path<(String, String)>,
) -> ApiResult<Json<EnvironmentView>> {
    Ok(Json(s.remove_calendar_event(&a, &name, &event).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CalendarParams {
    /// RFC 3339; default: now.
    pub from: Option<String>,
    /// RFC 3339; default: 30 days after `from`.
    pub to: Option<String>,
}

/// The environment's calendar between `from` and `to`, in time order: its events (maintenance, blackouts,
/// reservations) and its scheduled, running and past deployments, with scheduling conflicts.
#[utoipa::path(get, operation_id = "get_environment_calendar", path = "/api/v1/environments/{name}/calendar", tag = "environments", params(("name" = String, Path, example = "staging"), CalendarParams),
    security(("bearer" = [])), responses((status = 200, body = Page<CalendarEntry>), (status = 422, body = Problem)))]
pub async fn calendar(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(name): Path<String>,
    Params(p): Params<CalendarParams>,
) -> ApiResult<Json<Page<CalendarEntry>>> {
    let from = parse_time("from", p.from.as_deref())?;
    let to = parse_time("to", p.to.as_deref())?;
    Ok(Json(Page { items: s.calendar(&a, &name, from, to).await?, next_cursor: None }))
}
