//! A train's milestones from its page: add, edit (carrying the train's version), remove, complete, and
//! mark missed.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use railyard_domain::train::{MilestonePatch, MilestoneSpec};
use railyard_domain::{AvailableAction, Milestone, Train};
use railyard_service::{Service, ServiceError, UserView};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::layout;
use crate::people;
use crate::session::SignedIn;
use crate::train::Allowed;
use crate::train_fields::BUTTON_ROW;

#[derive(Debug, Default, Deserialize)]
pub struct MilestoneForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    version: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    owner: String,
    /// The "inherited by the application releases" checkbox: present when checked.
    #[serde(default)]
    inherit: Option<String>,
}

fn milestones_of(id: &str) -> Redirect {
    Redirect::to(&format!("/trains/{id}#milestones"))
}

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
        inherit: f.inherit.is_some(),
    };
    s.add_milestone(&user.session.actor, &id, spec).await?;
    Ok(milestones_of(&id))
}

pub async fn update(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, m)): Path<(String, String)>,
    Form(f): Form<MilestoneForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let version = forms::optional_number::<i64>("version", &f.version)?;
    let patch = MilestonePatch {
        title: Some(f.title),
        due: Some(forms::date("due", &f.due)?),
        // "Nobody" (empty) clears the owner.
        owner: Some(f.owner.trim().to_string()),
        inherit: Some(f.inherit.is_some()),
    };
    s.edit_milestone(&user.session.actor, &id, &m, patch, version).await?;
    Ok(milestones_of(&id))
}

pub async fn remove(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, m)): Path<(String, String)>,
    Form(f): Form<MilestoneForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.remove_milestone(&user.session.actor, &id, &m).await?;
    Ok(milestones_of(&id))
}

pub async fn complete(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, m)): Path<(String, String)>,
    Form(f): Form<MilestoneForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.complete_milestone(&user.session.actor, &id, &m).await?;
    Ok(milestones_of(&id))
}

pub async fn miss(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, m)): Path<(String, String)>,
    Form(f): Form<MilestoneForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.miss_milestone(&user.session.actor, &id, &m).await?;
    Ok(milestones_of(&id))
}

/// The page to edit one milestone.
pub async fn edit(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, m)): Path<(String, String)>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let train = s.train(actor, &id).await?;
    let t = &train.train;
    let Some(milestone) = t.milestones.iter().find(|x| x.id == m) else {
        return Err(ServiceError::NotFound { kind: "milestone", id: m }.into());
    };
    let actions = s.train_actions_for(actor, &id).await?;
    let may_edit = AvailableAction::allows_on(&actions, "edit_milestone", &milestone.id);
    let people = if may_edit { people::active(&s, actor).await? } else { Vec::new() };
    let title = format!("Edit {} of {}", milestone.id, t.id);
    let body = html! {
        h1 { (title) }
        section aria-labelledby="edit-milestone" {
            h2 #edit-milestone { (milestone.title) }
            @if may_edit {
                form method="post" action={ "/trains/" (t.id) "/milestones/" (milestone.id) } {
                    (csrf_field(&user.session))
                    input type="hidden" name="version" value=(train.meta.version);
                    (milestone_fields(&people, Some(milestone)))
                    button type="submit" { "Save " (milestone.id) }
                }
            } @else {
                p role="alert" { "You cannot change this milestone: it takes a release manager, and the train must still be open." }
            }
        }
        p { a href={ "/trains/" (t.id) "#milestones" } { "Back to " (t.id) } }
    };
    Ok(Html(layout::page(&title, Some(&user.session), body).into_string()))
}

fn milestone_fields(people: &[UserView], m: Option<&Milestone>) -> Markup {
    let owner = m.and_then(|m| m.owner.as_deref());
    let none = Some("— nobody —");
    html! {
        label { "Title" input name="title" required value=[m.map(|m| &m.title)]; }
        label { "Due" input type="date" name="due" required value=[m.map(|m| m.due.to_string())]; }
        label { "Owner" (people::select("owner", people, owner, none)) }
        label { span { input type="checkbox" name="inherit" checked[m.is_some_and(|m| m.inherit)]; " Inherited by the application releases" } }
    }
}

/// Below the milestones: the form to add one.
pub fn add_form(allowed: &Allowed, t: &Train, people: &[UserView]) -> Markup {
    let session = allowed.session;
    html! {
        @if AvailableAction::allows(allowed.actions, "add_milestone") {
            details {
                summary { "Add a milestone" }
                form.action method="post" action={ "/trains/" (t.id) "/milestones" } {
                    (csrf_field(session))
                    (milestone_fields(people, None))
                    button type="submit" { "Add the milestone" }
                }
            }
        }
    }
}

/// Beside a milestone: edit and remove (release managers); complete and missed (its owner too).
pub fn milestone_controls(allowed: &Allowed, t: &Train, m: &Milestone) -> Markup {
    let session = allowed.session;
    let base = format!("/trains/{}/milestones/{}", t.id, m.id);
    let may = |action: &str| AvailableAction::allows_on(allowed.actions, action, &m.id);
    html! {
        div class=(BUTTON_ROW) {
            @if may("edit_milestone") {
                a href={ (base) "/edit" } { "Edit " (m.id) }
            }
            @if may("remove_milestone") {
                form.action method="post" action={ (base) "/remove" } {
                    (csrf_field(session))
                    button.secondary type="submit" { "Remove " (m.id) }
                }
            }
            @if may("complete_milestone") {
                form.action method="post" action={ (base) "/complete" } {
                    (csrf_field(session))
                    button type="submit" { "Complete " (m.id) }
                }
            }
            @if may("miss_milestone") {
                form.action method="post" action={ (base) "/miss" } {
                    (csrf_field(session))
                    button.secondary type="submit" { "Mark " (m.id) " missed" }
                }
            }
        }
    }
}
