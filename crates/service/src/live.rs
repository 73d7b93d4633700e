//! What a running automation task has printed so far. The server whose engine runs it keeps it in
//! memory (read from there at once) and writes it every second or so into a record of the run
//! (kind `run_output`, the run log's id), so that every server sharing the database can show it while
//! the task runs; the log is stored, and both copies dropped, when the run ends. Output is not a state
//! change: the record is created with the run's process record (a change with an event) and written
//! without events afterwards, like a lease; it ends with the run. Remote runners' output so far comes
//! with their heartbeats instead (see `runner_protocol.rs`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::persist::{Aggregate, Tx};
use crate::runner_protocol::MAX_RUN_LINES;
use crate::{Service, ServiceError};

/// Output lines of the runs in flight, by `deployment:run:attempt` (the stored log's id), with how many
/// of them were written to the database.
#[derive(Default)]
pub(crate) struct LiveOutput {
    runs: Mutex<HashMap<String, (Vec<Value>, usize)>>,
}

impl LiveOutput {
    fn runs(&self) -> MutexGuard<'_, HashMap<String, (Vec<Value>, usize)>> {
        self.runs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) fn key(deployment: &str, run: &str, attempt: u32) -> String {
    format!("{deployment}:{run}:{attempt}")
}

/// The output so far of a run the built-in runner runs, as last written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RunOutput {
    /// `DE-5:R1:2`
    pub id: String,
    pub deployment: String,
    pub lines: Vec<Value>,
}

impl Aggregate for RunOutput {
    const KIND: &'static str = "run_output";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        None
    }
    fn parent_id(&self) -> Option<String> {
        Some(self.deployment.clone())
    }
}

impl Service {
    /// The engine's hand-off of one output line of a run in flight (`run` is the run's id).
    pub fn engine_output_line(&self, deployment: &str, run: &str, attempt: u32, line: Value) {
        self.live.runs().entry(key(deployment, run, attempt)).or_default().0.push(line);
    }

    /// Writes the output of the runs in flight that printed something since the last time, for the
    /// other servers to show. A run whose record is gone (it just ended) is skipped; a failed write is
    /// tried again next time.
    pub async fn engine_flush_output(&self) {
        let pending: Vec<(String, Vec<Value>)> = self
            .live
            .runs()
            .iter()
            .filter(|(_, (lines, flushed))| lines.len() > *flushed && *flushed < MAX_RUN_LINES)
            .map(|(k, (lines, _))| (k.clone(), lines.iter().take(MAX_RUN_LINES).cloned().collect()))
            .collect();
        for (k, lines) in pending {
            let n = lines.len();
            let written: Result<bool, ServiceError> = async {
                let Some(mut r) = self.find::<RunOutput>(&k).await? else { return Ok(false) };
                r.value.lines = lines;
                let mut tx = Tx::new(&crate::engine_work::system(), self.now());
                tx.update(&r)?;
                self.commit(tx).await?;
                Ok(true)
            }
            .await;
            match written {
                Ok(true) => {
                    if let Some(entry) = self.live.runs().get_mut(&k) {
                        entry.1 = entry.1.max(n);
                    }
                }
                Ok(false) | Err(ServiceError::Conflict(_)) => {}
                Err(e) => tracing::warn!(run = %k, error = %e, "could not write a run's output so far"),
            }
        }
    }

    /// The output so far of a run in flight on this server, if any.
    pub(crate) fn output_so_far(&self, deployment: &str, run: &str, attempt: u32) -> Option<Vec<Value>> {
        self.live.runs().get(&key(deployment, run, attempt)).map(|(lines, _)| lines.clone())
    }

    /// The output so far of a run in flight on another server (or a remote runner), as last written.
    pub(crate) async fn written_output_so_far(&self, key: &str) -> crate::ServiceResult<Option<Vec<Value>>> {
        if let Some(lines) = self.remote_output_so_far(key).await? {
            return Ok(Some(lines));
        }
        Ok(self.find::<RunOutput>(key).await?.map(|r| r.value.lines))
    }

    /// Drops the copy of a run's output once its log is stored (or its result was stale).
    pub(crate) fn forget_output(&self, deployment: &str, run: &str, attempt: u32) {
        self.live.runs().remove(&key(deployment, run, attempt));
    }

    /// Adds to `tx` the end of these runs' output records (`(run id, attempt)`) of one deployment.
    pub(crate) async fn end_output_records(
        &self,
        tx: &mut Tx,
        deployment: &str,
        runs: &[(String, u32)],
    ) -> crate::ServiceResult<()> {
        for (run, attempt) in runs {
            if let Some(r) = self.find::<RunOutput>(&key(deployment, run, *attempt)).await? {
                tx.delete(&r);
            }
        }
        Ok(())
    }
}

/// The output record a run starts with (written with its process record).
pub(crate) fn new_output_record(deployment: &str, run: &str, attempt: u32) -> RunOutput {
    RunOutput { id: key(deployment, run, attempt), deployment: deployment.to_string(), lines: Vec::new() }
}
