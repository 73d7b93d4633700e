//! An application release's page: its schedule, train membership, dependencies, milestones, work items,
//! turnovers and whether it is verified.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use railyard_domain::{ApplicationRelease, AvailableAction};
use railyard_service::{
    MAX_PAGE, ReleaseFilter, ReleaseView, Service, SessionInfo, TurnoverFilter, TurnoverView, Verification,
};
use serde::Deserialize;

use crate::error::PageError;
use crate::people;
use crate::release_forms::{edit_form, open_trains};
use crate::session::SignedIn;
use crate::widgets::badge;
use crate::widgets::{state, time};
use crate::{dependency_forms, layout, release_actions, release_milestones, work_item_forms};

pub async fn show(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(unfold): Query<crate::forms::Unfold>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let release = s.release(actor, &id).await?;
    let items = crate::turnover_forms::work_items_of(&s, actor, &id).await?;
    let filter = TurnoverFilter { release: Some(id.clone()), limit: Some(MAX_PAGE), ..Default::default() };
    let turnovers = s.turnovers(actor, filter).await?.items;
    let verification = s.verification(actor, &id).await?;
    let dependents = s.release_dependents(actor, &id).await?;
    let r = &release.release;
    // Every form of the page is an action the domain lists for this user.
    let actions = s.release_actions_for(actor, &id).await?;
    let allows = |name: &str| AvailableAction::allows(&actions, name);
    let names_people = ["edit", "add_milestone"].into_iter().any(allows)
        || actions.iter().any(|a| a.allowed && a.action == "edit_milestone");
    // What the forms offer: people, trains to propose to, releases to depend on (those of its train).
    let people = if names_people { people::active(&s, actor).await? } else { Vec::new() };
    let trains = if allows("propose") { open_trains(&s, &user).await? } else { Vec::new() };
    let candidates = if allows("add_dependency") {
        let filter =
            ReleaseFilter { train: r.active_train().map(str::to_string), limit: Some(MAX_PAGE), ..Default::default() };
        s.releases(actor, filter).await?.items
    } else {
        dependency_titles(&s, &user, r).await?
    };
    let title = format!("{} {}", r.id, r.title);
    let body = html! {
        h1 { (title) }
        (summary(r, user.session.time_zone))
        (release_actions::section(&user.session, &release, &actions, &trains))
        (edit_form(&user.session, &release, &actions, &people, unfold.open()))
        (verification_section(&verification))
        (dependency_forms::section(&user.session, r, &actions, &candidates, &dependents))
        (release_milestones::section(&user.session, &release, &actions, &people))
        (work_item_forms::section(&user.session, r, &actions, &items))
        (import_form(&user.session, r, &actions))
        (turnovers_section(r, &actions, &turnovers))
    };
    Ok(Html(layout::page(&title, Some(&user.session), body).into_string()))
}

/// The releases it depends on, for their titles (a reader sees no form, so needs no other candidates).
async fn dependency_titles(
    s: &Service,
    user: &SignedIn,
    r: &ApplicationRelease,
) -> Result<Vec<ReleaseView>, PageError> {
    let mut out = Vec::new();
    for d in &r.dependencies {
        match s.release(&user.session.actor, d).await {
            Ok(v) => out.push(v),
            Err(railyard_service::ServiceError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn criticality(r: &ApplicationRelease) -> String {
    format!("{:?}", r.criticality).to_lowercase()
}

fn summary(r: &ApplicationRelease, zone: chrono_tz::Tz) -> Markup {
    html! {
        section aria-labelledby="summary" {
            h2 #summary { "Release" }
            dl.facts {
                dt { "State" } dd { (badge(r.state.as_str())) }
                dt { "Application" } dd { a href={ "/applications/" (r.application) } { (r.application) } }
                dt { "Product owner" } dd { (r.product_owner) }
                dt { "Release type" } dd { (r.release_type.as_str()) }
                dt { "Criticality" } dd { (criticality(r)) }
                dt { "Schedule" } dd { (r.schedule.start) " – " (r.schedule.end) }
                dt { "Train" }
                dd {
                    @if let Some(m) = &r.membership {
                        a href={ "/trains/" (m.train_id) } { (m.train_id) } " — " (m.state.as_str())
                        " (proposed by " (m.proposed_by) " at " (time(zone, &m.proposed_at)) ")"
                        @if let Some(why) = &m.reason { ": " (why) }
                    } @else { "Not on a train." }
                }
                @if !r.allowed_paths.is_empty() {
                    dt { "Deployment paths" } dd { (r.allowed_paths.join(", ")) }
                }
                @if let Some(a) = &r.development_approval {
                    dt { "Development approval" }
                    dd {
                        (a.id) " " (badge(a.state.as_str()))
                        @if let Some(m) = &r.membership { " — decided on " a href={ "/trains/" (m.train_id) "#approvals" } { "the train's page" } }
                    }
                }
                @if let Some(why) = &r.cancel_reason { dt { "Cancelled because" } dd { (why) } }
            }
        }
    }
}

fn verification_section(v: &Verification) -> Markup {
    html! {
        section aria-labelledby="verification" {
            h2 #verification { "Verification readiness" }
            @if v.verified {
                p { span.state.good { "verified" } @if let Some(t) = &v.turnover { " by turnover " a href={ "/turnovers/" (t) } { (t) } } }
            } @else {
                p { (state("not verified", true)) " " "Not verified: " (v.why()) "." }
                @if !v.missing.is_empty() {
                    p { "Stages still missing a validated deployment:" }
                    ul { @for m in &v.missing { li { (m) } } }
                }
            }
        }
    }
}

/// The work-item import: rows pasted as CSV (Railyard's columns or a Jira export) or JSON.
fn import_form(session: &SessionInfo, r: &ApplicationRelease, actions: &[AvailableAction]) -> Markup {
    html! {
        @if AvailableAction::allows(actions, "manage_work_items") {
            section aria-labelledby="import" {
                h2 #import { "Import work items" }
                p.hint { "Paste a CSV (a header row, then key, title, kind, status, link) or a Jira export, or JSON. \
                          New keys are added, changed ones updated; importing the same rows again changes nothing." }
                form.action method="post" action={ "/releases/" (r.id) "/work-items/import" } {
                    (crate::forms::csrf_field(session))
                    label { "Rows" textarea name="rows" rows="6" cols="80" required {} }
                    button type="submit" { "Import" }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    rows: String,
}

/// `POST /releases/{id}/work-items/import`: imports the pasted rows, then back to the work items.
pub async fn import(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ImportForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.import_work_items(&user.session.actor, &id, f.rows.as_bytes(), None).await?;
    Ok(Redirect::to(&format!("/releases/{id}#work-items")))
}

fn turnovers_section(r: &ApplicationRelease, actions: &[AvailableAction], turnovers: &[TurnoverView]) -> Markup {
    let may_create = AvailableAction::allows(actions, "create_turnover");
    html! {
        section aria-labelledby="turnovers" {
            h2 #turnovers { "Turnovers" }
            @if may_create { p { a href={ "/turnovers/new?release=" (r.id) } { "New turnover of " (r.id) } } }
            @if turnovers.is_empty() { p { "No turnover was created yet." } }
            @else {
                div.table { table {
                    thead { tr { th { "Turnover" } th { "Title" } th { "Developer" } th { "State" } } }
                    tbody {
                        @for t in turnovers {
                            @let t = &t.turnover;
                            tr {
                                td { a href={ "/turnovers/" (t.id) } { (t.id) } }
                                td { (t.title) }
                                td { (t.developer) }
                                td { (badge(t.state.as_str())) }
                            }
                        }
                    }
                } }
            }
        }
    }
}
