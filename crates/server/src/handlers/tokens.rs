use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_service::{NewToken, Page, Service, TokenView};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TokenParams {
    /// Admins only: another user's tokens.
    pub user: Option<String>,
}

/// The caller's tokens (never their secrets).
#[utoipa::path(get, operation_id = "list_tokens", path = "/api/v1/tokens", tag = "tokens", params(TokenParams), security(("bearer" = [])),
    responses((status = 200, body = Page<TokenView>)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<TokenParams>,
) -> ApiResult<Json<Page<TokenView>>> {
    Ok(Json(s.tokens(&a, p.user.as_deref()).await?))
}

/// Creates a token; its secret is in the answer, once.
#[utoipa::path(post, operation_id = "create_token", path = "/api/v1/tokens", tag = "tokens", request_body = NewToken, security(("bearer" = [])),
    responses((status = 201, body = TokenView), (status = 403, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<NewToken>,
) -> ApiResult<(StatusCode, Json<TokenView>)> {
    Ok((StatusCode::CREATED, Json(s.create_token(&a, b).await?)))
}

#[utoipa::path(post, operation_id = "revoke_token", path = "/api/v1/tokens/{id}/revoke", tag = "tokens", params(("id" = String, Path, example = "TK-8")), security(("bearer" = [])),
    responses((status = 200, body = TokenView), (status = 404, body = Problem)))]
pub async fn revoke(State(s): State<Service>, Authed(a): Authed, Path(id): Path<String>) -> ApiResult<Json<TokenView>> {
    Ok(Json(s.revoke_token(&a, &id).await?))
}
