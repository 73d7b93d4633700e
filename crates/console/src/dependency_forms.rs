//! An application release's dependencies on its page: the list, adding one (a choice of the other releases
//! of its train) and removing one; and its dependents, the releases that depend on it, each with whether
//! it holds them back. A dependency that would close a cycle is refused by the service, and the refusal
//! names the cycle (R5).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use railyard_domain::{ApplicationRelease, AvailableAction, Dependent};
use railyard_service::{DependencyInput, ReleaseView, Service, ServiceError, SessionInfo};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::session::SignedIn;

/// The dependencies section. `candidates` are the releases it could depend on (the other releases of its
/// train, or every other release when it is on none), of which the domain keeps those it may depend on.
/// Adding and removing are there when the domain's `actions` allow them (removing, on that dependency).
pub(crate) fn section(
    session: &SessionInfo,
    r: &ApplicationRelease,
    actions: &[AvailableAction],
    candidates: &[ReleaseView],
    dependents: &[Dependent],
) -> Markup {
    let add = AvailableAction::allows(actions, "add_dependency");
    let remove = |d: &str| AvailableAction::allows_on(actions, "remove_dependency", d);
    let choices: Vec<&ApplicationRelease> =
        candidates.iter().map(|c| &c.release).filter(|c| r.may_depend_on(c)).collect();
    let title = |id: &str| candidates.iter().find(|c| c.release.id == id).map(|c| c.release.title.clone());
    html! {
        section aria-labelledby="dependencies" {
            h2 #dependencies { "Dependencies" }
            @if r.dependencies.is_empty() { p { "It depends on no other application release." } }
            @else {
                p { "It depends on:" }
                ul {
                    @for d in &r.dependencies {
                        li {
                            a href={ "/releases/" (d) } { (d) } @if let Some(t) = title(d) { " " (t) }
                            @if remove(d) {
                                form.action method="post" action={ "/releases/" (r.id) "/dependencies/" (d) "/remove" } {
                                    (csrf_field(session))
                                    button.secondary type="submit" { "Remove the dependency on " (d) }
                                }
                            }
                        }
                    }
                }
            }
            h3 #dependents { "What depends on it" }
            @if dependents.is_empty() { p { "No other application release depends on it." } }
            @else {
                div.table { table {
                    thead { tr { th { "Release" } th { "Application" } th { "State" } th { "Held by " (r.id) } } }
                    tbody {
                        @for d in dependents {
                            tr {
                                td { a href={ "/releases/" (d.id) } { (d.id) } " " (d.title) }
                                td { (d.application) }
                                td { (crate::widgets::state(d.state.as_str(), false)) }
                                td {
                                    @if d.held { (crate::widgets::state("held", true)) " its production deployments wait until " (r.id) " is released" }
                                    @else { "no" }
                                }
                            }
                        }
                    }
                } }
            }
            @if add {
                @if choices.is_empty() { p.hint { "No other application release to depend on." } }
                @else {
                    form.action method="post" action={ "/releases/" (r.id) "/dependencies" } {
                        (csrf_field(session))
                        label { "Depends on"
                            select name="depends_on" required {
                                @for c in &choices { option value=(c.id) { (c.id) " " (c.title) " (" (c.application) ", " (c.schedule.start) " – " (c.schedule.end) ")" } }
                            }
                        }
                        button type="submit" { "Add the dependency" }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DependencyForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    depends_on: String,
}

fn dependencies_of(id: &str) -> Redirect {
    Redirect::to(&format!("/releases/{id}#dependencies"))
}

/// `POST /releases/{id}/dependencies`.
pub async fn add(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<DependencyForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let depends_on = forms::optional(&f.depends_on)
        .ok_or_else(|| ServiceError::invalid("depends_on", "choose the application release it depends on"))?;
    s.add_dependency(&user.session.actor, &id, DependencyInput { depends_on }).await?;
    Ok(dependencies_of(&id))
}

/// `POST /releases/{id}/dependencies/{on}/remove`.
pub async fn remove(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, on)): Path<(String, String)>,
    Form(f): Form<DependencyForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.remove_dependency(&user.session.actor, &id, &on).await?;
    Ok(dependencies_of(&id))
}
