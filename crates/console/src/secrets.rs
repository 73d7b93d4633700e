//! The secrets: every secret with its scope, version and who changed it when (never a value), a form to
//! set one (create it, or replace the value of the one of that name in that scope) with a password
//! input, and a button to delete each. Whether the form and the buttons show is the domain's decision
//! (the global action `manage_secrets`); which scopes an actor may change is the service's.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, Redirect};
use maud::html;
use railyard_domain::{AvailableAction, SecretPatch, SecretSpec, SecretValue};
use railyard_service::{MAX_PAGE, SecretFilter, SecretView, Service};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{CsrfOnly, csrf_field};
use crate::layout;
use crate::paging::every;
use crate::session::SignedIn;
use crate::variables::{scope_of, scope_text};

/// `GET /secrets`
pub async fn list(State(s): State<Service>, user: SignedIn) -> Result<Html<String>, PageError> {
    let session = &user.session;
    let actor = &session.actor;
    let secrets: Vec<SecretView> =
        every(|cursor| s.secrets(actor, SecretFilter { scope: None, limit: Some(MAX_PAGE), cursor })).await?;
    let envs = crate::environments::all(&s, actor).await?;
    let apps = crate::applications::all_applications(&s, actor, false).await?;
    let manage = AvailableAction::allows(&s.global_actions_for(actor), "manage_secrets");
    let body = html! {
        h1 { "Secrets" }
        p { "Tasks use a secret as " code { "${secret.NAME}" } ", with the same scopes and precedence as "
            a href="/variables" { "variables" } ". A value is encrypted when it is set, never shown again, and "
            "resolved only when a run starts; the run's output shows it as " code { "***" } "." }
        section aria-labelledby="secrets" {
            h2 #secrets { "All secrets" }
            @if secrets.is_empty() { p { "No secrets yet." } }
            @else {
                div.table { table {
                    thead { tr { th { "Name" } th { "Scope" } th { "Version" } th { "Changed by" } th { "Changed at" } @if manage { th { "" } } } }
                    tbody {
                        @for v in &secrets {
                            tr {
                                td { code { (v.name) } }
                                td { (scope_text(&v.scope)) }
                                td { (v.version) }
                                td { (v.changed_by) }
                                td { (v.changed_at.format("%Y-%m-%d %H:%M UTC")) }
                                @if manage {
                                    td { form.action method="post" action={ "/secrets/" (v.id) "/delete" } {
                                        (csrf_field(session))
                                        button type="submit" { "Delete" }
                                    } }
                                }
                            }
                        }
                    }
                } }
            }
        }
        @if manage {
            section aria-labelledby="set-secret" {
                h2 #set-secret { "Set a secret" }
                form.action method="post" action="/secrets" {
                    (csrf_field(session))
                    label { "Name" input name="name" required pattern="[A-Za-z_][A-Za-z0-9_]{0,63}" placeholder="API_TOKEN"; }
                    label { "Value" input type="password" name="value" required minlength="4" maxlength="8192" autocomplete="off"; }
                    label { "Scope"
                        select name="scope" {
                            option value="global" { "global" }
                            @for e in &envs { option value={ "environment:" (e.environment.name) } { "environment " (e.environment.name) } }
                            @for a in &apps { option value={ "application:" (a.application.key) } { "application " (a.application.key) } }
                        }
                    }
                    button type="submit" { "Set secret" }
                }
                p.hint { "Setting a name that exists in the scope replaces its value. Values: 4 bytes to 8 KiB. "
                    "Masking cannot catch a value a task splits across lines or transforms." }
            }
        }
    };
    Ok(Html(layout::page("Secrets", Some(session), body).into_string()))
}

/// The set form. Its `Debug` never shows the value.
#[derive(Debug, Deserialize)]
pub struct SecretForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    // Missing fields are the service's to name (after the CSRF check), not the form parser's.
    #[serde(default)]
    value: SecretValue,
    /// `global`, `environment:NAME` or `application:KEY`.
    #[serde(default)]
    scope: String,
}

/// `POST /secrets`: creates the secret, or replaces the value of the one of that name in that scope.
pub async fn set(State(s): State<Service>, user: SignedIn, Form(f): Form<SecretForm>) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let actor = &user.session.actor;
    let scope = scope_of(f.scope.trim())?;
    let name = f.name.trim().to_string();
    match s.secret_named(actor, &scope, &name).await? {
        Some(v) => {
            s.update_secret(actor, &v.id, SecretPatch { value: f.value }, Some(v.version)).await?;
        }
        None => {
            s.create_secret(actor, SecretSpec { name, value: f.value, scope }).await?;
        }
    }
    Ok(Redirect::to("/secrets"))
}

/// `POST /secrets/{id}/delete`
pub async fn delete(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.delete_secret(&user.session.actor, &id, None).await?;
    Ok(Redirect::to("/secrets"))
}
