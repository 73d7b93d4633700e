//! What is deployed where: the inventory grid (applications × environments, the artifact versions in
//! each cell now, who put them there and when) and one cell's history. The rule of what counts is the
//! domain's; this page only renders what the service answered.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use maud::{Markup, html};
use railyard_domain::DeploymentState;
use railyard_service::{InventoryFilter, PlacementView, Service};
use serde::Deserialize;

use crate::error::PageError;
use crate::layout;
use crate::session::SignedIn;
use crate::widgets::{state, time};

#[derive(Debug, Default, Deserialize)]
pub struct GridQuery {
    #[serde(default)]
    application: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    cursor: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct HistoryQuery {
    #[serde(default)]
    cursor: String,
}

fn given(v: &str) -> Option<String> {
    Some(v.trim().to_string()).filter(|v| !v.is_empty())
}

fn versions(p: &PlacementView) -> Markup {
    html! {
        @if p.placement.artifacts.is_empty() { em { "no artifacts listed" } br; }
        @for a in &p.placement.artifacts {
            code { (a.name) @if !a.version.is_empty() { " " strong { (a.version) } } } br;
        }
    }
}

/// A deployment's state in the inventory's words: a succeeded deployment awaits its validation, a
/// rejected one failed it; marked by its word as every badge is.
fn deployment_state(st: DeploymentState) -> Markup {
    let word = st.as_str();
    let words = match word {
        "succeeded" => "awaiting validation",
        "rejected" => "failed validation",
        other => other,
    };
    state(words, crate::widgets::is_bad(word))
}

fn cell_link(application: &str, environment: &str) -> String {
    format!("/inventory/{application}/{environment}")
}

/// `GET /inventory`: every application against every environment.
pub async fn grid(
    State(s): State<Service>,
    user: SignedIn,
    Query(q): Query<GridQuery>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let filter = InventoryFilter {
        application: given(&q.application),
        environment: given(&q.environment),
        limit: None,
        cursor: given(&q.cursor),
    };
    let inv = s.inventory(actor, filter).await?;
    let body = html! {
        h1 { "What is deployed where" }
        p.hint { "Each cell shows the artifact versions an application has in an environment now: those of the
            last deployment that finished there with every task done. A failed, abandoned or rolled-back
            deployment changes nothing. Open a cell for every deployment that put something there." }
        section aria-labelledby="grid" {
            h2 #grid { "Inventory" }
            @if inv.environments.is_empty() { p { "No environments yet." } }
            @else if inv.rows.is_empty() { p { "No applications yet." } }
            @else {
                div.table { table.inventory {
                    thead { tr {
                        th scope="col" { "Application" }
                        @for e in &inv.environments {
                            th scope="col" { a href={ "/environments/" (e.name) } { (e.name) } br; small { (e.kind.as_str()) } }
                        }
                    } }
                    tbody {
                        @for row in &inv.rows {
                            tr data-application=(row.application) {
                                th scope="row" { a href={ "/applications/" (row.application) } { (row.application) } br; small { (row.name) } }
                                @for c in &row.cells {
                                    td data-environment=(c.environment) {
                                        @match &c.current {
                                            None => { span.hint { "nothing yet" } br; a href=(cell_link(&row.application, &c.environment)) { small { "history" } } }
                                            Some(p) => {
                                                (versions(p))
                                                small {
                                                    a href={ "/deployments/" (p.placement.deployment) } { (p.placement.deployment) }
                                                    " of " a href={ "/turnovers/" (p.placement.turnover) } title=(p.turnover_title) { (p.placement.turnover) }
                                                    br; "by " (p.placement.deployed_by) ", " (time(user.session.time_zone, &p.placement.landed_at))
                                                    br; (deployment_state(p.placement.state))
                                                    " " a href=(cell_link(&row.application, &c.environment)) { "history" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                } }
                @if let Some(c) = &inv.next_cursor { p { a href={ "/inventory?cursor=" (c) } { "More applications" } } }
            }
        }
    };
    Ok(Html(layout::page("Inventory", Some(&user.session), body).into_string()))
}

/// `GET /inventory/{application}/{environment}`: one cell, now and its history.
pub async fn history(
    State(s): State<Service>,
    user: SignedIn,
    Path((application, environment)): Path<(String, String)>,
    Query(q): Query<HistoryQuery>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let cell = s.inventory_cell(actor, &application, &environment, None, given(&q.cursor).as_deref()).await?;
    let title = format!("{} in {}", cell.application, cell.environment);
    let body = html! {
        h1 { (title) }
        p { a href="/inventory" { "The whole inventory" } " · "
            a href={ "/applications/" (cell.application) } { "Application " (cell.application) } " · "
            a href={ "/environments/" (cell.environment) } { "Environment " (cell.environment) } }
        section aria-labelledby="now" {
            h2 #now { "There now" }
            @match &cell.current {
                None => p { "Nothing of " (cell.application) " has landed in " (cell.environment) " yet." },
                Some(p) => dl.facts {
                    dt { "Versions" } dd { (versions(p)) }
                    dt { "Deployment" } dd { a href={ "/deployments/" (p.placement.deployment) } { (p.placement.deployment) }
                        " (attempt " (p.placement.attempt) ") " (deployment_state(p.placement.state)) }
                    dt { "Turnover" } dd { a href={ "/turnovers/" (p.placement.turnover) } { (p.placement.turnover) } " " (p.turnover_title) }
                    dt { "Release" } dd { a href={ "/releases/" (p.placement.release) } { (p.placement.release) }
                        " on train " a href={ "/trains/" (p.placement.train) } { (p.placement.train) } }
                    dt { "Deployed by" } dd { (p.placement.deployed_by) }
                    dt { "Landed" } dd { (time(user.session.time_zone, &p.placement.landed_at)) }
                },
            }
        }
        section aria-labelledby="history" {
            h2 #history { "History" }
            @if cell.history.items.is_empty() { p { "No deployment has put anything here." } }
            @else {
                div.table { table {
                    thead { tr { th { "Deployment" } th { "Landed" } th { "Versions" } th { "Turnover" } th { "By" } th { "State" } } }
                    tbody {
                        @for p in &cell.history.items {
                            tr {
                                td { a href={ "/deployments/" (p.placement.deployment) } { (p.placement.deployment) } }
                                td { (time(user.session.time_zone, &p.placement.landed_at)) }
                                td { (versions(p)) }
                                td { a href={ "/turnovers/" (p.placement.turnover) } { (p.placement.turnover) } " " (p.turnover_title) }
                                td { (p.placement.deployed_by) }
                                td { (deployment_state(p.placement.state)) }
                            }
                        }
                    }
                } }
                @if let Some(c) = &cell.history.next_cursor {
                    p { a href={ (cell_link(&cell.application, &cell.environment)) "?cursor=" (c) } { "Older deployments" } }
                }
            }
        }
    };
    Ok(Html(layout::page(&title, Some(&user.session), body).into_string()))
}
