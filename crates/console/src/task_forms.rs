//! A turnover's deployment tasks from the browser: add one (manual with an owner, or automated: a
//! command or an HTTP call), edit it, remove it, set every task's sequence (equal numbers run in
//! parallel), and copy tasks from another turnover or an accepted runbook.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use railyard_domain::action::{Action, CommandAction, HTTP_METHODS, HttpAction};
use railyard_domain::{ReorderEntry, Task, TaskPatch, TaskSpec, Turnover, TurnoverKind};
use railyard_service::{
    CopyTasksInput, ReorderInput, RunbookRef, RunbookView, Service, ServiceError, SessionInfo, TurnoverView,
};

use crate::error::PageError;
use crate::forms::{Fields, csrf_field, list, optional, optional_number};
use crate::people;
use crate::session::SignedIn;
use railyard_service::UserView;

/// What the add and edit forms of a task need besides the task: who may own a manual task, the
/// turnover's environments.
pub struct TaskChoices<'a> {
    pub users: &'a [UserView],
    pub environments: Vec<&'a str>,
    /// The turnover's version: an edit form drawn from an older one is refused.
    pub version: i64,
}

fn tasks_of(id: &str) -> Redirect {
    Redirect::to(&format!("/turnovers/{id}#tasks"))
}

/// The fields of one task, shared by the add and edit forms; `task` pre-fills them.
fn task_fields(t: &Turnover, task: Option<&Task>, next_sequence: u32, c: &TaskChoices) -> Markup {
    let command = match task.and_then(|x| x.action.as_ref()) {
        Some(Action::Command(c)) => Some(c),
        _ => None,
    };
    let http = match task.and_then(|x| x.action.as_ref()) {
        Some(Action::Http(h)) => Some(h),
        _ => None,
    };
    let kind = match (task, command, http) {
        (Some(x), _, _) if x.owner.is_some() => "manual",
        (_, _, Some(_)) => "http",
        _ => "command",
    };
    let owner = task.and_then(|x| x.owner.as_deref()).unwrap_or_default();
    let sequence = task.map_or(next_sequence, |x| x.sequence);
    html! {
        label { "Title" input name="title" required value=[task.map(|x| x.title.as_str())]; }
        label { "Kind"
            select name="kind" {
                option value="command" selected[kind == "command"] { "automated: run a command" }
                option value="http" selected[kind == "http"] { "automated: call a URL" }
                option value="manual" selected[kind == "manual"] { "manual: done by its owner" }
            }
        }
        label { "Program (automated)" input name="program" value=[command.map(|c| c.program.as_str())] placeholder="/bin/sh"; }
        label { "Arguments, one per line" textarea name="args" rows="2" cols="30" { @if let Some(c) = command { (c.args.join("\n")) } } }
        label { "Timeout (seconds)" input type="number" name="timeout_secs" min="1" max="86400" value=[command.map(|c| c.timeout_secs).or(http.map(|h| h.timeout_secs))]; }
        label { "Method (URL call)"
            select name="method" { @for m in HTTP_METHODS { option selected[http.is_some_and(|h| h.method == m)] { (m) } } }
        }
        label { "URL (URL call)" input type="url" name="url" value=[http.map(|h| h.url.as_str())]; }
        label { "Owner (manual)" (people::select("owner", c.users, Some(owner), Some("—"))) }
        label { "Sequence" input type="number" name="sequence" min="1" required value=(sequence); }
        label { "Tier" input name="tier" list="tiers" value=[task.and_then(|x| x.tier.as_deref())] placeholder="database, app, web"; }
        label { "Retries" input type="number" name="retries" min="0" max="10" value=(task.map_or(0, |x| x.retries)); }
        fieldset {
            legend { "Environments (none ticked: all)" }
            @for e in &c.environments {
                label { input type="checkbox" name="environments" value=(e) checked[task.is_some_and(|x| x.environments.iter().any(|n| n == e))]; (e) }
            }
        }
        label { input type="checkbox" name="rollback" value="yes" checked[task.is_some_and(|x| x.rollback)]; "Runs only in a rollback" }
        // Which release a task belongs to is chosen when it is added; an edit cannot move it.
        @if t.kind == TurnoverKind::ProductionReady && t.releases.len() > 1 && task.is_none() {
            label { "Application release"
                select name="release" {
                    option value="" { "—" }
                    @for r in &t.releases { option value=(r) selected[task.and_then(|x| x.release.as_ref()) == Some(r)] { (r) } }
                }
            }
        }
    }
}

/// The add form, the reorder form, the copy forms, and each task's edit and remove forms.
pub fn forms(
    session: &SessionInfo,
    t: &Turnover,
    c: &TaskChoices,
    others: &[TurnoverView],
    runbooks: &[RunbookView],
) -> Markup {
    let next = t.tasks.iter().map(|x| x.sequence).max().unwrap_or(0) + 1;
    let base = format!("/turnovers/{}/tasks", t.id);
    let sources: Vec<&TurnoverView> =
        others.iter().filter(|o| o.turnover.id != t.id && !o.turnover.tasks.is_empty()).collect();
    html! {
        datalist #tiers { option value="database"; option value="app"; option value="web"; }
        @if !t.tasks.is_empty() {
            h3 { "Change a task" }
            @for task in &t.tasks {
                details {
                    summary { "Edit or remove " (task.id) " " (task.title) }
                    form.action method="post" action={ (base) "/" (task.id) "/edit" } {
                        (csrf_field(session))
                        input type="hidden" name="version" value=(c.version);
                        (task_fields(t, Some(task), next, c))
                        button type="submit" { "Save " (task.id) }
                    }
                    form.action method="post" action={ (base) "/" (task.id) "/remove" } {
                        (csrf_field(session))
                        button.secondary type="submit" { "Remove " (task.id) }
                    }
                }
            }
            h3 { "Order" }
            p.hint { "Tasks with the same sequence run in parallel; the next sequence starts when they all succeeded." }
            form.action method="post" action={ (base) "/reorder" } {
                (csrf_field(session))
                @for task in &t.tasks {
                    label { (task.id) " " (task.title) input type="number" name={ "seq-" (task.id) } min="1" required value=(task.sequence); }
                }
                button type="submit" { "Save the order" }
            }
        }
        h3 { "Add a task" }
        form.action method="post" action=(base) {
            (csrf_field(session))
            (task_fields(t, None, next, c))
            button type="submit" { "Add task" }
        }
        @if !sources.is_empty() {
            h3 { "Copy tasks from another turnover" }
            form.action method="post" action={ (base) "/copy" } {
                (csrf_field(session))
                label { "Turnover"
                    select name="from" {
                        @for o in &sources { option value=(o.turnover.id) { (o.turnover.id) " " (o.turnover.title) " (" (o.turnover.tasks.len()) " tasks)" } }
                    }
                }
                label { "Only these tasks (ids, comma-separated; empty: all)" input name="tasks" placeholder="TA-1, TA-2"; }
                button type="submit" { "Copy tasks" }
            }
        }
        @if !runbooks.is_empty() {
            h3 { "Copy the tasks of a runbook" }
            form.action method="post" action={ (base) "/copy" } {
                (csrf_field(session))
                label { "Accepted runbook"
                    select name="runbook" { @for r in runbooks { option value=(r.runbook.id) { (r.runbook.id) " " (r.runbook.name) } } }
                }
                button type="submit" { "Copy runbook tasks" }
            }
        }
    }
}

/// What the task form says the task runs: its owner (manual) or its action (automated).
fn manual_or_action(f: &Fields) -> Result<(Option<String>, Option<Action>), PageError> {
    let timeout = optional_number::<u64>("timeout_secs", f.one("timeout_secs"))?;
    match f.one("kind") {
        "manual" => {
            let owner = optional(f.one("owner"))
                .ok_or_else(|| ServiceError::invalid("owner", "a manual task names its owner"))?;
            Ok((Some(owner), None))
        }
        "command" => {
            let mut c = CommandAction::new(f.one("program").trim());
            c.args =
                f.one("args").lines().map(|l| l.trim_end_matches('\r').to_string()).filter(|l| !l.is_empty()).collect();
            if let Some(t) = timeout {
                c.timeout_secs = t;
            }
            Ok((None, Some(Action::Command(c))))
        }
        "http" => Ok((
            None,
            Some(Action::Http(HttpAction {
                method: f.one("method").trim().to_uppercase(),
                url: f.one("url").trim().to_string(),
                headers: BTreeMap::new(),
                body: None,
                expected_status: Vec::new(),
                timeout_secs: timeout.unwrap_or(30),
            })),
        )),
        other => Err(ServiceError::invalid(
            "kind",
            format!("“{other}” is not a kind of task; choose command, http or manual"),
        )
        .into()),
    }
}

/// The action as the form gives it, with the parts the form does not show taken from `before` when the
/// task keeps its kind.
fn keep_what_the_form_does_not_show(before: Option<Action>, form: Action) -> Action {
    match (before, form) {
        (Some(Action::Command(old)), Action::Command(new)) => Action::Command(CommandAction {
            program: new.program,
            args: new.args,
            timeout_secs: new.timeout_secs,
            ..old
        }),
        (Some(Action::Http(old)), Action::Http(new)) => {
            Action::Http(HttpAction { method: new.method, url: new.url, timeout_secs: new.timeout_secs, ..old })
        }
        (_, form) => form,
    }
}

fn sequence(f: &Fields) -> Result<u32, PageError> {
    optional_number::<u32>("sequence", f.one("sequence"))?
        .ok_or_else(|| ServiceError::invalid("sequence", "give the task's sequence, 1 or more").into())
}

/// `POST /turnovers/{id}/tasks`: adds a task.
pub async fn add(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, PageError> {
    let f = Fields::new(pairs);
    user.check_csrf(Some(f.one("csrf")))?;
    let (owner, action) = manual_or_action(&f)?;
    let spec = TaskSpec {
        title: f.one("title").trim().to_string(),
        sequence: sequence(&f)?,
        owner,
        action,
        environments: f.all("environments"),
        retries: optional_number::<u32>("retries", f.one("retries"))?.unwrap_or(0),
        tier: optional(f.one("tier")),
        rollback: f.checked("rollback"),
        release: optional(f.one("release")),
    };
    s.add_task(&user.session.actor, &id, spec).await?;
    Ok(tasks_of(&id))
}

/// `POST /turnovers/{id}/tasks/{task}/edit`: replaces the task's fields with the form's.
pub async fn edit(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, task)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, PageError> {
    let f = Fields::new(pairs);
    user.check_csrf(Some(f.one("csrf")))?;
    let (owner, action) = manual_or_action(&f)?;
    // The form shows only part of an action; what it does not show (a command's environment and
    // working directory, a call's headers, body and expected statuses) is kept as stored.
    let stored = s.turnover(&user.session.actor, &id).await?.turnover;
    let before = stored.tasks.iter().find(|t| t.id == task).and_then(|t| t.action.clone());
    let action = action.map(|a| keep_what_the_form_does_not_show(before, a));
    let patch = TaskPatch {
        title: Some(f.one("title").trim().to_string()),
        sequence: Some(sequence(&f)?),
        owner,
        action,
        environments: Some(f.all("environments")),
        retries: Some(optional_number::<u32>("retries", f.one("retries"))?.unwrap_or(0)),
        tier: Some(f.one("tier").trim().to_string()),
        rollback: Some(f.checked("rollback")),
    };
    let version = optional_number::<i64>("version", f.one("version"))?;
    s.edit_task(&user.session.actor, &id, &task, patch, version).await?;
    Ok(tasks_of(&id))
}

/// `POST /turnovers/{id}/tasks/{task}/remove`.
pub async fn remove(
    State(s): State<Service>,
    user: SignedIn,
    Path((id, task)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, PageError> {
    user.check_csrf(Some(Fields::new(pairs).one("csrf")))?;
    s.remove_task(&user.session.actor, &id, &task).await?;
    Ok(tasks_of(&id))
}

/// `POST /turnovers/{id}/tasks/reorder`: a `seq-TA-3` field per task gives its new sequence.
pub async fn reorder(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, PageError> {
    let f = Fields::new(pairs);
    user.check_csrf(Some(f.one("csrf")))?;
    let mut order = Vec::new();
    for (name, value) in f.pairs() {
        let Some(task) = name.strip_prefix("seq-") else { continue };
        let field = format!("sequence of {task}");
        let sequence = optional_number::<u32>(&field, value)?
            .ok_or_else(|| ServiceError::invalid(&field, "give a sequence, 1 or more"))?;
        order.push(ReorderEntry { task: task.to_string(), sequence });
    }
    if order.is_empty() {
        return Err(ServiceError::invalid("order", "the form gave no task a sequence").into());
    }
    s.reorder_tasks(&user.session.actor, &id, ReorderInput { order }).await?;
    Ok(tasks_of(&id))
}

/// `POST /turnovers/{id}/tasks/copy`: from another turnover (`from`, optionally only `tasks`) or from an
/// accepted runbook (`runbook`).
pub async fn copy(
    State(s): State<Service>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Redirect, PageError> {
    let f = Fields::new(pairs);
    user.check_csrf(Some(f.one("csrf")))?;
    let actor = &user.session.actor;
    if let Some(runbook) = optional(f.one("runbook")) {
        s.copy_runbook(actor, &id, RunbookRef { runbook }).await?;
    } else {
        let from = f.all("from");
        if from.is_empty() {
            return Err(ServiceError::invalid("from", "choose the turnover to copy from").into());
        }
        s.copy_tasks(actor, &id, CopyTasksInput { from, tasks: list(f.one("tasks")) }).await?;
    }
    Ok(tasks_of(&id))
}
