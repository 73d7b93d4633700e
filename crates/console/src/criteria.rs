//! Meeting an exit criterion (with evidence) and waiving one (with a reason) from the train page.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use railyard_domain::{CriterionState, Evidence};
use railyard_service::{DecideCriterionInput, Service};
use serde::Deserialize;

use crate::error::PageError;
use crate::session::SignedIn;

#[derive(Debug, Default, Deserialize)]
pub struct CriterionForm {
    #[serde(default)]
    csrf: Option<String>,
    /// Evidence for meeting it.
    #[serde(default)]
    note: String,
    #[serde(default)]
    link: String,
    /// Why it is waived.
    #[serde(default)]
    reason: String,
}

pub async fn meet(
    State(s): State<Service>,
    user: SignedIn,
    Path((train, criterion)): Path<(String, String)>,
    Form(f): Form<CriterionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let link = Some(f.link.trim().to_string()).filter(|l| !l.is_empty());
    let input = DecideCriterionInput { evidence: Some(Evidence { note: f.note, link }), reason: None };
    decide(&s, &user, &train, &criterion, CriterionState::Met, input).await
}

pub async fn waive(
    State(s): State<Service>,
    user: SignedIn,
    Path((train, criterion)): Path<(String, String)>,
    Form(f): Form<CriterionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let input = DecideCriterionInput { evidence: None, reason: Some(f.reason) };
    decide(&s, &user, &train, &criterion, CriterionState::Waived, input).await
}

async fn decide(
    s: &Service,
    user: &SignedIn,
    train: &str,
    criterion: &str,
    to: CriterionState,
    input: DecideCriterionInput,
) -> Result<Redirect, PageError> {
    let t = s.decide_criterion(&user.session.actor, train, criterion, to, input).await?;
    Ok(Redirect::to(&format!("/trains/{}#gates", t.train.id)))
}
