//! Production-ready turnovers from the browser: the form to assemble one for a train (its releases and
//! locked environments as checkboxes, optionally from a validated pre-production turnover), and the
//! proposed task order (releases by dependencies, then tiers) with a button that applies it.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use railyard_domain::{AvailableAction, ProductionSpec, ProposedOrder, Turnover, goes_to_production, takes_production};
use railyard_service::{MAX_PAGE, ReleaseFilter, Service, ServiceError, SessionInfo, TurnoverFilter};

use crate::error::PageError;
use crate::forms::{Fields, csrf_field, optional};
use crate::layout;
use crate::people;
use crate::session::SignedIn;
use crate::turnover_forms::parse_artifacts;

/// `GET /turnovers/new-production?train=RT-1[&from=TO-3]`: the form to assemble a production-ready
/// turnover of the train.
pub async fn new(
    State(s): State<Service>,
    user: SignedIn,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let Some(train_id) = params.get("train").and_then(|t| optional(t)) else {
        return Err(PageError::bad_parameter("train", "name the train, e.g. ?train=RT-1"));
    };
    let from = params.get("from").and_then(|f| optional(f));
    let train = s.train(actor, &train_id).await?.train;
    let filter = ReleaseFilter { train: Some(train.id.clone()), limit: Some(MAX_PAGE), ..Default::default() };
    let releases: Vec<_> = s
        .releases(actor, filter)
        .await?
        .items
        .into_iter()
        .map(|r| r.release)
        .filter(|r| r.accepted_train() == Some(train.id.as_str()))
        .collect();
    let environments: Vec<_> = crate::environments::all(&s, actor)
        .await?
        .into_iter()
        .map(|e| e.environment)
        .filter(takes_production)
        .collect();
    let filter = TurnoverFilter { train: Some(train.id.clone()), limit: Some(MAX_PAGE), ..Default::default() };
    let sources: Vec<Turnover> = s
        .turnovers(actor, filter)
        .await?
        .items
        .into_iter()
        .map(|t| t.turnover)
        .filter(Turnover::may_start_production)
        .collect();
    let source = sources.iter().find(|t| Some(&t.id) == from.as_ref());
    let users = people::active(&s, &user.session.actor).await?;
    let creates = AvailableAction::allows(&s.global_actions_for(actor), "create_turnover");
    let title = format!("New production-ready turnover of {} {}", train.id, train.title);
    let body = html! {
        h1 { (title) }
        p { "A production-ready turnover carries application releases of " a href={ "/trains/" (train.id) } { (train.id) }
            " into locked environments, each at its scheduled time. Started from a validated pre-production turnover, it copies its tasks, artifacts and work items." }
        @if !creates {
            p role="status" { "Your role does not assemble turnovers: developers, release engineers and release managers do." }
        } @else {
            section aria-labelledby="new-production" {
                h2 #new-production { "Production-ready turnover" }
                form.action method="post" action="/production-turnovers" {
                    (csrf_field(&user.session))
                    label { "Title" input name="title" required value=[source.map(|t| format!("{} (production)", t.title))]; }
                    fieldset {
                        legend { "Application releases" }
                        @if releases.is_empty() { p { "No application release is accepted on this train." } }
                        @for r in &releases {
                            @let checked = source.map_or(goes_to_production(r), |t| t.releases.contains(&r.id));
                            label { input type="checkbox" name="releases" value=(r.id) checked[checked]; (r.id) " " (r.title) " (" (r.state.as_str().replace('_', " ")) ")" }
                        }
                    }
                    fieldset {
                        legend { "Locked environments" }
                        @if environments.is_empty() { p { "No environment is locked; a release engineer locks the production ones." } }
                        @for e in &environments {
                            label { input type="checkbox" name="environments" value=(e.name) checked[environments.len() == 1]; (e.name) }
                        }
                    }
                    label { "From a validated pre-production turnover"
                        select name="from" {
                            option value="" { "— none: start empty" }
                            @for t in &sources { option value=(t.id) selected[Some(&t.id) == from.as_ref()] { (t.id) " " (t.title) " (" (t.releases.join(", ")) ")" } }
                        }
                    }
                    label { "Developer" (people::select("developer", &users, Some(&actor.name), None)) }
                    label { "Description" textarea name="description" rows="2" cols="40" {} }
                    label { "Artifacts (one per line: name version [digest] [link]; empty: those of the turnover it starts from)" textarea name="artifacts" rows="3" cols="40" {} }
                    button type="submit" { "Create production-ready turnover" }
                }
            }
        }
    };
    Ok(Html(layout::page(&title, Some(&user.session), body).into_string()))
}

/// `POST /production-turnovers`: creates it in draft and shows its page.
pub async fn create(
    State(s): State<Service>,
    user: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, PageError> {
    let f = Fields::new(pairs);
    user.check_csrf(Some(f.one("csrf")))?;
    let releases = f.all("releases");
    if releases.is_empty() {
        return Err(ServiceError::invalid("releases", "tick at least one application release").into());
    }
    let environments = f.all("environments");
    if environments.is_empty() {
        return Err(ServiceError::invalid("environments", "tick at least one locked environment").into());
    }
    let spec = ProductionSpec {
        title: f.one("title").trim().to_string(),
        releases,
        environments,
        from: optional(f.one("from")),
        description: f.one("description").trim().to_string(),
        developer: optional(f.one("developer")),
        artifacts: parse_artifacts(f.one("artifacts"))?,
    };
    let t = s.create_production_turnover(&user.session.actor, spec).await?;
    Ok(Redirect::to(&format!("/turnovers/{}", t.turnover.id)))
}

/// The proposed order of a production-ready turnover's tasks, with a button applying it (a reorder with
/// exactly the sequences shown) when the user may still change the tasks.
pub fn proposed_order_section(session: &SessionInfo, t: &Turnover, order: &ProposedOrder, editable: bool) -> Markup {
    let differs = order.order.iter().any(|e| t.tasks.iter().any(|x| x.id == e.task && x.sequence != e.sequence));
    html! {
        section aria-labelledby="proposed-order" {
            h2 #proposed-order { "Proposed task order" }
            p.hint { "Application releases by their dependencies (a dependency's tasks run before its dependent's), then by tier: database, app, web." }
            ol { @for g in &order.groups { li { (g) } } }
            @if !differs { p { "The tasks are in this order." } }
            @else if editable {
                form.action method="post" action={ "/turnovers/" (t.id) "/tasks/reorder" } {
                    (csrf_field(session))
                    @for e in &order.order { input type="hidden" name={ "seq-" (e.task) } value=(e.sequence); }
                    button type="submit" { "Apply this order" }
                }
            }
        }
    }
}

/// On a standard turnover validated in a stage, while its train is between verification and
/// deployment: a link to assemble a production-ready turnover from it. `allowed` is whether the
/// turnover's available actions allow `create_production` for this user.
pub fn from_this_link(t: &Turnover, allowed: bool) -> Markup {
    html! {
        @if allowed {
            p { a href={ "/turnovers/new-production?train=" (t.train_id) "&from=" (t.id) } { "Create a production-ready turnover from " (t.id) } }
        }
    }
}
