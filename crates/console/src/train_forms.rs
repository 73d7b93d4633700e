//! Planning a train: the "New train" form, the "Edit" form (carrying the train's version, so a stale form
//! is refused rather than overwriting), and copying a train to a new start date.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use railyard_domain::access::ROLE_REQUIRED;
use railyard_domain::{AvailableAction, GateName, ReleaseType, Train, TrainPatch, TrainSpec};
use railyard_service::{Service, ServiceError, SessionInfo, UserView};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::layout;
use crate::people;
use crate::session::SignedIn;
use crate::train_fields::{self as fields, FIELDS_GRID};

/// A posted train form: the CSRF token and every other field by name (the policies' fields are many).
#[derive(Debug, Default, Deserialize)]
pub struct TrainForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

impl TrainForm {
    fn text(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or_default()
    }
}

fn release_type(text: &str) -> Result<ReleaseType, PageError> {
    text.trim().parse::<ReleaseType>().map_err(|e| ServiceError::invalid("release_type", e).into())
}

fn gate_field(g: GateName) -> String {
    format!("{}_gate_approval", g.as_str())
}

/// The fields the new and edit forms share. `may_hand_over`: whether the manager may be changed (the
/// train's `hand_over` action; always for a new train); others see it, fixed.
fn train_fields(session: &SessionInfo, people: &[UserView], t: Option<&Train>, may_hand_over: bool) -> Markup {
    let managers = fields::managers(people);
    let manager = t.map(|t| t.manager.as_str()).unwrap_or(session.actor.name.as_str());
    html! {
        div class=(FIELDS_GRID) {
            label { "Title" input name="title" required value=[t.map(|t| &t.title)]; }
            label { "Release type"
                select name="release_type" {
                    @for rt in ReleaseType::ALL {
                        option value=(rt.as_str()) selected[t.is_some_and(|t| t.release_type == rt)] { (rt.as_str()) }
                    }
                }
            }
            label { "Purpose" input name="purpose" value=[t.map(|t| &t.purpose)]; }
            @if may_hand_over {
                label { "Manager" (people::select("manager", &managers, Some(manager), None)) }
            } @else {
                p { "Managed by " (manager) "; only they or an admin may hand the train to another manager." }
            }
            label { "Release engineers (comma-separated, optional)"
                input name="engineers" value=[t.map(|t| t.engineers.join(", "))];
            }
        }
        (fields::schedule_fields(t.map(|t| &t.schedule)))
        (fields::policy_fields(&t.map(|t| t.approval_policies.clone()).unwrap_or_default(), &fields::approvers(people)))
    }
}

/// A role refusal as the service words it: `403 forbidden` with the guard's words.
fn forbidden(refused: &AvailableAction) -> ServiceError {
    let why: Vec<&str> = refused.guards.iter().map(|g| g.message.as_str()).collect();
    ServiceError::Forbidden(why.join("; "))
}

pub async fn new(State(s): State<Service>, user: SignedIn) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    if let Some(refused) = s.global_actions_for(actor).into_iter().find(|a| a.action == "create_train" && !a.allowed) {
        return Err(forbidden(&refused).into());
    }
    let people = people::active(&s, actor).await?;
    let body = html! {
        h1 { "New train" }
        section aria-labelledby="new-train" {
            h2 #new-train { "Plan a release train" }
            form method="post" action="/trains" {
                (csrf_field(&user.session))
                (train_fields(&user.session, &people, None, true))
                fieldset class=(FIELDS_GRID) {
                    legend { "Stage gates" }
                    @for g in GateName::ALL {
                        label { span { input type="checkbox" name=(gate_field(g)); " The " (g.as_str()) " gate needs a gate approval" } }
                    }
                }
                button type="submit" { "Create the train" }
            }
        }
    };
    Ok(Html(layout::page("New train", Some(&user.session), body).into_string()))
}

pub async fn create(State(s): State<Service>, user: SignedIn, Form(f): Form<TrainForm>) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let actor = &user.session.actor;
    let spec = TrainSpec {
        title: f.text("title").to_string(),
        release_type: release_type(f.text("release_type"))?,
        purpose: f.text("purpose").trim().to_string(),
        manager: forms::optional(f.text("manager")),
        engineers: forms::list(f.text("engineers")),
        schedule: fields::schedule(&f.fields)?,
        approval_policies: fields::policies(&f.fields)?,
        reserved_environments: Vec::new(),
        gate_approvals: GateName::ALL.into_iter().filter(|g| !f.text(&gate_field(*g)).is_empty()).collect(),
    };
    let t = s.create_train(actor, spec).await?;
    Ok(Redirect::to(&format!("/trains/{}", t.train.id)))
}

pub async fn edit(State(s): State<Service>, user: SignedIn, Path(id): Path<String>) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let train = s.train(actor, &id).await?;
    let t = &train.train;
    let actions = s.train_actions_for(actor, &id).await?;
    let edit = actions.iter().find(|a| a.action == "edit" && a.on.is_none());
    if let Some(refused) = edit.filter(|a| a.guards.iter().any(|g| g.code == ROLE_REQUIRED)) {
        return Err(forbidden(refused).into());
    }
    let people = people::active(&s, actor).await?;
    let may_hand_over = AvailableAction::allows(&actions, "hand_over");
    let title = format!("Edit {} {}", t.id, t.title);
    let body = html! {
        h1 { (title) }
        @if !AvailableAction::allows(&actions, "edit") {
            div role="alert" {
                p { "This train is " (t.state.as_str()) ": it can no longer change." }
                @if let Some(x) = edit { ul.guards { @for g in &x.guards { li { (g.message) } } } }
            }
        } @else {
            section aria-labelledby="edit-train" {
                h2 #edit-train { "Plan" }
                p.hint { "Gates, exit criteria and milestones are changed on " a href={ "/trains/" (t.id) } { "the train's page" } "." }
                form method="post" action={ "/trains/" (t.id) } {
                    (csrf_field(&user.session))
                    input type="hidden" name="version" value=(train.meta.version);
                    (train_fields(&user.session, &people, Some(t), may_hand_over))
                    button type="submit" { "Save the train" }
                }
            }
        }
        p { a href={ "/trains/" (t.id) } { "Back to " (t.id) } }
    };
    Ok(Html(layout::page(&title, Some(&user.session), body).into_string()))
}

pub async fn update(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<TrainForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let version = forms::optional_number::<i64>("version", f.text("version"))?;
    let patch = TrainPatch {
        title: Some(f.text("title").to_string()),
        release_type: Some(release_type(f.text("release_type"))?),
        purpose: Some(f.text("purpose").trim().to_string()),
        // Absent when the form showed the manager fixed.
        manager: forms::optional(f.text("manager")),
        engineers: Some(forms::list(f.text("engineers"))),
        schedule: Some(fields::schedule(&f.fields)?),
        approval_policies: Some(fields::policies(&f.fields)?),
        reserved_environments: None,
    };
    s.update_train(&user.session.actor, &id, patch, version).await?;
    Ok(Redirect::to(&format!("/trains/{id}")))
}

#[derive(Debug, Default, Deserialize)]
pub struct CopyForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    start: String,
}

pub async fn copy(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<CopyForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let input =
        railyard_service::CopyInput { start: forms::date("start", &f.start)?, title: forms::optional(&f.title) };
    let t = s.copy_train(&user.session.actor, &id, input).await?;
    Ok(Redirect::to(&format!("/trains/{}", t.train.id)))
}

/// The "Copy this train" form for the train page, when the train's actions allow `copy`: a new title and
/// start date; every date moves with it.
pub fn copy_form(session: &SessionInfo, t: &Train, actions: &[AvailableAction]) -> Markup {
    html! {
        @if AvailableAction::allows(actions, "copy") {
            form.action method="post" action={ "/trains/" (t.id) "/copy" } {
                (csrf_field(session))
                label { "Title of the copy" input name="title" required value={ "Copy of " (t.title) }; }
                label { "Its start date" input type="date" name="start" required; }
                button.secondary type="submit" { "Copy this train" }
            }
            p.hint { "The copy keeps the gates, exit criteria, milestones and approval policies, none of their decisions; every date moves by the same number of days." }
        }
    }
}
