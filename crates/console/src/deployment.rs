//! A deployment's page: its state and times, what holds it (shown first, whether it is scheduled or
//! running: a maintenance window, or no runner with its environment's labels online), its task runs with
//! the runner that ran each and their logs, and the forms allowed now (complete a manual run, validate,
//! retry, abandon; start a scheduled one early, R11).
//!
//! Live progress without JavaScript: while the deployment is scheduled or running the page carries
//! `<meta http-equiv="refresh" content="2">`, so the browser reloads it every two seconds (polling, no
//! script); once it settles the tag is gone and the page stays still.

use axum::extract::{Path, State};
use axum::response::Html;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use railyard_domain::{AvailableAction, Deployment, TaskRun};
use railyard_service::{Service, SessionInfo};

use crate::error::PageError;
use crate::layout;
use crate::session::SignedIn;
use crate::widgets::badge;
use crate::widgets::{state, time};

/// Seconds between reloads of a deployment page while it is in progress.
pub const REFRESH_SECS: u32 = 2;

pub async fn show(State(s): State<Service>, user: SignedIn, Path(id): Path<String>) -> Result<Html<String>, PageError> {
    let d = s.deployment(&user.session.actor, &id).await?.deployment;
    let manager = s.train(&user.session.actor, &d.train_id).await?.train.manager;
    let list = s.deployment_actions_for(&user.session.actor, &id).await?;
    let allowed = |name: &str| list.iter().any(|a| a.action == name && a.allowed);
    let now = s.now();
    let title = format!("{} into {}", d.id, d.environment);
    let live = d.state.is_active();
    let body = html! {
        h1 { "Deployment " (title) }
        p #deployment-state {
            (badge(d.state.as_str())) " "
            "attempt " (d.attempt) " of turnover " a href={ "/turnovers/" (d.turnover_id) } { (d.turnover_id) }
            " (train " a href={ "/trains/" (d.train_id) } { (d.train_id) } ")"
            @if d.rollback { ", a rollback" }
            ", started by " (d.created_by)
        }
        @if let Some(b) = &d.blocked { p.waiting #blocked role="status" { (state("blocked", true)) " " (b) } }
        @if live { p.hint { "This page reloads itself every " (REFRESH_SECS) " seconds while the deployment is in progress." } }
        (facts(&d, user.session.time_zone))
        (actions(&user.session, &d, &allowed))
        (start_section(&user.session, &d, &manager, allowed("start_early"), now))
        (runs(&user.session, &d, &list))
    };
    let refresh = live.then_some(REFRESH_SECS);
    Ok(Html(layout::page_refreshing(&title, Some(&user.session), body, refresh).into_string()))
}

fn facts(d: &Deployment, zone: chrono_tz::Tz) -> Markup {
    html! {
        section aria-labelledby="facts" {
            h2 #facts { "Details" }
            dl {
                dt { "Environment" } dd { a href={ "/environments/" (d.environment) } { (d.environment) } " (stage " (d.stage + 1) ")" }
                @if let Some(at) = &d.scheduled_for { dt { "Scheduled for" } dd { (time(zone, at)) } }
                dt { "Started" } dd { @if let Some(at) = &d.started_at { (time(zone, at)) } @else { "not yet" } }
                dt { "Finished" } dd { @if let Some(at) = &d.finished_at { (time(zone, at)) } @else { "not yet" } }
                @if !d.artifacts.is_empty() { dt { "Artifacts" } dd { (d.artifacts.join(", ")) } }
                dt { "Validation" }
                dd {
                    @if let Some(v) = &d.validation {
                        (state(if v.passed { "passed" } else { "failed" }, !v.passed)) " by " (v.by) " at " (time(zone, &v.at))
                        @if !v.note.is_empty() { ": " (v.note) }
                    } @else { "not validated" }
                }
                @if !d.conflicts.is_empty() { dt { "Conflicts" } dd { (d.conflicts.join("; ")) } }
            }
        }
    }
}

/// The task runs; a manual run has its done and failed forms when the deployment's available actions
/// allow `complete_run` on it (waiting for its owner, who is this user, or a release engineer: R15).
fn runs(session: &SessionInfo, d: &Deployment, list: &[AvailableAction]) -> Markup {
    html! {
        section aria-labelledby="runs" {
            h2 #runs { "Task runs" }
            div.table { table {
                thead { tr { th { "Sequence" } th { "Task" } th { "State" } th { "Attempts" } th { "Runner" } th { "Message" } th { "Log" } } }
                tbody {
                    @for r in &d.runs {
                        tr.run data-run=(r.id) {
                            td { (r.sequence) }
                            td { (run_label(&r.id)) ": " (r.title) @if let Some(o) = &r.owner { br; small { "manual, by " (o) } } }
                            td { (badge(r.state.as_str())) }
                            td { (r.attempts) }
                            td { (r.runner.as_deref().unwrap_or("built-in")) }
                            td {
                                (r.message)
                                @if AvailableAction::allows_on(list, "complete_run", &r.id) { (complete_forms(session, d, r)) }
                            }
                            td { a href={ "/deployments/" (d.id) "/runs/" (r.id) "/log" } { "Log of " (run_label(&r.id)) } }
                        }
                    }
                }
            } }
        }
    }
}

fn complete_forms(session: &SessionInfo, d: &Deployment, r: &TaskRun) -> Markup {
    let action = format!("/deployments/{}/runs/{}/complete", d.id, r.id);
    html! {
        form.action method="post" action=(action) {
            (crate::forms::csrf_field(session))
            input type="hidden" name="outcome" value="done";
            label { "Note (optional)" input name="note"; }
            button type="submit" { "Done" }
        }
        form.action method="post" action=(action) {
            (crate::forms::csrf_field(session))
            input type="hidden" name="outcome" value="failed";
            label { "What went wrong" input name="note" required; }
            button.secondary type="submit" { "Failed" }
        }
    }
}

/// Validate, retry and abandon: those the domain lists as allowed for this user
/// (`Service::deployment_actions_for`).
fn actions(session: &SessionInfo, d: &Deployment, allowed: &dyn Fn(&str) -> bool) -> Markup {
    let validate = allowed("validate");
    let retry = allowed("retry");
    let abandon = allowed("abandon");
    let base = format!("/deployments/{}", d.id);
    let csrf = crate::forms::csrf_field(session);
    html! {
        @if validate || retry || abandon {
            section aria-labelledby="actions" {
                h2 #actions { "Actions" }
                @if validate {
                    form.action method="post" action={ (base) "/validate" } {
                        (csrf)
                        label { "Outcome"
                            select name="outcome" { option value="pass" { "passed" } option value="fail" { "failed" } }
                        }
                        label { "Note" input name="note"; }
                        button type="submit" { "Validate" }
                    }
                }
                @if retry {
                    form.action method="post" action={ (base) "/retry" } {
                        (csrf)
                        button type="submit" { "Retry" }
                    }
                }
                @if abandon {
                    form.action method="post" action={ (base) "/abandon" } {
                        (csrf)
                        button.secondary type="submit" { "Abandon" }
                    }
                }
            }
        }
    }
}

/// A scheduled deployment that has not started: before its time, the train's manager may start it early
/// (the override ticked, with a reason: R11); once its time has come the engine starts it. `early` is
/// whether the domain lists starting early as allowed for this user.
fn start_section(session: &SessionInfo, d: &Deployment, manager: &str, early: bool, now: DateTime<Utc>) -> Markup {
    let Some(at) = d.scheduled_for.filter(|_| d.awaits_start()) else { return html! {} };
    html! {
        section aria-labelledby="start" {
            h2 #start { "Start" }
            @if at <= now {
                p role="status" { "Its time has come: the engine starts it as soon as nothing holds it"
                    @if let Some(b) = &d.blocked { " (now held: " (b) ")" } "." }
            } @else {
                p { "The engine starts it at " (time(session.time_zone, &at)) "." }
                @if early {
                    form.action method="post" action={ "/deployments/" (d.id) "/start" } {
                        (crate::forms::csrf_field(session))
                        label { input type="checkbox" name="override" value="yes"; "Override the scheduled time (a reason is required)" }
                        label { "Reason" input name="reason" required; }
                        button type="submit" { "Start early" }
                    }
                } @else {
                    p.hint { "Only the train's manager (" (manager) ") may start it before then." }
                }
            }
        }
    }
}

/// How a task run is named on the page: "run 3" for the run `R3` (its id in addresses and the API).
fn run_label(id: &str) -> String {
    match id.strip_prefix('R') {
        Some(n) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => format!("run {n}"),
        _ => id.to_string(),
    }
}

/// A run's captured output, line by line with its times.
pub async fn log(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, run)): Path<(String, String)>,
) -> Result<Html<String>, PageError> {
    let log = s.run_log(&user.session.actor, &id, &run, None).await?;
    // While the run is going the page shows its output so far and reloads itself, like the deployment's.
    let d = s.deployment(&user.session.actor, &id).await?.deployment;
    let running = d.runs.iter().any(|r| r.id == run && r.state == railyard_domain::RunState::Running);
    let title = format!("Log of {} in {} (attempt {})", run_label(&log.run), log.deployment, log.attempt);
    let zone = user.session.time_zone;
    let body = html! {
        h1 { (title) }
        p { a href={ "/deployments/" (log.deployment) } { "Back to deployment " (log.deployment) } }
        @if running { p.running role="status" { "Running: the output so far. This page reloads every 2 seconds." } }
        section aria-labelledby="lines" {
            h2 #lines { "Output" }
            @if log.lines.is_empty() { p { "Nothing was captured (yet)." } }
            @else {
                div.table { table {
                    thead { tr { th { "Time" } th { "Stream" } th { "Text" } } }
                    tbody {
                        @for l in &log.lines {
                            tr {
                                td {
                                    @match l["at"].as_str().map(chrono::DateTime::parse_from_rfc3339) {
                                        Some(Ok(at)) => (crate::widgets::time_precise(zone, &at.with_timezone(&Utc))),
                                        _ => (l["at"].as_str().unwrap_or("")),
                                    }
                                }
                                td { (l["stream"].as_str().unwrap_or("")) }
                                td { code { (l["text"].as_str().unwrap_or("")) } }
                            }
                        }
                    }
                } }
            }
        }
    };
    Ok(Html(layout::page_refreshing(&title, Some(&user.session), body, running.then_some(2)).into_string()))
}
