//! A train's lifecycle from its page: submit, start construction, start verification, request executive
//! approval, close, cancel (with a reason); and overriding a pending approval (R3, with a reason). The
//! service decides; a refusal becomes a page listing each unmet guard.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use railyard_domain::train::TrainAction;
use railyard_domain::{AvailableAction, Train};
use railyard_service::{ApprovalView, OverrideInput, Service, SessionInfo, TrainView};
use serde::Deserialize;

use crate::available::{blocked_by, waiting};
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

/// The button and what it does, for each lifecycle action of a train (by its name in the domain's list).
fn step(t: &Train, action: &str) -> Option<(&'static str, &'static str)> {
    Some(match action {
        "submit" if t.approval_policies.train.is_some() => (
            "Submit for train approval",
            "Asks the train approval's approvers; once approved, the train is in scoping.",
        ),
        "submit" => ("Submit the train", "No train approval is defined: the train goes straight to scoping."),
        "start_construction" => (
            "Start construction",
            "Needs the scoping gate passed; the milestones marked inherited are copied into each accepted application release.",
        ),
        "start_verification" => (
            "Start verification",
            "Needs the construction gate passed and every accepted application release development-approved.",
        ),
        "request_executive_approval" => (
            "Request executive approval",
            "Needs the verification gate passed and every accepted application release verified: a turnover of it validated in every required pre-production stage of its path.",
        ),
        "close" => (
            "Close the train",
            "Needs every production-ready turnover verified in all its environments or cancelled, and no deployment running.",
        ),
        "cancel" => ("Cancel the train", ""),
        _ => return None,
    })
}

/// The lifecycle actions of the train's page, exactly as the domain lists them for this user
/// (`Service::train_actions_for`): each allowed one is a button; each refused one the user could take
/// once something else is done (see [`crate::available::waiting`]) is a disabled button with the guards
/// that block it; the others are not shown.
pub fn lifecycle_section(session: &SessionInfo, train: &TrainView, actions: &[AvailableAction]) -> Markup {
    let t = &train.train;
    let lifecycle = |x: &&AvailableAction| x.on.is_none() && step(t, &x.action).is_some();
    let shown: Vec<&AvailableAction> = actions.iter().filter(lifecycle).filter(|x| x.allowed || waiting(x)).collect();
    let edit = AvailableAction::allows(actions, "edit");
    html! {
        @if !shown.is_empty() || edit {
            section aria-labelledby="lifecycle" {
                h2 #lifecycle { "Next steps" }
                @if edit { p { a href={ "/trains/" (t.id) "/edit" } { "Edit the plan of " (t.id) } " — title, type, purpose, manager, schedule and approvals." } }
                @for x in shown {
                    @if let Some((button, what)) = step(t, &x.action) {
                        form.action method="post" action={ "/trains/" (t.id) "/" (x.action.replace('_', "-")) } {
                            (csrf_field(session))
                            @if x.action == "cancel" {
                                label { "Reason for cancelling" input name="reason" required; }
                                button.secondary type="submit" disabled[!x.allowed] { (button) }
                            } @else {
                                button type="submit" disabled[!x.allowed] { (button) }
                            }
                        }
                        @if !what.is_empty() { p.hint { (what) } }
                        (blocked_by(x))
                    }
                }
            }
        }
    }
}

/// The override form of a pending approval, with a reason (R3); shown when the domain lists overriding
/// it as allowed for this user.
pub fn override_form(session: &SessionInfo, a: &ApprovalView) -> Markup {
    let ap = &a.approval;
    html! {
        form.action method="post" action={ "/approvals/" (ap.id) "/override" } {
            (csrf_field(session))
            label { "Reason for overriding" input name="reason" required; }
            button.secondary type="submit" { "Override " (ap.id) }
        }
    }
}
