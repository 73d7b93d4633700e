//! A train's page: its stage, gates with their exit criteria, approvals and their levels, milestones,
//! and the application releases riding it.

use axum::extract::{Path, State};
use axum::response::Html;
use maud::{Markup, html};
use railyard_domain::available::criterion_part;
use railyard_domain::{AvailableAction, ExitCriterion, GateName, Train, Verdict};
use railyard_service::{
    ApprovalFilter, ApprovalView, MAX_PAGE, ReleaseFilter, ReleaseView, Service, SessionInfo, TrainView,
};

use crate::dashboard::STAGES;
use crate::error::PageError;
use crate::gate_forms::{self, Choices};
use crate::layout;
use crate::session::SignedIn;
use crate::widgets::badge;
use crate::widgets::{approval_subject, decision_forms, state, time};

/// What a page of the train decides its forms from: the signed-in user and the train's actions for them.
pub struct Allowed<'a> {
    pub session: &'a SessionInfo,
    pub actions: &'a [AvailableAction],
}
use crate::{milestone_forms, train_actions, train_forms};

pub async fn show(State(s): State<Service>, user: SignedIn, Path(id): Path<String>) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let train = s.train(actor, &id).await?;
    let filter = ApprovalFilter { train: Some(id.clone()), limit: Some(MAX_PAGE), ..Default::default() };
    let mut approvals = Vec::new();
    for a in s.approvals(actor, filter).await?.items {
        let actions = s.approval_actions_for(actor, &a.approval.id).await?;
        approvals.push((a, actions));
    }
    let filter = ReleaseFilter { train: Some(id.clone()), limit: Some(MAX_PAGE), ..Default::default() };
    let releases = s.releases(actor, filter).await?.items;
    let timeline = s.timeline(actor, &id).await?;
    let actions = s.train_actions_for(actor, &id).await?;
    let conflicts = s.train_conflicts(actor, &id).await?;
    // R9 readiness of each accepted release (those in verification or beyond are what executive
    // approval waits on).
    let mut readiness = Vec::new();
    for r in &releases {
        readiness.push(s.verification(actor, &r.release.id).await?);
    }
    let choices = Choices::load(&s, &user.session, &actions).await?;
    let allowed = Allowed { session: &user.session, actions: &actions };
    let t = &train.train;
    let title = format!("{} {}", t.id, t.title);
    let back = format!("/trains/{}", t.id);
    let body = html! {
        h1 { (title) }
        p {
            (badge(t.state.as_str())) " "
            (t.release_type.as_str()) " release, managed by " (t.manager)
            @if !t.purpose.is_empty() { ". " (t.purpose) }
        }
        (stages(&train))
        (train_actions::lifecycle_section(&user.session, &train, &actions))
        @if let Some(chart) = crate::gantt::chart(&timeline, s.now()) {
            section aria-labelledby="timeline" {
                h2 #timeline { "Timeline" }
                p.hint { "Planned (outlined) against actual (filled); gates and milestones as diamonds; arrows run from a release to those that depend on it; the dashed line is today." }
                (chart)
            }
        }
        (gates(&allowed, &train, &choices))
        (approvals_section(&user.session, &approvals, &back))
        (milestones(&allowed, &train, &choices))
        (releases_section(&releases, &readiness))
        p {
            @if AvailableAction::allows(&actions, "add_release") {
                a href={ "/releases/new?train=" (t.id) } { "New application release" } " · "
            }
            a href={ "/turnovers?train=" (t.id) } { "Turnovers of " (t.id) }
            @if AvailableAction::allows(&actions, "add_turnover") {
                " · " a href={ "/turnovers/new-production?train=" (t.id) } { "New production-ready turnover" }
            }
        }
        (conflicts_section(&conflicts))
        (train_forms::copy_form(&user.session, t, &actions))
    };
    Ok(Html(layout::page(&title, Some(&user.session), body).into_string()))
}

fn stages(train: &TrainView) -> Markup {
    let t = &train.train;
    let sc = &t.schedule;
    html! {
        section aria-labelledby="stage" {
            h2 #stage { "Stage" }
            // Past its stages (closed or cancelled): words, not a decision.
            @if !STAGES.contains(&t.state) {
                p { "This train is " (t.state.as_str()) "." @if let Some(r) = &t.cancel_reason { " Reason: " (r) } }
            } @else {
                ol.stages {
                    @for st in STAGES {
                        li aria-current=[(st == t.state).then_some("step")] { (st.as_str().replace('_', " ")) }
                    }
                }
            }
            p {
                "Starts " (sc.start) "; scoping ends " (sc.scoping_end) "; construction ends " (sc.construction_end)
                "; verification ends " (sc.verification_end) "; production " (sc.production_date) "."
            }
        }
    }
}

/// The meet and waive forms of an exit criterion, as the domain lists them for this user.
fn criterion_forms(allowed: &Allowed, t: &Train, g: GateName, c: &ExitCriterion) -> Markup {
    let session = allowed.session;
    let base = format!("/trains/{}/criteria/{}", t.id, c.id);
    let part = criterion_part(g, &c.id);
    html! {
        @if AvailableAction::allows_on(allowed.actions, "meet_criterion", &part) {
            form.action method="post" action={ (base) "/meet" } {
                (crate::forms::csrf_field(session))
                label { "Evidence" input name="note" required; }
                label { "Link (optional)" input type="url" name="link"; }
                button type="submit" { "Meet " (c.id) }
            }
        }
        @if AvailableAction::allows_on(allowed.actions, "waive_criterion", &part) {
            form.action method="post" action={ (base) "/waive" } {
                (crate::forms::csrf_field(session))
                label { "Reason for waiving" input name="reason" required; }
                button.secondary type="submit" { "Waive " (c.id) }
            }
        }
    }
}

fn gates(allowed: &Allowed, train: &TrainView, choices: &Choices) -> Markup {
    let t = &train.train;
    html! {
        section aria-labelledby="gates" {
            h2 #gates { "Gates" }
            @for g in GateName::ALL {
                @let gate = t.gates.get(g);
                @let status = train.gate_status.iter().find(|s| s.gate == g);
                h3 {
                    (g.as_str()) " gate "
                    @if status.is_some_and(|s| s.passed) { span.state.good { "passed" } } @else { (state("not passed", true)) }
                    @if gate.approval_required { " — needs a gate approval" }
                }
                @if gate.criteria.is_empty() { p { "No exit criteria." } }
                @else {
                    div.table { table {
                        caption.sr { "Exit criteria of the " (g.as_str()) " gate" }
                        thead { tr { th { "Criterion" } th { "Owner" } th { "State" } th { "Evidence or reason" } } }
                        tbody {
                            @for c in &gate.criteria {
                                tr {
                                    td { (c.id) " " (c.title) @if let Some(e) = &c.environment { " (" (e) ")" } }
                                    td { (c.owner.as_deref().unwrap_or("—")) }
                                    // An open criterion is what the gate still waits on: its word marks it.
                                    td { (state(c.state.as_str(), c.state.as_str() == "open")) }
                                    td {
                                        @if let Some(e) = &c.evidence {
                                            (e.note) " "
                                            @if let Some(l) = &e.link {
                                                @if l.starts_with("https://") || l.starts_with("http://") {
                                                    a href=(l) rel="noopener noreferrer" { (l) }
                                                } @else { (l) }
                                            }
                                        }
                                        @if let Some(r) = &c.waive_reason { "waived: " (r) }
                                        (criterion_forms(allowed, t, g, c))
                                        (gate_forms::criterion_controls(allowed, t, g, c))
                                    }
                                }
                            }
                        }
                    } }
                }
                @if let Some(s) = status.filter(|s| !s.passed) {
                    ul.guards { @for u in &s.unmet { li { (u.message) } } }
                }
                (gate_forms::gate_controls(allowed, train, g, choices))
            }
        }
    }
}

/// The train's approvals; each one's approve, reject and override forms are those the domain lists as
/// allowed for this user (`Service::approval_actions_for`).
fn approvals_section(session: &SessionInfo, approvals: &[(ApprovalView, Vec<AvailableAction>)], back: &str) -> Markup {
    html! {
        section aria-labelledby="approvals" {
            h2 #approvals { "Approvals" }
            @if approvals.is_empty() { p { "No approval was requested yet." } }
            @for (a, actions) in approvals {
                @let ap = &a.approval;
                @let allowed = |name: &str| actions.iter().any(|x| x.action == name && x.allowed);
                article.approval {
                    h3 { (ap.id) " — " (approval_subject(a)) " " (badge(ap.state.as_str())) }
                    p { "Requested by " (ap.requested_by) " at " (time(session.time_zone, &ap.requested_at))
                        @if !a.waiting_for.is_empty() { "; waiting for " (a.waiting_for.join(", ")) } }
                    ol {
                        @for (i, l) in ap.levels.iter().enumerate() {
                            li aria-current=[(a.current_level == Some(i + 1)).then_some("step")] {
                                "Level " (i + 1) " — needs " (l.required) " of: " (l.approvers.join(", "))
                                @for d in ap.decisions.iter().filter(|d| d.level == i + 1) {
                                    br; (d.user) " " (decided(d.verdict))
                                    @if let Some(c) = &d.comment { ": “" (c) "”" }
                                }
                            }
                        }
                    }
                    @if let Some(r) = &ap.override_reason { p { "Overridden: " (r) } }
                    @if allowed("approve") || allowed("reject") { (decision_forms(session, a, back)) }
                    @if allowed("override") { (train_actions::override_form(session, a)) }
                }
            }
        }
    }
}

fn decided(v: Verdict) -> &'static str {
    match v {
        Verdict::Approve => "approved",
        Verdict::Reject => "rejected",
    }
}

fn milestones(allowed: &Allowed, train: &TrainView, choices: &Choices) -> Markup {
    let session = allowed.session;
    let t = &train.train;
    html! {
        section aria-labelledby="milestones" {
            h2 #milestones { "Milestones" }
            @if t.milestones.is_empty() { p { "No milestones." } }
            @else {
                div.table { table {
                    thead { tr { th { "Milestone" } th { "Due" } th { "Owner" } th { "State" } th { span.sr { "Actions" } } } }
                    tbody {
                        @for m in &t.milestones {
                            @let overdue = train.overdue_milestones.contains(&m.id);
                            tr {
                                td { (m.id) " " (m.title) @if m.inherit { " (inherited by the releases)" } }
                                td { (m.due) }
                                td { (m.owner.as_deref().unwrap_or("—")) }
                                td {
                                    (badge(if overdue { "overdue" } else { m.state.as_str() }))
                                    @if let Some(at) = &m.decided_at { " " (time(session.time_zone, at)) }
                                }
                                td { (milestone_forms::milestone_controls(allowed, t, m)) }
                            }
                        }
                    }
                } }
            }
            (milestone_forms::add_form(allowed, t, &choices.people))
        }
    }
}

/// R5: dependencies scheduled to end after their dependent starts.
fn conflicts_section(conflicts: &[railyard_domain::Conflict]) -> Markup {
    html! {
        section aria-labelledby="conflicts" {
            h2 #conflicts { "Schedule conflicts" }
            @if conflicts.is_empty() { p { "None: every dependency ends before its dependent starts." } }
            @else {
                ul {
                    @for c in conflicts {
                        li.bad {
                            a href={ "/releases/" (c.dependent) } { (c.dependent) } " " (c.dependent_title)
                            " starts " (c.dependent_start) " but depends on "
                            a href={ "/releases/" (c.dependency) } { (c.dependency) } " " (c.dependency_title)
                            ", which ends " (c.dependency_end) ": a dependency should end before its dependent starts"
                        }
                    }
                }
            }
        }
    }
}

fn releases_section(releases: &[ReleaseView], readiness: &[railyard_service::Verification]) -> Markup {
    html! {
        section aria-labelledby="releases" {
            h2 #releases { "Application releases" }
            @if releases.is_empty() { p { "No application release rides this train yet." } }
            @else {
                div.table { table {
                    thead { tr { th { "Release" } th { "Application" } th { "Product owner" } th { "Membership" } th { "State" } th { "Schedule" } th { "Verified" } } }
                    tbody {
                        @for r in releases {
                            @let r = &r.release;
                            tr {
                                td { a href={ "/releases/" (r.id) } { (r.id) } " " (r.title) }
                                td { (r.application) }
                                td { (r.product_owner) }
                                td { @if let Some(m) = &r.membership { (m.state.as_str()) } }
                                td { (state(r.state.as_str(), false)) }
                                td { (r.schedule.start) " – " (r.schedule.end) }
                                td {
                                    @match readiness.iter().find(|v| v.release == r.id) {
                                        Some(v) if v.verified => { (state("verified", false)) }
                                        Some(v) if v.missing.is_empty() => { "no validated turnover yet" }
                                        Some(v) => { "missing " (v.missing.join(", ")) }
                                        None => {}
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
    }
}
