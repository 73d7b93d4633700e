//! Deployment paths: the list with a create form, and one path's page with its stages, its lifecycle
//! (activate, return to draft, retire) and, in draft, its edit form. The forms post to `path_forms`.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use maud::{Markup, html};
use railyard_domain::{AvailableAction, DeploymentPath, ReleaseType, Stage};
use railyard_service::{EnvironmentView, MAX_PAGE, PathView, Service, SessionInfo};

use crate::available::{blocked_by, waiting};
use crate::error::PageError;
use crate::forms::csrf_field;
use crate::layout;
use crate::paging::every;
use crate::session::SignedIn;
use crate::widgets::badge;
use crate::widgets::time;

/// How many empty stage rows a form offers beyond the path's stages.
const SPARE_ROWS: usize = 2;

/// Every path, page after page.
async fn all(s: &Service, user: &SignedIn) -> Result<Vec<PathView>, PageError> {
    let actor = &user.session.actor;
    every(|cursor| async move { s.paths(actor, Vec::new(), Some(MAX_PAGE), cursor.as_deref()).await }).await
}

fn stages_line(p: &DeploymentPath) -> Markup {
    html! {
        @if p.stages.is_empty() { "no stages yet" }
        @else {
            ol.stages aria-label={ "Stages of " (p.name) } {
                @for st in &p.stages {
                    li { a href={ "/environments/" (st.environment) } { (st.environment) }
                        @if !st.required { " (optional)" } }
                }
            }
        }
    }
}

fn release_types(p: &DeploymentPath) -> String {
    if p.release_types.is_empty() {
        "every release type".into()
    } else {
        p.release_types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// `GET /paths`
pub async fn list(State(s): State<Service>, user: SignedIn) -> Result<Html<String>, PageError> {
    let paths = all(&s, &user).await?;
    let session = &user.session;
    let manage = AvailableAction::allows(&s.global_actions_for(&session.actor), "create_path");
    let envs = if manage { crate::environments::all(&s, &user.session.actor).await? } else { Vec::new() };
    let body = html! {
        h1 { "Deployment paths" }
        p.hint { "The ordered environments a turnover must pass, in order: a stage is skipped only when it is optional, and redeploying into a stage needs it to allow redeploys. A path is edited in draft and given to turnovers while active." }
        section aria-labelledby="paths" {
            h2 #paths { "All paths" }
            @if paths.is_empty() { p { "No deployment paths yet." } }
            @else {
                div.table { table {
                    thead { tr { th { "Path" } th { "State" } th { "Stages" } th { "Serves" } } }
                    tbody {
                        @for v in &paths {
                            @let p = &v.path;
                            tr {
                                td { a href={ "/paths/" (p.id) } { (p.id) " " (p.name) } }
                                td { (badge(p.state.as_str())) }
                                td { (stages_line(p)) }
                                td { (release_types(p)) }
                            }
                        }
                    }
                } }
            }
        }
        @if manage {
            section aria-labelledby="new-path" {
                h2 #new-path { "New deployment path" }
                form method="post" action="/paths" {
                    (csrf_field(session))
                    (path_fields(None, &envs))
                    button type="submit" { "Create path (in draft)" }
                }
            }
        }
    };
    Ok(Html(layout::page("Deployment paths", Some(session), body).into_string()))
}

/// The fields of the create and edit forms: name, description, release types, and one row per stage.
fn path_fields(path: Option<&DeploymentPath>, envs: &[EnvironmentView]) -> Markup {
    let stages: &[Stage] = path.map(|p| p.stages.as_slice()).unwrap_or_default();
    let rows = (stages.len() + SPARE_ROWS).max(3);
    html! {
        div.grid {
            label { "Name" input name="name" required value=[path.map(|p| p.name.as_str())]; }
            label { "Description" input name="description" value=[path.map(|p| p.description.as_str())]; }
        }
        fieldset {
            legend { "Release types it serves (none ticked: every type)" }
            @for t in ReleaseType::ALL {
                label { span {
                    input type="checkbox" name="release_types" value=(t.as_str())
                        checked[path.is_some_and(|p| p.release_types.contains(&t))];
                    " " (t.as_str()) } }
            }
        }
        fieldset {
            legend { "Stages, in order (leave a row's environment empty to drop it)" }
            div.table { table {
                thead { tr { th { "#" } th { "Environment" } th { "Required" } th { "Redeploy allowed" } th { "Freeze tasks on entry" } } }
                tbody {
                    @for i in 1..=rows {
                        @let st = stages.get(i - 1);
                        @let p = format!("stage{i}_");
                        tr {
                            td { (i) }
                            td { label { span.sr { "Environment of stage " (i) }
                                select name={ (p) "environment" } {
                                    option value="" { "—" }
                                    @if let Some(st) = st.filter(|st| !envs.iter().any(|e| e.environment.name == st.environment)) {
                                        option value=(st.environment) selected { (st.environment) }
                                    }
                                    @for e in envs {
                                        @let n = &e.environment.name;
                                        option value=(n) selected[st.is_some_and(|st| &st.environment == n)] {
                                            (n) " (" (e.environment.kind.as_str()) ", " (e.environment.state.as_str()) ")"
                                        }
                                    }
                                }
                            } }
                            td { label { span.sr { "Stage " (i) " is required" }
                                input type="checkbox" name={ (p) "required" } value="yes" checked[st.is_none_or(|s| s.required)]; } }
                            td { label { span.sr { "Stage " (i) " allows a redeploy" }
                                input type="checkbox" name={ (p) "allow_redeploy" } value="yes" checked[st.is_none_or(|s| s.allow_redeploy)]; } }
                            td { label { span.sr { "Stage " (i) " freezes tasks" }
                                input type="checkbox" name={ (p) "freeze_tasks" } value="yes" checked[st.is_some_and(|s| s.freeze_tasks)]; } }
                        }
                    }
                }
            } }
        }
    }
}

/// `GET /paths/{id}`
pub async fn show(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(unfold): Query<crate::forms::Unfold>,
) -> Result<Html<String>, PageError> {
    let view = s.path(&user.session.actor, &id).await?;
    let session = &user.session;
    let p = &view.path;
    let actions = s.path_actions_for(&session.actor, &p.id).await?;
    let editable = AvailableAction::allows(&actions, "edit");
    let envs = if editable { crate::environments::all(&s, &user.session.actor).await? } else { Vec::new() };
    let title = format!("{} {}", p.id, p.name);
    let base = format!("/paths/{}", p.id);
    let body = html! {
        h1 { "Deployment path " (title) }
        p { a href="/paths" { "All paths" } }
        section aria-labelledby="about" {
            h2 #about { "About" }
            dl.facts {
                dt { "State" } dd { (badge(p.state.as_str())) }
                dt { "Serves" } dd { (release_types(p)) }
                @if !p.description.is_empty() { dt { "Description" } dd { (p.description) } }
                dt { "Version" } dd { (view.meta.version) ", changed " (time(user.session.time_zone, &view.meta.updated_at)) }
            }
            (lifecycle_forms(session, &base, &actions))
        }
        section aria-labelledby="stages" {
            h2 #stages { "Stages" }
            @if p.stages.is_empty() { p { "No stages yet: a path needs at least one to be activated." } }
            @else {
                div.table { table {
                    thead { tr { th { "#" } th { "Environment" } th { "Required" } th { "Redeploy allowed" } th { "Freezes tasks" } } }
                    tbody {
                        @for (i, st) in p.stages.iter().enumerate() {
                            tr {
                                td { (i + 1) }
                                td { a href={ "/environments/" (st.environment) } { (st.environment) } }
                                td { (yes_no(st.required)) }
                                td { (yes_no(st.allow_redeploy)) }
                                td { (yes_no(st.freeze_tasks)) }
                            }
                        }
                    }
                } }
            }
        }
        @if editable {
            section aria-labelledby="edit" {
                details.edit open[unfold.open()] {
                    summary { h2 #edit { "Edit " (p.name) } }
                    form method="post" action=(base) {
                        (csrf_field(session))
                        input type="hidden" name="version" value=(view.meta.version);
                        (path_fields(Some(p), &envs))
                        button type="submit" { "Save changes" }
                    }
                }
            }
        } @else if AvailableAction::allows(&actions, "return_to_draft") {
            p.hint { "An active path is not edited: return it to draft first (turnovers already on it keep their stages)." }
        }
    };
    Ok(Html(layout::page(&title, Some(session), body).into_string()))
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The lifecycle forms of the path's actions: each allowed one a button, one that waits on something
/// else (stages to add, an environment to bring back) a disabled button with what blocks it.
fn lifecycle_forms(session: &SessionInfo, base: &str, actions: &[AvailableAction]) -> Markup {
    const STEPS: [(&str, &str, bool); 3] =
        [("activate", "Activate", false), ("return_to_draft", "Return to draft", true), ("retire", "Retire", true)];
    html! {
        @for (name, button, secondary) in STEPS {
            @if let Some(x) = actions.iter().find(|x| x.action == name && x.on.is_none() && (x.allowed || waiting(x))) {
                form.action method="post" action={ (base) "/" (name.replace('_', "-")) } {
                    (csrf_field(session))
                    button.secondary[secondary] type="submit" disabled[!x.allowed] { (button) }
                }
                (blocked_by(x))
            }
        }
    }
}
