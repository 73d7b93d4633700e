//! The one HTTP error type. Every failure becomes `application/problem+json` (RFC 9457) with a stable
//! `code`; refused actions carry every unmet guard, invalid input every bad field. Internal faults are
//! logged and answered with a generic message: their details never reach the client.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use railyard_domain::{FieldError, Guard};
use railyard_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem report (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable, machine-readable: `unauthenticated`, `forbidden`, `not_found`, `malformed_json`,
    /// `payload_too_large`, `invalid_input`, `action_refused`, `version_conflict`, `already_exists`,
    /// `version_required`, `too_many_attempts` (429, with `Retry-After`), `unavailable`, `internal`.
    pub code: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// For `action_refused`: every unmet guard.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub guards: Vec<Guard>,
    /// For `invalid_input`: every bad field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    guards: Vec<Guard>,
    errors: Vec<FieldError>,
    /// Seconds to wait (`Retry-After`), for `too_many_attempts`.
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, code, detail: detail.into(), guards: Vec::new(), errors: Vec::new(), retry_after: None }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ServiceError::invalid(field, message).into()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let detail = e.to_string();
        match e {
            ServiceError::Unauthenticated(_) => ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail),
            ServiceError::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail),
            ServiceError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, "not_found", detail),
            ServiceError::Invalid(errors) => {
                ApiError { errors, ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail) }
            }
            ServiceError::Refused(r) => {
                ApiError { guards: r.guards, ..ApiError::new(StatusCode::CONFLICT, "action_refused", detail) }
            }
            ServiceError::NotAllowed(r) => {
                ApiError { guards: r.guards, ..ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail) }
            }
            ServiceError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "version_conflict", detail),
            ServiceError::Duplicate(_) => ApiError::new(StatusCode::CONFLICT, "already_exists", detail),
            ServiceError::LeaseLost(_) => ApiError::new(StatusCode::CONFLICT, "lease_lost", detail),
            ServiceError::PreconditionRequired(_) => {
                ApiError::new(StatusCode::PRECONDITION_REQUIRED, "version_required", detail)
            }
            ServiceError::TooManyAttempts { retry_after_secs, .. } => ApiError {
                retry_after: Some(retry_after_secs),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", detail)
            },
            ServiceError::Unavailable(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail),
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server's log")
            }
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::invalid("query", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let problem = Problem {
            code: self.code,
            title,
            status: self.status.as_u16(),
            detail: self.detail,
            guards: self.guards,
            errors: self.errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{\"code\":\"internal\"}".to_vec());
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
