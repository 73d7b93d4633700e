//! The actions section of a turnover's page: only what this user may do right now. Standard turnovers:
//! deploy into the first stage, promote into the next (skipping optional stages when asked), redeploy
//! after a failure, and validate, retry or abandon the latest deployment; production-ready ones:
//! deliver, accept, reject, schedule, verify, roll back. And sending a release back to construction.

use chrono::{DateTime, Duration, Timelike, Utc};
use maud::{Markup, html};
use railyard_domain::{
    ApplicationRelease, AvailableAction, Deployment, DeploymentState, NextStage, Operation, Turnover, TurnoverKind,
    TurnoverState,
};
use railyard_service::{DeploymentView, SessionInfo};

use crate::available::waiting;
use crate::forms::{csrf_field, datetime_local};
use crate::widgets::zone_hint;

/// The turnover's deployments as the domain sees them.
fn past(deployments: &[DeploymentView]) -> Vec<Deployment> {
    deployments.iter().map(|d| d.deployment.clone()).collect()
}

fn environment(t: &Turnover, stage: usize) -> &str {
    t.stages.get(stage).map(|st| st.environment.as_str()).unwrap_or("the next stage")
}

/// The words of a deploy button: into the first stage, a promotion, or a redeploy.
fn deploy_label(t: &Turnover, n: &NextStage, last: Option<&Deployment>) -> String {
    let env = environment(t, n.stage);
    match last {
        _ if n.attempt > 1 => format!("Deploy to {env} again (attempt {})", n.attempt),
        Some(d) if d.state == DeploymentState::Validated => {
            format!("Deploy to {env} (promote from {})", d.environment)
        }
        _ => format!("Deploy to {env} (first stage)"),
    }
}

/// Deploy, promote or redeploy, as R8 allows now; with the optional stages that may be skipped on the
/// way as further buttons.
/// `deploy` is the domain's verdict on deploying now: refused, its guards stand instead of the buttons.
fn deploy_forms(
    session: &SessionInfo,
    t: &Turnover,
    deployments: &[DeploymentView],
    deploy: &AvailableAction,
) -> Markup {
    let past = past(deployments);
    let last = past.iter().filter(|d| d.generation == t.generation).max_by_key(|d| (d.stage, d.attempt));
    let next = t.next_stage(&past, &[]);
    let refused: Vec<&str> = deploy.guards.iter().map(|g| g.message.as_str()).collect();
    // Optional stages from the next one on may be skipped, each with those before it.
    let mut skips: Vec<(Vec<String>, NextStage)> = Vec::new();
    if let Ok(n) = &next {
        let mut skip = Vec::new();
        for st in t.stages.iter().skip(n.stage).take_while(|st| !st.required) {
            skip.push(st.environment.clone());
            if let Ok(m) = t.next_stage(&past, &skip)
                && m.stage != n.stage
            {
                skips.push((skip.clone(), m));
            }
        }
    }
    let action = format!("/turnovers/{}/deploy", t.id);
    html! {
        @match &next {
            _ if !deploy.allowed => { p.hint { "Nothing to deploy now: " (refused.join("; ")) } }
            Ok(n) => {
                form.action method="post" action=(action) {
                    (csrf_field(session))
                    button type="submit" { (deploy_label(t, n, last)) }
                }
                @for (skip, m) in &skips {
                    form.action method="post" action=(action) {
                        (csrf_field(session))
                        input type="hidden" name="skip" value=(skip.join(","));
                        button.secondary type="submit" { "Skip " (skip.join(", ")) " and deploy to " (environment(t, m.stage)) }
                    }
                }
            }
            Err(why) => { p.hint { "Nothing to deploy now: " (why) } }
        }
        @if let Some(d) = last.filter(|d| d.stage < t.stages.len()) { (latest_forms(session, t, d)) }
    }
}

/// Validate, retry or abandon the latest deployment from the board, coming back here afterwards.
fn latest_forms(session: &SessionInfo, t: &Turnover, d: &Deployment) -> Markup {
    let base = format!("/deployments/{}", d.id);
    let back = format!("/turnovers/{}", t.id);
    html! {
        @if d.state == DeploymentState::Succeeded {
            form.action method="post" action={ (base) "/validate" } {
                (csrf_field(session))
                input type="hidden" name="back" value=(back);
                label { "Validation of " (d.id) " in " (d.environment)
                    select name="outcome" { option value="pass" { "passed" } option value="fail" { "failed" } }
                }
                label { "Note (required when it failed)" input name="note"; }
                button type="submit" { "Validate " (d.id) }
            }
        }
        @if d.state == DeploymentState::Failed {
            form.action method="post" action={ (base) "/retry" } {
                (csrf_field(session))
                input type="hidden" name="back" value=(back);
                button type="submit" { "Retry " (d.id) " in " (d.environment) }
            }
        }
        @if matches!(d.state, DeploymentState::Failed | DeploymentState::Scheduled) {
            form.action method="post" action={ (base) "/abandon" } {
                (csrf_field(session))
                input type="hidden" name="back" value=(back);
                button.secondary type="submit" { "Abandon " (d.id) }
            }
        }
    }
}

/// The environments whose latest production deployment failed (and is not a rollback): those a
/// rollback may follow.
fn failed_environments<'a>(t: &'a Turnover, past: &[Deployment]) -> Vec<&'a str> {
    t.stages
        .iter()
        .map(|s| s.environment.as_str())
        .filter(|e| {
            t.latest_in(e, past)
                .is_some_and(|d| !d.rollback && matches!(d.state, DeploymentState::Failed | DeploymentState::Rejected))
        })
        .collect()
}

/// The actions this user may take on the turnover right now, as forms. Deploy, deliver, accept and reject
/// are the domain's available actions of the turnover (`Service::turnover_actions_for`), `actions`; the
/// send-back forms those of its releases (`Service::release_actions_for`), `releases` with their lists.
pub fn actions(
    session: &SessionInfo,
    t: &Turnover,
    deployments: &[DeploymentView],
    actions: &[AvailableAction],
    releases: &[(ApplicationRelease, Vec<AvailableAction>)],
    now: DateTime<Utc>,
) -> Markup {
    let a = &session.actor;
    let production = t.kind == TurnoverKind::ProductionReady;
    let base = format!("/turnovers/{}", t.id);
    let listed = |name: &str| actions.iter().find(|x| x.action == name);
    let deploy = listed("deploy").filter(|x| x.allowed || waiting(x));
    let deliver = listed("deliver").is_some_and(|x| x.allowed);
    let accept = listed("accept").is_some_and(|x| x.allowed);
    let reject = listed("reject").is_some_and(|x| x.allowed);
    let review = accept || reject;
    let schedule = production
        && a.may(Operation::Deploy)
        && matches!(t.state, TurnoverState::Accepted | TurnoverState::Deploying | TurnoverState::RolledBack);
    let verify = production
        && a.may(Operation::Deploy)
        && matches!(t.state, TurnoverState::Deploying | TurnoverState::Deployed)
        && deployments.iter().any(|d| d.deployment.state == DeploymentState::Succeeded);
    let failed =
        if production && a.may(Operation::Deploy) { failed_environments(t, &past(deployments)) } else { vec![] };
    let send_back: Vec<&ApplicationRelease> = releases
        .iter()
        .filter(|(_, list)| list.iter().any(|x| x.action == "send_back" && x.allowed))
        .map(|(r, _)| r)
        .collect();
    // The schedule form proposes the next full hour.
    let next_hour = (now + Duration::hours(1)).with_minute(0).unwrap_or(now);
    let csrf = csrf_field(session);
    let envs: Vec<&str> = t.stages.iter().map(|s| s.environment.as_str()).collect();
    html! {
        @if deploy.is_some() || deliver || review || schedule || verify || !failed.is_empty() || !send_back.is_empty() {
            section aria-labelledby="actions" {
                h2 #actions { "Actions" }
                @if let Some(d) = deploy { (deploy_forms(session, t, deployments, d)) }
                @if deliver {
                    form.action method="post" action={ (base) "/deliver" } {
                        (csrf)
                        button type="submit" { "Deliver to release engineering" }
                    }
                }
                @if accept {
                    form.action method="post" action={ (base) "/accept" } {
                        (csrf)
                        button type="submit" { "Accept" }
                    }
                }
                @if reject {
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
                        label { "Start (" (zone_hint(session.time_zone)) ")" input type="datetime-local" name="at" required value=(datetime_local(&next_hour, session.time_zone)); }
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
                @if !failed.is_empty() {
                    form.action method="post" action={ (base) "/rollback" } {
                        (csrf)
                        label { "Roll back in" select name="environment" { @for e in &failed { option value=(e) { (e) } } } }
                        label { "Reason" input name="reason" required; }
                        button.secondary type="submit" { "Roll back" }
                    }
                }
                @for r in &send_back {
                    form.action method="post" action={ "/releases/" (r.id) "/send-back" } {
                        (csrf)
                        input type="hidden" name="back" value=(base);
                        label { "Why " (r.id) " goes back to construction" input name="reason" required; }
                        button.secondary type="submit" { "Send " (r.id) " back to construction" }
                    }
                }
            }
        }
    }
}
