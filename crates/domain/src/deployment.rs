//! Deployments: one attempt to deploy one turnover into one environment, and its task runs
//! (DESIGN.md §2; R13 blocked starts, R15 manual runs, R16 sequence groups).
//!
//! The engine drives a deployment through [`Deployment::advance`]: it starts the next group's runs
//! (automation runs for the engine to launch, manual runs handed to their owners) only once every run
//! of the group before succeeded or was skipped, and settles the deployment when a group fails or the
//! last one is done.

mod retry;
mod runs;
mod schedule;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::Guards;
use crate::{Actor, Change, DomainError, Turnover};

pub use runs::{RunProcess, RunResult, RunState, RunStatus, TaskRun};
pub use schedule::{EarlyStart, MAX_WINDOW_MINUTES, ScheduleTarget, check_schedule_time};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentState {
    /// Waiting for the engine (or, when `blocked` says why, for its environment to open: R13).
    Scheduled,
    Running,
    Succeeded,
    Failed,
    Abandoned,
    /// Succeeded and validated: passed.
    Validated,
    /// Succeeded but failed validation.
    Rejected,
}

impl DeploymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Scheduled => "scheduled",
            DeploymentState::Running => "running",
            DeploymentState::Succeeded => "succeeded",
            DeploymentState::Failed => "failed",
            DeploymentState::Abandoned => "abandoned",
            DeploymentState::Validated => "validated",
            DeploymentState::Rejected => "rejected",
        }
    }
    /// Scheduled or running: the engine still has work in it.
    pub fn is_active(self) -> bool {
        matches!(self, DeploymentState::Scheduled | DeploymentState::Running)
    }
}

impl fmt::Display for DeploymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Manual,
    Scheduled,
}

/// A claim on a deployment by one engine, renewed while it works on it, so that two servers sharing one
/// database never run the same deployment twice. It is operational state, kept beside the deployment
/// (not in it): renewing it every few seconds is not a change to the deployment, and needs no event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lease {
    pub holder: String,
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// The lease `holder` takes or renews, unless another engine holds a live one (`None`). An expired
    /// lease is anyone's.
    pub fn claim(current: Option<&Lease>, holder: &str, now: DateTime<Utc>, ttl: Duration) -> Option<Lease> {
        if let Some(l) = current
            && l.holder != holder
            && l.expires_at > now
        {
            return None;
        }
        Some(Lease { holder: holder.to_string(), expires_at: now + ttl })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Validation {
    pub passed: bool,
    pub note: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Deployment {
    /// "DE-5"
    pub id: String,
    pub turnover_id: String,
    pub train_id: String,
    pub releases: Vec<String>,
    pub environment: String,
    /// Index of the stage in the turnover's stages.
    pub stage: usize,
    /// 1 for the first deployment into this stage, 2 for a redeploy, ...
    pub attempt: u32,
    pub trigger: Trigger,
    pub state: DeploymentState,
    /// R13: why it cannot start now (offline environment, maintenance, blackout).
    #[serde(default)]
    pub blocked: Option<String>,
    pub runs: Vec<TaskRun>,
    #[serde(default)]
    pub validation: Option<Validation>,
    pub created_by: String,
    /// The turnover's generation when it was scheduled (see `Turnover::generation`).
    #[serde(default)]
    pub generation: u32,
    /// The turnover's artifacts as `name@version`, as they were when it was scheduled.
    #[serde(default)]
    pub artifacts: Vec<String>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// A deployment of a production-ready turnover.
    #[serde(default)]
    pub production: bool,
    /// A rollback: it runs only the turnover's tasks marked `rollback`.
    #[serde(default)]
    pub rollback: bool,
    /// R11: the engine starts it at this time, not before (unless started early under an override).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The end of the window planned for it (scheduled deployments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_end: Option<DateTime<Utc>>,
    /// R11: started before its scheduled time by the train's manager, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_start: Option<EarlyStart>,
    /// Scheduling conflicts reported when its time was set (another deployment or a blackout overlapping).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
}

impl Deployment {
    /// A deployment of a turnover into one stage: a run for every task that applies to the environment
    /// (tasks marked `rollback` run only in rollbacks).
    pub fn new(
        id: String,
        turnover: &Turnover,
        stage: usize,
        attempt: u32,
        actor: &Actor,
    ) -> Result<(Deployment, Change), DomainError> {
        Deployment::build(id, turnover, stage, attempt, false, actor)
    }

    pub(crate) fn build(
        id: String,
        turnover: &Turnover,
        stage: usize,
        attempt: u32,
        rollback: bool,
        actor: &Actor,
    ) -> Result<(Deployment, Change), DomainError> {
        let Some(st) = turnover.stages.get(stage) else {
            return Err(DomainError::invalid("stage", format!("{} has no stage {}", turnover.describe(), stage + 1)));
        };
        let runs: Vec<TaskRun> = turnover
            .tasks
            .iter()
            .filter(|t| {
                t.rollback == rollback && (t.environments.is_empty() || t.environments.contains(&st.environment))
            })
            .enumerate()
            .map(|(i, t)| TaskRun::of(i, t))
            .collect();
        let mut g = Guards::new(if rollback { "rollback" } else { "deploy" }, &turnover.describe(), turnover.state);
        g.check(!runs.is_empty(), "no_tasks", || {
            let what = if rollback { "rollback task" } else { "task" };
            format!("{} has no {what} that applies to environment {}", turnover.describe(), st.environment)
        });
        g.done()?;
        let d = Deployment {
            id,
            turnover_id: turnover.id.clone(),
            train_id: turnover.train_id.clone(),
            releases: turnover.releases.clone(),
            environment: st.environment.clone(),
            stage,
            attempt,
            trigger: Trigger::Manual,
            state: DeploymentState::Scheduled,
            blocked: None,
            runs,
            validation: None,
            created_by: actor.name.clone(),
            generation: turnover.generation,
            artifacts: turnover.artifacts.iter().map(|a| format!("{}@{}", a.name, a.version)).collect(),
            started_at: None,
            finished_at: None,
            production: turnover.kind == crate::TurnoverKind::ProductionReady,
            rollback,
            scheduled_for: None,
            planned_end: None,
            early_start: None,
            conflicts: Vec::new(),
        };
        let change = Change::new(
            "deployment",
            &d.id,
            if rollback { "schedule_rollback" } else { "schedule" },
            json!({"turnover": d.turnover_id, "environment": d.environment, "stage": stage + 1, "attempt": attempt, "runs": d.runs.len()}),
        );
        Ok((d, change))
    }

    pub fn describe(&self) -> String {
        format!("deployment {} of {} into {}", self.id, self.turnover_id, self.environment)
    }

    fn guards(&self, action: &str) -> Guards {
        Guards::new(action, &self.describe(), self.state)
    }

    /// R13: records why it cannot start, or clears it. Returns the change when the reason changed.
    pub fn set_blocked(&mut self, reason: Option<String>) -> Option<Change> {
        if self.blocked == reason || self.state != DeploymentState::Scheduled {
            return None;
        }
        self.blocked = reason.clone();
        let action = if reason.is_some() { "blocked" } else { "unblocked" };
        Some(Change::new("deployment", &self.id, action, json!({"reason": reason})))
    }

    /// A running deployment whose runs wait for a remote runner says so (`reason` names the labels no
    /// online runner carries), or clears it. Returns the change when the reason changed.
    pub fn set_waiting(&mut self, reason: Option<String>) -> Option<Change> {
        if self.blocked == reason || self.state != DeploymentState::Running {
            return None;
        }
        self.blocked = reason.clone();
        let action = if reason.is_some() { "blocked" } else { "unblocked" };
        Some(Change::new("deployment", &self.id, action, json!({"reason": reason})))
    }

    /// Moves the deployment on: starts it, starts the next group's runs, or settles it. Returns the
    /// changes and the indexes of the automation runs the engine must launch now.
    pub fn advance(&mut self, now: DateTime<Utc>) -> (Vec<Change>, Vec<usize>) {
        let mut changes = Vec::new();
        if self.state == DeploymentState::Scheduled {
            if self.blocked.is_some() {
                return (changes, Vec::new());
            }
            self.state = DeploymentState::Running;
            self.started_at = Some(now);
            changes.push(Change::new("deployment", &self.id, "start", json!({"environment": self.environment})));
        }
        if self.state != DeploymentState::Running {
            return (changes, Vec::new());
        }
        let Some(group) = self.runs.iter().filter(|r| !r.state.is_done_ok()).map(|r| r.sequence).min() else {
            self.settle(DeploymentState::Succeeded, now, &mut changes);
            return (changes, Vec::new());
        };
        let in_group: Vec<usize> = (0..self.runs.len()).filter(|&i| self.runs[i].sequence == group).collect();
        let busy = in_group.iter().any(|&i| self.runs[i].state == RunState::Running);
        let failed = in_group.iter().any(|&i| self.runs[i].state.is_failure());
        if failed && !busy {
            // A failed group settles the deployment; manual runs still waiting in it are withdrawn
            // from their owners (they wait again on a retry).
            for r in self.runs.iter_mut().filter(|r| r.state == RunState::WaitingForOwner) {
                r.state = RunState::Pending;
                changes.push(Change::new("deployment", &self.id, "withdraw_manual_run", json!({"run": r.id})));
            }
            self.settle(DeploymentState::Failed, now, &mut changes);
            return (changes, Vec::new());
        }
        let mut launch = Vec::new();
        if !failed {
            for &i in &in_group {
                let run = &mut self.runs[i];
                if run.state != RunState::Pending {
                    continue;
                }
                run.attempts += 1;
                run.tries += 1;
                run.started_at = Some(now);
                if run.owner.is_some() {
                    // R15: manual runs are created for their owners when their group is reached.
                    run.state = RunState::WaitingForOwner;
                    changes.push(Change::new(
                        "deployment",
                        &self.id,
                        "manual_run_ready",
                        json!({"run": run.id, "task": run.task_id, "owner": run.owner}),
                    ));
                } else {
                    run.state = RunState::Running;
                    launch.push(i);
                }
            }
            if !launch.is_empty() {
                let ids: Vec<&str> = launch.iter().map(|&i| self.runs[i].id.as_str()).collect();
                changes.push(Change::new(
                    "deployment",
                    &self.id,
                    "start_group",
                    json!({"sequence": group, "runs": ids}),
                ));
            }
        }
        (changes, launch)
    }

    fn settle(&mut self, to: DeploymentState, now: DateTime<Utc>, changes: &mut Vec<Change>) {
        self.state = to;
        // What it waited for (a runner) no longer holds it.
        self.blocked = None;
        self.finished_at = Some(now);
        let action = if to == DeploymentState::Succeeded { "succeed" } else { "fail" };
        changes.push(Change::new("deployment", &self.id, action, json!({})));
    }

    /// The result of an automation run the engine launched.
    /// `attempt` is the run's attempt when it was launched: a result of an earlier attempt (an engine that
    /// lost its lease, a run interrupted and started again) is refused, never taken for the current one.
    pub fn finish_run(&mut self, run: usize, attempt: u32, result: RunResult) -> Result<Change, DomainError> {
        let Some(r) = self.runs.get_mut(run) else {
            return Err(DomainError::invalid("run", format!("deployment {} has no run {}", self.id, run + 1)));
        };
        if r.state != RunState::Running || r.attempts != attempt {
            return Err(DomainError::invalid(
                "run",
                format!(
                    "run {} is {} at attempt {}; a result of attempt {attempt} is stale",
                    r.id,
                    r.state.as_str(),
                    r.attempts
                ),
            ));
        }
        r.apply(&result);
        // An interrupted run is never started again by itself (a person retries the deployment).
        if r.state.is_failure() && r.state != RunState::Interrupted && r.retries_left() {
            // The task asked for retries: it runs again when the engine next moves the deployment on.
            r.message = format!("{}; retrying ({} of {} retries)", r.message, r.tries, r.retries);
            r.state = RunState::Pending;
        }
        Ok(Change::new(
            "deployment",
            &self.id,
            "finish_run",
            json!({"run": r.id, "state": r.state, "message": r.message, "exit_code": r.exit_code, "http_status": r.http_status}),
        ))
    }

    /// R15: the owner of a manual run (or a release engineer) completes it, done or failed, with a note.
    pub fn complete_manual(
        &mut self,
        run_id: &str,
        done: bool,
        note: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        let describe = self.describe();
        let Some(r) = self.runs.iter_mut().find(|r| r.id == run_id) else {
            return Err(DomainError::invalid("run", format!("{describe} has no run {run_id}")));
        };
        if !done && note.trim().is_empty() {
            return Err(DomainError::invalid("note", "a failed manual run needs a note saying what went wrong"));
        }
        let mut g = Guards::new("complete_run", &format!("run {run_id} of {describe}"), r.state.as_str());
        g.check(r.state == RunState::WaitingForOwner, "wrong_state", || {
            format!("task run '{}' is {}, not waiting for its owner", r.title, r.state.as_str())
        });
        let rule = crate::access::rules::RUN_OWNER;
        g.deny(rule.allows(actor, r.owner.as_deref()), rule.code, || {
            format!(
                "task run '{}' is owned by {}; only they or a release engineer may complete it",
                r.title,
                r.owner.as_deref().unwrap_or("nobody")
            )
        });
        g.done()?;
        r.state = if done { RunState::Succeeded } else { RunState::Failed };
        r.finished_at = Some(now);
        r.completed_by = Some(actor.name.clone());
        r.note = Some(note.trim().to_string()).filter(|n| !n.is_empty());
        r.message = if done { "done".into() } else { "failed".into() };
        Ok(Change::new("deployment", &self.id, "complete_run", json!({"run": run_id, "done": done, "note": r.note})))
    }

    /// After a restart: every run that was in flight is marked interrupted, never left running.
    pub fn interrupt(&mut self, now: DateTime<Utc>) -> Option<Change> {
        self.interrupt_except(&[], now)
    }

    /// Marks interrupted every running run but those listed (the runs an engine still has in flight).
    pub fn interrupt_except(&mut self, live: &[usize], now: DateTime<Utc>) -> Option<Change> {
        let mut ids = Vec::new();
        for (_, r) in
            self.runs.iter_mut().enumerate().filter(|(i, r)| r.state == RunState::Running && !live.contains(i))
        {
            r.state = RunState::Interrupted;
            r.finished_at = Some(now);
            r.message = "interrupted: the server stopped while it ran; retry the deployment to run it again".into();
            ids.push(r.id.clone());
        }
        (!ids.is_empty()).then(|| Change::new("deployment", &self.id, "interrupt", json!({"runs": ids})))
    }

    /// After the engine stopped runs at shutdown and recorded them interrupted: once none of its runs
    /// is running any more, the deployment fails at once (rather than when the next engine looks), so
    /// that it can be retried. Manual runs still waiting are withdrawn from
    /// their owners, as when a group fails. Nothing is started.
    pub fn settle_interrupted(&mut self, now: DateTime<Utc>) -> Vec<Change> {
        let mut changes = Vec::new();
        if self.state != DeploymentState::Running
            || self.runs.iter().any(|r| r.state == RunState::Running)
            || !self.runs.iter().any(|r| r.state == RunState::Interrupted)
        {
            return changes;
        }
        for r in self.runs.iter_mut().filter(|r| r.state == RunState::WaitingForOwner) {
            r.state = RunState::Pending;
            changes.push(Change::new("deployment", &self.id, "withdraw_manual_run", json!({"run": r.id})));
        }
        self.settle(DeploymentState::Failed, now, &mut changes);
        changes
    }

    /// failed → running: failed, timed-out and interrupted runs run again; each succeeded run is run again
    /// when named in `rerun`, skipped otherwise.
    pub fn retry(&mut self, rerun: &[String], now: DateTime<Utc>) -> Result<Change, DomainError> {
        let mut g = self.guards("retry");
        g.check(self.state == DeploymentState::Failed, "wrong_state", || {
            format!("{} is {}; only a failed deployment is retried", self.describe(), self.state)
        });
        for id in rerun {
            g.check(self.runs.iter().any(|r| &r.id == id), "no_such_run", || {
                format!("{} has no run {id}", self.describe())
            });
        }
        g.done()?;
        for r in &mut self.runs {
            match r.state {
                RunState::Succeeded | RunState::Skipped if rerun.contains(&r.id) => r.reset(),
                RunState::Succeeded => r.state = RunState::Skipped,
                RunState::Failed | RunState::TimedOut | RunState::Interrupted => r.reset(),
                _ => {}
            }
            r.tries = 0;
        }
        // Back to scheduled: the engine checks the environment again (R13) before anything runs.
        self.state = DeploymentState::Scheduled;
        self.finished_at = None;
        let _ = now;
        Ok(Change::new("deployment", &self.id, "retry", json!({"rerun": rerun})))
    }

    /// A deployment whose turnover went back to draft (R10) or was cancelled is abandoned, unless it is
    /// running or already settled for good.
    pub fn withdraw(&mut self, why: &str, now: DateTime<Utc>) -> Option<Change> {
        if !matches!(self.state, DeploymentState::Scheduled | DeploymentState::Failed | DeploymentState::Succeeded) {
            return None;
        }
        self.state = DeploymentState::Abandoned;
        self.finished_at = Some(now);
        Some(Change::new("deployment", &self.id, "withdraw", json!({"why": why})))
    }

    pub fn abandon(&mut self, now: DateTime<Utc>) -> Result<Change, DomainError> {
        let mut g = self.guards("abandon");
        g.check(matches!(self.state, DeploymentState::Failed | DeploymentState::Scheduled), "wrong_state", || {
            format!("{} is {}; only a failed or a scheduled deployment is abandoned", self.describe(), self.state)
        });
        g.done()?;
        self.state = DeploymentState::Abandoned;
        self.finished_at = Some(now);
        Ok(Change::new("deployment", &self.id, "abandon", json!({})))
    }

    /// succeeded → validated (pass) or rejected (fail), with a note.
    pub fn validate(
        &mut self,
        passed: bool,
        note: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        if !passed && note.trim().is_empty() {
            return Err(DomainError::invalid("note", "a failed validation needs a note saying what failed"));
        }
        let mut g = self.guards("validate");
        g.check(self.state == DeploymentState::Succeeded, "wrong_state", || {
            format!("{} is {}; only a succeeded deployment is validated", self.describe(), self.state)
        });
        g.done()?;
        self.state = if passed { DeploymentState::Validated } else { DeploymentState::Rejected };
        self.validation = Some(Validation { passed, note: note.trim().to_string(), by: actor.name.clone(), at: now });
        Ok(Change::new("deployment", &self.id, "validate", json!({"passed": passed, "note": note.trim()})))
    }
}
