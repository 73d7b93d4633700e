//! An application release's milestones on its page: add, change, remove, complete, mark missed. Those
//! inherited from the train are shown as such.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use railyard_domain::{AvailableAction, MilestonePatch, MilestoneSpec, MilestoneState};
use railyard_service::{ReleaseView, Service, SessionInfo};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::people;
use crate::session::SignedIn;
use crate::widgets::badge;
use railyard_service::UserView;

/// The actions on one milestone, each shown when the domain's list allows it on that milestone.
const ON_A_MILESTONE: [&str; 4] = ["complete_milestone", "miss_milestone", "edit_milestone", "remove_milestone"];

/// The milestones section: each milestone's forms are the actions the domain's `actions` allow on it.
pub(crate) fn section(
    session: &SessionInfo,
    view: &ReleaseView,
    actions: &[AvailableAction],
    people: &[UserView],
) -> Markup {
    let r = &view.release;
    let on = |name: &str, id: &str| AvailableAction::allows_on(actions, name, id);
    // The column is there when some milestone has an action for this user.
    let column = r.milestones.iter().any(|m| ON_A_MILESTONE.iter().any(|a| on(a, &m.id)));
    let base = format!("/releases/{}/milestones", r.id);
    html! {
        section aria-labelledby="milestones" {
            h2 #milestones { "Milestones" }
            @if r.milestones.is_empty() { p { "No milestones." } }
            @else {
                div.table { table {
                    thead { tr { th { "Milestone" } th { "Due" } th { "Owner" } th { "State" } @if column { th { "Actions" } } } }
                    tbody {
                        @for m in &r.milestones {
                            @let overdue = view.overdue_milestones.contains(&m.id);
                            @let here = format!("{base}/{}", m.id);
                            tr {
                                td { (m.id) " " (m.title)
                                    @if let Some(o) = &m.inherited_from {
                                        " " small { "(inherited from the train's " (o) @if m.moved_by_hand { "; moved by hand" } ")" }
                                    }
                                }
                                td { (m.due) }
                                td { (m.owner.as_deref().unwrap_or("—")) }
                                td {
                                    (badge(if overdue { "overdue" } else { m.state.as_str() }))
                                    @if let Some(by) = &m.decided_by { " " small { "by " (by) } }
                                }
                                @if column {
                                    td {
                                        @if on("complete_milestone", &m.id) {
                                            form.action method="post" action={ (here) "/complete" } {
                                                (csrf_field(session))
                                                button type="submit" { "Complete " (m.id) }
                                            }
                                        }
                                        @if on("miss_milestone", &m.id) {
                                            form.action method="post" action={ (here) "/miss" } {
                                                (csrf_field(session))
                                                button.secondary type="submit" { "Mark " (m.id) " missed" }
                                            }
                                        }
                                        @if on("edit_milestone", &m.id) || on("remove_milestone", &m.id) {
                                            details {
                                                summary { "Change or remove " (m.id) }
                                                @if on("edit_milestone", &m.id) {
                                                form.action method="post" action={ (here) "/edit" } {
                                                    (csrf_field(session))
                                                    input type="hidden" name="version" value=(view.meta.version);
                                                    label { "Title" input name="title" required value=(m.title); }
                                                    label { "Due" input type="date" name="due" required value=(m.due); }
                                                    label { "Owner" (people::select("owner", people, m.owner.as_deref(), Some("— nobody —"))) }
                                                    button type="submit" { "Save " (m.id) }
                                                }
                                                }
                                                @if on("remove_milestone", &m.id) {
                                                form.action method="post" action={ (here) "/remove" } {
                                                    (csrf_field(session))
                                                    button.secondary type="submit" { "Remove " (m.id) }
                                                }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            @if AvailableAction::allows(actions, "add_milestone") {
                h3 { "Add a milestone" }
                form.action method="post" action=(base) {
                    (csrf_field(session))
                    label { "Title" input name="title" required; }
                    label { "Due" input type="date" name="due" required; }
                    label { "Owner" (people::select("owner", people, None, Some("— nobody —"))) }
                    button type="submit" { "Add the milestone" }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct MilestoneForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    owner: String,
    /// The release's version the edit form was drawn from.
    #[serde(default)]
    version: String,
}

fn milestones_of(id: &str) -> Redirect {
    Redirect::to(&format!("/releases/{id}#milestones"))
}

/// `POST /releases/{id}/milestones`.
pub async fn add(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<MilestoneForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let spec = MilestoneSpec {
        title: f.title,
        due: forms::date("due", &f.due)?,
        owner: forms::optional(&f.owner),
        inherit: false,
    };
    s.add_release_milestone(&user.session.actor, &id, spec).await?;
    Ok(milestones_of(&id))
}

/// `POST /releases/{id}/milestones/{milestone}/edit`: an empty owner ("nobody") clears it.
pub async fn edit(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, ms)): Path<(String, String)>,
    Form(f): Form<MilestoneForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let patch = MilestonePatch {
        title: Some(f.title),
        due: Some(forms::date("due", &f.due)?),
        owner: Some(f.owner.trim().to_string()),
        inherit: None,
    };
    let version = forms::optional_number::<i64>("version", &f.version)?;
    s.edit_release_milestone(&user.session.actor, &id, &ms, patch, version).await?;
    Ok(milestones_of(&id))
}

/// `POST /releases/{id}/milestones/{milestone}/remove`.
pub async fn remove(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, ms)): Path<(String, String)>,
    Form(f): Form<MilestoneForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.remove_release_milestone(&user.session.actor, &id, &ms).await?;
    Ok(milestones_of(&id))
}

/// `POST /releases/{id}/milestones/{milestone}/complete`.
pub async fn complete(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, ms)): Path<(String, String)>,
    Form(f): Form<MilestoneForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    decide(&s, &user, &id, &ms, "completed").await
}

/// `POST /releases/{id}/milestones/{milestone}/miss`.
pub async fn miss(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, ms)): Path<(String, String)>,
    Form(f): Form<MilestoneForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    decide(&s, &user, &id, &ms, "missed").await
}

/// Completes or misses the milestone (`to`, the state's name); the service refuses with the guards.
async fn decide(s: &Service, user: &SignedIn, id: &str, ms: &str, to: &str) -> Result<Redirect, PageError> {
    let to: MilestoneState = forms::choice("state", to)?;
    s.decide_release_milestone(&user.session.actor, id, ms, to).await?;
    Ok(milestones_of(id))
}
