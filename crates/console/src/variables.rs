//! The variables: every variable with its scope and value, a form to set one (create it, or change the
//! value of the one of that name in that scope) and a button to delete each. Whether the form and the
//! buttons show is the domain's decision (the global action `manage_variables`); which scopes an actor
//! may change is the service's, which names who may when it refuses.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, Redirect};
use maud::html;
use railyard_domain::{AvailableAction, Scope, VariablePatch, VariableSpec};
use railyard_service::{MAX_PAGE, Service, ServiceError, VariableFilter, VariableView};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{CsrfOnly, csrf_field};
use crate::layout;
use crate::paging::every;
use crate::session::SignedIn;

/// Where a variable applies, in words.
pub(crate) fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::Global => "global".to_string(),
        Scope::Environment { environment } => format!("environment {environment}"),
        Scope::Application { application } => format!("application {application}"),
    }
}

/// `GET /variables`
pub async fn list(State(s): State<Service>, user: SignedIn) -> Result<Html<String>, PageError> {
    let session = &user.session;
    let actor = &session.actor;
    let vars: Vec<VariableView> =
        every(|cursor| s.variables(actor, VariableFilter { scope: None, limit: Some(MAX_PAGE), cursor })).await?;
    let envs = crate::environments::all(&s, actor).await?;
    let apps = crate::applications::all_applications(&s, actor, false).await?;
    let manage = AvailableAction::allows(&s.global_actions_for(actor), "manage_variables");
    let body = html! {
        h1 { "Variables" }
        p { "Tasks use a variable as " code { "${var.NAME}" } ". For a run of an application in an environment, "
            "the environment's value wins over the application's, which wins over the global one. Values that must "
            "stay hidden are " a href="/secrets" { "secrets" } "." }
        section aria-labelledby="vars" {
            h2 #vars { "All variables" }
            @if vars.is_empty() { p { "No variables yet." } }
            @else {
                div.table { table {
                    thead { tr { th { "Name" } th { "Scope" } th { "Value" } th { "Changed by" } @if manage { th { "" } } } }
                    tbody {
                        @for v in &vars {
                            @let var = &v.variable;
                            tr {
                                td { code { (var.name) } }
                                td { (scope_text(&var.scope)) }
                                td { code { (var.value) } }
                                td { (var.updated_by) }
                                @if manage {
                                    td { form.action method="post" action={ "/variables/" (var.id) "/delete" } {
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
            section aria-labelledby="set-var" {
                h2 #set-var { "Set a variable" }
                form.action method="post" action="/variables" {
                    (csrf_field(session))
                    label { "Name" input name="name" required pattern="[A-Za-z_][A-Za-z0-9_]{0,63}" placeholder="GREETING"; }
                    label { "Value" input name="value" maxlength="8192"; }
                    label { "Scope"
                        select name="scope" {
                            option value="global" { "global" }
                            @for e in &envs { option value={ "environment:" (e.environment.name) } { "environment " (e.environment.name) } }
                            @for a in &apps { option value={ "application:" (a.application.key) } { "application " (a.application.key) } }
                        }
                    }
                    button type="submit" { "Set variable" }
                }
                p.hint { "Names: letters, digits and “_”, not starting with a digit, at most 64 characters. "
                    "Values are not secret: anyone who may read sees them, and the audit log records them." }
            }
        }
    };
    Ok(Html(layout::page("Variables", Some(session), body).into_string()))
}

#[derive(Debug, Default, Deserialize)]
pub struct VariableForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
    /// `global`, `environment:NAME` or `application:KEY`.
    #[serde(default)]
    scope: String,
}

pub(crate) fn scope_of(text: &str) -> Result<Scope, ServiceError> {
    match text.split_once(':') {
        None if text == "global" || text.is_empty() => Ok(Scope::Global),
        Some(("environment", e)) => Ok(Scope::Environment { environment: e.to_string() }),
        Some(("application", a)) => Ok(Scope::Application { application: a.to_string() }),
        _ => Err(ServiceError::invalid("scope", "choose global, an environment or an application")),
    }
}

/// `POST /variables`: creates the variable, or changes the value of the one of that name in that scope.
pub async fn set(State(s): State<Service>, user: SignedIn, Form(f): Form<VariableForm>) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let actor = &user.session.actor;
    let scope = scope_of(f.scope.trim())?;
    let name = f.name.trim().to_string();
    match s.variable_named(actor, &scope, &name).await? {
        Some(v) => {
            s.update_variable(actor, &v.variable.id, VariablePatch { value: f.value }, Some(v.meta.version)).await?;
        }
        None => {
            s.create_variable(actor, VariableSpec { name, value: f.value, scope }).await?;
        }
    }
    Ok(Redirect::to("/variables"))
}

/// `POST /variables/{id}/delete`
pub async fn delete(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.delete_variable(&user.session.actor, &id, None).await?;
    Ok(Redirect::to("/variables"))
}
