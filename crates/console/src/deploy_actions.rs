//! The turnover and deployment pages' form actions: deploy, deliver, accept, reject, schedule, verify;
//! complete a manual run, validate, retry, abandon. Each checks the CSRF token first, then acts through
//! the service as the signed-in user; a refusal becomes a page listing its guards.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use railyard_service::{
    CompleteRunInput, DEFAULT_WINDOW_MINUTES, DeployInput, RetryInput, ReviewInput, ScheduleInput, Service,
    ServiceError, ValidateInput, VerifyInput,
};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms;
use crate::session::SignedIn;

#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: Option<String>,
    /// A comment (rejecting) or note (verifying, validating, completing a run).
    #[serde(default)]
    comment: String,
    #[serde(default)]
    note: String,
    /// `pass`/`fail` (verify, validate) or `done`/`failed` (a manual run).
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    environment: String,
    /// A `datetime-local` value, read as UTC.
    #[serde(default)]
    at: String,
    #[serde(default)]
    window_minutes: Option<u32>,
}

fn turnover_page(id: &str) -> Redirect {
    Redirect::to(&format!("/turnovers/{id}"))
}

fn deployment_page(id: &str) -> Redirect {
    Redirect::to(&format!("/deployments/{id}"))
}

/// The outcome field as pass or fail.
fn passed(outcome: &str) -> Result<bool, PageError> {
    match outcome {
        "pass" | "done" => Ok(true),
        "fail" | "failed" => Ok(false),
        _ => Err(ServiceError::invalid("outcome", "choose whether it passed or failed").into()),
    }
}

pub async fn deploy(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let d = s.deploy(&user.session.actor, &id, DeployInput::default()).await?;
    Ok(deployment_page(&d.deployment.id))
}

pub async fn deliver(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.deliver_turnover(&user.session.actor, &id).await?;
    Ok(turnover_page(&id))
}

pub async fn accept(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.accept_turnover(&user.session.actor, &id).await?;
    Ok(turnover_page(&id))
}

pub async fn reject(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let comment = Some(f.comment.trim().to_string()).filter(|c| !c.is_empty());
    s.reject_turnover(&user.session.actor, &id, ReviewInput { comment }).await?;
    Ok(turnover_page(&id))
}

pub async fn schedule(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let input = ScheduleInput {
        environment: f.environment,
        at: forms::utc("at", &f.at)?,
        window_minutes: f.window_minutes.unwrap_or(DEFAULT_WINDOW_MINUTES),
    };
    s.schedule_turnover(&user.session.actor, &id, input).await?;
    Ok(turnover_page(&id))
}

pub async fn verify(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let environment = Some(f.environment.trim().to_string()).filter(|e| !e.is_empty());
    let input = VerifyInput { environment, passed: passed(&f.outcome)?, note: f.note };
    s.verify_turnover(&user.session.actor, &id, input).await?;
    Ok(turnover_page(&id))
}

pub async fn complete_run(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, run)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let input = CompleteRunInput { done: passed(&f.outcome)?, note: f.note };
    s.complete_run(&user.session.actor, &id, &run, input).await?;
    Ok(deployment_page(&id))
}

pub async fn validate(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let input = ValidateInput { passed: passed(&f.outcome)?, note: f.note };
    s.validate_deployment(&user.session.actor, &id, input).await?;
    Ok(deployment_page(&id))
}

pub async fn retry(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.retry_deployment(&user.session.actor, &id, RetryInput::default()).await?;
    Ok(deployment_page(&id))
}

pub async fn abandon(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.abandon_deployment(&user.session.actor, &id).await?;
    Ok(deployment_page(&id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_is_pass_or_fail() {
        assert!(matches!(passed("pass"), Ok(true)));
        assert!(matches!(passed("done"), Ok(true)));
        assert!(matches!(passed("fail"), Ok(false)));
        assert!(matches!(passed("failed"), Ok(false)));
        assert!(passed("maybe").is_err());
    }
}
