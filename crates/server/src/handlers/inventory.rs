//! What is deployed where: the inventory grid and one cell's history.

use axum::Json;
use axum::extract::{Path, State};
use railyard_service::{Inventory, InventoryCellHistory, InventoryFilter, Service};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, Problem};
use crate::extract::{Authed, Params};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InventoryParams {
    /// Only this application's row (by key; an archived one too when named).
    #[param(example = "PAY")]
    pub application: Option<String>,
    /// Only this environment's column (a decommissioned one too when named).
    #[param(example = "staging")]
    pub environment: Option<String>,
    /// How many applications (rows) a page holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// What is deployed where: for each application (a page of rows) and each environment, the artifact
/// versions there now and the deployment that put them there. A deployment counts once it landed
/// (succeeded, validated or rejected); a failed, abandoned or rolled-back attempt changes nothing.
#[utoipa::path(get, operation_id = "get_inventory", path = "/api/v1/inventory", tag = "inventory", params(InventoryParams),
    security(("bearer" = [])), responses((status = 200, body = Inventory), (status = 422, body = Problem)))]
pub async fn grid(
    State(s): State<Service>,
    Authed(a): Authed,
    Params(p): Params<InventoryParams>,
) -> ApiResult<Json<Inventory>> {
    let filter =
        InventoryFilter { application: p.application, environment: p.environment, limit: p.limit, cursor: p.cursor };
    Ok(Json(s.inventory(&a, filter).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CellParams {
    /// How many deployments a page of history holds (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One cell of the inventory: what of the application is in the environment now, and every deployment
/// that put something there, newest first.
#[utoipa::path(get, operation_id = "get_inventory_cell", path = "/api/v1/inventory/{application}/{environment}", tag = "inventory",
    params(("application" = String, Path, example = "PAY"), ("environment" = String, Path, example = "staging"), CellParams),
    security(("bearer" = [])), responses((status = 200, body = InventoryCellHistory), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn cell(
    State(s): State<Service>,
    Authed(a): Authed,
    Path((application, environment)): Path<(String, String)>,
    Params(p): Params<CellParams>,
) -> ApiResult<Json<InventoryCellHistory>> {
    Ok(Json(s.inventory_cell(&a, &application, &environment, p.limit, p.cursor.as_deref()).await?))
}
