//! What a run reports: its output lines as they come, and its outcome at the end.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which pipe a line came from. An HTTP action's response body is reported as `stdout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One line of output, without its line break; invalid UTF-8 is replaced by U+FFFD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutputLine {
    /// When the runner read it.
    pub at: DateTime<Utc>,
    pub stream: Stream,
    pub text: String,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Exit code 0, or an expected HTTP status.
    Succeeded,
    /// Another exit code, a signal, an unexpected HTTP status, or a connection that failed.
    Failed,
    /// Killed (command) or abandoned (HTTP) at its timeout.
    TimedOut,
    /// Nothing ran: the program, its working directory or the action itself was not usable.
    CouldNotStart,
    /// Ended early because the server is shutting down (its process group got SIGTERM, then SIGKILL
    /// after [`crate::KILL_GRACE`]; an HTTP call was abandoned).
    Stopped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::TimedOut => "timed_out",
            RunStatus::CouldNotStart => "could_not_start",
            RunStatus::Stopped => "stopped",
        }
    }
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Outcome {
    pub status: RunStatus,
    /// The process's exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    /// The signal that ended the process, when one did.
    pub signal: Option<i32>,
    /// The HTTP response's status, when a response came.
    pub http_status: Option<u16>,
    /// What happened, as a sentence: "exited with 3", "killed after the 30 s timeout".
    pub message: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Whether output beyond the caps was dropped (one mark line at the end says how much).
    pub truncated: bool,
}

impl Outcome {
    pub(crate) fn new(status: RunStatus, message: impl Into<String>, started_at: DateTime<Utc>) -> Self {
        Outcome {
            status,
            exit_code: None,
            signal: None,
            http_status: None,
            message: message.into(),
            started_at,
            finished_at: Utc::now(),
            truncated: false,
        }
    }

    pub fn succeeded(&self) -> bool {
        self.status == RunStatus::Succeeded
    }
}
