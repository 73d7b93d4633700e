use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use railyard_service::Service;
use serde_json::{Value, json};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, description = "alive")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "system", responses((status = 200, description = "ready"), (status = 503, description = "database unavailable")))]
pub async fn readyz(State(service): State<Service>) -> (StatusCode, Json<Value>) {
    match service.ready().await {
        Ok(backend) => (StatusCode::OK, Json(json!({"status": "ready", "database": backend}))),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "detail": e.to_string()}))),
    }
}
