//! A turnover's page: what it carries, its deployment path as a board (one column per stage, each with
//! its deployments), its tasks in their sequence groups, the actions allowed right now, and (for those
//! who may change it) its edit, work item, task and cancel forms.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::Html;
use maud::{Markup, html};
use railyard_domain::action::Action;
use railyard_domain::{AvailableAction, Deployment, RunbookState, Task, Turnover, TurnoverKind};
use railyard_service::{DeploymentFilter, DeploymentView, MAX_PAGE, Service, TurnoverFilter};

use crate::error::PageError;
use crate::session::SignedIn;
use crate::task_forms::{self, TaskChoices};
use crate::turnover_forms as forms;
use crate::widgets::badge;
use crate::widgets::time;
use crate::{layout, production_forms, turnover_actions};

pub async fn show(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(unfold): Query<crate::forms::Unfold>,
) -> Result<Html<String>, PageError> {
    let session = &user.session;
    let actor = &session.actor;
    let view = s.turnover(actor, &id).await?;
    let (t, version) = (view.turnover, view.meta.version);
    let filter = DeploymentFilter { turnover: Some(t.id.clone()), limit: Some(MAX_PAGE), ..Default::default() };
    let deployments = s.deployments(actor, filter).await?.items;
    let mut releases = Vec::new();
    for r in &t.releases {
        releases.push((s.release(actor, r).await?.release, s.release_actions_for(actor, r).await?));
    }
    let actions = s.turnover_actions_for(actor, &id).await?;
    // The latest deployment on the board, with its own actions (validate, retry, abandon).
    let latest = match turnover_actions::latest(&t, &deployments) {
        Some(d) => Some((d.clone(), s.deployment_actions_for(actor, &d.id).await?)),
        None => None,
    };
    let items = forms::release_work_items(&s, session, &t).await?;
    let editable = AvailableAction::allows(&actions, "edit");
    let (mut users, mut others, mut runbooks) = (Vec::new(), Vec::new(), Vec::new());
    if editable {
        users = crate::people::active(&s, &session.actor).await?;
        let filter = TurnoverFilter { train: Some(t.train_id.clone()), limit: Some(MAX_PAGE), ..Default::default() };
        others = s.turnovers(actor, filter).await?.items;
        runbooks = s.runbooks(actor, Some(RunbookState::Accepted), Some(MAX_PAGE), None).await?.items;
    }
    let production = t.kind == TurnoverKind::ProductionReady;
    let order = match production && !t.tasks.is_empty() {
        true => Some(s.proposed_order(actor, &t.id, Vec::new()).await?),
        false => None,
    };
    let choices = TaskChoices {
        users: &users,
        environments: t.stages.iter().map(|st| st.environment.as_str()).collect(),
        version,
    };
    let title = format!("{} {}", t.id, t.title);
    let body = html! {
        h1 { (title) }
        p {
            (badge(t.state.as_str())) " "
            (kind(t.kind)) " turnover of train " a href={ "/trains/" (t.train_id) } { (t.train_id) }
            ", assembled by " (t.developer)
            @if let Some(why) = &t.frozen { "; frozen: " (why) }
            @if let Some(r) = &t.cancel_reason { "; cancelled: " (r) }
            @if let Some(f) = &t.from_turnover { "; started from " a href={ "/turnovers/" (f) } { (f) } }
        }
        @if !t.description.is_empty() { p { (t.description) } }
        (production_forms::from_this_link(&t, AvailableAction::allows(&actions, "create_production")))
        (board(&t, &deployments, user.session.time_zone))
        (turnover_actions::actions(session, &t, &deployments, &actions, latest.as_ref(), &releases, s.now()))
        (contents(&t))
        (forms::work_items_section(session, &t, &items, editable))
        (tasks(&t, editable.then(|| task_forms::forms(session, &t, &choices, &others, &runbooks))))
        @if let Some(o) = &order { (production_forms::proposed_order_section(session, &t, o, editable)) }
        @if editable { (forms::edit_section(session, &t, version, &users, unfold.open())) }
        (forms::cancel_section(session, &t, &actions))
    };
    Ok(Html(layout::page(&title, Some(session), body).into_string()))
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
                        @if let Some(l) = a.link.as_deref().filter(|l| l.starts_with("https://") || l.starts_with("http://")) {
                            " (" a href=(l) rel="noopener noreferrer" { (l) } ")"
                        }
                    }
                }
                @if let Some(by) = &t.delivered_by { dt { "Delivered by" } dd { (by) } }
                @if let Some(by) = &t.accepted_by { dt { "Accepted by" } dd { (by) } }
                @if let Some(r) = &t.rejection { dt { "Sent back by release engineering" } dd { (r) } }
            }
        }
    }
}

/// The deployment path as a board: one column per stage, each listing that stage's deployments.
fn board(t: &Turnover, deployments: &[DeploymentView], zone: chrono_tz::Tz) -> Markup {
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
                                    " " (badge(d.state.as_str()))
                                    @if let Some(at) = &d.scheduled_for { br; "scheduled for " (time(zone, at)) }
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

/// The tasks, one small table per sequence number (tasks of one number run in parallel); then the task
/// forms, when the user may change them.
fn tasks(t: &Turnover, forms: Option<Markup>) -> Markup {
    let mut groups: BTreeMap<u32, Vec<&Task>> = BTreeMap::new();
    for task in &t.tasks {
        groups.entry(task.sequence).or_default().push(task);
    }
    html! {
        section aria-labelledby="tasks" {
            h2 #tasks { "Tasks" }
            @if groups.is_empty() { p { "No tasks yet." } }
            @if let Some(why) = &t.frozen { p.hint { "Its tasks and artifacts no longer change: " (why) "." } }
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
            @if let Some(f) = forms { (f) }
        }
    }
}
