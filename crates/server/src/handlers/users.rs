use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_service::{NewUser, Page, PasswordInput, Service, UserPatch, UserView};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "list_users", path = "/api/v1/users", tag = "users", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = Page<UserView>), (status = 401, body = Problem)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<Page<UserView>>> {
    Ok(Json(s.users(&a, p.limit, p.cursor.as_deref()).await?))
}

#[utoipa::path(post, operation_id = "create_user", path = "/api/v1/users", tag = "users", request_body = NewUser, security(("bearer" = [])),
    responses((status = 201, body = UserView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<NewUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    Ok((StatusCode::CREATED, Json(s.create_user(&a, b).await?)))
}

/// The user the token belongs to.
#[utoipa::path(get, operation_id = "get_current_user", path = "/api/v1/users/me", tag = "users", security(("bearer" = [])), responses((status = 200, body = UserView)))]
pub async fn me(State(s): State<Service>, Authed(a): Authed) -> ApiResult<Json<UserView>> {
    Ok(Json(s.user(&a, &a.name).await?))
}

#[utoipa::path(get, operation_id = "get_user", path = "/api/v1/users/{name}", tag = "users", params(("name" = String, Path, example = "dan")), security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 404, body = Problem)))]
pub async fn show(State(s): State<Service>, Authed(a): Authed, Path(name): Path<String>) -> ApiResult<Json<UserView>> {
    Ok(Json(s.user(&a, &name).await?))
}

#[utoipa::path(patch, operation_id = "update_user", path = "/api/v1/users/{name}", tag = "users", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("name" = String, Path, example = "dan")), request_body = UserPatch,
    security(("bearer" = [])), responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn update(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(name): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<UserPatch>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(s.update_user(&a, &name, b, v).await?))
}

/// Sets the user's password for the web console (admins; 12 characters or more). Only an argon2 hash is
/// stored; the password is never returned, nor written to the audit log.
#[utoipa::path(post, operation_id = "set_user_password", path = "/api/v1/users/{name}/password", tag = "users", params(("name" = String, Path, example = "dan")),
    request_body = PasswordInput, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_password(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(name): Path<String>,
    Body(b): Body<PasswordInput>,
) -> ApiResult<StatusCode> {
    s.set_password(&a, &name, b).await?;
    Ok(StatusCode::NO_CONTENT)
}
