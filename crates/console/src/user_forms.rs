//! The user forms (admins): create a user (with an optional console password), edit their roles or
//! deactivate them (with the version the form was drawn from), set a console password, issue an API
//! token (whose secret the answer shows once) and revoke one; and everyone's own settings (the time
//! zone the console shows their times in).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use railyard_domain::Role;
use railyard_service::{NewToken, NewUser, PasswordInput, Service, UserPatch};

use crate::error::PageError;
use crate::forms::{CsrfOnly, Fields, choice, optional, optional_number};
use crate::session::SignedIn;

fn roles(f: &Fields) -> Result<Vec<Role>, PageError> {
    f.all("roles").into_iter().map(|r| choice("roles", &r)).collect()
}

fn user_page(name: &str, anchor: &str) -> Redirect {
    Redirect::to(&format!("/users/{name}{anchor}"))
}

/// `POST /users`: the user and, when given, their password, in one change.
pub async fn create(
    State(s): State<Service>,
    user: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, PageError> {
    let f = Fields::new(pairs);
    user.check_csrf(Some(f.one("csrf")))?;
    let input = NewUser {
        name: f.one("name").trim().to_string(),
        display_name: f.one("display_name").trim().to_string(),
        email: optional(f.one("email")),
        roles: roles(&f)?,
        password: Some(f.one("password").to_string()).filter(|p| !p.is_empty()),
        time_zone: optional(f.one("time_zone")),
    };
    let created = s.create_user(&user.session.actor, input).await?;
    Ok(user_page(&created.user.name, ""))
}

/// `POST /users/{name}`: display name, email, roles and whether the user is active; refused when the
/// user changed since the form was drawn.
pub async fn update(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, PageError> {
    let f = Fields::new(pairs);
    user.check_csrf(Some(f.one("csrf")))?;
    async {
        let version = optional_number::<i64>("version", f.one("version"))?;
        let patch = UserPatch {
            display_name: Some(f.one("display_name").trim().to_string()),
            email: Some(f.one("email").trim().to_string()),
            roles: Some(roles(&f)?),
            active: Some(f.checked("active")),
            time_zone: None,
        };
        let u = s.update_user(&user.session.actor, &name, patch, version).await?;
        Ok(user_page(&u.user.name, ""))
    }
    .await
    .map_err(|e: PageError| e.in_form(crate::forms::form_again(&format!("/users/{name}"))))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct TimeZoneForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    time_zone: String,
}

/// `POST /users/{name}/time-zone`: the zone the console shows this user's times in. Everyone sets
/// their own; admins anyone's. An unknown zone is refused, naming the field and an example.
pub async fn set_time_zone(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Form(f): Form<TimeZoneForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let patch = UserPatch { time_zone: Some(f.time_zone.trim().to_string()), ..Default::default() };
    let u = s.update_user(&user.session.actor, &name, patch, None).await?;
    Ok(user_page(&u.user.name, "#settings"))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    password: String,
}

/// `POST /users/{name}/password`
pub async fn set_password(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let u = s.user(&user.session.actor, &name).await?;
    s.set_password(&user.session.actor, &u.user.name, PasswordInput { password: f.password }).await?;
    Ok(user_page(&u.user.name, "#password"))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    label: String,
}

/// `POST /users/{name}/tokens`: answers with the page that shows the secret, once (not a redirect: the
/// secret must not travel in an address), and asks that it not be cached.
pub async fn issue_token(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Form(f): Form<TokenForm>,
) -> Result<Response, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let input = NewToken { label: f.label.trim().to_string(), user: Some(name) };
    let t = s.create_token(&user.session.actor, input).await?;
    let page = crate::users::token_issued(&user.session, &t);
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(page.into_string())).into_response())
}

/// `POST /tokens/{id}/revoke`
pub async fn revoke_token(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let t = s.revoke_token(&user.session.actor, &id).await?;
    Ok(user_page(&t.user, "#tokens"))
}
