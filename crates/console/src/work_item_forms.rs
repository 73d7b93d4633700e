//! An application release's work items on its page: the list, each item's status form, and a form to add
//! one business request or development task by hand (the CSV/JSON import is in `release`).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use railyard_domain::{ApplicationRelease, AvailableAction, WorkItemKind, WorkItemSpec, WorkItemStatus};
use railyard_service::{Service, SessionInfo, WorkItemPatch, WorkItemView};
use serde::Deserialize;

use crate::error::PageError;
use crate::forms::{self, csrf_field};
use crate::session::SignedIn;
use crate::widgets::state;

const KINDS: [(WorkItemKind, &str, &str); 2] = [
    (WorkItemKind::BusinessRequest, "business_request", "business request"),
    (WorkItemKind::DevelopmentTask, "development_task", "development task"),
];
const STATUSES: [(WorkItemStatus, &str, &str); 3] = [
    (WorkItemStatus::Open, "open", "open"),
    (WorkItemStatus::InProgress, "in_progress", "in progress"),
    (WorkItemStatus::Done, "done", "done"),
];

fn status_select(selected: WorkItemStatus) -> Markup {
    html! {
        select name="status" {
            @for (s, value, label) in STATUSES { option value=(value) selected[s == selected] { (label) } }
        }
    }
}

/// The work items section; their forms are there when the domain's `actions` allow `manage_work_items`.
pub(crate) fn section(
    session: &SessionInfo,
    r: &ApplicationRelease,
    actions: &[AvailableAction],
    items: &[WorkItemView],
) -> Markup {
    let manage = AvailableAction::allows(actions, "manage_work_items");
    html! {
        section aria-labelledby="work-items" {
            h2 #work-items { "Work items" }
            @if items.is_empty() { p { "No work items yet." } }
            @else {
                div.table { table {
                    thead { tr { th { "Key" } th { "Kind" } th { "Title" } th { "Status" } th { "Link" } } }
                    tbody {
                        @for v in items {
                            @let w = &v.item;
                            tr {
                                td { (w.key) }
                                td { (w.kind.as_str()) }
                                td { (w.title) }
                                td {
                                    @if manage {
                                        form.action method="post" action={ "/releases/" (r.id) "/work-items/" (w.id) "/status" } {
                                            (csrf_field(session))
                                            input type="hidden" name="version" value=(v.meta.version);
                                            label { span.sr { "Status of " (w.key) } (status_select(w.status)) }
                                            button.secondary type="submit" { "Set " (w.key) }
                                        }
                                    } @else { (state(w.status.as_str(), false)) }
                                }
                                td {
                                    @if let Some(l) = &w.link {
                                        @if l.starts_with("https://") || l.starts_with("http://") {
                                            a href=(l) rel="noopener noreferrer" { (l) }
                                        } @else { (l) }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            @if manage {
                h3 { "Add a work item" }
                form.action method="post" action={ "/releases/" (r.id) "/work-items" } {
                    (csrf_field(session))
                    label { "Kind"
                        select name="kind" {
                            @for (_, value, label) in KINDS { option value=(value) { (label) } }
                        }
                    }
                    label { "Key" input name="key" required placeholder="PAY-142"; }
                    label { "Title" input name="title" required; }
                    label { "Status" (status_select(WorkItemStatus::Open)) }
                    label { "Link (optional)" input type="url" name="link"; }
                    label { "Source system (optional)" input name="source" placeholder="jira"; }
                    button type="submit" { "Add the work item" }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct WorkItemForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    source: String,
    /// The version the status form was based on.
    #[serde(default)]
    version: String,
}

fn status(text: &str) -> Result<WorkItemStatus, PageError> {
    forms::choice("status", text)
}

fn items_of(id: &str) -> Redirect {
    Redirect::to(&format!("/releases/{id}#work-items"))
}

/// `POST /releases/{id}/work-items`: adds one work item.
pub async fn add(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(f): Form<WorkItemForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let spec = WorkItemSpec {
        key: f.key.trim().to_string(),
        title: f.title,
        kind: forms::choice("kind", &f.kind)?,
        status: match forms::optional(&f.status) {
            Some(s) => status(&s)?,
            None => WorkItemStatus::Open,
        },
        link: forms::optional(&f.link),
        source: forms::optional(&f.source),
    };
    s.add_work_item(&user.session.actor, &id, spec).await?;
    Ok(items_of(&id))
}

/// `POST /releases/{id}/work-items/{item}/status`: sets its status; refused when the item changed since
/// the form was loaded.
pub async fn set_status(
    State(s): State<Service>,
    user: SignedIn,
    Path((_release, item)): Path<(String, String)>,
    Form(f): Form<WorkItemForm>,
) -> Result<Redirect, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let version = forms::optional_number::<i64>("version", &f.version)?;
    let patch = WorkItemPatch { status: Some(status(&f.status)?), ..Default::default() };
    let w = s.update_work_item(&user.session.actor, &item, patch, version).await?;
    // Back to the release the item belongs to.
    Ok(items_of(&w.item.release_id))
}
