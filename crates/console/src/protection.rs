//! What every console response and form post goes through: the browser's protection headers, the
//! `Origin` check of form posts, `Secure` cookies over HTTPS, and the style sheet (served from the
//! console itself, so that the Content-Security-Policy needs no `'unsafe-inline'`).
//!
//! - `Content-Security-Policy: default-src 'self'; frame-ancestors 'none'; form-action 'self';
//!   base-uri 'none'`: pages load nothing from elsewhere, run no inline script or style, and cannot be
//!   framed (no clickjacking). The pages use no script; the Gantt chart is inline SVG with presentation
//!   attributes (`fill=`, `stroke=`), which the policy allows; there are no `style` attributes.
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`.
//! - A form post (any method but GET and HEAD) whose `Origin` is not the console's own is refused (403)
//!   before its handler runs. The console's origin is the public URL's (`--public-url`) when one is set,
//!   else the `Host` the request came to (compared as host and port: behind a TLS proxy the scheme is
//!   not known). `Origin: null` (a sandboxed frame, a `data:` page) is foreign. A post without `Origin`
//!   (older browsers) is left to the CSRF token every form carries.
//! - With an `https://` public URL, every cookie the console sets is marked `Secure`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use railyard_service::Service;

use crate::error::PageError;

pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Where the style sheet is served; the version changes with its content, so browsers may cache it.
pub const STYLESHEET: &str = concat!("/assets/console-", env!("CARGO_PKG_VERSION"), ".css");

/// The style sheet.
pub async fn stylesheet() -> Response {
    let mut res = crate::layout::STYLE.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

/// The console's origin as this request should carry it: the public URL's, or the request's `Host`.
fn expected_origin(service: &Service, headers: &HeaderMap) -> Expected {
    match service.public_url() {
        Some(u) => Expected::Exactly(u.origin().to_string()),
        None => Expected::Host(
            headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().to_ascii_lowercase(),
        ),
    }
}

enum Expected {
    Exactly(String),
    Host(String),
}

impl Expected {
    fn accepts(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        match self {
            Expected::Exactly(o) => origin == *o,
            Expected::Host(host) => {
                let authority = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
                !host.is_empty() && authority == Some(host.as_str())
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Expected::Exactly(o) => o.clone(),
            Expected::Host(h) => format!("http(s)://{h}"),
        }
    }
}

/// The middleware: refuses foreign form posts, adds the headers, marks cookies `Secure` over HTTPS.
pub async fn protect(State(service): State<Service>, req: Request, next: Next) -> Response {
    let posted = req.method() != Method::GET && req.method() != Method::HEAD;
    let foreign = match req.headers().get(header::ORIGIN) {
        Some(origin) if posted => {
            let expected = expected_origin(&service, req.headers());
            let origin = origin.to_str().unwrap_or("(unreadable)");
            (!expected.accepts(origin)).then(|| (origin.to_string(), expected.describe()))
        }
        _ => None,
    };
    let mut res = match foreign {
        Some((origin, expected)) => {
            tracing::warn!(%origin, %expected, path = %req.uri().path(), "a console form post from another origin was refused");
            PageError::ForeignOrigin { origin, expected }.into_response()
        }
        None => next.run(req).await,
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if service.public_url().is_some_and(|u| u.is_https()) {
        secure_cookies(h);
    }
    res
}

fn secure_cookies(h: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
    if cookies.is_empty() {
        return;
    }
    h.remove(header::SET_COOKIE);
    for c in cookies {
        let secured = c
            .to_str()
            .ok()
            .filter(|t| !t.contains("; Secure"))
            .and_then(|t| HeaderValue::from_str(&format!("{t}; Secure")).ok())
            .unwrap_or(c);
        h.append(header::SET_COOKIE, secured);
    }
}
