//! Railyard's HTTP server: the REST API under `/api/v1`, its OpenAPI document at `/api/v1/openapi.json`,
//! `/healthz` and `/readyz`, and the web console's pages at `/` (from `railyard-console`). Handlers are
//! thin: they authenticate, extract, and call the service.

mod connections;
mod error;
mod extract;
mod generics;
mod handlers;
mod problems;
mod routes;
mod strict;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use railyard_service::Service;
use tokio::net::TcpListener;

pub use connections::{ServeOptions, client_address};
pub use error::{ApiError, Problem};

/// The largest request body accepted, in bytes: 1 MiB, far above any request a person writes, so that no
/// client can make the server hold much of anything it will refuse.
pub const MAX_BODY: usize = 1024 * 1024;

/// The largest file a work item import accepts, in bytes: a 10,000-issue Jira CSV export is a few MB.
pub const IMPORT_MAX_BODY: usize = 32 * 1024 * 1024;

/// The largest heartbeat or result a runner sends, in bytes: 1,000 lines of 8 KiB, each byte escaped
/// at worst to a few (`\u0001`), fit in it.
pub const RUNNER_MAX_BODY: usize = 64 * 1024 * 1024;

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
        .merge(railyard_console::router(service.clone()))
        // Every body is limited to 1 MiB; the import route sets its own, larger limit (see `routes`).
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(refuse_control_characters))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; the API is described at /api/v1/openapi.json",
            )
        })
        .with_state(service)
}

/// Ids and query values are text: a URL carrying a NUL or another control character is refused before
/// it reaches a handler (PostgreSQL would reject such text with an error of its own).
async fn refuse_control_characters(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let uri = req.uri();
    let text = format!("{}?{}", uri.path(), uri.query().unwrap_or_default());
    let decoded: Vec<u8> = percent_decode(text.as_bytes());
    if decoded.iter().any(|b| *b < 0x20 || *b == 0x7f) {
        return ApiError::invalid(
            "url",
            "the URL contains a control character (such as %00); ids and query values are plain text",
        )
        .into_response();
    }
    next.run(req).await
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        match (s[i], s.get(i + 1).copied().and_then(hex), s.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Serves until `shutdown` completes, with the default [`ServeOptions`]. Each request carries its TCP
/// peer address (`ConnectInfo`), which the sign-in limits and the audit log of failed sign-ins use.
pub async fn serve(
    listener: TcpListener,
    service: Service,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, service, ServeOptions::default(), shutdown).await
}

/// Serves until `shutdown` completes; connections are bounded and timed out as `options` say, and the
/// function returns within `options.shutdown_grace` of `shutdown` completing.
pub async fn serve_with(
    listener: TcpListener,
    service: Service,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    connections::serve(listener, app(service), options, shutdown).await
}
