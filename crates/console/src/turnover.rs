//! A turnover's page: what it carries, its deployment path as a board (one column per stage, each with
//! its deployments), its tasks in their sequence groups, and the actions allowed right now.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Html;
use maud::{Markup, html};
use railyard_domain::action::Action;
use railyard_domain::{Deployment, DeploymentState, Operation, Task, Turnover, TurnoverKind, TurnoverState};
use railyard_service::{DeploymentFilter, DeploymentView, MAX_PAGE, Service, SessionInfo};

use crate::error::PageError;
use crate::layout;
use crate::session::SignedIn;
use crate::widgets::{state, time};

pub async fn show(State(s): State<Service>, user: SignedIn, Path(id): Path<String>) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let t = s.turnover(actor, &id).await?.turnover;
    let filter = DeploymentFilter { turnover: Some(t.id.clone()), limit: Some(MAX_PAGE), ..Default::default() };
    let deployments = s.deployments(actor, filter).await?.items;
    let title = format!("{} {}", t.id, t.title);
    let body = html! {
        h1 { (title) }
        p {
            (state(t.state.as_str(), matches!(t.state, TurnoverState::Cancelled | TurnoverState::RolledBack))) " "
            (kind(t.kind)) " turnover of train " a href={ "/trains/" (t.train_id) } { (t.train_id) }
            ", assembled by " (t.developer)
            @if let Some(why) = &t.frozen { "; frozen: " (why) }
            @if let Some(r) = &t.cancel_reason { "; cancelled: " (r) }
        }
        @if !t.description.is_empty() { p { (t.description) } }
        (board(&t, &deployments))
        (actions(&user.session, &t, &deployments))
        (contents(&t))
        (tasks(&t))
    };
    Ok(Html(layout::page(&title, Some(&user.session), body).into_string()))
}

fn kind(k: TurnoverKind) -> &'static str {
    match k {
        TurnoverKind::Standard => "Standard",
        TurnoverKind::ProductionReady => "Production-ready",
    }
}

fn contents(t: &Turnover) -> Markup {
    html! {
        section aria-labelledby="contents" {
            h2 #contents { "What it carries" }
            dl {
                dt { "Application releases" }
                dd { @for (i, r) in t.releases.iter().enumerate() { @if i > 0 { ", " } a href={ "/releases/" (r) } { (r) } } }
                dt { "Artifacts" }
                dd {
                    @if t.artifacts.is_empty() { "None." }
                    @for (i, a) in t.artifacts.iter().enumerate() {
                        @if i > 0 { ", " }
                        (a.name) " " (a.version)
                        @if let Some(d) = &a.digest { " (" (d) ")" }
                    }
                }
                dt { "Work items delivered" }
                dd { @if t.work_items.is_empty() { "None." } (t.work_items.join(", ")) }
                @if let Some(by) = &t.delivered_by { dt { "Delivered by" } dd { (by) } }
                @if let Some(by) = &t.accepted_by { dt { "Accepted by" } dd { (by) } }
                @if let Some(r) = &t.rejection { dt { "Sent back by release engineering" } dd { (r) } }
            }
        }
    }
}

/// The deployment path as a board: one column per stage, each listing that stage's deployments.
fn board(t: &Turnover, deployments: &[DeploymentView]) -> Markup {
    html! {
        section aria-labelledby="board" {
            h2 #board { "Deployment path" }
            @if t.stages.is_empty() { p { "No stages." } }
            div.board {
                @for (i, st) in t.stages.iter().enumerate() {
                    @let here = column(deployments, i, &st.environment);
                    div.stage aria-label={ "Stage " (i + 1) ": " (st.environment) } {
                        h3 { (i + 1) ". " (st.environment)
                            @if !st.required { " " small { "(optional)" } }
                            @if st.freeze_tasks { " " small { "(freezes tasks)" } }
                        }
                        @if here.is_empty() { p.hint { "Not deployed yet." } }
                        ul {
                            @for d in here {
                                li {
                                    a href={ "/deployments/" (d.id) } { (d.id) } " attempt " (d.attempt)
                                    @if d.rollback { " (rollback)" }
                                    " " (state(d.state.as_str(), matches!(d.state, DeploymentState::Failed | DeploymentState::Rejected)))
                                    @if let Some(at) = &d.scheduled_for { br; "scheduled for " (time(at)) }
                                    @if let Some(b) = &d.blocked { br; small { "blocked: " (b) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The deployments of one stage, oldest first.
fn column<'a>(deployments: &'a [DeploymentView], stage: usize, environment: &str) -> Vec<&'a Deployment> {
    let mut here: Vec<&Deployment> = deployments
        .iter()
        .map(|d| &d.deployment)
        .filter(|d| d.stage == stage && d.environment == environment)
        .collect();
    here.sort_by_key(|d| (d.generation, d.attempt, d.id.len(), d.id.clone()));
    here
}

fn what(task: &Task) -> Markup {
    html! {
        @if let Some(o) = &task.owner { "manual, by " (o) }
        @else if let Some(a) = &task.action {
            @match a {
                Action::Command(c) => { "runs " code { (c.program) @for arg in &c.args { " " (arg) } } }
                Action::Http(h) => { "calls " code { (h.method) " " (h.url) } }
            }
        }
    }
}

/// The tasks, one small table per sequence number (tasks of one number run in parallel).
fn tasks(t: &Turnover) -> Markup {
    let mut groups: BTreeMap<u32, Vec<&Task>> = BTreeMap::new();
    for task in &t.tasks {
        groups.entry(task.sequence).or_default().push(task);
    }
    html! {
        section aria-labelledby="tasks" {
            h2 #tasks { "Tasks" }
            @if groups.is_empty() { p { "No tasks yet." } }
            @for (seq, group) in &groups {
                div.table { table {
                    caption { "Sequence " (seq) @if group.len() > 1 { " (run in parallel)" } }
                    thead { tr { th { "Task" } th { "Manual owner or automation action" } th { "Tier" } th { "Environments" } th { "Rollback" } } }
                    tbody {
                        @for task in group {
                            tr {
                                td { (task.id) " " (task.title) }
                                td { (what(task)) }
                                td { (task.tier.as_deref().unwrap_or("—")) }
                                td { @if task.environments.is_empty() { "all" } @else { (task.environments.join(", ")) } }
                                td { @if task.rollback { "rollback only" } @else { "—" } }
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// The actions this user may take on the turnover right now, as forms.
fn actions(session: &SessionInfo, t: &Turnover, deployments: &[DeploymentView]) -> Markup {
    let a = &session.actor;
    let production = t.kind == TurnoverKind::ProductionReady;
    let base = format!("/turnovers/{}", t.id);
    let deploy = !production && a.may(Operation::Deploy) && t.state.is_editable();
    // Offered only when R8 allows a next deployment now; otherwise the page says why not.
    let past: Vec<Deployment> = deployments.iter().map(|d| d.deployment.clone()).collect();
    let next = deploy.then(|| t.next_stage(&past, &[]));
    let deliver = production && a.may(Operation::EditTurnover) && t.state == TurnoverState::Draft;
    // Another engineer than its developer, creator and deliverer decides on it.
    let own = [Some(&t.developer), Some(&t.created_by), t.delivered_by.as_ref()].contains(&Some(&a.name));
    let review = production && a.may(Operation::AcceptTurnover) && t.state == TurnoverState::Delivered && !own;
    let schedule = production
        && a.may(Operation::Deploy)
        && matches!(t.state, TurnoverState::Accepted | TurnoverState::Deploying | TurnoverState::RolledBack);
    let verify = production
        && a.may(Operation::Deploy)
        && matches!(t.state, TurnoverState::Deploying | TurnoverState::Deployed)
        && deployments.iter().any(|d| d.deployment.state == DeploymentState::Succeeded);
    let csrf = crate::forms::csrf_field(session);
    let envs: Vec<&str> = t.stages.iter().map(|s| s.environment.as_str()).collect();
    html! {
        @if deploy || deliver || review || schedule || verify {
            section aria-labelledby="actions" {
                h2 #actions { "Actions" }
                @match &next {
                    Some(Ok(n)) => {
                        form.action method="post" action={ (base) "/deploy" } {
                            (csrf)
                            button type="submit" {
                                "Deploy to " (t.stages.get(n.stage).map(|st| st.environment.as_str()).unwrap_or("the next stage"))
                                @if n.attempt > 1 { " again (attempt " (n.attempt) ")" }
                            }
                        }
                    }
                    Some(Err(why)) => { p.hint { "Nothing to deploy now: " (why) } }
                    None => {}
                }
                @if deliver {
                    form.action method="post" action={ (base) "/deliver" } {
                        (csrf)
                        button type="submit" { "Deliver to release engineering" }
                    }
                }
                @if review {
                    form.action method="post" action={ (base) "/accept" } {
                        (csrf)
                        button type="submit" { "Accept" }
                    }
                    form.action method="post" action={ (base) "/reject" } {
                        (csrf)
                        label { "Why it goes back" input name="comment" required; }
                        button.secondary type="submit" { "Reject" }
                    }
                }
                @if schedule {
                    form.action method="post" action={ (base) "/schedule" } {
                        (csrf)
                        label { "Environment" select name="environment" { @for e in &envs { option value=(e) { (e) } } } }
                        label { "Start (UTC)" input type="datetime-local" name="at" required; }
                        label { "Window (minutes)" input type="number" name="window_minutes" min="1" max="1440" value="60"; }
                        button type="submit" { "Schedule" }
                    }
                }
                @if verify {
                    form.action method="post" action={ (base) "/verify" } {
                        (csrf)
                        label { "Environment"
                            select name="environment" {
                                option value="" { "every one awaiting verification" }
                                @for e in &envs { option value=(e) { (e) } }
                            }
                        }
                        label { "Outcome"
                            select name="outcome" { option value="pass" { "passed" } option value="fail" { "failed" } }
                        }
                        label { "Note (required when it failed)" input name="note"; }
                        button type="submit" { "Verify" }
                    }
                }
            }
        }
    }
}
