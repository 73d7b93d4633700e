//! Stopping the line from the dashboard: halt every deployment that has not started, everywhere, and
//! resume; each with a reason (admins and release managers).

use axum::Form;
use axum::extract::State;
use axum::response::Redirect;
use maud::{Markup, html};
use railyard_domain::{AvailableAction, Line, global_actions};
use railyard_service::{LineInput, Service, SessionInfo};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::csrf_field;
use crate::session::SignedIn;

#[derive(Debug, Default, Deserialize)]
pub struct LineForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    reason: String,
}

/// The halt form while the line runs, the resume form while it is stopped; nothing for those the global
/// actions (the same list as `Service::global_actions_for`) do not let stop the line.
pub fn forms(session: &SessionInfo, line: &Line) -> Markup {
    html! {
        @if AvailableAction::allows(&global_actions(&session.actor), "stop_line") {
            @if line.halted {
                form.action method="post" action="/line/resume" {
                    (csrf_field(session))
                    label { "Why it may run again" input name="reason" required; }
                    button type="submit" { "Resume the line" }
                }
            } @else {
                form.action method="post" action="/line/halt" {
                    (csrf_field(session))
                    label { "Why the line must stop" input name="reason" required; }
                    button type="submit" { "Stop the line" }
                }
            }
        }
    }
}

async fn set(s: &Service, user: &SignedIn, halt: bool, f: LineForm) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.set_line(&user.session.actor, halt, LineInput { reason: f.reason }).await?;
    Ok(Redirect::to("/"))
}

/// `POST /line/halt`
pub async fn halt(State(s): State<Service>, user: SignedIn, Form(f): Form<LineForm>) -> Result<Redirect, PageError> {
    set(&s, &user, true, f).await
}

/// `POST /line/resume`
pub async fn resume(State(s): State<Service>, user: SignedIn, Form(f): Form<LineForm>) -> Result<Redirect, PageError> {
    set(&s, &user, false, f).await
}
