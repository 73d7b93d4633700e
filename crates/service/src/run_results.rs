//! Recording how automation runs ended: the built-in runner's results (the engine batches those that
//! finish together) and remote runners' (grouped per deployment on each server, see
//! [`Service::record_remote_result`]), each deployment's batch in one commit with the run logs, the end
//! of the runs' process, output and claim records, and the deployment's changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use railyard_domain::{Deployment, RunResult};
use railyard_store::{Record, Write};
use serde_json::Value;

use crate::deployments::RunLog;
use crate::engine_work::{Remote, system};
use crate::persist::{Stored, Tx};
use crate::runner_protocol::Claim;
use crate::{Service, ServiceError, ServiceResult};

/// How one automation run ended, as a runner reported it.
pub(crate) struct Finished {
    pub run: usize,
    pub attempt: u32,
    pub result: RunResult,
    pub lines: Vec<Value>,
    /// The remote runner that ran it and its claim (none: the built-in runner).
    pub remote: Option<Remote>,
}

/// A remote result waiting for its deployment's next commit, and where its outcome goes.
struct Waiting {
    finished: Finished,
    reply: tokio::sync::oneshot::Sender<ServiceResult<()>>,
}

/// Remote results grouped per deployment: whoever holds a deployment's turn commits every result
/// waiting for it, so that many runners finishing at once cost a few commits, not one each (and no
/// conflicts between them on this server).
#[derive(Default)]
pub(crate) struct ResultBatches {
    waiting: Mutex<HashMap<String, Vec<Waiting>>>,
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Deployments with remote results recorded since this server's engine last looked: it moves them
    /// on at once rather than at its next tick.
    recorded: Mutex<std::collections::BTreeSet<String>>,
    recorded_notify: tokio::sync::Notify,
}

impl ResultBatches {
    fn waiting(&self) -> MutexGuard<'_, HashMap<String, Vec<Waiting>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn turns(&self) -> MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
        self.turns.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Service {
    /// Records how automation runs of one deployment ended, with their output, in one commit (the
    /// engine batches the runs that finish together, so a group of 50 is a few commits, not 50).
    /// Results of an earlier attempt than the run's current one are stale: skipped (and logged), never
    /// taken for the current attempt. The runs' process records end in the same commit. A run the engine
    /// stopped at shutdown comes as [`railyard_domain::RunStatus::Interrupted`]: once none is running
    /// any more, the deployment fails at once, ready to be retried.
    pub async fn engine_finish_runs(
        &self,
        id: &str,
        finished: Vec<(usize, u32, RunResult, Vec<Value>)>,
    ) -> ServiceResult<()> {
        let finished = finished
            .into_iter()
            .map(|(run, attempt, result, lines)| Finished { run, attempt, result, lines, remote: None })
            .collect();
        self.finish_runs(id, finished).await.map(|_| ())
    }

    /// The deployments whose remote results were recorded on this server since the last call: the
    /// engine moves them on at once. Waits until there is one.
    pub async fn engine_results_recorded(&self) -> Vec<String> {
        loop {
            let notified = self.results.recorded_notify.notified();
            let ids: Vec<String> =
                std::mem::take(&mut *self.results.recorded.lock().unwrap_or_else(|p| p.into_inner()))
                    .into_iter()
                    .collect();
            if !ids.is_empty() {
                return ids;
            }
            notified.await;
        }
    }

    /// A remote runner's result, recorded with the others waiting for the same deployment; answers once
    /// it is committed (or refused: the runner does not hold the claim).
    pub(crate) async fn record_remote_result(&self, deployment: &str, finished: Finished) -> ServiceResult<()> {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        self.results.waiting().entry(deployment.to_string()).or_default().push(Waiting { finished, reply });
        let turn = self.results.turns().entry(deployment.to_string()).or_default().clone();
        {
            let _turn = turn.lock().await;
            // Ours may have gone with the previous turn's batch; then this one commits whatever came since.
            let batch = self.results.waiting().remove(deployment).unwrap_or_default();
            if !batch.is_empty() {
                let (finished, replies): (Vec<Finished>, Vec<_>) =
                    batch.into_iter().map(|w| (w.finished, w.reply)).unzip();
                match self.finish_runs(deployment, finished).await {
                    Ok(outcomes) => {
                        if outcomes.iter().any(Result::is_ok) {
                            self.results
                                .recorded
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(deployment.to_string());
                            self.results.recorded_notify.notify_one();
                        }
                        for (reply, outcome) in replies.into_iter().zip(outcomes) {
                            let _ = reply.send(outcome.map_err(ServiceError::LeaseLost));
                        }
                    }
                    Err(e) => {
                        // The runner tries again until its lease runs out: a deployment written by
                        // others too often, or a database briefly away, is a reason to wait (503), not
                        // to give up on the result.
                        let why = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(match &e {
                                ServiceError::Conflict(_) | ServiceError::Unavailable(_) => ServiceError::Unavailable(
                                    format!("the result could not be recorded yet ({why}); send it again"),
                                ),
                                _ => ServiceError::Internal(why.clone()),
                            }));
                        }
                    }
                }
            }
        }
        {
            let mut turns = self.results.turns();
            // The map's copy and ours: nobody else waits for this deployment's turn.
            if Arc::strong_count(&turn) <= 2 && !self.results.waiting().contains_key(deployment) {
                turns.remove(deployment);
            }
        }
        outcome.await.unwrap_or_else(|_| Err(ServiceError::Internal("a run's result was not recorded".into())))
    }

    /// Records finished runs of one deployment in one commit (see [`Service::engine_finish_runs`]). A
    /// remote runner's result comes with its claim, which must still be the runner's: the claim ends in
    /// the same commit, its output so far goes before the result's lines, and the run names the runner.
    /// One outcome per run: `Err` says why a remote result was refused (nothing of it was written).
    pub(crate) async fn finish_runs(
        &self,
        id: &str,
        finished: Vec<Finished>,
    ) -> ServiceResult<Vec<Result<(), String>>> {
        let actor = &system();
        let finished = &finished;
        // The ids of the runs whose output so far can go once this commit is done, and each outcome.
        let (done, outcomes) = self
            .retrying(None, move || async move {
                let mut d: Stored<Deployment> = self.load(id).await?;
                let now = self.now();
                let mut tx = Tx::new(actor, now);
                let mut any = false;
                let mut interrupted = false;
                let mut outcomes = Vec::with_capacity(finished.len());
                let mut done: Vec<(String, u32)> = Vec::new();
                // A result sent twice (a runner that gave up waiting and sent it again) is answered once.
                let mut claims_seen: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
                // Secret values are masked once more here, whatever runner reported (see `secrets.rs`).
                let runs: Vec<usize> = finished.iter().map(|f| f.run).collect();
                let maskers = self.maskers_for(&d.value, &runs).await;
                for (f, masker) in finished.iter().zip(&maskers) {
                    let mut lines = capped_line_times(&f.lines, now);
                    let mut times = None;
                    if let Some(remote) = &f.remote {
                        if !claims_seen.insert(remote.claim.as_str()) {
                            outcomes.push(Err(format!("the result of run {} was sent twice; the first is recorded", remote.claim)));
                            continue;
                        }
                        let Some(c) = self.find::<Claim>(&remote.claim).await? else {
                            outcomes.push(Err(format!("this runner holds no run {}", remote.claim)));
                            continue;
                        };
                        if !c.value.0.held_by(&remote.runner.id, now) {
                            outcomes.push(Err(c.value.0.not_held_reason(&remote.runner.id, now)));
                            continue;
                        }
                        // Its output so far, then the result's lines, within the output limits.
                        let mut kept = c.value.0.clone();
                        kept.append(std::mem::take(&mut lines), crate::runner_protocol::MAX_RUN_LINES);
                        lines = kept.lines;
                        if kept.dropped > 0 {
                            lines.push(serde_json::json!({"at": now, "stream": "stderr",
                                "text": format!("[railyard: {} lines dropped past the output limit]", kept.dropped)}));
                        }
                        times = Some((c.value.0.queued_at, c.value.0.claimed_at));
                        tx.delete(&c);
                    }
                    if let Some(r) = d.value.runs.get(f.run) {
                        done.push((r.id.clone(), f.attempt));
                    }
                    // A run ends no later than its result is recorded: times from the runner's wall clock
                    // are capped at the service's now (they differ only under a clock behind the wall
                    // clock, such as the demo loader's, which moves through the demo's past).
                    let mut result = f.result.clone();
                    result.finished_at = result.finished_at.min(now);
                    result.message = masker.mask(&result.message).into_owned();
                    let lines = masked(lines, masker);
                    let mut change = match d.value.finish_run(f.run, f.attempt, result.clone()) {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::warn!(deployment = %id, run = f.run, error = %e, "a stale run result was not recorded");
                            outcomes.push(match f.remote {
                                Some(_) => Err(format!("the run no longer waits for this result: {e}")),
                                None => Ok(()),
                            });
                            continue;
                        }
                    };
                    any = true;
                    outcomes.push(Ok(()));
                    interrupted |= result.status == railyard_domain::RunStatus::Interrupted;
                    if let Some(remote) = &f.remote {
                        d.value.runs[f.run].runner = Some(remote.runner.name.clone());
                        change.data["runner"] = serde_json::json!(remote.runner.name);
                        if let Some((queued, claimed)) = times {
                            change.data["queued_at"] = serde_json::json!(queued);
                            change.data["claimed_at"] = serde_json::json!(claimed);
                        }
                    }
                    tx.record([change]);
                    let r = &d.value.runs[f.run];
                    let log = RunLog { deployment: id.to_string(), run: r.id.clone(), attempt: r.attempts, lines };
                    let doc = serde_json::to_string(&log).map_err(|e| ServiceError::Internal(e.to_string()))?;
                    tx.raw(Write::Insert(Record {
                        kind: "run_log".into(),
                        id: format!("{id}:{}:{}", r.id, r.attempts),
                        seq: crate::persist::seq_of(id),
                        version: 0,
                        state: None,
                        parent_id: Some(id.to_string()),
                        category: None,
                        unique_key: None,
                        created_at: now,
                        updated_at: now,
                        doc,
                    }));
                }
                if any {
                    if interrupted {
                        tx.record(d.value.settle_interrupted(now));
                    }
                    self.end_processes(&mut tx, id, &done).await?;
                    self.end_output_records(&mut tx, id, &done).await?;
                    tx.update(&d)?;
                    self.commit(tx).await?;
                }
                Ok((done, outcomes))
            })
            .await?;
        // The logs are stored (or the results were stale): the copies of their output so far go.
        for (run, attempt) in done {
            self.forget_output(id, &run, attempt);
        }
        Ok(outcomes)
    }
}

/// Output lines with their times capped at `now` (see `finish_runs`).
fn capped_line_times(lines: &[Value], now: chrono::DateTime<chrono::Utc>) -> Vec<Value> {
    lines
        .iter()
        .map(|line| {
            let mut line = line.clone();
            let later =
                line["at"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).is_some_and(|t| t > now);
            if later && let Some(at) = line.get_mut("at") {
                *at = serde_json::json!(now);
            }
            line
        })
        .collect()
}

/// Output lines with every secret value of `masker` hidden in their text.
pub(crate) fn masked(mut lines: Vec<Value>, masker: &railyard_runner::Masker) -> Vec<Value> {
    if masker.is_empty() {
        return lines;
    }
    for line in &mut lines {
        if let Some(text) = line["text"].as_str()
            && let std::borrow::Cow::Owned(hidden) = masker.mask(text)
        {
            line["text"] = Value::String(hidden);
        }
    }
    lines
}
