//! Railyard's HTTP server: the REST API under `/api/v1`, its OpenAPI document at `/api/v1/openapi.json`,
//! `/healthz` and `/readyz`. Handlers are thin: they authenticate, extract, and call the service.

mod error;
mod extract;
mod handlers;
mod routes;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use railyard_service::Service;
use tokio::net::TcpListener;

pub use error::{ApiError, Problem};

/// The largest request body accepted, in bytes.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// The OpenAPI document, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::routes().1
}

/// The whole application, ready to serve.
pub fn app(service: Service) -> Router {
    let (router, api) = routes::routes();
    let doc = Arc::new(api);
    router
        .route("/api/v1/openapi.json", get(move || async move { Json(doc.as_ref().clone()) }))
        // Work item imports carry whole CSV exports (a 10,000-issue Jira export is a few MB).
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; the API is described at /api/v1/openapi.json",
            )
        })
        .with_state(service)
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    service: Service,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(service)).with_graceful_shutdown(shutdown).await
}
