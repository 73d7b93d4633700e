//! The actions section of a turnover's page: only what this user may do right now. Standard turnovers:
//! deploy into the first stage, promote into the next (skipping optional stages when asked), redeploy
//! after a failure, and validate, retry or abandon the latest deployment; production-ready ones:
//! deliver, accept, reject, schedule, verify, roll back. And sending a release back to construction.

use chrono::{DateTime, Duration, Timelike, Utc};
use maud::{Markup, html};
use railyard_domain::{ApplicationRelease, AvailableAction, Deployment, NextStage, Turnover};
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

/// The latest deployment of the turnover's current generation on its path, if any: the one the board's
/// validate, retry and abandon buttons act on.
pub fn latest<'a>(t: &Turnover, deployments: &'a [DeploymentView]) -> Option<&'a Deployment> {
    newest(t, deployments.iter().map(|d| &d.deployment)).filter(|d| d.stage < t.stages.len())
}

/// The newest deployment of the turnover's current generation: furthest along, then the last attempt.
fn newest<'a>(t: &Turnover, deployments: impl Iterator<Item = &'a Deployment>) -> Option<&'a Deployment> {
    deployments.filter(|d| d.generation == t.generation).max_by_key(|d| (d.stage, d.attempt))
}

/// The words of a deploy button: into the first stage, a promotion past the last one, or a redeploy.
fn deploy_label(t: &Turnover, n: &NextStage, last: Option<&Deployment>) -> String {
    let env = environment(t, n.stage);
    match last {
        _ if n.attempt > 1 => format!("Deploy to {env} again (attempt {})", n.attempt),
        Some(d) if n.stage > d.stage => {
            format!("Deploy to {env} (promote from {})", d.environment)
        }
        _ => format!("Deploy to {env} (first stage)"),
    }
}

/// Deploy, promote or redeploy, as R8 allows now; with the optional stages that may be skipped on the
/// way as further buttons.
/// `deploy` is the domain's verdict on deploying now: refused, its guards stand instead of the buttons.
/// `latest` is the latest deployment with its own available actions (`Service::deployment_actions_for`).
fn deploy_forms(
    session: &SessionInfo,
    t: &Turnover,
    deployments: &[DeploymentView],
    deploy: &AvailableAction,
    latest: Option<&(Deployment, Vec<AvailableAction>)>,
) -> Markup {
    let past = past(deployments);
    let last = newest(t, past.iter());
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
        @if let Some((d, list)) = latest { (latest_forms(session, t, d, list)) }
    }
}

/// Validate, retry or abandon the latest deployment from the board, as its available actions `list`
/// allow, coming back here afterwards.
fn latest_forms(session: &SessionInfo, t: &Turnover, d: &Deployment, list: &[AvailableAction]) -> Markup {
    let base = format!("/deployments/{}", d.id);
    let back = format!("/turnovers/{}", t.id);
    html! {
        @if AvailableAction::allows(list, "validate") {
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
        @if AvailableAction::allows(list, "retry") {
            form.action method="post" action={ (base) "/retry" } {
                (csrf_field(session))
                input type="hidden" name="back" value=(back);
                button type="submit" { "Retry " (d.id) " in " (d.environment) }
            }
        }
        @if AvailableAction::allows(list, "abandon") {
            form.action method="post" action={ (base) "/abandon" } {
                (csrf_field(session))
                input type="hidden" name="back" value=(back);
                button.secondary type="submit" { "Abandon " (d.id) }
            }
        }
    }
}

/// The turnover's environments in which `list` allows `action` (`on` each environment).
fn environments_allowing<'a>(t: &'a Turnover, list: &[AvailableAction], action: &str) -> Vec<&'a str> {
    t.stages.iter().map(|s| s.environment.as_str()).filter(|e| AvailableAction::allows_on(list, action, e)).collect()
}

/// The actions this user may take on the turnover right now, as forms. Deploy, deliver, accept and reject
/// are the domain's available actions of the turnover (`Service::turnover_actions_for`), `actions`; the
/// send-back forms those of its releases (`Service::release_actions_for`), `releases` with their lists;
/// schedule, verify and roll back are listed on each environment. `latest` is the latest deployment on
/// the board with its own actions.
pub fn actions(
    session: &SessionInfo,
    t: &Turnover,
    deployments: &[DeploymentView],
    actions: &[AvailableAction],
    latest: Option<&(Deployment, Vec<AvailableAction>)>,
    releases: &[(ApplicationRelease, Vec<AvailableAction>)],
    now: DateTime<Utc>,
) -> Markup {
    let base = format!("/turnovers/{}", t.id);
    let listed = |name: &str| actions.iter().find(|x| x.action == name);
    let deploy = listed("deploy").filter(|x| x.allowed || waiting(x));
    let deliver = listed("deliver").is_some_and(|x| x.allowed);
    let accept = listed("accept").is_some_and(|x| x.allowed);
    let reject = listed("reject").is_some_and(|x| x.allowed);
    let review = accept || reject;
    let scheduled = environments_allowing(t, actions, "schedule_production");
    let verified = environments_allowing(t, actions, "verify_production");
    let failed = environments_allowing(t, actions, "rollback");
    let (schedule, verify) = (!scheduled.is_empty(), !verified.is_empty());
    let send_back: Vec<&ApplicationRelease> = releases
        .iter()
        .filter(|(_, list)| list.iter().any(|x| x.action == "send_back" && x.allowed))
        .map(|(r, _)| r)
        .collect();
    // The schedule form proposes the next full hour.
    let next_hour = (now + Duration::hours(1)).with_minute(0).unwrap_or(now);
    let csrf = csrf_field(session);
    html! {
        @if deploy.is_some() || deliver || review || schedule || verify || !failed.is_empty() || !send_back.is_empty() {
            section aria-labelledby="actions" {
                h2 #actions { "Actions" }
                @if let Some(d) = deploy { (deploy_forms(session, t, deployments, d, latest)) }
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
                        label { "Environment" select name="environment" { @for e in &scheduled { option value=(e) { (e) } } } }
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
                                @for e in &verified { option value=(e) { (e) } }
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
