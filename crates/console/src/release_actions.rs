//! An application release's train membership and lifecycle from its page: propose to a train, accept or
//! reject the proposal, remove from the train, begin work, request development approval, send back to
//! construction, cancel. The forms are the actions the domain lists for the user; the service decides,
//! and a refusal shows its guards.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use railyard_domain::{AvailableAction, ReleaseAction};
use railyard_service::{ProposeInput, ReasonInput, ReleaseView, Service, ServiceError, SessionInfo, TrainView};
use serde::Deserialize;

use crate::available::waiting;
use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::release_forms::train_select;
use crate::session::SignedIn;

/// The order of the actions on the page: the membership first, then the lifecycle.
const ORDER: [&str; 7] =
    ["accept", "reject", "begin_work", "request_development_approval", "send_back", "remove", "cancel"];

/// The button of each action of an application release (by its name in the domain's list), given the
/// train it is on.
fn label(action: &str, train: &str) -> Option<String> {
    Some(match action {
        "accept" => format!("Accept into {train}"),
        "reject" => format!("Reject from {train}"),
        "begin_work" => "Begin work (to construction)".into(),
        "request_development_approval" => "Request development approval".into(),
        "send_back" => "Send back to construction".into(),
        "remove" => format!("Remove from {train}"),
        "cancel" => "Cancel the release".into(),
        _ => return None,
    })
}

/// The actions section of the release page: its train membership and lifecycle exactly as the domain
/// lists them for this user (`Service::release_actions_for`). Each allowed action is a form; a refused
/// one waiting on work still to do (see [`crate::available::waiting`]) is a hint naming what stands in
/// its way; the others are not shown. Proposing to a train is offered when the list allows `propose`
/// (the release is on no train yet); `trains` are those it could be proposed to.
pub(crate) fn section(
    session: &SessionInfo,
    view: &ReleaseView,
    actions: &[AvailableAction],
    trains: &[TrainView],
) -> Markup {
    let r = &view.release;
    let base = format!("/releases/{}", r.id);
    let membership = r.membership.as_ref().filter(|m| m.is_active());
    let train = membership.map(|m| m.train_id.as_str()).unwrap_or("the train");
    let can_propose = AvailableAction::allows(actions, "propose");
    let shown: Vec<(&AvailableAction, String)> = ORDER
        .iter()
        .filter_map(|name| actions.iter().find(|x| x.action == *name))
        .filter(|x| x.allowed || waiting(x))
        .filter_map(|x| label(&x.action, train).map(|l| (x, l)))
        .collect();
    html! {
        @if can_propose || !shown.is_empty() {
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
                @for (x, button) in &shown {
                    @if x.allowed {
                        form.action method="post" action={ (base) "/" (x.action.replace('_', "-")) } {
                            (csrf_field(session))
                            @match x.action.as_str() {
                                "reject" => { label { "Reason for rejecting" input name="reason" required; } }
                                "send_back" => { label { "Reason for sending back" input name="reason" required; } }
                                "cancel" => { label { "Reason for cancelling" input name="reason" required; } }
                                "remove" => { label { "Reason (optional)" input name="reason"; } }
                                _ => {}
                            }
                            @if matches!(x.action.as_str(), "accept" | "begin_work" | "request_development_approval") {
                                button type="submit" { (button) }
                            } @else {
                                button.secondary type="submit" { (button) }
                            }
                        }
                    } @else {
                        p.hint { (button) ", not yet:" }
                        ul.guards { @for g in &x.guards { li { (g.message) } } }
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
