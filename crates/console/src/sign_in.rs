//! Signing in (a user name and password, or a pasted API token) and signing out.
//!
//! Failed sign-ins are limited per client address and per user name (the service's `SignInLimits`):
//! past the limit the sign-in page comes back with 429, `Retry-After` and the number of seconds to
//! wait. The client address is the TCP peer's, or what a trusted proxy (`--trusted-proxy`) says.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::Extensions;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, http::HeaderValue};
use maud::{Markup, html};
use railyard_service::{Service, ServiceError};
use serde::Deserialize;

use crate::error::PageError;
use crate::layout;
use crate::session::{
    SESSION_COOKIE, SIGN_IN_COOKIE, SignedIn, cookie, random_token, same_token, session_cookie, set_cookie,
};

/// How long a sign-in form stays usable, in seconds.
const SIGN_IN_FORM_SECS: i64 = 3600;

#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: Option<String>,
}

fn sign_in_page(csrf: &str, message: Option<&str>, name: &str) -> Markup {
    let body = html! {
        h1 { "Sign in to Railyard" }
        @if let Some(m) = message { p role="alert" { (m) } }
        div.grid {
            section {
                h2 { "With your password" }
                form method="post" action="/sign-in" {
                    input type="hidden" name="csrf" value=(csrf);
                    p { label { "User name" input name="name" autocomplete="username" required value=(name); } }
                    p { label { "Password" input type="password" name="password" autocomplete="current-password" required; } }
                    button type="submit" { "Sign in" }
                }
            }
            section {
                h2 { "With an API token" }
                form method="post" action="/sign-in" {
                    input type="hidden" name="csrf" value=(csrf);
                    p { label { "API token" input type="password" name="token" autocomplete="off" required; } }
                    button type="submit" { "Sign in with the token" }
                }
            }
        }
    };
    layout::page("Sign in", None, body)
}

/// The sign-in page; it sets the form's anti-forgery cookie.
pub async fn form() -> Result<Response, PageError> {
    let csrf = random_token()?;
    let cookie = set_cookie(SIGN_IN_COOKIE, &csrf, "/sign-in", SIGN_IN_FORM_SECS)?;
    Ok(([(header::SET_COOKIE, cookie)], Html(sign_in_page(&csrf, None, "").into_string())).into_response())
}

/// The client's address as the server judged it (the TCP peer, or what a trusted proxy says), when the
/// server provides it (`railyard serve` does).
fn client_address(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<railyard_service::ClientAddress>()
        .map(|c| c.0)
        .or_else(|| extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_canonical()))
}

/// Checks the credentials and opens a session. Wrong ones: the page again, 401, with one message that
/// does not say whether the name or the password was wrong. Too many failures: the page again, 429,
/// with `Retry-After`.
pub async fn submit(
    State(s): State<Service>,
    extensions: Extensions,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    match sign_in(&s, client_address(&extensions), &headers, &f).await {
        Ok(r) => r,
        Err(PageError::Service(ServiceError::Unauthenticated(message))) => {
            again(StatusCode::UNAUTHORIZED, &message, &f.name, None)
        }
        Err(PageError::Service(ServiceError::TooManyAttempts { retry_after_secs, message })) => {
            again(StatusCode::TOO_MANY_REQUESTS, &message, &f.name, Some(retry_after_secs))
        }
        Err(e) => e.into_response(),
    }
}

/// The sign-in page again, with what went wrong.
fn again(status: StatusCode, message: &str, name: &str, retry_after: Option<u64>) -> Response {
    let page = || -> Result<Response, PageError> {
        let csrf = random_token()?;
        let cookie = set_cookie(SIGN_IN_COOKIE, &csrf, "/sign-in", SIGN_IN_FORM_SECS)?;
        let page = sign_in_page(&csrf, Some(&sentence(message)), name);
        let mut res = (status, [(header::SET_COOKIE, cookie)], Html(page.into_string())).into_response();
        if let Some(secs) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        Ok(res)
    };
    page().unwrap_or_else(IntoResponse::into_response)
}

async fn sign_in(
    s: &Service,
    client: Option<IpAddr>,
    headers: &HeaderMap,
    f: &SignInForm,
) -> Result<Response, PageError> {
    let expected = cookie(headers, SIGN_IN_COOKIE);
    match (expected, f.csrf.as_deref()) {
        (Some(e), Some(p)) if same_token(e, p) => {}
        _ => return Err(PageError::Csrf),
    }
    let signed = if !f.token.trim().is_empty() {
        s.sign_in_with_token(&f.token, client).await?
    } else {
        s.sign_in_with_password(f.name.trim(), &f.password, client).await?
    };
    let mut res = Redirect::to("/").into_response();
    let h = res.headers_mut();
    h.append(header::SET_COOKIE, session_cookie(&signed.secret)?);
    h.append(header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, "", "/sign-in", 0)?);
    Ok(res)
}

/// "the user name ..." as a sentence: capitalised, with a full stop.
fn sentence(message: &str) -> String {
    let mut c = message.chars();
    let first = c.next().map(|f| f.to_uppercase().collect::<String>()).unwrap_or_default();
    format!("{first}{}.", c.as_str().trim_end_matches('.'))
}

/// Ends the session and removes its cookie.
pub async fn sign_out(
    State(s): State<Service>,
    user: SignedIn,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.sign_out(&user.secret).await?;
    let mut res = Redirect::to("/sign-in").into_response();
    let gone: HeaderValue = set_cookie(SESSION_COOKIE, "", "/", 0)?;
    res.headers_mut().append(header::SET_COOKIE, gone);
    Ok(res)
}
