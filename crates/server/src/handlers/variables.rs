//! Variables: named values scoped globally, to an environment or to an application, that tasks name as
//! `${var.NAME}`. An environment's value wins over an application's, which wins over a global one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use railyard_domain::{Scope, VariablePatch, VariableSpec};
use railyard_service::{Page, Service, ServiceError, VariableFilter, VariableView};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Body, IfMatch, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VariableParams {
    /// Only the global variables.
    pub global: Option<bool>,
    /// Only the variables of this environment.
    pub environment: Option<String>,
    /// Only the variables of this application (its key).
    pub application: Option<String>,
    /// How many items a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl VariableParams {
    /// The scope asked for: at most one of `global`, `environment` and `application`.
    pub(crate) fn scope(&self) -> Result<Option<Scope>, ServiceError> {
        let global = self.global.unwrap_or(false).then_some(Scope::Global);
        let environment = self.environment.clone().map(|environment| Scope::Environment { environment });
        let application = self.application.clone().map(|application| Scope::Application { application });
        let given: Vec<Scope> = [global, environment, application].into_iter().flatten().collect();
        match given.len() {
            0 | 1 => Ok(given.into_iter().next()),
            _ => Err(ServiceError::invalid("scope", "give at most one of global, environment and application")),
        }
    }
}

#[utoipa::path(get, operation_id = "list_variables", path = "/api/v1/variables", tag = "variables", params(VariableParams), security(("bearer" = [])),
    responses((status = 200, body = Page<VariableView>), (status = 422, body = Problem)))]
pub async fn list(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<VariableParams>,
) -> ApiResult<Json<Page<VariableView>>> {
    let filter = VariableFilter { scope: p.scope()?, limit: p.limit, cursor: p.cursor };
    Ok(Json(s.variables(&a, filter).await?))
}

/// Creates a variable. Global and environment variables: release engineers and admins; an
/// application's: its owner, release engineers and admins. A name taken in the scope is refused (409).
#[utoipa::path(post, operation_id = "create_variable", path = "/api/v1/variables", tag = "variables", request_body = VariableSpec, security(("bearer" = [])),
    responses((status = 201, body = VariableView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<Service>,
    Authed(a): Authed,
    Body(b): Body<VariableSpec>,
) -> ApiResult<(StatusCode, Json<VariableView>)> {
    Ok((StatusCode::CREATED, Json(s.create_variable(&a, b).await?)))
}

#[utoipa::path(get, operation_id = "get_variable", path = "/api/v1/variables/{id}", tag = "variables", params(("id" = String, Path, example = "VAR-3")),
    security(("bearer" = [])), responses((status = 200, body = VariableView), (status = 404, body = Problem)))]
pub async fn show(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<VariableView>> {
    Ok(Json(s.variable(&a, &id).await?))
}

/// Sets a variable's value.
#[utoipa::path(patch, operation_id = "update_variable", path = "/api/v1/variables/{id}", tag = "variables", params(("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. `\"3\"`: a stale one is refused with 409"), ("id" = String, Path, example = "VAR-3")),
    request_body = VariablePatch, security(("bearer" = [])), responses((status = 200, body = VariableView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Body(b): Body<VariablePatch>,
) -> ApiResult<Json<VariableView>> {
    Ok(Json(s.update_variable(&a, &id, b, v).await?))
}

/// Deletes a variable. Tasks that name it fail at launch, naming it, until it is defined again.
#[utoipa::path(delete, operation_id = "delete_variable", path = "/api/v1/variables/{id}", tag = "variables", params(("If-Match" = Option<String>, Header, description = "The version the deletion is based on: a stale one is refused with 409"), ("id" = String, Path, example = "VAR-3")),
    security(("bearer" = [])), responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(
    State(s): State<Service>,
    Authed(a): Authed,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
) -> ApiResult<StatusCode> {
    s.delete_variable(&a, &id, v).await?;
    Ok(StatusCode::NO_CONTENT)
}
