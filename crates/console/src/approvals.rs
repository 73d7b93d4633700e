//! Approving and rejecting an approval from a page.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use railyard_domain::{TrainState, Verdict};
use railyard_service::{DecideInput, Service};
use serde::Deserialize;

use crate::error::PageError;
use crate::session::SignedIn;

#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    return_to: Option<TrainState>,
    /// The page to return to: a path of this site.
    #[serde(default)]
    back: String,
}

pub async fn approve(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Result<Redirect, PageError> {
    decide(&s, &user, &id, Verdict::Approve, f).await
}

pub async fn reject(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Result<Redirect, PageError> {
    decide(&s, &user, &id, Verdict::Reject, f).await
}

async fn decide(
    s: &Service,
    user: &SignedIn,
    id: &str,
    verdict: Verdict,
    f: DecisionForm,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let comment = Some(f.comment.trim().to_string()).filter(|c| !c.is_empty());
    let input = DecideInput { comment, return_to: f.return_to };
    s.decide_approval(&user.session.actor, id, verdict, input, None).await?;
    Ok(Redirect::to(crate::forms::local_path(&f.back).unwrap_or("/")))
}
