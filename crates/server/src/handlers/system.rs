use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use railyard_service::Service;
use serde_json::{Value, json};

use crate::error::ApiError;

/// Liveness: the process answers.
#[utoipa::path(get, operation_id = "get_health", path = "/healthz", tag = "system", responses((status = 200, description = "alive")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: the database answers. When it does not: 503, a problem document with code `unavailable`.
#[utoipa::path(get, operation_id = "get_readiness", path = "/readyz", tag = "system", responses((status = 200, description = "ready"), (status = 503)))]
pub async fn readyz(State(service): State<Service>) -> Result<Json<Value>, ApiError> {
    match service.ready().await {
        Ok(backend) => Ok(Json(json!({"status": "ready", "database": backend}))),
        Err(e) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string())),
    }
}
