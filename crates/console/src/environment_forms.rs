//! The environment forms: create, edit (with the version the form was drawn from), take offline, bring
//! online, decommission, and add or remove a calendar event. Each checks the CSRF token first, then acts
//! through the service as the signed-in user, and returns to the environment's page.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use railyard_domain::{EnvironmentAction, EnvironmentPatch, EnvironmentSpec, EventSpec};
use railyard_service::{Service, ServiceError, StateReason};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{CsrfOnly, choice, list, local_time, optional, optional_number};
use crate::session::SignedIn;

#[derive(Debug, Default, Deserialize)]
pub struct EnvironmentForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    owner: String,
    /// Create: "" (as its kind), "yes" or "no". Edit: a checkbox, "yes" when ticked.
    #[serde(default)]
    locked: String,
    #[serde(default)]
    description: String,
    /// Edit: the runner labels, comma-separated; empty clears them (the built-in runner).
    #[serde(default)]
    runner_labels: String,
    #[serde(default)]
    version: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct EventForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    train: String,
}

fn environment_page(name: &str) -> Redirect {
    Redirect::to(&format!("/environments/{name}"))
}

/// `POST /environments`
pub async fn create(
    State(s): State<Service>,
    user: SignedIn,
    Form(f): Form<EnvironmentForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let locked = match f.locked.trim() {
        "" => None,
        "yes" => Some(true),
        "no" => Some(false),
        other => return Err(ServiceError::invalid("locked", format!("“{other}” is not one of: yes, no")).into()),
    };
    let spec = EnvironmentSpec {
        name: f.name.trim().to_string(),
        kind: choice("kind", &f.kind)?,
        owner: optional(&f.owner),
        locked,
        description: f.description.trim().to_string(),
    };
    let env = s.create_environment(&user.session.actor, spec).await?;
    Ok(environment_page(&env.environment.name))
}

/// `POST /environments/{name}`: the edit form, refused when the environment changed since the form was
/// drawn.
pub async fn update(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Form(f): Form<EnvironmentForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    async {
        let version = optional_number::<i64>("version", &f.version)?;
        // Sent only when changed: an edit of something else keeps labels a revoked runner carried.
        let mut labels = list(&f.runner_labels);
        labels.sort();
        labels.dedup();
        let current = s.environment(&user.session.actor, &name).await?.environment.runner_labels;
        let runner_labels = (labels != current).then(|| list(&f.runner_labels));
        let patch = EnvironmentPatch {
            kind: Some(choice("kind", &f.kind)?),
            owner: optional(&f.owner),
            locked: Some(f.locked == "yes"),
            description: Some(f.description.trim().to_string()),
            runner_labels,
        };
        s.update_environment(&user.session.actor, &name, patch, version).await?;
        Ok(environment_page(&name))
    }
    .await
    .map_err(|e: PageError| e.in_form(crate::forms::form_again(&format!("/environments/{name}"))))
}

async fn act(
    s: &Service,
    user: &SignedIn,
    name: &str,
    action: EnvironmentAction,
    reason: &str,
) -> Result<Redirect, PageError> {
    s.environment_action(&user.session.actor, name, action, StateReason { reason: optional(reason) }).await?;
    Ok(environment_page(name))
}

/// Taking offline, bringing online or decommissioning: an optional reason, and for decommissioning the
/// "I understand this cannot be undone" box.
#[derive(Debug, Default, Deserialize)]
pub struct StateForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

pub async fn take_offline(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Form(f): Form<StateForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    act(&s, &user, &name, EnvironmentAction::TakeOffline, &f.reason).await
}

pub async fn bring_online(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Form(f): Form<StateForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    act(&s, &user, &name, EnvironmentAction::BringOnline, &f.reason).await
}

/// Decommissioning cannot be undone: the form's confirmation box must be ticked (checked here too, not
/// only by the browser).
pub async fn decommission(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Form(f): Form<StateForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    if f.confirm != "yes" {
        return Err(ServiceError::invalid("confirm", "tick the box: decommissioning cannot be undone").into());
    }
    act(&s, &user, &name, EnvironmentAction::Decommission, &f.reason).await
}

/// `POST /environments/{name}/events`: start and end are `datetime-local` values, read in the person's time zone.
pub async fn add_event(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Form(f): Form<EventForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let spec = EventSpec {
        kind: choice("kind", &f.kind)?,
        title: f.title.trim().to_string(),
        start: local_time("start", &f.start, user.session.time_zone)?,
        end: local_time("end", &f.end, user.session.time_zone)?,
        train_id: optional(&f.train),
    };
    s.add_calendar_event(&user.session.actor, &name, spec).await?;
    Ok(Redirect::to(&format!("/environments/{name}#events")))
}

/// `POST /environments/{name}/events/{event}/remove`
pub async fn remove_event(
    State(s): State<Service>,
    user: SignedIn,
    Path((name, event)): Path<(String, String)>,
    Form(f): Form<CsrfOnly>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.remove_calendar_event(&user.session.actor, &name, &event).await?;
    Ok(Redirect::to(&format!("/environments/{name}#events")))
}
