//! A train's stage gates from its page: whether a gate needs a gate approval, requesting that approval,
//! and its exit criteria — add, edit, remove, reopen (meeting and waiving are in `criteria`).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use railyard_domain::train::{CriterionPatch, CriterionSpec};
use railyard_domain::{ApprovalState, CriterionState, ExitCriterion, GateName, Operation, Role, Train, TrainState};
use railyard_service::{DecideCriterionInput, GateInput, Service, ServiceError, SessionInfo, UserView};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::layout;
use crate::people;
use crate::session::SignedIn;
use crate::train_fields::{BUTTON_ROW, environment_names};

/// What the gate forms choose from: the people (owners) and the environments.
pub struct Choices {
    pub people: Vec<UserView>,
    pub environments: Vec<String>,
}

impl Choices {
    /// Loaded only for those who may edit the train (others see no form that needs them).
    pub async fn load(s: &Service, session: &SessionInfo) -> Result<Choices, PageError> {
        let actor = &session.actor;
        if !actor.may(Operation::EditTrain) {
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
    let input = DecideCriterionInput::default();
    s.decide_criterion(&user.session.actor, &id, &c, CriterionState::Open, input).await?;
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
    let choices = Choices::load(&s, &user.session).await?;
    let title = format!("Edit {} of {}", criterion.id, t.id);
    let body = html! {
        h1 { (title) }
        section aria-labelledby="edit-criterion" {
            h2 #edit-criterion { "Exit criterion of the " (g.as_str()) " gate" }
            @if may_edit(&user.session, t, g) {
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

fn may_edit(session: &SessionInfo, t: &Train, g: GateName) -> bool {
    session.actor.may(Operation::EditTrain) && t.gate_editable(g)
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
pub fn gate_controls(
    session: &SessionInfo,
    train: &railyard_service::TrainView,
    g: GateName,
    choices: &Choices,
) -> Markup {
    let t = &train.train;
    let gate = t.gates.get(g);
    let a = &session.actor;
    let approval = gate.approval.as_ref();
    let may_request = a.may(Operation::AdvanceTrain)
        && gate.approval_required
        && t.state == TrainState::of_gate(g)
        && approval.is_none_or(|ap| ap.state != ApprovalState::Pending && !ap.state.is_granted());
    html! {
        @if let Some(ap) = approval { p { "Gate approval " (ap.id) ": " (crate::widgets::badge(ap.state.as_str())) } }
        @if may_edit(session, t, g) && !gate.has_pending_approval() {
            form.action method="post" action={ "/trains/" (t.id) "/gates/" (g.as_str()) } {
                (csrf_field(session))
                input type="hidden" name="version" value=(train.meta.version);
                label { span { input type="checkbox" name="approval_required" checked[gate.approval_required]; " Needs a gate approval" } }
                button.secondary type="submit" { "Save the " (g.as_str()) " gate" }
            }
        }
        @if may_request {
            @if t.approval_policies.gate.is_some() {
                form.action method="post" action={ "/trains/" (t.id) "/gates/" (g.as_str()) "/request-approval" } {
                    (csrf_field(session))
                    button type="submit" { "Request the " (g.as_str()) " gate approval" }
                }
            } @else {
                p.hint { "To request this gate's approval, first define a gate approval policy in the train's plan." }
            }
        }
        @if may_edit(session, t, g) {
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
pub fn criterion_controls(session: &SessionInfo, t: &Train, g: GateName, c: &ExitCriterion) -> Markup {
    let a = &session.actor;
    let base = format!("/trains/{}/criteria/{}", t.id, c.id);
    let privileged = a.is_admin() || a.has(Role::ReleaseManager) || a.has(Role::ReleaseEngineer);
    let may_reopen = c.state != CriterionState::Open
        && t.gate_editable(g)
        && a.may(Operation::MeetCriterion)
        && (privileged || c.owner.as_deref() == Some(a.name.as_str()));
    html! {
        div class=(BUTTON_ROW) {
            @if may_edit(session, t, g) {
                a href={ (base) "/edit" } { "Edit " (c.id) }
                form.action method="post" action={ (base) "/remove" } {
                    (csrf_field(session))
                    button.secondary type="submit" { "Remove " (c.id) }
                }
            }
            @if may_reopen {
                form.action method="post" action={ (base) "/reopen" } {
                    (csrf_field(session))
                    button.secondary type="submit" { "Reopen " (c.id) }
                }
            }
        }
    }
}
