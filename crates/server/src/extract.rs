//! Request extractors: the authenticated actor, JSON bodies and query strings with our error type, and
//! the `If-Match` version.

use std::net::IpAddr;

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use railyard_domain::Actor;
use railyard_domain::limits::{self, Bounded};
use railyard_service::Service;
use serde::de::{self, DeserializeOwned};

use crate::error::ApiError;
use crate::strict::Strict;

/// The user behind `Authorization: Bearer <token>`. Bad tokens are limited per client address (429
/// with `Retry-After` past the limit; see `railyard_service::SignInLimits`).
pub struct Authed(pub Actor);

/// The address the request came from, as the server judged it (the TCP peer, or what a trusted proxy
/// says); `None` for a server started without it, and then no per-address limit applies.
pub(crate) fn client_address(parts: &Parts) -> Option<IpAddr> {
    crate::connections::client_address(&parts.extensions)
}

impl FromRequestParts<Service> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, ApiError> {
        let unauth = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", m);
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauth("this needs an API token: send Authorization: Bearer <token>"));
        };
        let value = value.to_str().map_err(|_| unauth("the Authorization header is not readable text"))?;
        let Some(token) = value.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(unauth("the Authorization header must be 'Bearer <token>'"));
        };
        if token.starts_with(railyard_service::RUNNER_TOKEN_PREFIX) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "a runner token can do nothing but the runner protocol (/api/v1/runner/...)",
            ));
        }
        Ok(Authed(service.authenticate_request(token, client_address(parts)).await?))
    }
}

/// The runner behind `Authorization: Bearer ryrun_...`, on the runner protocol's endpoints only: a
/// user's token gets 403 there.
pub struct RunnerAuthed(pub railyard_domain::Runner);

impl FromRequestParts<Service> for RunnerAuthed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, ApiError> {
        let unauth = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", m);
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauth("this needs a runner token: send Authorization: Bearer <runner token>"));
        };
        let value = value.to_str().map_err(|_| unauth("the Authorization header is not readable text"))?;
        let Some(token) = value.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(unauth("the Authorization header must be 'Bearer <runner token>'"));
        };
        if !token.starts_with(railyard_service::RUNNER_TOKEN_PREFIX) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this endpoint is for runners: use the token `railyard runner register` printed",
            ));
        }
        Ok(RunnerAuthed(service.authenticate_runner(token, client_address(parts)).await?))
    }
}

/// A JSON body, read straight into its type: 415 when it is not sent as JSON, 413 past
/// [`MAX_BODY`](crate::MAX_BODY), 400 when it is not JSON at all, and 422 naming the field when it is
/// JSON of the wrong shape (unknown field, wrong type, missing field, an array where an object belongs)
/// or a field is past its [limit](railyard_domain::limits). No generic JSON value is built on the way:
/// a body costs no more memory than the request it becomes.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Bounded> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !json_type {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "malformed_json",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| body_error(e, crate::MAX_BODY))?;
        parse_json(&bytes).map(Body)
    }
}

/// A body that could not be read: larger than `limit` bytes (413), or cut off.
pub(crate) fn body_error(e: axum::extract::rejection::BytesRejection, limit: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let limit = limit / (1024 * 1024);
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than the {limit} MiB allowed"),
        )
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.body_text())
    }
}

/// Reads `bytes` as a `T` (structs from JSON objects only), then checks its limits.
fn parse_json<T: DeserializeOwned + Bounded>(bytes: &[u8]) -> Result<T, ApiError> {
    let malformed = |e: serde_json::Error| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not valid JSON: {e}"))
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(Strict(&mut de)).map_err(|e| {
        let field = e.path().to_string();
        let e = e.into_inner();
        // serde_json reports some shape errors as syntax errors (`expected value` where an enum or a
        // struct cannot start): the body is malformed only when it is not JSON at all. Checking that
        // reads it once more without keeping anything.
        match serde_json::from_slice::<de::IgnoredAny>(bytes) {
            Err(syntax) if !e.is_data() => malformed(syntax),
            _ => ApiError::invalid(if field == "." { "body" } else { &field }, e.to_string()),
        }
    })?;
    de.end().map_err(malformed)?;
    limits::check(&value).map_err(|e| ApiError::from(railyard_service::ServiceError::from(e)))?;
    Ok(value)
}

/// A file uploaded as the body (work item imports), up to [`IMPORT_MAX_BODY`](crate::IMPORT_MAX_BODY)
/// bytes (the route's own limit), with its content type.
pub struct Upload {
    pub bytes: axum::body::Bytes,
    pub content_type: Option<String>,
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes =
            axum::body::Bytes::from_request(req, state).await.map_err(|e| body_error(e, crate::IMPORT_MAX_BODY))?;
        Ok(Upload { bytes, content_type })
    }
}

/// Query parameters, rejected with a problem report naming what is wrong.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(v) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(Params(v))
    }
}

/// The version an update is based on, from `If-Match: "3"` (quotes and `W/` optional).
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(v) = parts.headers.get(header::IF_MATCH) else { return Ok(IfMatch(None)) };
        let text = v.to_str().unwrap_or_default().trim();
        let bare = text.trim_start_matches("W/").trim_matches('"');
        bare.parse::<i64>().map(|n| IfMatch(Some(n))).map_err(|_| {
            ApiError::invalid(
                "If-Match",
                format!("'{text}' is not a version: send the object's version number, e.g. If-Match: \"3\""),
            )
        })
    }
}

/// A JSON body that may be left out entirely (an empty body, or `null`, is `None`).
pub struct OptionalBody<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned + Bounded> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| body_error(e, crate::MAX_BODY))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalBody(None));
        }
        parse_json::<Option<T>>(&bytes).map(OptionalBody)
    }
}
