//! A turnover's deployment tasks: manual (an owner) or automation (an action); equal sequence numbers
//! run in parallel (R16). Frozen turnovers keep their tasks (R12).

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::Turnover;
use crate::action::Action;
use crate::error::Fields;
use crate::{Actor, Change, DomainError};

/// The most retries a task may ask for.
pub const MAX_RETRIES: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    /// "TA-7"
    pub id: String,
    pub title: String,
    /// Tasks of equal sequence run in parallel; the next group starts when all of this one succeeded.
    pub sequence: u32,
    /// Manual tasks: who does it (R15).
    #[serde(default)]
    pub owner: Option<String>,
    /// Automation tasks: what the engine runs.
    #[serde(default)]
    pub action: Option<Action>,
    /// The environments it applies to (empty: all).
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub retries: u32,
    /// A grouping label for ordering production tasks (e.g. `database`, `app`, `web`).
    #[serde(default)]
    pub tier: Option<String>,
    /// Run when a production deployment is rolled back (and only then).
    #[serde(default)]
    pub rollback: bool,
    /// The application release whose task it is (set when copied from a standard turnover); orders the
    /// tasks of a production-ready turnover by dependencies (R5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub title: String,
    pub sequence: u32,
    /// A manual task names its owner...
    #[serde(default)]
    pub owner: Option<String>,
    /// ...an automation task its action; exactly one of the two.
    #[serde(default)]
    pub action: Option<Action>,
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub retries: u32,
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub rollback: bool,
    /// One of the turnover's application releases (for production-ready turnovers spanning several).
    #[serde(default)]
    pub release: Option<String>,
}

/// Changes to a task; `owner` and `action` replace each other (setting one clears the other).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<bool>,
}

/// One line of a reorder: a task and its new sequence.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderEntry {
    pub task: String,
    pub sequence: u32,
}

fn check_task(f: &mut Fields, t: &Task) {
    f.check(!t.title.trim().is_empty(), "title", || "must not be empty".into());
    f.check(t.sequence >= 1, "sequence", || "must be 1 or more".into());
    f.check(t.retries <= MAX_RETRIES, "retries", || format!("must be at most {MAX_RETRIES}"));
    match (&t.owner, &t.action) {
        (Some(_), Some(_)) | (None, None) => f.0.push(crate::FieldError::new(
            "action",
            "a task is manual (give its owner) or automated (give its action), exactly one of the two",
        )),
        (Some(o), None) => f.check(!o.trim().is_empty(), "owner", || "must not be empty".into()),
        (None, Some(a)) => {
            if let Err(errors) = a.validate() {
                for e in errors {
                    f.0.push(crate::FieldError::new(&format!("action.{}", e.field), e.message));
                }
            }
            if let Err(errors) = a.variable_references() {
                f.0.extend(errors);
            }
        }
    }
}

impl Task {
    pub fn from_spec(id: String, spec: TaskSpec) -> Task {
        Task {
            id,
            title: spec.title.trim().to_string(),
            sequence: spec.sequence,
            owner: spec.owner,
            action: spec.action,
            environments: spec.environments,
            retries: spec.retries,
            tier: spec.tier,
            rollback: spec.rollback,
            release: spec.release,
        }
    }

    /// Every invalid field of the task.
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut f = Fields::default();
        check_task(&mut f, self);
        f.done()
    }
}

impl Turnover {
    /// Copies an accepted runbook's tasks into this turnover under new ids.
    pub fn copy_runbook(
        &mut self,
        rb: &crate::Runbook,
        ids: &mut dyn Iterator<Item = String>,
        actor: &Actor,
    ) -> Result<Change, DomainError> {
        self.guard_mutable("copy_runbook", actor)?;
        let mut copied = Vec::new();
        for t in &rb.tasks {
            let id = ids.next().ok_or_else(|| DomainError::invalid("tasks", "not enough task ids"))?;
            copied.push(id.clone());
            let release = self.release_of_copy(t.release.as_ref(), &[]);
            self.tasks.push(Task { id, release, ..t.clone() });
        }
        self.sort_tasks();
        Ok(Change::new("turnover", &self.id, "copy_runbook", json!({"runbook": rb.id, "tasks": copied})))
    }

    /// The release a copied task belongs to here: this turnover's own when it carries one; else the
    /// task's (or its one-release source's) when this turnover carries it.
    fn release_of_copy(&self, task: Option<&String>, source: &[String]) -> Option<String> {
        if self.releases.len() == 1 {
            return self.releases.first().cloned();
        }
        let from_source = (source.len() == 1).then(|| &source[0]);
        task.or(from_source).filter(|r| self.releases.contains(r)).cloned()
    }

    fn task_index(&self, id: &str) -> Result<usize, DomainError> {
        self.tasks
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| DomainError::invalid("task", format!("{} has no task {id}", self.describe())))
    }

    fn sort_tasks(&mut self) {
        self.tasks.sort_by(|a, b| a.sequence.cmp(&b.sequence).then_with(|| crate::graph::id_cmp(&a.id, &b.id)));
    }

    pub fn add_task(&mut self, id: String, spec: TaskSpec, actor: &Actor) -> Result<Change, DomainError> {
        let task = Task::from_spec(id, spec);
        let mut f = Fields::default();
        check_task(&mut f, &task);
        if let Some(r) = &task.release {
            f.check(self.releases.contains(r), "release", || {
                format!("{} carries {}, not {r}", self.describe(), self.releases.join(", "))
            });
        }
        f.done()?;
        self.guard_mutable("add_task", actor)?;
        let change = Change::new(
            "turnover",
            &self.id,
            "add_task",
            json!({"task": task.id, "title": task.title, "sequence": task.sequence}),
        );
        self.tasks.push(task);
        self.sort_tasks();
        Ok(change)
    }

    pub fn edit_task(&mut self, id: &str, patch: TaskPatch, actor: &Actor) -> Result<Change, DomainError> {
        self.guard_mutable("edit_task", actor)?;
        let i = self.task_index(id)?;
        let mut task = self.tasks[i].clone();
        let data = json!({"task": id, "changes": patch});
        if let Some(v) = patch.title {
            task.title = v.trim().to_string();
        }
        if let Some(v) = patch.sequence {
            task.sequence = v;
        }
        if let Some(v) = patch.owner {
            task.owner = Some(v);
            task.action = None;
        }
        if let Some(v) = patch.action {
            task.action = Some(v);
            task.owner = None;
        }
        if let Some(v) = patch.environments {
            task.environments = v;
        }
        if let Some(v) = patch.retries {
            task.retries = v;
        }
        if let Some(v) = patch.tier {
            task.tier = Some(v).filter(|t| !t.is_empty());
        }
        if let Some(v) = patch.rollback {
            task.rollback = v;
        }
        let mut f = Fields::default();
        check_task(&mut f, &task);
        f.done()?;
        self.tasks[i] = task;
        self.sort_tasks();
        Ok(Change::new("turnover", &self.id, "edit_task", data))
    }

    pub fn remove_task(&mut self, id: &str, actor: &Actor) -> Result<Change, DomainError> {
        self.guard_mutable("remove_task", actor)?;
        self.task_index(id)?;
        self.tasks.retain(|t| t.id != id);
        Ok(Change::new("turnover", &self.id, "remove_task", json!({"task": id})))
    }

    /// Gives tasks new sequence numbers; tasks not named keep theirs.
    pub fn reorder_tasks(&mut self, order: &[ReorderEntry], actor: &Actor) -> Result<Change, DomainError> {
        self.guard_mutable("reorder_tasks", actor)?;
        let mut f = Fields::default();
        for (i, e) in order.iter().enumerate() {
            f.check(self.tasks.iter().any(|t| t.id == e.task), &format!("order[{i}].task"), || {
                format!("{} has no task {}", self.describe(), e.task)
            });
            f.check(e.sequence >= 1, &format!("order[{i}].sequence"), || "must be 1 or more".into());
        }
        f.done()?;
        for e in order {
            if let Some(t) = self.tasks.iter_mut().find(|t| t.id == e.task) {
                t.sequence = e.sequence;
            }
        }
        self.sort_tasks();
        let seqs: Vec<(String, u32)> = self.tasks.iter().map(|t| (t.id.clone(), t.sequence)).collect();
        Ok(Change::new("turnover", &self.id, "reorder_tasks", json!({"order": seqs})))
    }

    /// Copies tasks of other turnovers (all, or those named) under new ids, keeping their sequences.
    pub fn copy_tasks(
        &mut self,
        from: &[Turnover],
        only: &[String],
        ids: &mut dyn Iterator<Item = String>,
        actor: &Actor,
    ) -> Result<Change, DomainError> {
        self.guard_mutable("copy_tasks", actor)?;
        let mut f = Fields::default();
        for (i, t) in only.iter().enumerate() {
            f.check(from.iter().any(|s| s.tasks.iter().any(|x| &x.id == t)), &format!("tasks[{i}]"), || {
                let names: Vec<&str> = from.iter().map(|s| s.id.as_str()).collect();
                format!("{} has no task {t}", names.join(" or "))
            });
        }
        f.done()?;
        if self.kind == super::TurnoverKind::ProductionReady {
            // Its tasks belong to its own releases, which order them (R5) and hold their deployments.
            let mut g = self.guards("copy_tasks");
            for source in from {
                for r in source.releases.iter().filter(|r| !self.releases.contains(r)) {
                    g.fail(
                        "from_other_release",
                        format!("{} carries {r}, which {} does not", source.describe(), self.describe()),
                    );
                }
            }
            g.done()?;
        }
        let mut copied = Vec::new();
        for source in from {
            for t in source.tasks.iter().filter(|t| only.is_empty() || only.contains(&t.id)) {
                let id = ids.next().ok_or_else(|| DomainError::invalid("tasks", "not enough task ids"))?;
                copied.push((t.id.clone(), id.clone()));
                let release = self.release_of_copy(t.release.as_ref(), &source.releases);
                self.tasks.push(Task { id, release, ..t.clone() });
            }
        }
        self.sort_tasks();
        let sources: Vec<&str> = from.iter().map(|s| s.id.as_str()).collect();
        Ok(Change::new("turnover", &self.id, "copy_tasks", json!({"from": sources, "tasks": copied})))
    }

    /// How many tasks `copy_tasks` would copy.
    pub fn tasks_to_copy(from: &[Turnover], only: &[String]) -> usize {
        from.iter().flat_map(|s| &s.tasks).filter(|t| only.is_empty() || only.contains(&t.id)).count()
    }
}
