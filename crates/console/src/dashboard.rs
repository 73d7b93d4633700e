//! The dashboard: the stop-the-line state, my inbox, trains by stage, overdue milestones, failed and
//! blocked deployments, and what goes into production in the next 7 days.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::response::Html;
use chrono::Duration;
use maud::{Markup, html};
use railyard_domain::{AvailableAction, DeploymentState, Line, TrainState};
use railyard_service::{
    DeploymentFilter, DeploymentView, Inbox, InboxMilestone, MAX_PAGE, Service, SessionInfo, TrainFilter, TrainView,
};

use crate::error::PageError;
use crate::layout;
use crate::session::SignedIn;
use crate::widgets::is_bad;
use crate::widgets::{approval_subject, decision_forms, state, time};

/// The stages of a train's life, in order (closed and cancelled trains are not on the dashboard).
pub const STAGES: [TrainState; 7] = [
    TrainState::Draft,
    TrainState::AwaitingTrainApproval,
    TrainState::Scoping,
    TrainState::Construction,
    TrainState::Verification,
    TrainState::AwaitingExecutiveApproval,
    TrainState::Deployment,
];

pub async fn show(State(s): State<Service>, user: SignedIn) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let zone = user.session.time_zone;
    let line = s.line(actor).await?;
    let inbox = s.inbox(actor).await?;
    let deciding = decidable(&s, &user, &inbox).await?;
    let filter = TrainFilter { states: STAGES.to_vec(), limit: Some(MAX_PAGE), ..Default::default() };
    let trains = s.trains(actor, filter).await?.items;
    let overdue = s.overdue_milestones(actor).await?;
    let failed = deployments(&s, &user, DeploymentState::Failed).await?;
    let scheduled = deployments(&s, &user, DeploymentState::Scheduled).await?;
    let now = s.now();
    let blocked: Vec<&DeploymentView> = scheduled.iter().filter(|d| d.deployment.blocked.is_some()).collect();
    let mut coming: Vec<&DeploymentView> = scheduled
        .iter()
        .filter(|d| d.deployment.production)
        .filter(|d| d.deployment.scheduled_for.is_some_and(|t| t >= now && t <= now + Duration::days(7)))
        .collect();
    coming.sort_by_key(|d| d.deployment.scheduled_for);

    let body = html! {
        h1 { "Dashboard" }
        (line_state(&user.session, &line))
        (inbox_section(&user.session, &inbox, &deciding, &trains))
        div.grid {
            (trains_by_stage(&trains))
            (overdue_section(&overdue))
        }
        div.grid {
            (deployment_section(zone, "Failed deployments", "No failed deployments.", &failed.iter().collect::<Vec<_>>()))
            (deployment_section(zone, "Blocked deployments", "No blocked deployments.", &blocked))
        }
        (deployment_section(zone, "Into production in the next 7 days", "Nothing is scheduled into production in the next 7 days.", &coming))
    };
    Ok(Html(layout::page("Dashboard", Some(&user.session), body).into_string()))
}

/// The ids of the inbox's approvals this user may approve or reject now, as the domain lists them.
async fn decidable(s: &Service, user: &SignedIn, inbox: &Inbox) -> Result<BTreeSet<String>, PageError> {
    let mut ids = BTreeSet::new();
    for a in &inbox.approvals {
        let actions = s.approval_actions_for(&user.session.actor, &a.approval.id).await?;
        if AvailableAction::allows(&actions, "approve") || AvailableAction::allows(&actions, "reject") {
            ids.insert(a.approval.id.clone());
        }
    }
    Ok(ids)
}

async fn deployments(s: &Service, user: &SignedIn, st: DeploymentState) -> Result<Vec<DeploymentView>, PageError> {
    let filter = DeploymentFilter { states: vec![st], limit: Some(MAX_PAGE), ..Default::default() };
    Ok(s.deployments(&user.session.actor, filter).await?.items)
}

fn line_state(session: &SessionInfo, line: &Line) -> Markup {
    html! {
        section aria-labelledby="line" {
            h2 #line { "Stop the line" }
            @if line.halted {
                p.halted {
                    strong { "The line is stopped:" } " no deployment that has not started will start, except rollbacks."
                    @if let Some(r) = &line.reason { " Reason: " (r) "." }
                    @if let Some(b) = &line.by { " By " (b) }
                    @if let Some(t) = &line.at { " at " (time(session.time_zone, t)) "." }
                }
            } @else {
                p.running { "The line is running: deployments start as scheduled." }
            }
            (crate::line_forms::forms(session, line))
        }
    }
}

fn inbox_section(session: &SessionInfo, inbox: &Inbox, deciding: &BTreeSet<String>, trains: &[TrainView]) -> Markup {
    let titles: BTreeMap<&str, &str> = trains.iter().map(|t| (t.train.id.as_str(), t.train.title.as_str())).collect();
    let empty = inbox.approvals.is_empty()
        && inbox.manual_runs.is_empty()
        && inbox.criteria.is_empty()
        && inbox.milestones.is_empty();
    html! {
        section aria-labelledby="inbox" {
            h2 #inbox { "My inbox" }
            @if empty { p { "Nothing waits for you." } }
            @if !inbox.approvals.is_empty() {
                h3 { "Approvals waiting for me" }
                @for a in &inbox.approvals {
                    article.approval {
                        p {
                            strong { (a.approval.id) } " — " (approval_subject(a))
                            @if let Some(t) = titles.get(a.approval.train_id.as_str()) {
                                " (" a href={ "/trains/" (a.approval.train_id) } { (t) } ")"
                            }
                            @if let Some(l) = a.current_level { ", level " (l) " of " (a.approval.levels.len()) }
                            ", requested by " (a.approval.requested_by)
                        }
                        @if deciding.contains(&a.approval.id) { (decision_forms(session, a, "/")) }
                    }
                }
            }
            @if !inbox.manual_runs.is_empty() {
                h3 { "My manual tasks" }
                ul {
                    @for r in &inbox.manual_runs {
                        li { (r.title) " — deployment " a href={ "/deployments/" (r.deployment) } { (r.deployment) } " of turnover " a href={ "/turnovers/" (r.turnover) } { (r.turnover) } " into " (r.environment) }
                    }
                }
            }
            @if !inbox.criteria.is_empty() {
                h3 { "My open exit criteria" }
                ul {
                    @for c in &inbox.criteria {
                        li { (c.id) " " (c.title) " — " (c.gate.as_str()) " gate of "
                            a href={ "/trains/" (c.train_id) } { (c.train_id) " " (c.train_title) } }
                    }
                }
            }
            @if !inbox.milestones.is_empty() {
                h3 { "My open milestones" }
                ul {
                    @for m in &inbox.milestones {
                        li {
                            (m.title) " due " (m.due) " — " (m.owner_id) " " (m.owner_title)
                            @if m.overdue { " " (state("overdue", true)) }
                        }
                    }
                }
            }
        }
    }
}

fn trains_by_stage(trains: &[TrainView]) -> Markup {
    let mut by_stage: BTreeMap<&str, Vec<&TrainView>> = BTreeMap::new();
    for t in trains {
        by_stage.entry(t.train.state.as_str()).or_default().push(t);
    }
    html! {
        section aria-labelledby="trains" {
            h2 #trains { "Trains by stage" }
            @if trains.is_empty() { p { "No open trains." } }
            p { a href="/trains" { "Every train" } ", closed and cancelled ones too" }
            @for stage in STAGES {
                @if let Some(here) = by_stage.get(stage.as_str()) {
                    h3 { (stage.as_str().replace('_', " ")) " (" (here.len()) ")" }
                    ul {
                        @for t in here {
                            li {
                                a href={ "/trains/" (t.train.id) } { (t.train.id) " " (t.train.title) }
                                " — production " (t.train.schedule.production_date)
                            }
                        }
                    }
                }
            }
        }
    }
}

fn overdue_section(overdue: &[InboxMilestone]) -> Markup {
    html! {
        section aria-labelledby="overdue" {
            h2 #overdue { "Overdue milestones" }
            @if overdue.is_empty() { p { "No milestone is overdue." } }
            @else {
                ul {
                    @for o in overdue {
                        li {
                            @let page = if o.owner_kind == "train" { "trains" } else { "releases" };
                            a href={ "/" (page) "/" (o.owner_id) } { (o.owner_id) } " " (o.owner_title) ":"
                            " " (o.title) " — due " (o.due)
                            @if let Some(w) = &o.owner { ", owner " (w) }
                        }
                    }
                }
            }
        }
    }
}

fn deployment_section(zone: chrono_tz::Tz, title: &str, none: &str, items: &[&DeploymentView]) -> Markup {
    html! {
        section {
            h2 { (title) }
            @if items.is_empty() { p { (none) } }
            @else {
                div.table { table {
                    thead { tr { th { "Deployment" } th { "Turnover" } th { "Train" } th { "Environment" } th { "State" } th { "When / why" } } }
                    tbody {
                        @for d in items {
                            @let d = &d.deployment;
                            tr {
                                td { a href={ "/deployments/" (d.id) } { (d.id) } }
                                td { a href={ "/turnovers/" (d.turnover_id) } { (d.turnover_id) } }
                                td { a href={ "/trains/" (d.train_id) } { (d.train_id) } }
                                td { (d.environment) }
                                td { (state(d.state.as_str(), is_bad(d.state.as_str()) || d.blocked.is_some())) }
                                td {
                                    @if let Some(t) = &d.scheduled_for { (time(zone, t)) " " }
                                    @if let Some(b) = &d.blocked { "blocked: " (b) }
                                }
                            }
                        }
                    }
                } }
            }
        }
    }
}
