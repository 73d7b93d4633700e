//! Creating and changing turnovers from the browser: the new-turnover form of an application release,
//! the list of turnovers (by train and state), and on a turnover's page its edit form (carrying the
//! version, so a stale form is refused), the work items it delivers (link, unlink: R7), and cancel.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use railyard_domain::{Artifact, AvailableAction, PathState, Turnover, TurnoverPatch, TurnoverSpec, WorkItemStatus};
use railyard_service::{
    LinkInput, MAX_PAGE, ReasonInput, Service, ServiceError, SessionInfo, WorkItemFilter, WorkItemView,
};
use serde::Deserialize;

use crate::available::{blocked_by, waiting};
use crate::error::PageError;
use crate::forms::{csrf_field, optional};
use crate::layout;
use crate::paging::every;
use crate::people;
use crate::session::SignedIn;
use railyard_service::UserView;

/// Artifacts as the form shows them: one per line, `name version [digest] [link]`.
pub fn artifact_lines(artifacts: &[Artifact]) -> String {
    let line = |a: &Artifact| {
        let mut words = vec![a.name.as_str(), a.version.as_str()];
        words.extend(a.digest.as_deref());
        words.extend(a.link.as_deref());
        words.join(" ")
    };
    artifacts.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// Whether the artifacts field still says what [`artifact_lines`] wrote (line endings and blank lines
/// aside): then the artifacts are left as they are, even those the lines cannot carry exactly.
fn unchanged(text: &str, artifacts: &[Artifact]) -> bool {
    let lines = |t: &str| t.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect::<Vec<_>>();
    lines(text) == lines(&artifact_lines(artifacts))
}

/// Reads the artifacts field: one per line, `name version [digest] [link]`; a word after the version
/// starting with `http://` or `https://` is the link, another one the digest.
pub fn parse_artifacts(text: &str) -> Result<Vec<Artifact>, PageError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().map(str::trim).enumerate().filter(|(_, l)| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [name, version, rest @ ..] = words.as_slice() else {
            return Err(ServiceError::invalid(
                "artifacts",
                format!("line {}: give a name and a version, e.g. “pay 42 sha256:ab12”", i + 1),
            )
            .into());
        };
        let is_link = |x: &&&str| x.starts_with("http://") || x.starts_with("https://");
        let links: Vec<&&str> = rest.iter().filter(is_link).collect();
        let digests: Vec<&&str> = rest.iter().filter(|x| !is_link(x)).collect();
        if links.len() > 1 || digests.len() > 1 {
            return Err(ServiceError::invalid(
                "artifacts",
                format!("line {}: after the name and version, at most one digest and one link", i + 1),
            )
            .into());
        }
        out.push(Artifact {
            name: name.to_string(),
            version: version.to_string(),
            digest: digests.first().map(|d| d.to_string()),
            link: links.first().map(|l| l.to_string()),
        });
    }
    Ok(out)
}

#[derive(Debug, Default, Deserialize)]
pub struct TurnoverForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    release: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    developer: String,
    #[serde(default)]
    artifacts: String,
    /// The version the edit form was drawn from (optimistic concurrency).
    #[serde(default)]
    version: Option<i64>,
    /// Cancel: why. Link: the work item.
    #[serde(default)]
    reason: String,
    #[serde(default)]
    work_item: String,
}

/// `GET /turnovers/new?release=AR-1`: the form to create a standard turnover of an application release.
pub async fn new(
    State(s): State<Service>,
    user: SignedIn,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let Some(id) = params.get("release").and_then(|r| optional(r)) else {
        return Err(PageError::bad_parameter("release", "name the application release, e.g. ?release=AR-1"));
    };
    let r = s.release(actor, &id).await?.release;
    let creates = AvailableAction::allows(&s.global_actions_for(actor), "create_turnover");
    let paths = s.paths(actor, vec![PathState::Active], Some(MAX_PAGE), None).await?.items;
    let paths: Vec<_> = paths
        .into_iter()
        .map(|p| p.path)
        .filter(|p| p.release_types.is_empty() || p.release_types.contains(&r.release_type))
        .collect();
    // `allowed_paths` holds path names; the form's choice is the path's id.
    let preferred = paths.iter().find(|p| r.allowed_paths.contains(&p.name)).map(|p| p.id.clone());
    let users = people::active(&s, &user.session.actor).await?;
    let title = format!("New turnover of {} {}", r.id, r.title);
    let body = html! {
        h1 { (title) }
        p { "A standard turnover carries " a href={ "/releases/" (r.id) } { (r.id) } " through the pre-production stages of a deployment path. Add its tasks and work items on its page once it exists." }
        @if !creates {
            p role="status" { "Your role does not create turnovers: developers, release engineers and release managers do." }
        } @else if paths.is_empty() {
            p role="status" { "No active deployment path serves " (r.release_type.as_str()) " releases; a release engineer activates one first." }
        } @else {
            section aria-labelledby="new-turnover" {
                h2 #new-turnover { "Turnover" }
                form.action method="post" action="/turnovers" {
                    (csrf_field(&user.session))
                    input type="hidden" name="release" value=(r.id);
                    label { "Title" input name="title" required; }
                    label { "Deployment path"
                        select name="path" required {
                            @for p in &paths {
                                @let envs: Vec<&str> = p.stages.iter().map(|st| st.environment.as_str()).collect();
                                option value=(p.id) selected[Some(&p.id) == preferred.as_ref()] { (p.id) " " (p.name) " (" (envs.join(" → ")) ")" }
                            }
                        }
                    }
                    label { "Developer" (people::select("developer", &users, Some(&actor.name), None)) }
                    label { "Description" textarea name="description" rows="2" cols="40" {} }
                    label { "Artifacts (one per line: name version [digest] [link])" textarea name="artifacts" rows="3" cols="40" placeholder="pay 42 sha256:ab12" {} }
                    button type="submit" { "Create turnover" }
                }
            }
        }
    };
    Ok(Html(layout::page(&title, Some(&user.session), body).into_string()))
}

/// `POST /turnovers`: creates it and shows its page.
pub async fn create(
    State(s): State<Service>,
    user: SignedIn,
    Form(f): Form<TurnoverForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let path = optional(&f.path).ok_or_else(|| ServiceError::invalid("path", "choose a deployment path"))?;
    let spec = TurnoverSpec {
        title: f.title,
        release: f.release.trim().to_string(),
        path,
        description: f.description.trim().to_string(),
        developer: optional(&f.developer),
        artifacts: parse_artifacts(&f.artifacts)?,
    };
    let t = s.create_turnover(&user.session.actor, spec).await?;
    Ok(Redirect::to(&format!("/turnovers/{}", t.turnover.id)))
}

/// The edit form of the turnover page: title, description, developer, artifacts, with its version.
pub fn edit_section(session: &SessionInfo, t: &Turnover, version: i64, users: &[UserView], open: bool) -> Markup {
    html! {
        section aria-labelledby="edit" {
            details.edit open[open] {
                summary { h2 #edit { "Edit the turnover" } }
                form.action method="post" action={ "/turnovers/" (t.id) "/edit" } {
                    (csrf_field(session))
                    input type="hidden" name="version" value=(version);
                    label { "Title" input name="title" required value=(t.title); }
                    label { "Developer" (people::select("developer", users, Some(&t.developer), None)) }
                    label { "Description" textarea name="description" rows="2" cols="40" { (t.description) } }
                    label { "Artifacts (one per line: name version [digest] [link])" textarea name="artifacts" rows="3" cols="40" { (artifact_lines(&t.artifacts)) } }
                    button type="submit" { "Save changes" }
                }
            }
        }
    }
}

/// `POST /turnovers/{id}/edit`: sends what changed, with the version the form was drawn from.
pub async fn edit(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<TurnoverForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let page = format!("/turnovers/{id}");
    async {
        let version =
            f.version.ok_or_else(|| ServiceError::invalid("version", "the form lost its version; reload the page"))?;
        let actor = &user.session.actor;
        let now = s.turnover(actor, &id).await?.turnover;
        let artifacts =
            if unchanged(&f.artifacts, &now.artifacts) { None } else { Some(parse_artifacts(&f.artifacts)?) };
        let developer = optional(&f.developer);
        let patch = TurnoverPatch {
            title: Some(f.title.trim().to_string()).filter(|t| t != &now.title),
            description: Some(f.description.trim().to_string()).filter(|d| d != &now.description),
            developer: developer.filter(|d| d != &now.developer),
            artifacts: artifacts.filter(|a| a != &now.artifacts),
        };
        s.update_turnover(actor, &id, patch, Some(version)).await?;
        Ok(Redirect::to(&page))
    }
    .await
    .map_err(|e: PageError| e.in_form(crate::forms::form_again(&page)))
}

/// The work items of the turnover's releases: those it delivers (with unlink) and a choice of the done
/// ones it could link (R7), when `editable` (the domain's `edit` action of the turnover is allowed).
pub fn work_items_section(session: &SessionInfo, t: &Turnover, items: &[WorkItemView], editable: bool) -> Markup {
    let linked: Vec<&WorkItemView> = items.iter().filter(|w| t.work_items.contains(&w.item.id)).collect();
    let linkable: Vec<&WorkItemView> =
        items.iter().filter(|w| !t.work_items.contains(&w.item.id) && w.item.status == WorkItemStatus::Done).collect();
    html! {
        section aria-labelledby="work-items" {
            h2 #work-items { "Work items delivered" }
            @if t.work_items.is_empty() { p { "None yet." } }
            ul {
                @for id in &t.work_items {
                    li {
                        @match linked.iter().find(|w| &w.item.id == id) {
                            Some(w) => { (w.item.id) " " (w.item.key) " — " (w.item.title) }
                            None => { (id) }
                        }
                        @if editable {
                            form.action method="post" action={ "/turnovers/" (t.id) "/work-items/" (id) "/unlink" } {
                                (csrf_field(session))
                                button.secondary type="submit" { "Unlink " (id) }
                            }
                        }
                    }
                }
            }
            @if editable {
                @if linkable.is_empty() {
                    p.hint { "No other work item of " (t.releases.join(", ")) " is done; only done work items of its own application releases are delivered." }
                } @else {
                    form.action method="post" action={ "/turnovers/" (t.id) "/work-items" } {
                        (csrf_field(session))
                        label { "Done work item"
                            select name="work_item" {
                                @for w in &linkable { option value=(w.item.id) { (w.item.id) " " (w.item.key) " — " (w.item.title) } }
                            }
                        }
                        button type="submit" { "Link work item" }
                    }
                }
            }
        }
    }
}

/// Every work item of one application release.
pub async fn work_items_of(
    s: &Service,
    actor: &railyard_domain::Actor,
    release: &str,
) -> Result<Vec<WorkItemView>, PageError> {
    every(|cursor| s.work_items(actor, release, WorkItemFilter { limit: Some(MAX_PAGE), cursor, ..Default::default() }))
        .await
}

/// The work items of the turnover's releases (every page of them).
pub async fn release_work_items(
    s: &Service,
    session: &SessionInfo,
    t: &Turnover,
) -> Result<Vec<WorkItemView>, PageError> {
    let mut out = Vec::new();
    for r in &t.releases {
        out.extend(work_items_of(s, &session.actor, r).await?);
    }
    Ok(out)
}

/// `POST /turnovers/{id}/work-items`: links the chosen work item.
pub async fn link(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<TurnoverForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let item = optional(&f.work_item).ok_or_else(|| ServiceError::invalid("work_item", "choose a work item"))?;
    s.link_work_items(&user.session.actor, &id, LinkInput { work_items: vec![item] }).await?;
    Ok(Redirect::to(&format!("/turnovers/{id}#work-items")))
}

/// `POST /turnovers/{id}/work-items/{item}/unlink`.
pub async fn unlink(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, item)): Path<(String, String)>,
    Form(f): Form<TurnoverForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.unlink_work_item(&user.session.actor, &id, &item).await?;
    Ok(Redirect::to(&format!("/turnovers/{id}#work-items")))
}

/// The cancel form, when the turnover's available actions `actions` allow cancelling it; when it waits on
/// something (a deployment still running), what blocks it instead.
pub fn cancel_section(session: &SessionInfo, t: &Turnover, actions: &[AvailableAction]) -> Markup {
    let cancel = actions.iter().find(|a| a.action == "cancel" && a.on.is_none());
    html! {
        @if let Some(c) = cancel.filter(|c| !c.allowed && waiting(c)) {
            section aria-labelledby="cancel" {
                h2 #cancel { "Cancel the turnover" }
                (blocked_by(c))
            }
        }
        @if cancel.is_some_and(|c| c.allowed) {
            section aria-labelledby="cancel" {
                h2 #cancel { "Cancel the turnover" }
                form.action method="post" action={ "/turnovers/" (t.id) "/cancel" } {
                    (csrf_field(session))
                    label { "Reason" input name="reason" required; }
                    button.secondary type="submit" { "Cancel " (t.id) }
                }
            }
        }
    }
}

/// `POST /turnovers/{id}/cancel`, with a reason.
pub async fn cancel(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<TurnoverForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    s.cancel_turnover(&user.session.actor, &id, ReasonInput { reason: Some(f.reason) }).await?;
    Ok(Redirect::to(&format!("/turnovers/{id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_lines_read_names_versions_digests_and_links() {
        let a = parse_artifacts("pay 42 sha256:ab\n\n web 1.2 https://example.com/web.tgz \nlib 3")
            .ok()
            .unwrap_or_default();
        assert_eq!(a.len(), 3);
        assert_eq!(
            (a[0].name.as_str(), a[0].version.as_str(), a[0].digest.as_deref()),
            ("pay", "42", Some("sha256:ab"))
        );
        assert_eq!(a[1].link.as_deref(), Some("https://example.com/web.tgz"));
        assert_eq!((a[2].digest.clone(), a[2].link.clone()), (None, None));
        assert_eq!(artifact_lines(&a), "pay 42 sha256:ab\nweb 1.2 https://example.com/web.tgz\nlib 3");
        let e = parse_artifacts("pay\n").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("artifacts: line 1"), "{e}");
        let e = parse_artifacts("a 1\nb 2 c d").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("artifacts: line 2"), "{e}");
        // A digest and a link both, either way round, and back as one line.
        let a = parse_artifacts("pay 42 https://x.example/pay.tgz sha256:ab").ok().unwrap_or_default();
        assert_eq!(
            (a[0].digest.as_deref(), a[0].link.as_deref()),
            (Some("sha256:ab"), Some("https://x.example/pay.tgz"))
        );
        assert_eq!(artifact_lines(&a), "pay 42 sha256:ab https://x.example/pay.tgz");
        assert!(unchanged("pay 42 sha256:ab https://x.example/pay.tgz\r\n\r\n", &a));
        assert!(!unchanged("pay 43 sha256:ab https://x.example/pay.tgz", &a));
    }
}
