//! An application release's train membership and lifecycle from its page: propose to a train, accept or
//! reject the proposal, remove from the train, begin work, request development approval, send back to
//! construction, cancel. Each form is offered only when the state and the user's role allow it; the
//! service decides, and a refusal shows its guards.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use railyard_domain::{MembershipState, Operation, ReleaseAction, ReleaseState, TrainState};
use railyard_service::{ProposeInput, ReasonInput, ReleaseView, Service, ServiceError, SessionInfo, TrainView};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::release_forms::{may_edit, train_select};
use crate::session::SignedIn;

/// The actions section of the release page. `train` is the train it is proposed to or accepted on;
/// `trains` those it could be proposed to.
pub(crate) fn section(
    session: &SessionInfo,
    view: &ReleaseView,
    train: Option<&TrainView>,
    trains: &[TrainView],
) -> Markup {
    let r = &view.release;
    let a = &session.actor;
    let base = format!("/releases/{}", r.id);
    let edit = may_edit(session, r);
    let membership = r.membership.as_ref().filter(|m| m.is_active());
    let proposed = membership.filter(|m| m.state == MembershipState::Proposed);
    let accepted = membership.is_some_and(|m| m.state == MembershipState::Accepted);
    let train_state = train.map(|t| t.train.state);
    let decide = a.may(Operation::DecideMembership) && r.state.is_open();
    let can_propose =
        edit && membership.is_none() && matches!(r.state, ReleaseState::Planning | ReleaseState::Construction);
    let can_remove = edit
        && membership.is_some()
        && matches!(r.state, ReleaseState::Planning | ReleaseState::Construction | ReleaseState::Cancelled);
    let can_begin = edit
        && r.state == ReleaseState::Planning
        && (membership.is_none() || (accepted && train_state.is_some_and(|s| s >= TrainState::Construction)));
    let can_request = edit && r.state == ReleaseState::Construction && accepted;
    let can_send_back =
        edit && matches!(r.state, ReleaseState::Verification | ReleaseState::AwaitingDevelopmentApproval);
    let can_cancel = edit && r.state != ReleaseState::Released;
    let any = can_propose
        || (decide && proposed.is_some())
        || can_remove
        || can_begin
        || can_request
        || can_send_back
        || can_cancel;
    html! {
        @if any {
            section aria-labelledby="actions" {
                h2 #actions { "What you can do" }
                @if can_propose {
                    @if trains.is_empty() { p { "No train takes application releases now." } }
                    @else {
                        form.action method="post" action={ (base) "/propose" } {
                            (csrf_field(session))
                            label { "Train" (train_select(trains, None, None)) }
                            button type="submit" { "Propose to the train" }
                        }
                    }
                }
                @if let Some(m) = proposed.filter(|_| decide) {
                    @if m.proposed_by == a.name {
                        p.hint { "You proposed it to " (m.train_id) "; another release manager decides." }
                    } @else {
                        form.action method="post" action={ (base) "/accept" } {
                            (csrf_field(session))
                            button type="submit" { "Accept into " (m.train_id) }
                        }
                        form.action method="post" action={ (base) "/reject" } {
                            (csrf_field(session))
                            label { "Reason for rejecting" input name="reason" required; }
                            button.secondary type="submit" { "Reject from " (m.train_id) }
                        }
                    }
                }
                @if can_begin {
                    form.action method="post" action={ (base) "/begin-work" } {
                        (csrf_field(session))
                        button type="submit" { "Begin work (to construction)" }
                    }
                } @else if edit && r.state == ReleaseState::Planning && accepted {
                    p.hint { "Work begins once train " (membership.map(|m| m.train_id.as_str()).unwrap_or_default()) " is in construction." }
                }
                @if can_request {
                    form.action method="post" action={ (base) "/request-development-approval" } {
                        (csrf_field(session))
                        button type="submit" { "Request development approval" }
                    }
                }
                @if can_send_back {
                    form.action method="post" action={ (base) "/send-back" } {
                        (csrf_field(session))
                        label { "Reason for sending back" input name="reason" required; }
                        button.secondary type="submit" { "Send back to construction" }
                    }
                }
                @if can_remove {
                    form.action method="post" action={ (base) "/remove" } {
                        (csrf_field(session))
                        label { "Reason (optional)" input name="reason"; }
                        button.secondary type="submit" { "Remove from " (membership.map(|m| m.train_id.as_str()).unwrap_or("the train")) }
                    }
                }
                @if can_cancel {
                    form.action method="post" action={ (base) "/cancel" } {
                        (csrf_field(session))
                        label { "Reason for cancelling" input name="reason" required; }
                        button.secondary type="submit" { "Cancel the release" }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    train: String,
    #[serde(default)]
    reason: String,
    /// Where to go afterwards (send back and cancel): a path of this site; anything else is ignored.
    #[serde(default)]
    back: String,
}

impl ActionForm {
    fn reason(&self) -> ReasonInput {
        ReasonInput { reason: forms::optional(&self.reason) }
    }
}

fn release_page(id: &str) -> Redirect {
    Redirect::to(&format!("/releases/{id}"))
}

/// `back` when it is a path of this site (starts with one `/`), else the release's page.
fn back_or_release(back: &str, id: &str) -> Redirect {
    match crate::forms::local_path(back) {
        Some(back) => Redirect::to(back),
        None => release_page(id),
    }
}

pub async fn propose(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let train = forms::optional(&f.train)
        .ok_or_else(|| ServiceError::invalid("train", "choose the train to propose the release to"))?;
    s.propose_release(&user.session.actor, &id, ProposeInput { train }).await?;
    Ok(release_page(&id))
}

pub async fn accept(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.accept_release(&user.session.actor, &id).await?;
    Ok(release_page(&id))
}

pub async fn reject(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.reject_release(&user.session.actor, &id, f.reason()).await?;
    Ok(release_page(&id))
}

pub async fn remove(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.remove_release(&user.session.actor, &id, f.reason()).await?;
    Ok(release_page(&id))
}

pub async fn begin_work(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.release_action(&user.session.actor, &id, ReleaseAction::BeginWork).await?;
    Ok(release_page(&id))
}

pub async fn request_development_approval(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.release_action(&user.session.actor, &id, ReleaseAction::RequestDevelopmentApproval).await?;
    Ok(release_page(&id))
}

/// `POST /releases/{id}/send-back` (fields `csrf`, `reason`, `back`): R10, back to construction.
pub async fn send_back(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let reason = f.reason.trim().to_string();
    s.release_action(&user.session.actor, &id, ReleaseAction::SendBack { reason }).await?;
    Ok(back_or_release(&f.back, &id))
}

/// `POST /releases/{id}/cancel` (fields `csrf`, `reason`, `back`).
pub async fn cancel(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let reason = f.reason.trim().to_string();
    s.release_action(&user.session.actor, &id, ReleaseAction::Cancel { reason }).await?;
    Ok(back_or_release(&f.back, &id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(r: Redirect) -> String {
        use axum::response::IntoResponse;
        let res = r.into_response();
        res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }

    #[test]
    fn only_a_local_path_is_a_place_to_go_back_to() {
        assert_eq!(location(back_or_release("/turnovers/TO-3", "AR-1")), "/turnovers/TO-3");
        for bad in ["", "https://evil.example/", "//evil.example/x", "/\\evil", "turnovers"] {
            assert_eq!(location(back_or_release(bad, "AR-1")), "/releases/AR-1", "{bad}");
        }
    }
}
