//! The runners: every registered runner with its labels, presence (online or not, last seen, runs in
//! flight, version) and state; a form to register one, whose answer shows the new runner's token once;
//! and a button to revoke each. Whether the form shows is the domain's decision (the global action
//! `manage_runners`); which runners may be revoked, the runner actions' (`revoke`, on a runner's name).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use railyard_domain::{AvailableAction, RunnerSpec};
use railyard_service::{RunnerView, Service, ServiceError, SessionInfo};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{csrf_field, list as labels_of, optional};
use crate::layout;
use crate::session::SignedIn;
use crate::widgets::{badge, time};

/// `GET /runners`
pub async fn list(State(s): State<Service>, user: SignedIn) -> Result<Html<String>, PageError> {
    let body = runners_page(&s, &user.session, None, "").await?;
    Ok(Html(layout::page("Runners", Some(&user.session), body).into_string()))
}

/// The address runners reach this server at: the public URL when set (`--public-url`), else the host
/// the person's browser used.
fn server_url(s: &Service, headers: &HeaderMap) -> String {
    match s.public_url() {
        Some(u) => u.origin().to_string(),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:8080");
            format!("http://{host}")
        }
    }
}

/// The runners page; with `registered`, the runner just registered and its token, shown this once,
/// with the command line that starts it against `server`.
async fn runners_page(
    s: &Service,
    session: &SessionInfo,
    registered: Option<&RunnerView>,
    server: &str,
) -> Result<Markup, PageError> {
    let actor = &session.actor;
    let runners = s.runners(actor).await?.items;
    let actions = s.runner_actions_for(actor).await?;
    let manage = AvailableAction::allows(&s.global_actions_for(actor), "manage_runners");
    let revocable = |name: &str| AvailableAction::allows_on(&actions, "revoke", name);
    let revoke = runners.iter().any(|r| revocable(&r.name));
    Ok(html! {
        h1 { "Runners" }
        p { "A runner (" code { "railyard runner" } ") runs the automation tasks of the environments that name its "
            "labels, on a host near them. An environment naming no labels uses the runner built into the server." }
        @if let Some(r) = registered { (token_once(r, server)) }
        section aria-labelledby="runners" {
            h2 #runners { "All runners" }
            @if runners.is_empty() { p { "No runners yet: every environment's tasks run on the built-in runner." } }
            @else {
                div.table { table {
                    thead { tr {
                        th { "Runner" } th { "Labels" } th { "State" } th { "Presence" } th { "Last seen" }
                        th { "Runs in flight" } th { "Version" } th { "Description" }
                        @if revoke { th { span.sr { "Revoke" } } }
                    } }
                    tbody {
                        @for r in &runners {
                            tr.runner data-runner=(r.name) {
                                td { (r.name) br; small { "registered by " (r.created_by) } }
                                td {
                                    (r.labels.join(", "))
                                    @if !r.serving.is_empty() && r.serving != r.labels {
                                        br; small { "serving now: " (r.serving.join(", ")) }
                                    }
                                }
                                td {
                                    (badge(r.state.as_str()))
                                    @if let (Some(by), Some(at)) = (&r.revoked_by, &r.revoked_at) {
                                        br; small { "by " (by) " at " (time(session.time_zone, at)) }
                                    }
                                }
                                td { (badge(if r.online { "online" } else { "offline" })) }
                                td { @if let Some(at) = &r.last_seen_at { (time(session.time_zone, at)) } @else { "never" } }
                                td { (r.runs_in_flight) }
                                td { (r.version.as_deref().unwrap_or("—")) }
                                td { (r.description) }
                                @if revoke {
                                    td { @if revocable(&r.name) { (revoke_form(session, &r.name)) } }
                                }
                            }
                        }
                    }
                } }
            }
            p.hint { "A runner is online when it was heard from within the last 15 seconds." }
        }
        @if manage { (register_form(session)) }
    })
}

/// The revoke button of one runner, with the box to tick first: its token stops working at once.
fn revoke_form(session: &SessionInfo, name: &str) -> Markup {
    html! {
        form.action method="post" action={ "/runners/" (name) "/revoke" } {
            (csrf_field(session))
            label { span { input type="checkbox" name="confirm" value="yes" required; " I understand its token stops working at once" } }
            button.secondary type="submit" { "Revoke " (name) }
        }
    }
}

fn register_form(session: &SessionInfo) -> Markup {
    html! {
        section aria-labelledby="register" {
            h2 #register { "Register a runner" }
            form.action method="post" action="/runners" {
                (csrf_field(session))
                label { "Name" input name="name" required pattern="[a-z][a-z0-9_-]{1,39}" placeholder="eu-1"; }
                label { "Labels (comma-separated)" input name="labels" required placeholder="prod-eu, linux"; }
                label { "Description" input name="description" maxlength="500"; }
                button type="submit" { "Register a runner" }
            }
            p.hint { "Names: 2 to 40 lower-case letters, digits, “-” or “_”, starting with a letter. Labels: up to 16, "
                "each lower-case letters, digits, “.”, “-” or “_”. Its token is shown once, right after it is registered." }
        }
    }
}

/// The new runner's token, shown this once, with the command that starts the runner.
fn token_once(r: &RunnerView, server: &str) -> Markup {
    let token = r.token.as_deref().unwrap_or_default();
    let file = format!("/etc/railyard/{}.token", r.name);
    html! {
        section aria-labelledby="token" {
            h2 #token { "Token of runner " (r.name) }
            p role="alert" { "Copy it now: it is not shown again. Railyard keeps only its hash." }
            p { label { "Token of " (r.name) input readonly value=(token) size="75"; } }
            p { "Save it in a file only the runner's user may read (" code { (file) } "), then start the runner on its host:" }
            pre { code { "railyard runner --server " (server) " --token-file " (file) } }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    /// Comma-separated.
    #[serde(default)]
    labels: String,
    #[serde(default)]
    description: String,
}

/// `POST /runners`: registers the runner and answers with the runners page showing its token once (not
/// a redirect: the token must not travel in an address or a cookie), asking that it not be cached.
pub async fn register(
    State(s): State<Service>,
    user: SignedIn,
    headers: HeaderMap,
    Form(f): Form<RegisterForm>,
) -> Result<Response, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let spec = RunnerSpec {
        name: f.name.trim().to_string(),
        labels: labels_of(&f.labels),
        description: optional(&f.description),
    };
    let runner = s.register_runner(&user.session.actor, spec).await?;
    let body = runners_page(&s, &user.session, Some(&runner), &server_url(&s, &headers)).await?;
    let page = layout::page("Runners", Some(&user.session), body);
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(page.into_string())).into_response())
}

/// The revoke button's form: the CSRF token and the ticked confirmation box.
#[derive(Debug, Default, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    confirm: String,
}

/// `POST /runners/{name}/revoke`: the confirmation box must be ticked (checked here too, not only by the
/// browser).
pub async fn revoke(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    if f.confirm != "yes" {
        return Err(ServiceError::invalid("confirm", "tick the box: the runner's token stops working at once").into());
    }
    s.revoke_runner(&user.session.actor, &name).await?;
    Ok(Redirect::to("/runners"))
}
