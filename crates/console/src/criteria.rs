//! Meeting an exit criterion (with evidence) and waiving one (with a reason) from the train page.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use railyard_domain::Evidence;
use railyard_service::Service;
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
    let t = s.meet_criterion(&user.session.actor, &train, &criterion, Evidence { note: f.note, link }).await?;
    Ok(gates_of(&t.train.id))
}

pub async fn waive(
    State(s): State<Service>,
    user: SignedIn,
    Path((train, criterion)): Path<(String, String)>,
    Form(f): Form<CriterionForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let t = s.waive_criterion(&user.session.actor, &train, &criterion, f.reason).await?;
    Ok(gates_of(&t.train.id))
}

fn gates_of(train: &str) -> Redirect {
    Redirect::to(&format!("/trains/{train}#gates"))
}
