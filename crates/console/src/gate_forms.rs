//! A train's stage gates from its page: whether a gate needs a gate approval, requesting that approval,
//! and its exit criteria — add, edit, remove, reopen (meeting and waiving are in `criteria`).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use railyard_domain::available::criterion_part;
use railyard_domain::train::{CriterionPatch, CriterionSpec};
use railyard_domain::{AvailableAction, ExitCriterion, GateName, Train};
use railyard_service::{GateInput, Service, ServiceError, SessionInfo, UserView};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::layout;
use crate::people;
use crate::session::SignedIn;
use crate::train::Allowed;
use crate::train_fields::{BUTTON_ROW, environment_names};

/// What the gate forms choose from: the people (owners) and the environments.
pub struct Choices {
    pub people: Vec<UserView>,
    pub environments: Vec<String>,
}

impl Choices {
    /// Loaded only when the train's actions let this user edit it (others see no form that needs them).
    pub async fn load(s: &Service, session: &SessionInfo, actions: &[AvailableAction]) -> Result<Choices, PageError> {
        let actor = &session.actor;
        if !AvailableAction::allows(actions, "edit") {
            return Ok(Choices { people: Vec::new(), environments: Vec::new() });
        }
        Ok(Choices { people: people::active(s, actor).await?, environments: environment_names(s, actor).await? })
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct GateForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    version: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    environment: String,
    /// The "needs a gate approval" checkbox: present when checked.
    #[serde(default)]
    approval_required: Option<String>,
}

fn gate(text: &str) -> Result<GateName, PageError> {
    text.parse::<GateName>().map_err(|e| ServiceError::invalid("gate", e).into())
}

fn gates_of(id: &str) -> Redirect {
    Redirect::to(&format!("/trains/{id}#gates"))
}

pub async fn set_approval_required(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, g)): Path<(String, String)>,
    Form(f): Form<GateForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let version = forms::optional_number::<i64>("version", &f.version)?;
    let input = GateInput { approval_required: f.approval_required.is_some() };
    s.update_gate(&user.session.actor, &id, gate(&g)?, input, version).await?;
    Ok(gates_of(&id))
}

pub async fn request_approval(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, g)): Path<(String, String)>,
    Form(f): Form<GateForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.request_gate_approval(&user.session.actor, &id, gate(&g)?).await?;
    Ok(Redirect::to(&format!("/trains/{id}#approvals")))
}

pub async fn add_criterion(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, g)): Path<(String, String)>,
    Form(f): Form<GateForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let spec = CriterionSpec {
        title: f.title,
        owner: forms::optional(&f.owner),
        environment: forms::optional(&f.environment),
    };
    s.add_criterion(&user.session.actor, &id, gate(&g)?, spec).await?;
    Ok(gates_of(&id))
}

pub async fn update_criterion(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, c)): Path<(String, String)>,
    Form(f): Form<GateForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let version = forms::optional_number::<i64>("version", &f.version)?;
    // Empty owner or environment clears it.
    let patch = CriterionPatch {
        title: Some(f.title),
        owner: Some(f.owner.trim().to_string()),
        environment: Some(f.environment.trim().to_string()),
    };
    s.edit_criterion(&user.session.actor, &id, &c, patch, version).await?;
    Ok(gates_of(&id))
}

pub async fn remove_criterion(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, c)): Path<(String, String)>,
    Form(f): Form<GateForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.remove_criterion(&user.session.actor, &id, &c).await?;
    Ok(gates_of(&id))
}

pub async fn reopen_criterion(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, c)): Path<(String, String)>,
    Form(f): Form<GateForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.reopen_criterion(&user.session.actor, &id, &c).await?;
    Ok(gates_of(&id))
}

/// The page to edit one exit criterion.
pub async fn edit_criterion(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, c)): Path<(String, String)>,
) -> Result<Html<String>, PageError> {
    let train = s.train(&user.session.actor, &id).await?;
    let t = &train.train;
    let Some((g, criterion)) = t.gates.find_criterion(&c) else {
        return Err(ServiceError::NotFound { kind: "exit criterion", id: c }.into());
    };
    let actions = s.train_actions_for(&user.session.actor, &id).await?;
    let choices = Choices::load(&s, &user.session, &actions).await?;
    let title = format!("Edit {} of {}", criterion.id, t.id);
    let body = html! {
        h1 { (title) }
        section aria-labelledby="edit-criterion" {
            h2 #edit-criterion { "Exit criterion of the " (g.as_str()) " gate" }
            @if AvailableAction::allows_on(&actions, "edit_criterion", &criterion_part(g, &criterion.id)) {
                form method="post" action={ "/trains/" (t.id) "/criteria/" (criterion.id) } {
                    (csrf_field(&user.session))
                    input type="hidden" name="version" value=(train.meta.version);
                    (criterion_fields(&choices, Some(criterion)))
                    button type="submit" { "Save " (criterion.id) }
                }
            } @else {
                p role="alert" { "You cannot change this criterion now: it takes a release manager, and the train must not have left the " (g.as_str()) " stage." }
            }
        }
        p { a href={ "/trains/" (t.id) "#gates" } { "Back to " (t.id) } }
    };
    Ok(Html(layout::page(&title, Some(&user.session), body).into_string()))
}

fn criterion_fields(choices: &Choices, c: Option<&ExitCriterion>) -> Markup {
    let env = c.and_then(|c| c.environment.as_deref());
    html! {
        label { "Title" input name="title" required value=[c.map(|c| &c.title)]; }
        label { "Owner" (people::select("owner", &choices.people, c.and_then(|c| c.owner.as_deref()), Some("— nobody —"))) }
        label { "Environment (optional)"
            select name="environment" {
                option value="" selected[env.is_none()] { "— none —" }
                @for e in &choices.environments { option value=(e) selected[env == Some(e.as_str())] { (e) } }
                // One no longer listed (decommissioned) stays selectable so saving keeps it.
                @if let Some(e) = env.filter(|e| !choices.environments.iter().any(|x| x == e)) { option value=(e) selected { (e) } }
            }
        }
    }
}

/// Under a gate's heading: its approval setting and state, requesting it, and adding a criterion.
pub fn gate_controls(allowed: &Allowed, train: &railyard_service::TrainView, g: GateName, choices: &Choices) -> Markup {
    let session = allowed.session;
    let t = &train.train;
    let gate = t.gates.get(g);
    let approval = gate.approval.as_ref();
    let on = g.as_str();
    let may = |action: &str| AvailableAction::allows_on(allowed.actions, action, on);
    // Refused only for want of a gate approval policy: the hint says where to define one.
    let wants_policy = allowed.actions.iter().any(|x| {
        x.action == "request_gate_approval"
            && x.on.as_deref() == Some(on)
            && !x.guards.is_empty()
            && x.guards.iter().all(|g| g.code == "gate_policy_missing")
    });
    html! {
        @if let Some(ap) = approval { p { "Gate approval " (ap.id) ": " (crate::widgets::badge(ap.state.as_str())) } }
        @if may("edit_gate") {
            form.action method="post" action={ "/trains/" (t.id) "/gates/" (g.as_str()) } {
                (csrf_field(session))
                input type="hidden" name="version" value=(train.meta.version);
                label { span { input type="checkbox" name="approval_required" checked[gate.approval_required]; " Needs a gate approval" } }
                button.secondary type="submit" { "Save the " (g.as_str()) " gate" }
            }
        }
        @if may("request_gate_approval") {
            form.action method="post" action={ "/trains/" (t.id) "/gates/" (g.as_str()) "/request-approval" } {
                (csrf_field(session))
                button type="submit" { "Request the " (g.as_str()) " gate approval" }
            }
        } @else if wants_policy {
            p.hint { "To request this gate's approval, first define a gate approval policy in the train's plan." }
        }
        @if may("add_criterion") {
            details {
                summary { "Add an exit criterion to the " (g.as_str()) " gate" }
                form.action method="post" action={ "/trains/" (t.id) "/gates/" (g.as_str()) "/criteria" } {
                    (csrf_field(session))
                    (criterion_fields(choices, None))
                    button type="submit" { "Add the criterion" }
                }
            }
        }
    }
}

/// Beside an exit criterion: edit, remove, and reopen one that was met or waived.
pub fn criterion_controls(allowed: &Allowed, t: &Train, g: GateName, c: &ExitCriterion) -> Markup {
    let session = allowed.session;
    let base = format!("/trains/{}/criteria/{}", t.id, c.id);
    let part = criterion_part(g, &c.id);
    let may = |action: &str| AvailableAction::allows_on(allowed.actions, action, &part);
    html! {
        div class=(BUTTON_ROW) {
            @if may("edit_criterion") {
                a href={ (base) "/edit" } { "Edit " (c.id) }
            }
            @if may("remove_criterion") {
                form.action method="post" action={ (base) "/remove" } {
                    (csrf_field(session))
                    button.secondary type="submit" { "Remove " (c.id) }
                }
            }
            @if may("reopen_criterion") {
                form.action method="post" action={ (base) "/reopen" } {
                    (csrf_field(session))
                    button.secondary type="submit" { "Reopen " (c.id) }
                }
            }
        }
    }
}
