//! Task runs: one deployment task as run in one deployment.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Task;
use crate::action::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Pending,
    Running,
    /// A manual run handed to its owner (R15).
    WaitingForOwner,
    Succeeded,
    Failed,
    TimedOut,
    /// Not run again on a retry: it had succeeded.
    Skipped,
    /// In flight when the server stopped.
    Interrupted,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Pending => "pending",
            RunState::Running => "running",
            RunState::WaitingForOwner => "waiting_for_owner",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::TimedOut => "timed_out",
            RunState::Skipped => "skipped",
            RunState::Interrupted => "interrupted",
        }
    }
    /// Succeeded or skipped: its group may go on (R16).
    pub fn is_done_ok(self) -> bool {
        matches!(self, RunState::Succeeded | RunState::Skipped)
    }
    pub fn is_failure(self) -> bool {
        matches!(self, RunState::Failed | RunState::TimedOut | RunState::Interrupted)
    }
}

/// How an automation run ended, as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Succeeded,
    Failed,
    TimedOut,
    CouldNotStart,
    /// Stopped by the engine before it ended (the server shut down): recorded as
    /// [`RunState::Interrupted`] and never retried by itself, whatever the task's `retries`.
    Interrupted,
}

/// Where an automation run's processes live, recorded when it starts: the engine on the same host kills
/// what is left of them after a crash (see `railyard-runner`'s `process` module). A pid alone would not
/// do: it is reused; the leader's start time, in clock ticks since boot, tells the same process from a
/// later one with its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunProcess {
    /// The host, as the kernel's boot id and the pid namespace: pids mean something only there.
    pub host: String,
    /// The process group (the leader's pid): every process of the run unless one left it.
    pub pgid: i32,
    /// The leader's start time, in clock ticks since boot (`/proc/<pid>/stat`, field 22).
    pub started: u64,
    /// The user the run's processes ran as.
    pub uid: u32,
    /// The run's own working directory, when the runner made one: removed with what is left of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_dir: Option<String>,
    /// The run's own control group (cgroup v2), when the runner made one: every process of the run is in
    /// it, wherever its process group or session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// The run's `RAILYARD_RUN_ID`: without a control group, the processes of the run that left its group
    /// are found by it in their environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunResult {
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub http_status: Option<u16>,
    pub message: String,
    pub finished_at: DateTime<Utc>,
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaskRun {
    /// "R1", "R2", ... within its deployment.
    pub id: String,
    pub task_id: String,
    pub title: String,
    pub sequence: u32,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub action: Option<Action>,
    pub state: RunState,
    /// How many times it was started.
    #[serde(default)]
    pub attempts: u32,
    /// How many times a failed automation run is started again by itself (the task's `retries`).
    #[serde(default)]
    pub retries: u32,
    /// Starts since the deployment (re)started: what `retries` counts against.
    #[serde(default)]
    pub tries: u32,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub truncated: bool,
    /// Manual runs: who completed it, and their note.
    #[serde(default)]
    pub completed_by: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// The remote runner that ran its latest attempt (none: the runner built into the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
}

impl TaskRun {
    pub(crate) fn of(index: usize, t: &Task) -> TaskRun {
        TaskRun {
            id: format!("R{}", index + 1),
            task_id: t.id.clone(),
            title: t.title.clone(),
            sequence: t.sequence,
            owner: t.owner.clone(),
            action: t.action.clone(),
            state: RunState::Pending,
            attempts: 0,
            retries: t.retries,
            tries: 0,
            started_at: None,
            finished_at: None,
            exit_code: None,
            http_status: None,
            message: String::new(),
            truncated: false,
            completed_by: None,
            note: None,
            runner: None,
        }
    }

    /// Whether a failure is retried by itself: attempts left of the task's `retries`.
    pub(crate) fn retries_left(&self) -> bool {
        self.tries <= self.retries
    }

    pub(crate) fn apply(&mut self, r: &RunResult) {
        self.state = match r.status {
            RunStatus::Succeeded => RunState::Succeeded,
            RunStatus::TimedOut => RunState::TimedOut,
            RunStatus::Failed | RunStatus::CouldNotStart => RunState::Failed,
            RunStatus::Interrupted => RunState::Interrupted,
        };
        self.exit_code = r.exit_code;
        self.http_status = r.http_status;
        self.message = r.message.clone();
        self.finished_at = Some(r.finished_at);
        self.truncated = r.truncated;
    }

    pub(crate) fn reset(&mut self) {
        self.state = RunState::Pending;
        self.finished_at = None;
        self.exit_code = None;
        self.http_status = None;
        self.message.clear();
        self.truncated = false;
        self.completed_by = None;
        self.note = None;
    }
}
