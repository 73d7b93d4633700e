//! The signed-in user of a request, from the session cookie; the cookies the console sets; the CSRF check.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use railyard_service::{SESSION_HOURS, Service, ServiceError, SessionInfo};

use crate::error::PageError;

/// The session cookie: its value is the session's secret.
pub const SESSION_COOKIE: &str = "railyard_session";
/// The sign-in form's own anti-forgery cookie (there is no session yet to hold a CSRF token).
pub const SIGN_IN_COOKIE: &str = "railyard_sign_in";

/// The value of one cookie of the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for `path`, lasting `max_age` seconds (0: remove it).
pub(crate) fn set_cookie(name: &str, value: &str, path: &str, max_age: i64) -> Result<HeaderValue, PageError> {
    HeaderValue::from_str(&format!("{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age}"))
        .map_err(|e| PageError::Internal(format!("a cookie that is not header text: {e}")))
}

pub(crate) fn session_cookie(secret: &str) -> Result<HeaderValue, PageError> {
    set_cookie(SESSION_COOKIE, secret, "/", SESSION_HOURS * 3600)
}

/// Random text for a one-off token.
pub(crate) fn random_token() -> Result<String, PageError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| PageError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

/// Constant-time comparison of two tokens.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The signed-in user. Without a live session a page redirects to the sign-in page and a form post is
/// refused.
pub struct SignedIn {
    pub session: SessionInfo,
    /// The cookie's secret (to end the session at sign-out).
    pub secret: String,
}

impl SignedIn {
    /// Refuses a form whose CSRF token is missing or not this session's.
    pub fn check_csrf(&self, presented: Option<&str>) -> Result<(), PageError> {
        if Service::csrf_matches(&self.session, presented) { Ok(()) } else { Err(PageError::Csrf) }
    }
}

impl FromRequestParts<Service> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, Response> {
        let not_signed_in = |method: &Method| {
            if method == Method::GET || method == Method::HEAD {
                Redirect::to("/sign-in").into_response()
            } else {
                PageError::NotSignedIn.into_response()
            }
        };
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(not_signed_in(&parts.method)) };
        match service.session(secret).await {
            Ok(session) => Ok(SignedIn { session, secret: secret.to_string() }),
            Err(ServiceError::Unauthenticated(_)) => Err(not_signed_in(&parts.method)),
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}
