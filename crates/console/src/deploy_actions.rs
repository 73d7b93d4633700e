//! The turnover and deployment pages' form actions: deploy (skipping optional stages when asked),
//! deliver, accept, reject, schedule, verify, roll back; complete a manual run, validate, retry, abandon,
//! start early (under an override, R11). Each checks the CSRF token first, then acts through
//! the service as the signed-in user; a refusal becomes a page listing its guards.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use railyard_service::{
    CompleteRunInput, DEFAULT_WINDOW_MINUTES, DeployInput, RetryInput, ReviewInput, RollbackInput, ScheduleInput,
    Service, ServiceError, StartInput, ValidateInput, VerifyInput,
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
    window_minutes: String,
    /// Deploy: optional stages to skip on the way, comma-separated.
    #[serde(default)]
    skip: String,
    /// Roll back, start early: why.
    #[serde(default)]
    reason: String,
    /// Start early: the override checkbox.
    #[serde(default, rename = "override")]
    override_schedule: Option<String>,
    /// Where to return afterwards (a page of the console), instead of the deployment's page.
    #[serde(default)]
    back: String,
}

fn turnover_page(id: &str) -> Redirect {
    Redirect::to(&format!("/turnovers/{id}"))
}

fn deployment_page(id: &str) -> Redirect {
    Redirect::to(&format!("/deployments/{id}"))
}

/// Back to the page the form came from (a turnover's), or else the deployment's page.
fn back_or_deployment(back: &str, id: &str) -> Redirect {
    match back.strip_prefix("/turnovers/") {
        Some(rest) if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
            Redirect::to(back)
        }
        _ => deployment_page(id),
    }
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
    let d = s.deploy(&user.session.actor, &id, DeployInput { skip: forms::list(&f.skip) }).await?;
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
        at: forms::local_time("at", &f.at, user.session.time_zone)?,
        window_minutes: forms::optional_number("window_minutes", &f.window_minutes)?.unwrap_or(DEFAULT_WINDOW_MINUTES),
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
    Ok(back_or_deployment(&f.back, &id))
}

pub async fn retry(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.retry_deployment(&user.session.actor, &id, RetryInput::default()).await?;
    Ok(back_or_deployment(&f.back, &id))
}

pub async fn abandon(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.abandon_deployment(&user.session.actor, &id).await?;
    Ok(back_or_deployment(&f.back, &id))
}

/// Rolls a failed production deployment back in one environment, with a reason.
pub async fn rollback(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let input = RollbackInput { environment: f.environment.trim().to_string(), reason: f.reason };
    let d = s.rollback_turnover(&user.session.actor, &id, input).await?;
    Ok(deployment_page(&d.deployment.id))
}

/// Starts a scheduled deployment: before its time only with the override ticked, by the train's manager,
/// with a reason (R11); otherwise refused, naming the scheduled time.
pub async fn start(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let input = StartInput { override_schedule: f.override_schedule.is_some(), reason: f.reason };
    s.start_deployment(&user.session.actor, &id, input).await?;
    Ok(deployment_page(&id))
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;

    #[test]
    fn an_outcome_is_pass_or_fail() {
        assert!(matches!(passed("pass"), Ok(true)));
        assert!(matches!(passed("done"), Ok(true)));
        assert!(matches!(passed("fail"), Ok(false)));
        assert!(matches!(passed("failed"), Ok(false)));
        assert!(passed("maybe").is_err());
    }

    #[test]
    fn only_a_turnover_page_is_a_place_to_go_back_to() {
        let to = |back: &str| back_or_deployment(back, "DE-1").into_response().headers()["location"].clone();
        assert_eq!(to("/turnovers/TO-3"), "/turnovers/TO-3");
        assert_eq!(to(""), "/deployments/DE-1");
        assert_eq!(to("https://evil.example/turnovers/TO-3"), "/deployments/DE-1");
        assert_eq!(to("/turnovers//evil.example"), "/deployments/DE-1");
    }
}
