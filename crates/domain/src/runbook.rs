//! Runbooks: reusable, reviewed lists of deployment tasks, scoped to environments or applications.
//! Turnovers copy tasks from accepted runbooks; a turnover's tasks can be saved as a new runbook.
//! `draft --submit--> in_review --accept--> accepted --deactivate--> inactive`; `in_review --reject--> draft`.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::access::rules;
use crate::error::{Fields, Guards};
use crate::{Actor, Change, DomainError, Task, TaskSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunbookState {
    Draft,
    InReview,
    Accepted,
    Inactive,
}

impl RunbookState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunbookState::Draft => "draft",
            RunbookState::InReview => "in_review",
            RunbookState::Accepted => "accepted",
            RunbookState::Inactive => "inactive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Runbook {
    /// "RB-2"
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The environments it is meant for (empty: any).
    #[serde(default)]
    pub environments: Vec<String>,
    /// The applications it is meant for (empty: any).
    #[serde(default)]
    pub applications: Vec<String>,
    pub tasks: Vec<Task>,
    pub state: RunbookState,
    pub author: String,
    #[serde(default)]
    pub reviewed_by: Option<String>,
    #[serde(default)]
    pub review_comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunbookSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub applications: Vec<String>,
    #[serde(default)]
    pub tasks: Vec<TaskSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunbookAction {
    Submit,
    Accept,
    Reject,
    Deactivate,
}

impl Runbook {
    fn describe(&self) -> String {
        format!("runbook {} '{}'", self.id, self.name)
    }

    /// A draft runbook; task ids come from `ids`, one per task.
    pub fn create(
        id: String,
        spec: RunbookSpec,
        ids: &mut dyn Iterator<Item = String>,
        actor: &Actor,
    ) -> Result<(Runbook, Change), DomainError> {
        let mut f = Fields::default();
        f.check(!spec.name.trim().is_empty(), "name", || "must not be empty".into());
        f.done()?;
        let mut tasks = Vec::new();
        for (i, t) in spec.tasks.into_iter().enumerate() {
            let task = Task::from_spec(ids.next().unwrap_or_default(), t);
            if let Err(DomainError::Invalid(errors)) = task.validate() {
                let errors = errors
                    .into_iter()
                    .map(|e| crate::FieldError::new(&format!("tasks[{i}].{}", e.field), e.message))
                    .collect();
                return Err(DomainError::Invalid(errors));
            }
            tasks.push(task);
        }
        let rb = Runbook {
            id,
            name: spec.name.trim().to_string(),
            description: spec.description,
            environments: spec.environments,
            applications: spec.applications,
            tasks,
            state: RunbookState::Draft,
            author: actor.name.clone(),
            reviewed_by: None,
            review_comment: None,
        };
        let change = Change::new("runbook", &rb.id, "create", json!({"name": rb.name, "tasks": rb.tasks.len()}));
        Ok((rb, change))
    }

    /// A draft runbook holding copies of existing tasks (a turnover's, saved for reuse).
    pub fn from_tasks(
        id: String,
        name: &str,
        tasks: &[Task],
        ids: &mut dyn Iterator<Item = String>,
        actor: &Actor,
    ) -> Result<(Runbook, Change), DomainError> {
        if name.trim().is_empty() {
            return Err(DomainError::invalid("name", "must not be empty"));
        }
        let tasks: Vec<Task> = tasks.iter().map(|t| Task { id: ids.next().unwrap_or_default(), ..t.clone() }).collect();
        let rb = Runbook {
            id,
            name: name.trim().to_string(),
            description: String::new(),
            environments: Vec::new(),
            applications: Vec::new(),
            tasks,
            state: RunbookState::Draft,
            author: actor.name.clone(),
            reviewed_by: None,
            review_comment: None,
        };
        let change = Change::new("runbook", &rb.id, "create", json!({"name": rb.name, "tasks": rb.tasks.len()}));
        Ok((rb, change))
    }

    pub fn apply(
        &mut self,
        action: RunbookAction,
        comment: Option<String>,
        actor: &Actor,
    ) -> Result<Change, DomainError> {
        let (name, from, to) = match action {
            RunbookAction::Submit => ("submit", RunbookState::Draft, RunbookState::InReview),
            RunbookAction::Accept => ("accept", RunbookState::InReview, RunbookState::Accepted),
            RunbookAction::Reject => ("reject", RunbookState::InReview, RunbookState::Draft),
            RunbookAction::Deactivate => ("deactivate", RunbookState::Accepted, RunbookState::Inactive),
        };
        let comment = comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
        if action == RunbookAction::Reject && comment.is_none() {
            return Err(DomainError::invalid("comment", "rejecting a runbook needs a comment saying what to change"));
        }
        let mut g = Guards::new(name, &self.describe(), self.state.as_str());
        g.check(self.state == from, "wrong_state", || {
            format!("{} is {}; {name} is allowed only from {}", self.describe(), self.state.as_str(), from.as_str())
        });
        match action {
            RunbookAction::Submit | RunbookAction::Deactivate => {
                // Its author's to submit and to retire; engineers and managers keep the library.
                let rule = rules::RUNBOOK_AUTHOR;
                g.deny(rule.allows(actor, Some(&self.author)), rule.code, || {
                    format!(
                        "{} was written by {}; only {} may {name} it",
                        self.describe(),
                        self.author,
                        rule.who(Some(&self.author))
                    )
                });
                if action == RunbookAction::Submit {
                    g.check(!self.tasks.is_empty(), "no_tasks", || format!("{} has no tasks", self.describe()));
                }
            }
            RunbookAction::Accept | RunbookAction::Reject => {
                g.check(actor.name != self.author, "own_runbook", || {
                    format!("you wrote {}; someone else reviews it", self.describe())
                });
                let rule = rules::RUNBOOK_REVIEWER;
                g.deny(rule.allows(actor, None), rule.code, || {
                    "runbooks are reviewed by release engineers or managers".to_string()
                });
            }
        }
        g.done()?;
        self.state = to;
        if matches!(action, RunbookAction::Accept | RunbookAction::Reject) {
            self.reviewed_by = Some(actor.name.clone());
            self.review_comment = comment.clone();
        }
        Ok(Change::new("runbook", &self.id, name, json!({"comment": comment})))
    }

    /// Whether it may be used for a turnover of this application (accepted, and in scope).
    pub fn guard_usable(&self, application: &str) -> Result<(), DomainError> {
        let mut g = Guards::new("copy_runbook", &self.describe(), self.state.as_str());
        g.check(self.state == RunbookState::Accepted, "runbook_not_accepted", || {
            format!("{} is {}; only accepted runbooks are copied into turnovers", self.describe(), self.state.as_str())
        });
        g.check(
            self.applications.is_empty() || self.applications.iter().any(|a| a == application),
            "runbook_out_of_scope",
            || format!("{} is for applications {}, not {application}", self.describe(), self.applications.join(", ")),
        );
        g.done()
    }
}
