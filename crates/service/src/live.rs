//! What a running automation task has printed so far, kept in memory by the server whose engine runs it,
//! so that a run's log can be read while the task runs; the log is stored (and this copy dropped) when
//! the run ends. Output is not a state change: nothing here is written to the store or the audit log.
//! With several servers on one PostgreSQL database, a server shows the output so far of the runs its own
//! engine runs; from another server a run's log appears when the run ends.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::Service;

/// Output lines of the runs in flight, by `deployment:run:attempt` (the stored log's id).
#[derive(Default)]
pub(crate) struct LiveOutput {
    runs: Mutex<HashMap<String, Vec<Value>>>,
}

impl LiveOutput {
    fn runs(&self) -> MutexGuard<'_, HashMap<String, Vec<Value>>> {
        self.runs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) fn key(deployment: &str, run: &str, attempt: u32) -> String {
    format!("{deployment}:{run}:{attempt}")
}

impl Service {
    /// The engine's hand-off of one output line of a run in flight (`run` is the run's id).
    pub fn engine_output_line(&self, deployment: &str, run: &str, attempt: u32, line: Value) {
        self.live.runs().entry(key(deployment, run, attempt)).or_default().push(line);
    }

    /// The output so far of a run in flight on this server, if any.
    pub(crate) fn output_so_far(&self, deployment: &str, run: &str, attempt: u32) -> Option<Vec<Value>> {
        self.live.runs().get(&key(deployment, run, attempt)).cloned()
    }

    /// Drops the copy of a run's output once its log is stored (or its result was stale).
    pub(crate) fn forget_output(&self, deployment: &str, run: &str, attempt: u32) {
        self.live.runs().remove(&key(deployment, run, attempt));
    }
}
