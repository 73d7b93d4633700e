//! The runner's loop: asks the server for work while a slot is free, hands each run to its own task,
//! and stops (see [`crate::run`] at the crate's root for the whole story).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use railyard_runner::Sandbox;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::api::{Api, CallError};
use crate::records::Records;
use crate::run::{Finish, Lease, MAX_BACKOFF, Shared, carry_out, refuse};
use crate::wire::{ClaimRequest, Handed, read_run};
use crate::{AgentConfig, AgentError};

/// How often a runner with no free slot still says it is alive.
pub const PRESENCE_INTERVAL: Duration = Duration::from_secs(5);

/// How long a claim may wait on the server for a run while this runner has a free slot: an idle runner
/// keeps one request open rather than asking over and over. A runner asked to stop lets the claim under
/// way end (it may bring runs, which are then stopped and reported), so this also bounds how long the
/// stop waits for it.
pub const CLAIM_WAIT: Duration = Duration::from_secs(5);

/// The runner's version, as claims send it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) async fn run(config: AgentConfig, shutdown: impl Future<Output = ()>) -> Result<(), AgentError> {
    let sandbox = Arc::new(Sandbox::new(None, config.work_dir.clone()).map_err(|e| AgentError::Setup(e.to_string()))?);
    let records_dir = sandbox.work_root().join("runs");
    let records = Records::open(records_dir.clone())
        .map_err(|e| AgentError::Setup(format!("cannot make {}: {e}", records_dir.display())))?;
    reap(&records, &sandbox).await?;
    let api = Api::new(config.server.clone(), config.token.clone()).map_err(AgentError::Setup)?;
    let (stop_all, stopping) = watch::channel(false);
    let shared = Arc::new(Shared { api, sandbox, records, shutdown: stopping });
    tracing::info!(server = %config.server, labels = ?config.labels, concurrency = config.concurrency,
        work_root = %shared.sandbox.work_root().display(), "runner started");

    let mut runs: JoinSet<Finish> = JoinSet::new();
    let mut claims: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut next_claim = Instant::now();
    let mut pause = Duration::from_millis(200);
    let mut failing = false;
    tokio::pin!(shutdown);
    let ended = loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break Ok(()),
            Some(joined) = runs.join_next_with_id() => {
                let (id, finish) = match joined {
                    Ok((id, finish)) => (id, finish),
                    Err(e) => {
                        tracing::error!(error = %e, "a run's task ended abnormally");
                        (e.id(), Finish::Dropped)
                    }
                };
                claims.remove(&id);
                if finish == Finish::TokenRefused {
                    break Err(AgentError::TokenRefused);
                }
                next_claim = Instant::now(); // a slot is free: ask at once
                continue;
            }
            () = tokio::time::sleep_until(next_claim) => {}
        }
        let free = config.concurrency.saturating_sub(runs.len());
        let request = ClaimRequest {
            version: VERSION,
            labels: config.labels.as_deref(),
            capacity: free,
            in_flight: claims.values().cloned().collect(),
            wait_ms: if free > 0 && !failing { CLAIM_WAIT.as_millis() as u64 } else { 0 },
        };
        let sent = Instant::now();
        // A claim under way is finished even when the runner is asked to stop: the runs it brings are then
        // stopped and reported at once, rather than left to their leases.
        let answer = {
            let call = shared.api.claim(&request);
            tokio::pin!(call);
            tokio::select! {
                answer = &mut call => (answer, false),
                () = &mut shutdown => {
                    tracing::info!(wait_ms = request.wait_ms, "stopping once the claim under way is answered");
                    (call.await, true)
                }
            }
        };
        let (answer, asked_to_stop) = answer;
        if asked_to_stop {
            let _ = stop_all.send(true);
        }
        match answer {
            Ok(answer) => {
                if failing {
                    tracing::info!(server = %shared.api.server(), "the server answers again");
                }
                (failing, pause) = (false, Duration::from_millis(200));
                let lease = Lease::new(answer.lease(), sent);
                let mut taken = 0;
                for value in answer.runs {
                    let handed = read_run(value);
                    let claim = match &handed {
                        Handed::Run(run) => run.claim.clone(),
                        Handed::Unreadable { claim, .. } => claim.clone(),
                        Handed::Unknown(why) => {
                            tracing::error!(
                                why,
                                "the server handed over a run the runner cannot name; its lease runs out"
                            );
                            continue;
                        }
                    };
                    if claims.values().any(|c| *c == claim) {
                        tracing::warn!(claim, "the server handed over a run this runner already runs; ignored");
                        continue;
                    }
                    taken += 1;
                    let task = match handed {
                        Handed::Run(run) if taken <= free => runs.spawn(carry_out(shared.clone(), *run, lease)),
                        Handed::Run(_) => {
                            let why = format!(
                                "the server handed this runner more runs than the {free} it asked for; retry the \
                                 deployment to run it again"
                            );
                            runs.spawn(refuse(shared.clone(), claim.clone(), why, lease))
                        }
                        Handed::Unreadable { why, .. } => runs.spawn(refuse(shared.clone(), claim.clone(), why, lease)),
                        Handed::Unknown(_) => continue,
                    };
                    claims.insert(task.id(), claim);
                }
                if asked_to_stop {
                    break Ok(());
                }
                let full = runs.len() >= config.concurrency;
                next_claim = Instant::now() + if full { PRESENCE_INTERVAL } else { config.poll_interval };
            }
            Err(CallError::TokenRefused) => break Err(AgentError::TokenRefused),
            Err(CallError::Refused { status, message }) if matches!(status, 0 | 300..=399 | 400 | 403 | 404 | 422) => {
                break Err(AgentError::Refused(format!("{message} ({status})")));
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(server = %shared.api.server(), error = %e, "cannot claim work; trying again");
                }
                failing = true;
                if asked_to_stop {
                    break Ok(());
                }
                next_claim = Instant::now() + pause;
                pause = (pause * 2).min(MAX_BACKOFF);
            }
        }
    };
    // Stop: every run in flight is stopped and reported (or, with the token refused, given up).
    let _ = stop_all.send(true);
    if !runs.is_empty() {
        tracing::info!(runs = runs.len(), "stopping the runs in flight");
    }
    while let Some(joined) = runs.join_next().await {
        if let Err(e) = joined {
            tracing::error!(error = %e, "a run's task ended abnormally");
        }
    }
    tracing::info!("runner stopped");
    ended
}

/// Kills what runs of an earlier runner on this work root left behind, and says so.
async fn reap(records: &Records, sandbox: &Arc<Sandbox>) -> Result<(), AgentError> {
    let (records, sandbox) = (records.clone(), sandbox.clone());
    let reaping = tokio::task::spawn_blocking(move || records.reap(&sandbox))
        .await
        .map_err(|e| AgentError::Setup(format!("cannot look for left-over runs: {e}")))?
        .map_err(|e| AgentError::Setup(format!("cannot look for left-over runs: {e}")))?;
    for (claim, killed) in reaping.killed {
        if killed > 0 {
            tracing::warn!(claim, processes = killed, "killed what an earlier runner's run left behind");
        } else {
            tracing::info!(claim, "an earlier runner's run left nothing behind");
        }
    }
    for path in reaping.unreadable {
        tracing::warn!(file = %path.display(), "removed an unreadable record of an earlier run");
    }
    Ok(())
}
