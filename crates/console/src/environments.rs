//! The environments: the list with a create form, and one environment's page with its details, its
//! lifecycle (offline, online, decommissioned), its edit form and its calendar events (maintenance,
//! blackouts, reservations for a train). The forms post to `environment_forms`.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use maud::{Markup, html};
use railyard_domain::{AvailableAction, EnvironmentKind, EnvironmentState, EventKind};
use railyard_service::{EnvironmentFilter, EnvironmentView, MAX_PAGE, Service, SessionInfo, TrainFilter, TrainView};

use crate::error::PageError;
use crate::forms::{csrf_field, datetime_local};
use crate::layout;
use crate::paging::every;
use crate::session::SignedIn;
use crate::widgets::badge;
use crate::widgets::{state, time, zone_hint};

pub const KINDS: [EnvironmentKind; 4] =
    [EnvironmentKind::Development, EnvironmentKind::Test, EnvironmentKind::Staging, EnvironmentKind::Production];
const EVENT_KINDS: [EventKind; 3] = [EventKind::Maintenance, EventKind::Blackout, EventKind::Reservation];

/// Every environment, page after page.
pub async fn all(s: &Service, actor: &railyard_domain::Actor) -> Result<Vec<EnvironmentView>, PageError> {
    every(|cursor| s.environments(actor, EnvironmentFilter { limit: Some(MAX_PAGE), cursor, ..Default::default() }))
        .await
}

fn state_badge(st: EnvironmentState) -> Markup {
    badge(st.as_str())
}

/// `GET /environments`
pub async fn list(State(s): State<Service>, user: SignedIn) -> Result<Html<String>, PageError> {
    let envs = all(&s, &user.session.actor).await?;
    let users = crate::people::all(&s, &user.session.actor).await?;
    let session = &user.session;
    let create = AvailableAction::allows(&s.global_actions_for(&session.actor), "create_environment");
    let body = html! {
        h1 { "Environments" }
        p { a href="/calendar" { "Calendar of all environments" } " · " a href="/paths" { "Deployment paths" } }
        section aria-labelledby="envs" {
            h2 #envs { "All environments" }
            @if envs.is_empty() { p { "No environments yet." } }
            @else {
                div.table { table {
                    thead { tr { th { "Environment" } th { "Kind" } th { "Owner" } th { "State" } th { "Locked" } th { "Now" } } }
                    tbody {
                        @for e in &envs {
                            @let env = &e.environment;
                            tr {
                                td { a href={ "/environments/" (env.name) } { (env.name) }
                                    @if !env.description.is_empty() { br; small { (env.description) } } }
                                td { (env.kind.as_str()) }
                                td { (env.owner) }
                                td { (state_badge(env.state)) }
                                td { @if env.locked { "locked: production-ready turnovers only" } @else { "no" } }
                                td { @if let Some(b) = &e.blocked { (state("blocked", true)) " " (b) } @else { "deployments may start" } }
                            }
                        }
                    }
                } }
            }
        }
        @if create {
            section aria-labelledby="new-env" {
                h2 #new-env { "New environment" }
                form.action method="post" action="/environments" {
                    (csrf_field(session))
                    label { "Name" input name="name" required pattern="[a-z][a-z0-9_-]{1,39}" placeholder="staging"; }
                    label { "Kind" (kind_select(None)) }
                    label { "Owner" (owner_select(&users, &session.actor.name)) }
                    label { "Locked"
                        select name="locked" {
                            option value="" { "as its kind: production is locked" }
                            option value="yes" { "locked" }
                            option value="no" { "not locked" }
                        }
                    }
                    label { "Description" input name="description"; }
                    button type="submit" { "Create environment" }
                }
                p.hint { "Names: 2 to 40 lower-case letters, digits, “-” or “_”, starting with a letter." }
            }
        }
    };
    Ok(Html(layout::page("Environments", Some(session), body).into_string()))
}

pub fn kind_select(current: Option<EnvironmentKind>) -> Markup {
    html! {
        select name="kind" {
            @for k in KINDS { option value=(k.as_str()) selected[current == Some(k)] { (k.as_str()) } }
        }
    }
}

fn owner_select(users: &[railyard_service::UserView], current: &str) -> Markup {
    html! {
        select name="owner" {
            @if !users.iter().any(|u| u.user.name == current) { option value=(current) selected { (current) } }
            @for u in users.iter().filter(|u| u.user.active || u.user.name == current) {
                option value=(u.user.name) selected[u.user.name == current] { (u.user.name)
                    @if !u.user.display_name.is_empty() { " (" (u.user.display_name) ")" } }
            }
        }
    }
}

/// `GET /environments/{name}`
pub async fn show(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Query(unfold): Query<crate::forms::Unfold>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let view = s.environment(actor, &name).await?;
    let users = crate::people::all(&s, &user.session.actor).await?;
    // A reservation is for an open train: the dashboard's stages.
    let open = crate::dashboard::STAGES.to_vec();
    let trains =
        s.trains(actor, TrainFilter { states: open, limit: Some(MAX_PAGE), ..Default::default() }).await?.items;
    let env = &view.environment;
    let session = &user.session;
    let actions = s.environment_actions_for(actor, &env.name).await?;
    let plan = AvailableAction::allows(&actions, "plan_calendar");
    let base = format!("/environments/{}", env.name);
    let title = format!("Environment {}", env.name);
    let body = html! {
        h1 { (title) }
        p { a href={ (base) "/calendar" } { "Calendar of " (env.name) } " · " a href="/environments" { "All environments" } }
        section aria-labelledby="about" {
            h2 #about { "About" }
            dl.facts {
                dt { "Kind" } dd { (env.kind.as_str()) }
                dt { "Owner" } dd { (env.owner) }
                dt { "State" } dd { (state_badge(env.state)) @if let Some(r) = &env.state_reason { " " (r) } }
                dt { "Locked" } dd { @if env.locked { "yes: only accepted production-ready turnovers of a train in deployment, at their scheduled time" } @else { "no" } }
                @if !env.description.is_empty() { dt { "Description" } dd { (env.description) } }
                dt { "Runs its tasks on" } dd #runner-labels { (runs_on(&env.runner_labels)) }
                dt { "Now" } dd { @if let Some(b) = &view.blocked { (state("blocked", true)) " " (b) } @else { "deployments may start: it is online and no maintenance or blackout is under way" } }
                dt { "Version" } dd { (view.meta.version) ", changed " (time(session.time_zone, &view.meta.updated_at)) }
            }
            (lifecycle_forms(session, &base, &actions))
        }
        (events_section(session, &view, &trains, &actions, &base))
        @if plan { (add_event_form(session, &trains, &base, s.now())) }
        @if AvailableAction::allows(&actions, "edit") { (edit_form(session, &view, &users, &base, unfold.open())) }
    };
    Ok(Html(layout::page(&title, Some(session), body).into_string()))
}

/// Where an environment's tasks run: a runner carrying its labels, or the runner built into the server.
fn runs_on(labels: &[String]) -> Markup {
    html! {
        @if labels.is_empty() { "the built-in runner (it names no runner labels)" }
        @else { "a runner with labels " (labels.join(", ")) " (" a href="/runners" { "runners" } ")" }
    }
}

/// The lifecycle forms the environment's actions allow.
fn lifecycle_forms(session: &SessionInfo, base: &str, actions: &[AvailableAction]) -> Markup {
    let allowed = |name: &str| AvailableAction::allows(actions, name);
    html! {
        @if allowed("take_offline") {
            form.action method="post" action={ (base) "/take-offline" } {
                (csrf_field(session))
                (reason_field())
                button.secondary type="submit" { "Take offline" }
            }
        }
        @if allowed("bring_online") {
            form.action method="post" action={ (base) "/bring-online" } {
                (csrf_field(session))
                (reason_field())
                button type="submit" { "Bring online" }
            }
        }
        @if allowed("decommission") {
            form.action method="post" action={ (base) "/decommission" } {
                (csrf_field(session))
                (reason_field())
                label { span { input type="checkbox" name="confirm" value="yes" required; " I understand this cannot be undone" } }
                button.secondary type="submit" { "Decommission" }
            }
        }
    }
}

/// The optional reason of a state change: kept on the environment and in the audit log.
fn reason_field() -> Markup {
    html! { label { "Reason (optional)" input type="text" name="reason" maxlength="500"; } }
}

fn edit_form(
    session: &SessionInfo,
    view: &EnvironmentView,
    users: &[railyard_service::UserView],
    base: &str,
    open: bool,
) -> Markup {
    let env = &view.environment;
    html! {
        section aria-labelledby="edit" {
            details.edit open[open] {
                summary { h2 #edit { "Edit " (env.name) } }
                form.action method="post" action=(base) {
                    (csrf_field(session))
                    input type="hidden" name="version" value=(view.meta.version);
                    label { "Kind" (kind_select(Some(env.kind))) }
                    label { "Owner" (owner_select(users, &env.owner)) }
                    label { span { input type="checkbox" name="locked" value="yes" checked[env.locked]; " Locked (only accepted production-ready turnovers of a train in deployment, at their scheduled time)" } }
                    label { "Description" input name="description" value=(env.description); }
                    label { "Runner labels (comma-separated; empty: the built-in runner)"
                        input name="runner_labels" value=(env.runner_labels.join(", ")) placeholder="prod-eu"; }
                    button type="submit" { "Save changes" }
                }
            }
        }
    }
}

fn events_section(
    session: &SessionInfo,
    view: &EnvironmentView,
    trains: &[TrainView],
    actions: &[AvailableAction],
    base: &str,
) -> Markup {
    let env = &view.environment;
    let removable = |id: &str| AvailableAction::allows_on(actions, "remove_event", id);
    let remove = env.events.iter().any(|e| removable(&e.id));
    let title_of = |id: &str| trains.iter().find(|t| t.train.id == id).map(|t| t.train.title.clone());
    html! {
        section aria-labelledby="events" {
            h2 #events { "Calendar events" }
            @if env.events.is_empty() { p { "No maintenance, blackout or reservation planned." } }
            @else {
                div.table { table {
                    thead { tr { th { "Event" } th { "Kind" } th { "From" } th { "Until" } th { "Train" } th { "By" } @if remove { th { span.sr { "Remove" } } } } }
                    tbody {
                        @for e in &env.events {
                            tr {
                                td { (e.id) " " (e.title) }
                                td { (e.kind.as_str()) }
                                td { (time(session.time_zone, &e.start)) }
                                td { (time(session.time_zone, &e.end)) }
                                td { @if let Some(t) = &e.train_id { a href={ "/trains/" (t) } { (t) } @if let Some(n) = title_of(t) { " " (n) } } }
                                td { (e.created_by) }
                                @if remove {
                                    td { @if removable(&e.id) {
                                        form.action method="post" action={ (base) "/events/" (e.id) "/remove" } {
                                            (csrf_field(session))
                                            button.secondary type="submit" { "Remove " (e.id) }
                                        }
                                    } }
                                }
                            }
                        }
                    }
                } }
            }
            p.hint { "No deployment starts during a maintenance window or a blackout: it waits, marked blocked. Two maintenance windows never overlap." }
        }
    }
}

fn add_event_form(
    session: &SessionInfo,
    trains: &[TrainView],
    base: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Markup {
    let start = now + chrono::Duration::days(1);
    let end = start + chrono::Duration::hours(2);
    html! {
        section aria-labelledby="add-event" {
            h2 #add-event { "Plan an event" }
            form.action method="post" action={ (base) "/events" } {
                (csrf_field(session))
                label { "Kind"
                    select name="kind" {
                        @for k in EVENT_KINDS { option value=(k.as_str()) { (k.as_str()) } }
                    }
                }
                label { "Title" input name="title" required; }
                label { "Start (" (zone_hint(session.time_zone)) ")" input type="datetime-local" name="start" required value=(datetime_local(&start, session.time_zone)); }
                label { "End (" (zone_hint(session.time_zone)) ")" input type="datetime-local" name="end" required value=(datetime_local(&end, session.time_zone)); }
                label { "Train (for a reservation)"
                    select name="train" {
                        option value="" { "—" }
                        @for t in trains { option value=(t.train.id) { (t.train.id) " " (t.train.title) } }
                    }
                }
                button type="submit" { "Add event" }
            }
        }
    }
}
