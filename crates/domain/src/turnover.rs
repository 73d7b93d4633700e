//! Turnovers: packages of deployment tasks that move an application release through its path
//! (DESIGN.md §1–2; R6 creation, R7 work items, R12 freezing).

mod deploy;
mod production;
mod rollout;
mod tasks;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::access::rules;
use crate::error::{Fields, Guards};
use crate::{
    Actor, ApplicationRelease, Change, DeploymentPath, DomainError, PathState, Stage, Train, WorkItem, WorkItemStatus,
};

pub use deploy::TurnoverFacts;
pub use production::{ProductionSpec, ProposedOrder, default_tiers};
pub use rollout::{goes_to_production, takes_production};
pub use tasks::{ReorderEntry, Task, TaskPatch, TaskSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TurnoverKind {
    /// Carries one application release through the pre-production stages of its path.
    Standard,
    /// Assembled for production; may span several application releases of one train.
    ProductionReady,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TurnoverState {
    Draft,
    /// Standard: deploying along its path.
    InFlight,
    /// Standard: validated in the last stage of its path.
    Completed,
    /// Production-ready: handed to release engineering for acceptance.
    Delivered,
    /// Production-ready: accepted (and frozen, R12); waits for its scheduled times.
    Accepted,
    /// Production-ready: a deployment into one of its environments has started.
    Deploying,
    /// Production-ready: deployed into every environment, awaiting verification.
    Deployed,
    /// Production-ready: verified in every environment.
    Verified,
    /// Production-ready: rolled back in an environment after a failure.
    RolledBack,
    /// Production-ready: verified, and its train closed.
    Closed,
    Cancelled,
}

impl TurnoverState {
    pub fn as_str(self) -> &'static str {
        match self {
            TurnoverState::Draft => "draft",
            TurnoverState::InFlight => "in_flight",
            TurnoverState::Completed => "completed",
            TurnoverState::Delivered => "delivered",
            TurnoverState::Accepted => "accepted",
            TurnoverState::Deploying => "deploying",
            TurnoverState::Deployed => "deployed",
            TurnoverState::Verified => "verified",
            TurnoverState::RolledBack => "rolled_back",
            TurnoverState::Closed => "closed",
            TurnoverState::Cancelled => "cancelled",
        }
    }
    /// Work remains: not completed, verified, closed or cancelled.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            TurnoverState::Completed | TurnoverState::Verified | TurnoverState::Closed | TurnoverState::Cancelled
        )
    }
    /// Its tasks, artifacts and work items may change (unless frozen, R12).
    pub fn is_editable(self) -> bool {
        matches!(self, TurnoverState::Draft | TurnoverState::InFlight)
    }
}

impl fmt::Display for TurnoverState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a turnover delivers: a build, a package, an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Turnover {
    /// "TO-31"
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The developer who assembled it.
    pub developer: String,
    pub kind: TurnoverKind,
    /// The application releases it carries (one for a standard turnover).
    pub releases: Vec<String>,
    pub train_id: String,
    /// The deployment path (empty for a production-ready turnover, which names its environments).
    pub path_id: String,
    /// The path's stages as they were when the turnover was created: later edits of the path do not
    /// change them.
    pub stages: Vec<Stage>,
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    /// Ids of the work items it delivers (done, of its own releases: R7).
    #[serde(default)]
    pub work_items: Vec<String>,
    #[serde(default)]
    pub tasks: Vec<Task>,
    pub state: TurnoverState,
    /// R12: once frozen, its tasks and artifacts no longer change; why it was frozen.
    #[serde(default)]
    pub frozen: Option<String>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    pub created_by: String,
    /// Bumped each time the turnover goes back to draft (R10): its path starts over, and deployments of
    /// earlier generations no longer count.
    #[serde(default)]
    pub generation: u32,
    /// Production-ready: the pre-production turnover it was created from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_turnover: Option<String>,
    /// Production-ready: who delivered it to release engineering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_by: Option<String>,
    /// Production-ready: the release engineer who accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<String>,
    /// Production-ready: why release engineering last sent it back to draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnoverSpec {
    pub title: String,
    /// The application release it carries.
    pub release: String,
    /// An active deployment path.
    pub path: String,
    #[serde(default)]
    pub description: String,
    /// Defaults to the creator.
    #[serde(default)]
    pub developer: Option<String>,
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnoverPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer: Option<String>,
    /// Replaces the artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
}

fn check_artifacts(f: &mut Fields, artifacts: &[Artifact]) {
    for (i, a) in artifacts.iter().enumerate() {
        f.check(!a.name.trim().is_empty(), &format!("artifacts[{i}].name"), || "must not be empty".into());
        f.check(!a.version.trim().is_empty(), &format!("artifacts[{i}].version"), || "must not be empty".into());
    }
}

impl Turnover {
    pub fn describe(&self) -> String {
        format!("turnover {} '{}'", self.id, self.title)
    }

    /// R6: turnovers are created once the train is in construction and the release has begun work;
    /// the path must be active and serve the release's type.
    pub fn create(
        id: String,
        spec: TurnoverSpec,
        release: &ApplicationRelease,
        train: &Train,
        path: &DeploymentPath,
        actor: &Actor,
    ) -> Result<(Turnover, Change), DomainError> {
        let mut f = Fields::default();
        f.check(!spec.title.trim().is_empty(), "title", || "must not be empty".into());
        check_artifacts(&mut f, &spec.artifacts);
        f.done()?;
        let mut g = Guards::new("create", &format!("a turnover of {}", release.id), release.state);
        release.check_takes_turnovers(&mut g, train);
        g.check(path.state == PathState::Active, "path_not_active", || {
            format!(
                "deployment path {} '{}' is {}; only an active path can be given to a turnover",
                path.id, path.name, path.state
            )
        });
        g.check(
            path.release_types.is_empty() || path.release_types.contains(&release.release_type),
            "path_type",
            || format!("deployment path {} does not serve {} releases", path.id, release.release_type.as_str()),
        );
        check_named_developer(&mut g, spec.developer.as_deref(), actor);
        g.done()?;
        let turnover = Turnover {
            id,
            title: spec.title.trim().to_string(),
            description: spec.description,
            developer: spec.developer.unwrap_or_else(|| actor.name.clone()),
            kind: TurnoverKind::Standard,
            releases: vec![release.id.clone()],
            train_id: train.id.clone(),
            path_id: path.id.clone(),
            stages: path.stages.clone(),
            artifacts: spec.artifacts,
            work_items: Vec::new(),
            tasks: Vec::new(),
            state: TurnoverState::Draft,
            frozen: None,
            cancel_reason: None,
            created_by: actor.name.clone(),
            generation: 0,
            from_turnover: None,
            delivered_by: None,
            accepted_by: None,
            rejection: None,
        };
        let change = Change::new(
            "turnover",
            &turnover.id,
            "create",
            json!({"release": release.id, "path": path.id, "stages": turnover.stages.len()}),
        );
        Ok((turnover, change))
    }

    pub(crate) fn guards(&self, action: &str) -> Guards {
        Guards::new(action, &self.describe(), self.state)
    }

    /// Developers change the turnovers they develop; release engineers and managers any
    /// ([`rules::TURNOVER_DEVELOPER`]).
    pub(crate) fn check_editor(&self, g: &mut Guards, actor: &Actor) {
        let rule = rules::TURNOVER_DEVELOPER;
        g.deny(rule.allows(actor, Some(&self.developer)), rule.code, || {
            format!(
                "{} is developed by {}; only {} may change it",
                self.describe(),
                self.developer,
                rule.who(Some(&self.developer))
            )
        });
    }

    /// Editable (draft or in flight), not frozen (R12), and the actor may edit it.
    pub(crate) fn guard_mutable(&self, action: &str, actor: &Actor) -> Result<(), DomainError> {
        let mut g = self.guards(action);
        g.check(self.state.is_editable(), "wrong_state", || {
            format!("{} is {}; its tasks and artifacts change only while it is draft", self.describe(), self.state)
        });
        if let Some(why) = &self.frozen {
            g.fail("frozen", format!("{} is frozen: {why}; its tasks and artifacts no longer change", self.describe()));
        }
        self.check_editor(&mut g, actor);
        g.done()
    }

    pub fn update(&mut self, patch: TurnoverPatch, actor: &Actor) -> Result<Change, DomainError> {
        let mut f = Fields::default();
        if let Some(t) = &patch.title {
            f.check(!t.trim().is_empty(), "title", || "must not be empty".into());
        }
        if let Some(a) = &patch.artifacts {
            check_artifacts(&mut f, a);
        }
        f.done()?;
        if patch.artifacts.is_some() {
            self.guard_mutable("update", actor)?;
        } else {
            let mut g = self.guards("update");
            g.check(self.state.is_open(), "wrong_state", || format!("{} is {}", self.describe(), self.state));
            // Who developed it decides who may accept it: fixed once it is handed over.
            g.check(patch.developer.is_none() || self.state.is_editable(), "developer_fixed", || {
                format!("{} is {}; its developer changes only while it is draft", self.describe(), self.state)
            });
            self.check_editor(&mut g, actor);
            if patch.developer.as_ref().is_some_and(|d| *d != self.developer) {
                check_named_developer(&mut g, patch.developer.as_deref(), actor);
            }
            g.done()?;
        }
        let data = json!(patch);
        if let Some(t) = patch.title {
            self.title = t.trim().to_string();
        }
        if let Some(d) = patch.description {
            self.description = d;
        }
        if let Some(d) = patch.developer {
            self.developer = d;
        }
        if let Some(a) = patch.artifacts {
            self.artifacts = a;
        }
        Ok(Change::new("turnover", &self.id, "update", data))
    }

    /// R7: links work items that are done and belong to its own releases; each other one is named.
    pub fn link_work_items(&mut self, items: &[WorkItem], actor: &Actor) -> Result<Change, DomainError> {
        self.guard_mutable("link_work_items", actor)?;
        let mut g = self.guards("link_work_items");
        for w in items {
            g.check(self.releases.contains(&w.release_id), "work_item_elsewhere", || {
                format!("work item {} ({}) belongs to {}, not to this turnover's release", w.id, w.key, w.release_id)
            });
            g.check(w.status == WorkItemStatus::Done, "work_item_not_done", || {
                format!(
                    "work item {} ({}) is {}, not done; a turnover links only work items that are done",
                    w.id,
                    w.key,
                    w.status.as_str()
                )
            });
        }
        g.done()?;
        let mut added = Vec::new();
        for w in items {
            if !self.work_items.contains(&w.id) {
                self.work_items.push(w.id.clone());
                added.push(w.id.clone());
            }
        }
        Ok(Change::new("turnover", &self.id, "link_work_items", json!({"work_items": added})))
    }

    pub fn unlink_work_item(&mut self, id: &str, actor: &Actor) -> Result<Change, DomainError> {
        self.guard_mutable("unlink_work_item", actor)?;
        if !self.work_items.iter().any(|w| w == id) {
            return Err(DomainError::invalid(
                "work_item",
                format!("{} does not deliver work item {id}", self.describe()),
            ));
        }
        self.work_items.retain(|w| w != id);
        Ok(Change::new("turnover", &self.id, "unlink_work_item", json!({"work_item": id})))
    }

    pub fn cancel(&mut self, reason: &str, actor: &Actor) -> Result<Change, DomainError> {
        if reason.trim().is_empty() {
            return Err(DomainError::invalid("reason", "cancelling a turnover needs a reason"));
        }
        let mut g = self.guards("cancel");
        g.check(self.state.is_open(), "wrong_state", || format!("{} is already {}", self.describe(), self.state));
        self.check_editor(&mut g, actor);
        g.done()?;
        let from = self.state;
        self.state = TurnoverState::Cancelled;
        self.cancel_reason = Some(reason.trim().to_string());
        Ok(Change::new("turnover", &self.id, "cancel", json!({"from": from, "reason": reason.trim()})))
    }
}

/// Where a turnover deploys next, and the how-many-th time into that stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextStage {
    pub stage: usize,
    pub attempt: u32,
}

impl Turnover {
    /// R8: the next deployment goes into the next stage once the last one is validated (optional stages
    /// may be skipped, by naming them; required ones never), or again into the same stage after a
    /// failure or a failed validation when the stage allows redeploys.
    pub fn next_stage(&self, past: &[crate::Deployment], skip: &[String]) -> Result<NextStage, DomainError> {
        use crate::DeploymentState as D;
        let mut g = self.guards("deploy");
        g.check(self.state.is_editable(), "wrong_state", || format!("{} is {}", self.describe(), self.state));
        g.check(self.kind == TurnoverKind::Standard, "production_ready", || {
            format!(
                "{} is production-ready: it is deployed by scheduling it into its locked environments",
                self.describe()
            )
        });
        if let Some(active) = past.iter().find(|d| d.state.is_active()) {
            g.fail(
                "deployment_active",
                format!("deployment {} into {} is still {}", active.id, active.environment, active.state),
            );
        }
        for name in skip {
            match self.stages.iter().find(|s| &s.environment == name) {
                None => g.fail("no_such_stage", format!("the path of {} has no stage {name}", self.id)),
                Some(s) if s.required => {
                    g.fail("stage_required", format!("stage {name} is required and is never skipped"))
                }
                Some(_) => {}
            }
        }
        let last = past.iter().filter(|d| d.generation == self.generation).max_by_key(|d| (d.stage, d.attempt));
        let next = |from: usize| (from..self.stages.len()).find(|&i| !skip.contains(&self.stages[i].environment));
        let target = match last {
            None => next(0).map(|stage| NextStage { stage, attempt: 1 }),
            Some(d) => match d.state {
                D::Validated => next(d.stage + 1).map(|stage| NextStage { stage, attempt: 1 }),
                D::Failed | D::Rejected | D::Abandoned => {
                    let stage = &self.stages[d.stage.min(self.stages.len().saturating_sub(1))];
                    g.check(stage.allow_redeploy, "redeploy_not_allowed", || {
                        format!("stage {} does not allow redeploys", stage.environment)
                    });
                    Some(NextStage { stage: d.stage, attempt: d.attempt + 1 })
                }
                D::Succeeded => {
                    g.fail(
                        "awaiting_validation",
                        format!("deployment {} into {} succeeded and awaits validation", d.id, d.environment),
                    );
                    None
                }
                D::Scheduled | D::Running => None,
            },
        };
        if target.is_none() && last.is_some_and(|d| d.state == D::Validated) {
            g.fail("path_complete", format!("{} has been validated in every stage of its path", self.describe()));
        }
        // Stages between the last validated one and the target must be optional and named in `skip`.
        if let (Some(t), Some(d)) = (target, last) {
            for i in (d.stage + 1)..t.stage {
                let s = &self.stages[i];
                g.check(!s.required, "stage_required", || {
                    format!("stage {} is required and is never skipped", s.environment)
                });
            }
        }
        g.done()?;
        target.ok_or_else(|| DomainError::invalid("stage", "no stage to deploy into"))
    }

    /// A deployment into `stage` was scheduled: the turnover is in flight, and frozen when the stage
    /// freezes tasks (R12).
    pub fn on_deploy(&mut self, stage: usize) -> Option<Change> {
        let mut changes = Vec::new();
        if self.state == TurnoverState::Draft {
            self.state = TurnoverState::InFlight;
            changes.push("in_flight");
        }
        if let Some(s) = self.stages.get(stage)
            && s.freeze_tasks
            && self.frozen.is_none()
        {
            self.frozen = Some(format!("it entered {}, a stage that freezes tasks", s.environment));
            changes.push("frozen");
        }
        (!changes.is_empty())
            .then(|| Change::new("turnover", &self.id, "deploy", json!({"stage": stage + 1, "now": changes})))
    }

    /// A deployment into `stage` was validated: validated in the last stage, the turnover is completed.
    pub fn on_validated(&mut self, stage: usize) -> Option<Change> {
        if stage + 1 == self.stages.len() && self.state == TurnoverState::InFlight {
            self.state = TurnoverState::Completed;
            return Some(Change::new("turnover", &self.id, "complete", json!({})));
        }
        None
    }
}

impl Turnover {
    /// R10: its release was sent back to construction; an open turnover returns to draft, its tasks no
    /// longer frozen, so that it can be fixed.
    /// A production-ready turnover not yet verified goes back to draft too: it is no longer accepted.
    pub fn back_to_draft(&mut self, why: &str) -> Option<Change> {
        use TurnoverState as T;
        let production = matches!(self.state, T::Delivered | T::Accepted | T::Deploying | T::Deployed | T::RolledBack);
        if self.state != T::InFlight && !production && !(self.state == T::Draft && self.frozen.is_some()) {
            return None;
        }
        let from = self.state;
        self.state = TurnoverState::Draft;
        self.frozen = None;
        self.accepted_by = None;
        self.generation += 1;
        Some(Change::new("turnover", &self.id, "back_to_draft", json!({"from": from, "why": why})))
    }
}

/// A developer names only themselves as a turnover's developer; release engineers and managers name
/// anyone ([`rules::NAMES_DEVELOPER`]).
pub(crate) fn check_named_developer(g: &mut Guards, named: Option<&str>, actor: &Actor) {
    let rule = rules::NAMES_DEVELOPER;
    if let Some(named) = named {
        g.deny(rule.allows(actor, Some(named)), rule.code, || {
            format!(
                "a developer names only themselves as a turnover's developer; naming {named} is for a release \
                 engineer, a release manager or an admin"
            )
        });
    }
}
