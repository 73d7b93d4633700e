//! The deployment path forms: create, edit a draft (with the version the form was drawn from), activate,
//! return to draft, retire. Stages come as numbered rows (`stage1_environment`, `stage1_required`, ...);
//! a row without an environment is dropped.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use railyard_domain::{PathAction, PathPatch, PathSpec, ReleaseType, Stage};
use railyard_service::Service;

use crate::error::PageError;
use crate::forms::{CsrfOnly, Fields, choice, optional, optional_number};
use crate::session::SignedIn;

/// The most stage rows a form is read for.
const MAX_ROWS: usize = 100;

/// The stages of the numbered rows, in order.
fn stages(f: &Fields) -> Vec<Stage> {
    (1..=MAX_ROWS)
        .map(|i| format!("stage{i}_"))
        .take_while(|p| f.checked(&format!("{p}environment")))
        .filter_map(|p| {
            optional(f.one(&format!("{p}environment"))).map(|environment| Stage {
                environment,
                required: f.checked(&format!("{p}required")),
                allow_redeploy: f.checked(&format!("{p}allow_redeploy")),
                freeze_tasks: f.checked(&format!("{p}freeze_tasks")),
            })
        })
        .collect()
}

fn release_types(f: &Fields) -> Result<Vec<ReleaseType>, PageError> {
    f.all("release_types").into_iter().map(|t| choice("release_types", &t)).collect()
}

fn path_page(id: &str) -> Redirect {
    Redirect::to(&format!("/paths/{id}"))
}

/// `POST /paths`: a new path, in draft.
pub async fn create(
    State(s): State<Service>,
    user: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, PageError> {
    let f = Fields::new(pairs);
    user.check_csrf(Some(f.one("csrf")))?;
    let spec = PathSpec {
        name: f.one("name").trim().to_string(),
        description: f.one("description").trim().to_string(),
        release_types: release_types(&f)?,
        stages: stages(&f),
    };
    let p = s.create_path(&user.session.actor, spec).await?;
    Ok(path_page(&p.path.id))
}

/// `POST /paths/{id}`: the edit form of a draft path, refused when the path changed since the form was
/// drawn.
pub async fn update(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, PageError> {
    let f = Fields::new(pairs);
    user.check_csrf(Some(f.one("csrf")))?;
    async {
        let version = optional_number::<i64>("version", f.one("version"))?;
        let patch = PathPatch {
            name: Some(f.one("name").trim().to_string()),
            description: Some(f.one("description").trim().to_string()),
            release_types: Some(release_types(&f)?),
            stages: Some(stages(&f)),
        };
        let p = s.update_path(&user.session.actor, &id, patch, version).await?;
        Ok(path_page(&p.path.id))
    }
    .await
    .map_err(|e: PageError| e.in_form(crate::forms::form_again(&format!("/paths/{id}"))))
}

async fn act(s: &Service, user: &SignedIn, id: &str, action: PathAction) -> Result<Redirect, PageError> {
    let p = s.path_action(&user.session.actor, id, action).await?;
    Ok(path_page(&p.path.id))
}

pub async fn activate(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    act(&s, &user, &id, PathAction::Activate).await
}

pub async fn return_to_draft(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    act(&s, &user, &id, PathAction::ReturnToDraft).await
}

pub async fn retire(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    act(&s, &user, &id, PathAction::Retire).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn stage_rows_become_stages_in_order_and_empty_rows_are_dropped() {
        let f = fields(&[
            ("stage1_environment", "test"),
            ("stage1_required", "yes"),
            ("stage2_environment", ""),
            ("stage2_required", "yes"),
            ("stage3_environment", "staging"),
            ("stage3_allow_redeploy", "yes"),
            ("stage3_freeze_tasks", "yes"),
        ]);
        let s = stages(&f);
        assert_eq!(s.iter().map(|s| s.environment.as_str()).collect::<Vec<_>>(), vec!["test", "staging"]);
        assert!(s[0].required && !s[0].allow_redeploy && !s[0].freeze_tasks);
        assert!(!s[1].required && s[1].allow_redeploy && s[1].freeze_tasks);
    }

    #[test]
    fn a_release_type_that_does_not_exist_names_the_field() {
        let e = release_types(&fields(&[("release_types", "huge")])).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.starts_with("release_types:") && e.contains("huge")));
    }
}
