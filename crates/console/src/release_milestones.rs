//! An application release's milestones on its page: add, change, remove, complete, mark missed. Those
//! inherited from the train are shown as such.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use railyard_domain::{Milestone, MilestonePatch, MilestoneSpec, MilestoneState, Operation, Role};
use railyard_service::{ReleaseView, Service, SessionInfo};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::people;
use crate::release_forms::may_edit;
use crate::session::SignedIn;
use crate::widgets::badge;
use railyard_service::UserView;

/// Whether the user may complete or miss this milestone: its owner, the release's product owner, or a
/// release manager.
fn may_decide(session: &SessionInfo, view: &ReleaseView, m: &Milestone) -> bool {
    let a = &session.actor;
    let r = &view.release;
    m.state == MilestoneState::Open
        && r.state.is_open()
        && a.may(Operation::CompleteMilestone)
        && (a.is_admin()
            || a.has(Role::ReleaseManager)
            || r.product_owner == a.name
            || m.owner.as_deref() == Some(a.name.as_str()))
}

pub(crate) fn section(session: &SessionInfo, view: &ReleaseView, people: &[UserView]) -> Markup {
    let r = &view.release;
    let edit = may_edit(session, r);
    let base = format!("/releases/{}/milestones", r.id);
    html! {
        section aria-labelledby="milestones" {
            h2 #milestones { "Milestones" }
            @if r.milestones.is_empty() { p { "No milestones." } }
            @else {
                div.table { table {
                    thead { tr { th { "Milestone" } th { "Due" } th { "Owner" } th { "State" } @if edit || session.actor.may(Operation::CompleteMilestone) { th { "Actions" } } } }
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
                                @if edit || session.actor.may(Operation::CompleteMilestone) {
                                    td {
                                        @if may_decide(session, view, m) {
                                            form.action method="post" action={ (here) "/complete" } {
                                                (csrf_field(session))
                                                button type="submit" { "Complete " (m.id) }
                                            }
                                            form.action method="post" action={ (here) "/miss" } {
                                                (csrf_field(session))
                                                button.secondary type="submit" { "Mark " (m.id) " missed" }
                                            }
                                        }
                                        @if edit {
                                            details {
                                                summary { "Change or remove " (m.id) }
                                                form.action method="post" action={ (here) "/edit" } {
                                                    (csrf_field(session))
                                                    input type="hidden" name="version" value=(view.meta.version);
                                                    label { "Title" input name="title" required value=(m.title); }
                                                    label { "Due" input type="date" name="due" required value=(m.due); }
                                                    label { "Owner" (people::select("owner", people, m.owner.as_deref(), Some("— nobody —"))) }
                                                    button type="submit" { "Save " (m.id) }
                                                }
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
                } }
            }
            @if edit {
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
    s.decide_release_milestone(&user.session.actor, &id, &ms, MilestoneState::Completed).await?;
    Ok(milestones_of(&id))
}

/// `POST /releases/{id}/milestones/{milestone}/miss`.
pub async fn miss(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, ms)): Path<(String, String)>,
    Form(f): Form<MilestoneForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.decide_release_milestone(&user.session.actor, &id, &ms, MilestoneState::Missed).await?;
    Ok(milestones_of(&id))
}
