//! Secrets: like variables (the same scopes, precedence and who-may), named as `${secret.NAME}`, but
//! write-only: no response ever holds a value or its ciphertext, only name, scope, version and who
//! changed it when. Values are resolved only when a run is handed to the runner that runs it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{SecretPatch, SecretSpec};
use railyard_service::{Page, SecretFilter, SecretView, Service};

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch, Params};
use crate::handlers::variables::VariableParams;

#[utoipa::path(get, operation_id = "list_secrets", path = "/api/v1/secrets", tag = "secrets", params(VariableParams), security(("bearer" = [])),
    responses((status = 200, body = Page<SecretView>), (status = 422, body = Problem)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<VariableParams>,
) -> ApiResult<Json<Page<SecretView>>> {
    let filter = SecretFilter { scope: p.scope()?, limit: p.limit, cursor: p.cursor };
    Ok(Json(s.secrets(&a, filter).await?))
}

/// Creates a secret (4 bytes to 8 KiB, no NUL), encrypted before it is stored. Global and environment
/// secrets: release engineers and admins; an application's: its owner, release engineers and admins. A
/// name taken in the scope is refused (409); a server without a secret key refuses (422).
#[utoipa::path(post, operation_id = "create_secret", path = "/api/v1/secrets", tag = "secrets", request_body = SecretSpec, security(("bearer" = [])),
    responses((status = 201, body = SecretView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<SecretSpec>,
) -> ApiResult<(StatusCode, Json<SecretView>)> {
    Ok((StatusCode::CREATED, Json(s.create_secret(&a, b).await?)))
}

#[utoipa::path(get, operation_id = "get_secret", path = "/api/v1/secrets/{id}", tag = "secrets", params(("id" = String, Path, example = "SEC-3")),
    security(("bearer" = [])), responses((status = 200, body = SecretView), (status = 404, body = Problem)))]
pub async fn show(State(s): State<Service>, Authed(a): Authed, Path(id): Path<String>) -> ApiResult<Json<SecretView>> {
    Ok(Json(s.secret(&a, &id).await?))
}

/// Sets a secret's value.
#[utoipa::path(patch, operation_id = "update_secret", path = "/api/v1/secrets/{id}", tag = "secrets", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "SEC-3")),
    request_body = SecretPatch, security(("bearer" = [])), responses((status = 200, body = SecretView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<SecretPatch>,
) -> ApiResult<Json<SecretView>> {
    Ok(Json(s.update_secret(&a, &id, b, v).await?))
}

/// Deletes a secret. Tasks that name it fail at hand-off, naming it, until it is set again.
#[utoipa::path(delete, operation_id = "delete_secret", path = "/api/v1/secrets/{id}", tag = "secrets", params(("If-Match" = Option<String>, Header, description = "The version the deletion is based on: a stale one is refused with 409"), ("id" = String, Path, example = "SEC-3")),
    security(("bearer" = [])), responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
) -> ApiResult<StatusCode> {
    s.delete_secret(&a, &id, v).await?;
    Ok(StatusCode::NO_CONTENT)
}
