//! One claimed run, from its claim to its result: it runs through `railyard_runner::run_with` (the same
//! timeouts, process-group kill and output caps as the built-in runner), its lines are masked as they
//! are printed and sent with a heartbeat about every second, which keeps its lease; its result goes once
//! it ended.
//!
//! The runner stops a run itself (its process group gets SIGTERM, then SIGKILL) when the server says it
//! no longer holds it (`409 lease_lost`: it sends no result then), when it cannot reach the server
//! before the lease runs out by its own clock (it gives the run up: the server marks it `interrupted`),
//! and when it shuts down (it reports the run `interrupted`, so that the deployment can be retried).

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use railyard_runner::{Limits, LineSink, Masker, OutputLine, RunContext, RunOptions, RunProcess, RunStatus, Sandbox};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::{Api, CallError};
use crate::records::Records;
use crate::wire::{ClaimedRun, MAX_LINES_PER_CALL, RunReport, next_batch, pieces, put_back};

/// The longest pause between two tries of a call that failed.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How many times a result is sent at most while the server keeps the lease but cannot record it.
const MAX_RESULT_TRIES: u32 = 50;

/// What every run of one runner shares.
pub(crate) struct Shared {
    pub api: Api,
    pub sandbox: Arc<Sandbox>,
    pub records: Records,
    /// Turns `true` when the runner shuts down: every run in flight stops.
    pub shutdown: watch::Receiver<bool>,
}

/// How a run ended, for the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    /// Its result was recorded.
    Reported,
    /// It was given up (the lease was lost or ran out, or the server refused its result).
    Dropped,
    /// The server refused the runner's token: the runner stops.
    TokenRefused,
}

/// Why the runner stopped a run itself, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Ran,
    ShutDown,
    LeaseLost,
    LeaseExpired,
    TokenRefused,
}

/// A run's lease by the runner's own clock: it ends `length` after the last call the server answered
/// was sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lease {
    length: Duration,
    expires: Instant,
}

impl Lease {
    /// A lease of `length` granted by an answer to a call sent at `sent`.
    pub fn new(length: Duration, sent: Instant) -> Lease {
        Lease { length, expires: sent + length }
    }

    fn renewed(&mut self, sent: Instant) {
        self.expires = self.expires.max(sent + self.length);
    }

    fn expired(&self) -> bool {
        Instant::now() >= self.expires
    }

    /// How often heartbeats go: every second, more often for a lease shorter than 3 s.
    pub fn beat(&self) -> Duration {
        (self.length / 3).clamp(Duration::from_millis(100), Duration::from_secs(1))
    }

    /// How long one call may take: a third of the lease, and never past its end.
    fn call_timeout(&self) -> Duration {
        let left = self.expires.saturating_duration_since(Instant::now());
        left.min(self.length / 3).max(Duration::from_millis(200))
    }
}

/// The lines printed and not sent yet.
type Pending = Arc<Mutex<Vec<OutputLine>>>;

fn lock(pending: &Pending) -> MutexGuard<'_, Vec<OutputLine>> {
    pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where a run's lines go: masked, into the pending lines; its processes go into the records.
struct Sink<'a> {
    masker: &'a Masker,
    pending: Pending,
    records: &'a Records,
    claim: &'a str,
}

impl LineSink for Sink<'_> {
    fn line(&mut self, mut line: OutputLine) {
        if let Cow::Owned(masked) = self.masker.mask(&line.text) {
            line.text = masked;
        }
        lock(&self.pending).extend(pieces(line));
    }

    fn started(&mut self, process: &RunProcess) {
        if let Err(e) = self.records.record(self.claim, process) {
            tracing::warn!(claim = %self.claim, file = %self.records.file(self.claim).display(), error = %e,
                "could not record the run's processes; should this runner die, they are not killed at its next start");
        }
    }
}

/// Runs `run` to its end and reports it (see the module doc).
pub(crate) async fn carry_out(shared: Arc<Shared>, run: ClaimedRun, mut lease: Lease) -> Finish {
    let masker = Masker::new(&run.mask);
    let claim = run.claim.as_str();
    let title = masker.mask(&run.title).into_owned();
    tracing::info!(claim, deployment = %run.deployment, run = %run.run, attempt = run.attempt, title, "running");
    let Some(action) = run.action.as_ref() else {
        let report = RunReport::not_started("the server sent no action for this run".into());
        return report_run(&shared, claim, &mut lease, &Pending::default(), report).await;
    };
    let (stop, stop_rx) = watch::channel(false);
    let (done, done_rx) = watch::channel(false);
    let pending = Pending::default();
    let mut sink = Sink { masker: &masker, pending: pending.clone(), records: &shared.records, claim };
    let options = RunOptions { limits: Limits::default(), sandbox: shared.sandbox.clone(), stop: Some(stop_rx) };
    let ctx = RunContext { env: run.env.clone() };
    let running = async {
        let outcome = railyard_runner::run_with(action, &ctx, &mut sink, &options).await;
        let _ = done.send(true);
        outcome
    };
    let keeping = keep_lease(&shared, claim, &mut lease, &pending, done_rx, &stop);
    let (outcome, ending) = tokio::join!(running, keeping);
    // Everything the run started has ended with it.
    shared.records.remove(claim);
    let message = match (ending, outcome.status) {
        (Ending::LeaseLost, _) => {
            tracing::warn!(claim, "the server took the run back (its lease was lost): stopped it, no result sent");
            return Finish::Dropped;
        }
        (Ending::LeaseExpired, _) => {
            tracing::error!(claim, server = %shared.api.server(),
                "could not reach the server before the run's lease ran out: stopped it and gave it up (the server \
                 marks it interrupted)");
            return Finish::Dropped;
        }
        (Ending::TokenRefused, _) => return Finish::TokenRefused,
        (Ending::ShutDown, RunStatus::Stopped) => {
            "interrupted: the runner shut down while it ran; retry the deployment to run it again".to_string()
        }
        (_, RunStatus::Stopped) => "interrupted: the runner stopped it; retry the deployment to run it again".into(),
        _ => masker.mask(&outcome.message).into_owned(),
    };
    tracing::info!(claim, status = crate::wire::status(outcome.status), message, "ended");
    let report = RunReport::of(outcome, message, Vec::new());
    report_run(&shared, claim, &mut lease, &pending, report).await
}

/// Reports a run the runner does not carry out, for `why`.
pub(crate) async fn refuse(shared: Arc<Shared>, claim: String, why: String, mut lease: Lease) -> Finish {
    tracing::error!(claim, why, "cannot carry out a run the server handed over");
    report_run(&shared, &claim, &mut lease, &Pending::default(), RunReport::not_started(why)).await
}

/// Heartbeats while the run runs (until `done`), with the lines printed since the last one; stops the
/// run through `stop` when the lease is lost or runs out, or the runner shuts down. Why it stopped it.
async fn keep_lease(
    shared: &Shared,
    claim: &str,
    lease: &mut Lease,
    pending: &Pending,
    mut done: watch::Receiver<bool>,
    stop: &watch::Sender<bool>,
) -> Ending {
    let mut ending = Ending::Ran;
    let mut shutdown = shared.shutdown.clone();
    let mut failing = false;
    let stop_for = |why: Ending, ending: &mut Ending| {
        let _ = stop.send(true);
        *ending = why;
    };
    if *shutdown.borrow() {
        stop_for(Ending::ShutDown, &mut ending);
    }
    loop {
        if *done.borrow() {
            return ending;
        }
        let backlog = lock(pending).len() > MAX_LINES_PER_CALL;
        let wait = if backlog && !failing { Duration::ZERO } else { lease.beat() };
        tokio::select! {
            _ = done.changed() => return ending,
            changed = shutdown.changed(), if ending == Ending::Ran => {
                // The runner is gone when its sender is: stop too.
                if changed.is_err() || *shutdown.borrow() {
                    stop_for(Ending::ShutDown, &mut ending);
                }
                continue;
            }
            _ = tokio::time::sleep(wait) => {}
        }
        if !matches!(ending, Ending::Ran | Ending::ShutDown) {
            continue; // the run is stopping and will not be reported: no more heartbeats
        }
        let batch = next_batch(&mut lock(pending));
        let sent = Instant::now();
        match shared.api.heartbeat(claim, &batch, lease.call_timeout()).await {
            Ok(()) => {
                if failing {
                    tracing::info!(claim, "the server answers heartbeats again");
                }
                failing = false;
                lease.renewed(sent);
            }
            Err(CallError::LeaseLost) => stop_for(Ending::LeaseLost, &mut ending),
            Err(CallError::TokenRefused) => stop_for(Ending::TokenRefused, &mut ending),
            Err(e @ CallError::Refused { .. }) => {
                // Retrying the same lines would be refused again: they are dropped, the run goes on.
                tracing::error!(claim, error = %e, lines = batch.len(), "the server refused a heartbeat; its lines are lost");
            }
            Err(CallError::Unavailable(why)) => {
                if !failing {
                    tracing::warn!(claim, error = %why, "heartbeat failed; trying again until the lease runs out");
                }
                failing = true;
                put_back(&mut lock(pending), batch);
            }
        }
        if lease.expired() && matches!(ending, Ending::Ran | Ending::ShutDown) {
            stop_for(Ending::LeaseExpired, &mut ending);
        }
    }
}

/// Sends the lines still pending (beyond one call's worth by heartbeats) and the result, retrying until
/// the lease would have run out.
async fn report_run(
    shared: &Shared,
    claim: &str,
    lease: &mut Lease,
    pending: &Pending,
    mut report: RunReport,
) -> Finish {
    let mut pause = Duration::from_millis(200);
    loop {
        let batch = {
            let mut pending = lock(pending);
            if pending.len() <= MAX_LINES_PER_CALL {
                break;
            }
            next_batch(&mut pending)
        };
        let sent = Instant::now();
        match shared.api.heartbeat(claim, &batch, lease.call_timeout()).await {
            Ok(()) => lease.renewed(sent),
            Err(CallError::LeaseLost) => return lost(claim),
            Err(CallError::TokenRefused) => return Finish::TokenRefused,
            Err(e @ CallError::Refused { .. }) => {
                tracing::error!(claim, error = %e, lines = batch.len(), "the server refused a heartbeat; its lines are lost");
            }
            Err(CallError::Unavailable(why)) => {
                put_back(&mut lock(pending), batch);
                if !retry(&mut pause, lease).await {
                    return gave_up(claim, &why);
                }
            }
        }
    }
    report.lines = std::mem::take(&mut *lock(pending));
    let mut pause = Duration::from_millis(100);
    for tries in 1.. {
        match shared.api.result(claim, &report).await {
            Ok(()) => return Finish::Reported,
            Err(CallError::LeaseLost) => return lost(claim),
            Err(CallError::TokenRefused) => return Finish::TokenRefused,
            Err(e @ CallError::Refused { .. }) => {
                tracing::error!(claim, error = %e, "the server refused the run's result");
                return Finish::Dropped;
            }
            Err(CallError::Unavailable(why)) => {
                if tries >= MAX_RESULT_TRIES {
                    return gave_up(claim, &why);
                }
                tracing::warn!(claim, error = %why, "could not deliver the run's result; trying again");
                // A server that answers keeps the lease while the result waits (a busy deployment's
                // results may conflict a few times); one that does not, until the lease runs out.
                let sent = Instant::now();
                match shared.api.heartbeat(claim, &[], lease.call_timeout()).await {
                    Ok(()) => lease.renewed(sent),
                    Err(CallError::LeaseLost) => return lost(claim),
                    Err(CallError::TokenRefused) => return Finish::TokenRefused,
                    Err(_) => {}
                }
                if !retry(&mut pause, lease).await {
                    return gave_up(claim, &why);
                }
            }
        }
    }
    Finish::Dropped
}

/// Waits `pause` (doubled for the next time, up to [`MAX_BACKOFF`]) before another try, unless the
/// lease ran out; whether to try again.
async fn retry(pause: &mut Duration, lease: &Lease) -> bool {
    if lease.expired() {
        return false;
    }
    tokio::time::sleep((*pause).min(lease.expires.saturating_duration_since(Instant::now()))).await;
    *pause = (*pause * 2).min(MAX_BACKOFF);
    true
}

fn lost(claim: &str) -> Finish {
    tracing::warn!(claim, "the server no longer holds this run (its lease was lost): its result is not recorded");
    Finish::Dropped
}

fn gave_up(claim: &str, why: &str) -> Finish {
    tracing::error!(claim, error = %why,
        "could not deliver the run's result before its lease ran out: given up (the server marks it interrupted)");
    Finish::Dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_go_every_second_and_thrice_per_lease_at_least() {
        let now = Instant::now();
        assert_eq!(Lease::new(Duration::from_secs(10), now).beat(), Duration::from_secs(1));
        assert_eq!(Lease::new(Duration::from_secs(3), now).beat(), Duration::from_secs(1));
        assert_eq!(Lease::new(Duration::from_millis(1500), now).beat(), Duration::from_millis(500));
        let mut lease = Lease::new(Duration::from_secs(10), now);
        lease.renewed(now - Duration::from_secs(5)); // an answer to an older call never shortens it
        assert_eq!(lease.expires, now + Duration::from_secs(10));
        lease.renewed(now + Duration::from_secs(2));
        assert_eq!(lease.expires, now + Duration::from_secs(12));
        assert!(!lease.expired() && lease.call_timeout() <= Duration::from_secs(4));
    }

    /// A server nobody answers at: every call fails to connect.
    fn unreachable(work: &std::path::Path) -> Arc<Shared> {
        let api = Api::new(url::Url::parse("http://127.0.0.1:1").unwrap(), "ryrun_test".into()).unwrap();
        let sandbox = Arc::new(Sandbox::new(None, Some(work.join("work"))).unwrap());
        let records = Records::open(work.join("work").join("runs")).unwrap();
        let (_, shutdown) = watch::channel(false);
        Arc::new(Shared { api, sandbox, records, shutdown })
    }

    fn sleeping(claim: &str) -> ClaimedRun {
        let mut action = railyard_runner::CommandAction::new("sleep");
        action.args = vec!["30".into()];
        ClaimedRun {
            claim: claim.into(),
            deployment: "DE-1".into(),
            run: "R1".into(),
            attempt: 1,
            title: "Deploy".into(),
            action: Some(railyard_runner::Action::Command(action)),
            env: [("RAILYARD_RUN_ID".to_string(), format!("{claim}-{}", std::process::id()))].into(),
            mask: Vec::new(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_whose_server_cannot_be_reached_is_stopped_when_its_lease_runs_out_and_given_up() {
        let dir = tempfile::tempdir().unwrap();
        let shared = unreachable(dir.path());
        let started = Instant::now();
        let lease = Lease::new(Duration::from_secs(3), started);
        let finish = carry_out(shared.clone(), sleeping("DE-1:R1:1"), lease).await;
        assert_eq!(finish, Finish::Dropped);
        // Stopped at the lease's end (3 s), within the kill grace and the drain bound, not after 30 s.
        assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
        assert!(shared.records.left().unwrap().is_empty(), "the record outlived the run");
    }

    #[test]
    fn lines_are_masked_before_they_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::open(dir.path().join("runs")).unwrap();
        let masker = Masker::new(&["hunter22"]);
        let pending = Pending::default();
        let mut sink = Sink { masker: &masker, pending: pending.clone(), records: &records, claim: "DE-1:R1:1" };
        for text in ["password=hunter22", "aHVudGVyMjI=", "plain"] {
            sink.line(OutputLine {
                at: chrono::Utc::now(),
                stream: railyard_runner::Stream::Stdout,
                text: text.into(),
            });
        }
        let texts: Vec<String> = lock(&pending).iter().map(|l| l.text.clone()).collect();
        assert_eq!(texts, ["password=***", "***", "plain"]);
    }
}
