//! A train's lifecycle from its page: submit, start construction, start verification, request executive
//! approval, close, cancel (with a reason); and overriding a pending approval (R3, with a reason). The
//! service decides; a refusal becomes a page listing each unmet guard.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use railyard_domain::train::TrainAction;
use railyard_domain::{ApprovalState, Operation, Train, TrainState};
use railyard_service::{ApprovalView, OverrideInput, Service, SessionInfo, TrainView};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::csrf_field;
use crate::session::SignedIn;

#[derive(Debug, Default, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    reason: String,
}

async fn act(
    s: &Service,
    user: &SignedIn,
    id: &str,
    f: &ReasonForm,
    action: TrainAction,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let t = s.train_action(&user.session.actor, id, action, None).await?;
    Ok(Redirect::to(&format!("/trains/{}", t.train.id)))
}

pub async fn submit(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Redirect, PageError> {
    act(&s, &user, &id, &f, TrainAction::Submit).await
}

pub async fn start_construction(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Redirect, PageError> {
    act(&s, &user, &id, &f, TrainAction::StartConstruction).await
}

pub async fn start_verification(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Redirect, PageError> {
    act(&s, &user, &id, &f, TrainAction::StartVerification).await
}

pub async fn request_executive_approval(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Redirect, PageError> {
    act(&s, &user, &id, &f, TrainAction::RequestExecutiveApproval).await
}

pub async fn close(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Redirect, PageError> {
    act(&s, &user, &id, &f, TrainAction::Close).await
}

pub async fn cancel(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Redirect, PageError> {
    let reason = f.reason.clone();
    act(&s, &user, &id, &f, TrainAction::Cancel { reason }).await
}

/// Overrides a pending approval, with a reason, and returns to its train's approvals.
pub async fn override_approval(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let a = s.override_approval(&user.session.actor, &id, OverrideInput { reason: f.reason }).await?;
    Ok(Redirect::to(&format!("/trains/{}#approvals", a.approval.train_id)))
}

/// The next lifecycle step from a state: (path, button, what it does).
fn next_step(t: &Train) -> Option<(&'static str, &'static str, &'static str)> {
    match t.state {
        TrainState::Draft if t.approval_policies.train.is_some() => Some((
            "submit",
            "Submit for train approval",
            "Asks the train approval's approvers; once approved, the train is in scoping.",
        )),
        TrainState::Draft => {
            Some(("submit", "Submit the train", "No train approval is defined: the train goes straight to scoping."))
        }
        TrainState::Scoping => Some((
            "start-construction",
            "Start construction",
            "Needs the scoping gate passed; the milestones marked inherited are copied into each accepted application release.",
        )),
        TrainState::Construction => Some((
            "start-verification",
            "Start verification",
            "Needs the construction gate passed and every accepted application release development-approved.",
        )),
        TrainState::Verification => Some((
            "request-executive-approval",
            "Request executive approval",
            "Needs the verification gate passed and every accepted application release verified: a turnover of it validated in every required pre-production stage of its path.",
        )),
        _ => None,
    }
}

/// The lifecycle actions that make sense for this train's state and this user's roles.
pub fn lifecycle_section(session: &SessionInfo, train: &TrainView) -> Markup {
    let a = &session.actor;
    let t = &train.train;
    let step = next_step(t).filter(|_| a.may(Operation::AdvanceTrain));
    let close = t.state == TrainState::Deployment
        && a.may(Operation::CloseTrain)
        && (a.name == t.manager || a.is_admin() || a.has(railyard_domain::Role::ReleaseEngineer));
    let cancel = t.state.is_open() && a.may(Operation::CancelTrain);
    let edit = t.state.is_open() && a.may(Operation::EditTrain);
    html! {
        @if step.is_some() || close || cancel || edit {
            section aria-labelledby="lifecycle" {
                h2 #lifecycle { "Next steps" }
                @if edit { p { a href={ "/trains/" (t.id) "/edit" } { "Edit the plan of " (t.id) } " — title, type, purpose, manager, schedule and approvals." } }
                @if let Some((path, button, what)) = step {
                    form.action method="post" action={ "/trains/" (t.id) "/" (path) } {
                        (csrf_field(session))
                        button type="submit" { (button) }
                    }
                    p.hint { (what) }
                }
                @if close {
                    form.action method="post" action={ "/trains/" (t.id) "/close" } {
                        (csrf_field(session))
                        button type="submit" { "Close the train" }
                    }
                    p.hint { "Needs every production-ready turnover verified in all its environments or cancelled, and no deployment running." }
                }
                @if cancel {
                    form.action method="post" action={ "/trains/" (t.id) "/cancel" } {
                        (csrf_field(session))
                        label { "Reason for cancelling" input name="reason" required; }
                        button.secondary type="submit" { "Cancel the train" }
                    }
                }
            }
        }
    }
}

/// The override form of a pending approval, for the train's manager where its policy allows it (R3).
pub fn override_form(session: &SessionInfo, t: &Train, a: &ApprovalView) -> Markup {
    let ap = &a.approval;
    let allowed = session.actor.may(Operation::OverrideApproval) && session.actor.name == t.manager;
    html! {
        @if ap.state == ApprovalState::Pending && ap.override_allowed && allowed {
            form.action method="post" action={ "/approvals/" (ap.id) "/override" } {
                (csrf_field(session))
                label { "Reason for overriding" input name="reason" required; }
                button.secondary type="submit" { "Override " (ap.id) }
            }
        }
    }
}
