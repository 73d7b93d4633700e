//! Applications: the list with a create form, and one application's page with its edit and archive forms
//! and its application releases.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use railyard_domain::{Actor, ApplicationPatch, ApplicationSpec, AvailableAction};
use railyard_service::{ApplicationView, MAX_PAGE, ReleaseFilter, Service, SessionInfo};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::layout;
use crate::paging::every;
use crate::people;
use crate::session::SignedIn;
use crate::widgets::badge;
use crate::widgets::state;
use railyard_service::UserView;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// `true` to list archived applications too.
    #[serde(default)]
    archived: String,
}

/// Every application (the active ones, or all).
pub(crate) async fn all_applications(
    s: &Service,
    actor: &Actor,
    archived: bool,
) -> Result<Vec<ApplicationView>, PageError> {
    every(|cursor| async move { s.applications(actor, archived, Some(MAX_PAGE), cursor.as_deref()).await }).await
}

/// `GET /applications`: the applications, and a form to create one.
pub async fn list(
    State(s): State<Service>,
    user: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let archived = match q.archived.trim() {
        "" | "false" => false,
        "true" => true,
        other => return Err(PageError::bad_parameter("archived", format!("“{other}” is neither true nor false"))),
    };
    let apps = all_applications(&s, actor, archived).await?;
    let create = AvailableAction::allows(&s.global_actions_for(actor), "create_application");
    let people = if create { people::active(&s, actor).await? } else { Vec::new() };
    let body = html! {
        h1 { "Applications" }
        section aria-labelledby="applications" {
            h2 #applications { @if archived { "All applications" } @else { "Active applications" } }
            p { @if archived { a href="/applications" { "Show only the active ones" } }
                @else { a href="/applications?archived=true" { "Show the archived ones too" } } }
            @if apps.is_empty() { p { "No applications yet." } }
            @else {
                div.table { table {
                    thead { tr { th { "Key" } th { "Name" } th { "Owner" } th { "Description" } } }
                    tbody {
                        @for a in &apps {
                            @let a = &a.application;
                            tr {
                                td { a href={ "/applications/" (a.key) } { (a.key) } @if a.archived { " " (state("archived", true)) } }
                                td { (a.name) }
                                td { (a.owner) }
                                td { (a.description) }
                            }
                        }
                    }
                } }
            }
        }
        @if create { (create_form(&user.session, &people)) }
    };
    Ok(Html(layout::page("Applications", Some(&user.session), body).into_string()))
}

fn create_form(session: &SessionInfo, people: &[UserView]) -> Markup {
    html! {
        section aria-labelledby="new-application" {
            h2 #new-application { "New application" }
            form.action method="post" action="/applications" {
                (csrf_field(session))
                label { "Key" input name="key" required pattern="[A-Z][A-Z0-9]{1,15}" placeholder="PAY" title="2 to 16 upper-case letters and digits, starting with a letter"; }
                label { "Name" input name="name" required; }
                label { "Owner" (people::select("owner", people, Some(session.actor.name.as_str()), None)) }
                label { "Description" input name="description"; }
                button type="submit" { "Create application" }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ApplicationForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    description: String,
    /// The version the edit form was based on.
    #[serde(default)]
    version: String,
}

/// `POST /applications`: creates an application, then shows it.
pub async fn create(
    State(s): State<Service>,
    user: SignedIn,
    Form(f): Form<ApplicationForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let spec = ApplicationSpec {
        key: f.key.trim().to_string(),
        name: f.name,
        owner: forms::optional(&f.owner),
        description: f.description.trim().to_string(),
    };
    let app = s.create_application(&user.session.actor, spec).await?;
    Ok(Redirect::to(&format!("/applications/{}", app.application.key)))
}

/// `GET /applications/{key}`: one application, its releases, and the forms to edit and archive it.
pub async fn show(
    State(s): State<Service>,
    user: SignedIn,
    Path(key): Path<String>,
    Query(unfold): Query<forms::Unfold>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let view = s.application(actor, &key).await?;
    let filter = ReleaseFilter { application: Some(key.clone()), limit: Some(MAX_PAGE), ..Default::default() };
    let releases = s.releases(actor, filter).await?.items;
    let a = &view.application;
    // Its forms are the actions the domain lists for this user.
    let actions = s.application_actions_for(actor, &key).await?;
    let edit = AvailableAction::allows(&actions, "edit");
    let archive = AvailableAction::allows(&actions, "archive");
    let people = if edit { people::active(&s, actor).await? } else { Vec::new() };
    let title = format!("{} {}", a.key, a.name);
    let body = html! {
        h1 { (title) }
        section aria-labelledby="application" {
            h2 #application { "Application" }
            dl.facts {
                dt { "Key" } dd { (a.key) }
                dt { "Name" } dd { (a.name) }
                dt { "Owner" } dd { (a.owner) }
                dt { "Description" } dd { @if a.description.is_empty() { "—" } @else { (a.description) } }
                dt { "State" } dd { @if a.archived { (state("archived", true)) } @else { (state("active", false)) } }
            }
        }
        section aria-labelledby="releases" {
            h2 #releases { "Application releases" }
            @if releases.is_empty() { p { "No release of " (a.key) " yet." } }
            @else {
                div.table { table {
                    thead { tr { th { "Release" } th { "Train" } th { "State" } th { "Schedule" } th { "Product owner" } } }
                    tbody {
                        @for r in &releases {
                            @let r = &r.release;
                            tr {
                                td { a href={ "/releases/" (r.id) } { (r.id) } " " (r.title) }
                                td { @if let Some(m) = &r.membership { a href={ "/trains/" (m.train_id) } { (m.train_id) } " (" (m.state.as_str()) ")" } @else { "—" } }
                                td { (badge(r.state.as_str())) }
                                td { (r.schedule.start) " – " (r.schedule.end) }
                                td { (r.product_owner) }
                            }
                        }
                    }
                } }
            }
            @if AvailableAction::allows(&actions, "create_release") {
                p { a href={ "/releases/new?application=" (a.key) } { "New application release of " (a.key) } }
            }
        }
        @if edit || archive {
            section aria-labelledby="edit" {
                @if edit {
                details.edit open[unfold.open()] {
                    summary { h2 #edit { "Change the application" } }
                    form.action method="post" action={ "/applications/" (a.key) "/edit" } {
                        (csrf_field(&user.session))
                        input type="hidden" name="version" value=(view.meta.version);
                        label { "Name" input name="name" required value=(a.name); }
                        label { "Owner" (people::select("owner", &people, Some(a.owner.as_str()), None)) }
                        label { "Description" input name="description" value=(a.description); }
                        button type="submit" { "Save changes" }
                    }
                }
                }
                @if archive {
                    form.action method="post" action={ "/applications/" (a.key) "/archive" } {
                        (csrf_field(&user.session))
                        button.secondary type="submit" { "Archive " (a.key) }
                    }
                    p.hint { "An archived application keeps its releases but takes no new ones." }
                }
            }
        }
    };
    Ok(Html(layout::page(&title, Some(&user.session), body).into_string()))
}

/// `POST /applications/{key}/edit`: saves the edit form, refused when the application changed since the
/// form was loaded.
pub async fn update(
    State(s): State<Service>,
    user: SignedIn,
    Path(key): Path<String>,
    Form(f): Form<ApplicationForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let page = format!("/applications/{key}");
    async {
        let version = forms::optional_number::<i64>("version", &f.version)?;
        let patch = ApplicationPatch {
            name: Some(f.name),
            owner: forms::optional(&f.owner),
            description: Some(f.description.trim().to_string()),
        };
        s.update_application(&user.session.actor, &key, patch, version).await?;
        Ok(Redirect::to(&page))
    }
    .await
    .map_err(|e: PageError| e.in_form(forms::form_again(&page)))
}

/// `POST /applications/{key}/archive`.
pub async fn archive(
    State(s): State<Service>,
    user: SignedIn,
    Path(key): Path<String>,
    Form(f): Form<ApplicationForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.archive_application(&user.session.actor, &key).await?;
    Ok(Redirect::to(&format!("/applications/{key}")))
}
