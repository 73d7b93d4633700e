//! The runner protocol's server side (docs/runner-protocol.md): remote runners claim queued runs,
//! renew their leases with heartbeats that carry the output so far, and report results.
//!
//! A run for an environment with runner labels (or any run, on a server started with
//! `--no-local-runner`) is queued by the engine as a claim record (kind `run_claim`, the run log's id,
//! `DE-5:R1:2`) in the same commit that starts the run. Claims are operational state like leases:
//! taking one and renewing it are written without an event, at the version read, so that two servers
//! never hand one run to two runners; the run's result, its interruption and a claim dropped because
//! its run stopped waiting are changes with events, and the result's event names the runner.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use railyard_domain::action::Action;
use railyard_domain::runner::{self, MAX_CAPACITY};
use railyard_domain::{ClaimState, Deployment, RunClaim, RunState, RunStatus, Runner};
use railyard_store::ListQuery;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::persist::{Aggregate, Stored, Tx};
use crate::runners::Presence;
use crate::{Service, ServiceError, ServiceResult};

/// Lines one heartbeat or result may carry.
pub const MAX_LINES_PER_CALL: usize = 1_000;
/// The output kept of one run (as the built-in runner keeps it).
pub const MAX_RUN_LINES: usize = 20_000;
/// The longest line (as the runner cuts them).
pub const MAX_LINE_BYTES: usize = 8 * 1024;
/// The most queued runs one claim looks through for runs of its labels.
const MAX_SCANNED: usize = 1_000;
/// The longest a claim waits for a run.
pub const MAX_WAIT_MS: u32 = 30_000;
/// How often a waiting claim looks for runs other servers queued.
const WAIT_LOOK_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// Presence is written at most this often (seconds) when nothing about it changed.
const PRESENCE_EVERY_SECS: i64 = 2;

/// A claim record: a run handed to remote runners.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claim(pub RunClaim);

impl Aggregate for Claim {
    const KIND: &'static str = "run_claim";
    fn id(&self) -> &str {
        &self.0.id
    }
    /// Housekeeping: the claim's state is in its category, which a write without an event may change.
    fn state(&self) -> Option<String> {
        None
    }
    fn parent_id(&self) -> Option<String> {
        Some(self.0.deployment.clone())
    }
    /// `queued` or `claimed`.
    fn category(&self) -> Option<String> {
        Some(self.0.state.as_str().to_string())
    }
}

/// A claim's record position: queued runs are handed out oldest deployment first, in run order.
pub(crate) fn claim_seq(deployment: &str, index: usize) -> i64 {
    crate::persist::seq_of(deployment).saturating_mul(10_000).saturating_add(index as i64)
}

/// What a runner asks for when it claims.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimInput {
    /// The runner's software version.
    #[serde(default)]
    pub version: Option<String>,
    /// The labels this process serves: a subset of its registered ones (all of them when absent).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// How many runs it takes now, 0 to 64.
    pub capacity: u32,
    /// The claims it is running.
    #[serde(default)]
    pub in_flight: Vec<String>,
    /// With `capacity` above 0 and nothing to claim: how long the answer may wait for a run to come
    /// (milliseconds, at most 30,000; 0, the default: answer at once). A waiting claim is answered as
    /// soon as a run it may take is queued.
    #[serde(default)]
    pub wait_ms: u32,
}

/// A run handed to a runner. Its `Debug` shows neither the resolved action nor the values to mask
/// (secrets): only the answer to the runner that claims it carries them.
#[derive(Clone, Serialize, ToSchema)]
pub struct ClaimedRun {
    /// `DE-5:R1:2`: the id of the heartbeat and result calls.
    pub claim: String,
    pub deployment: String,
    pub run: String,
    pub attempt: u32,
    pub title: String,
    /// The task's action with every reference resolved for this run.
    pub action: Action,
    /// `RAILYARD_*` variables for the run.
    pub env: BTreeMap<String, String>,
    /// Values the runner masks as `***` in the output and messages.
    pub mask: Vec<String>,
    pub lease_expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for ClaimedRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedRun")
            .field("claim", &self.claim)
            .field("title", &self.title)
            .field("mask", &format_args!("<{} values>", self.mask.len()))
            .field("lease_expires_at", &self.lease_expires_at)
            .finish_non_exhaustive()
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Claims {
    /// How long a lease lasts without a heartbeat.
    pub lease_secs: i64,
    pub runs: Vec<ClaimedRun>,
}

/// One output line a runner sends.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunnerLine {
    pub at: DateTime<Utc>,
    /// `stdout` or `stderr`.
    pub stream: String,
    pub text: String,
}

/// A heartbeat: the output since the last one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatInput {
    #[serde(default)]
    pub lines: Vec<RunnerLine>,
}

/// Until when a lease holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeaseView {
    pub lease_expires_at: DateTime<Utc>,
}

/// How a run ended on a runner.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultInput {
    pub status: RunStatus,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub message: String,
    pub finished_at: DateTime<Utc>,
    #[serde(default)]
    pub truncated: bool,
    /// The lines not sent by a heartbeat.
    #[serde(default)]
    pub lines: Vec<RunnerLine>,
}

fn check_lines(lines: &[RunnerLine]) -> ServiceResult<Vec<Value>> {
    if lines.len() > MAX_LINES_PER_CALL {
        return Err(ServiceError::invalid(
            "lines",
            format!("has {} lines; send at most {MAX_LINES_PER_CALL} per call", lines.len()),
        ));
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        if l.stream != "stdout" && l.stream != "stderr" {
            return Err(ServiceError::invalid(
                &format!("lines[{i}].stream"),
                format!("'{}' is not a stream: use stdout or stderr", l.stream.chars().take(40).collect::<String>()),
            ));
        }
        if l.text.len() > MAX_LINE_BYTES {
            return Err(ServiceError::invalid(
                &format!("lines[{i}].text"),
                format!("is {} bytes; a line is at most {MAX_LINE_BYTES} bytes", l.text.len()),
            ));
        }
        out.push(json!({"at": l.at, "stream": l.stream, "text": l.text}));
    }
    Ok(out)
}

fn check_claim_input(input: &ClaimInput) -> ServiceResult<()> {
    if input.capacity > MAX_CAPACITY {
        return Err(ServiceError::invalid(
            "capacity",
            format!("{} is too many: a runner takes 0 to {MAX_CAPACITY} runs at once", input.capacity),
        ));
    }
    if input.version.as_ref().is_some_and(|v| v.len() > 64 || v.chars().any(char::is_control)) {
        return Err(ServiceError::invalid("version", "at most 64 printable characters"));
    }
    if input.in_flight.len() > MAX_CAPACITY as usize || input.in_flight.iter().any(|c| c.len() > 200) {
        return Err(ServiceError::invalid("in_flight", format!("at most {MAX_CAPACITY} claims of 200 characters")));
    }
    if input.wait_ms > MAX_WAIT_MS {
        return Err(ServiceError::invalid(
            "wait_ms",
            format!("{} is too long: wait at most {MAX_WAIT_MS} ms", input.wait_ms),
        ));
    }
    if input.labels.as_ref().is_some_and(|l| l.len() > runner::MAX_LABELS) {
        return Err(ServiceError::invalid("labels", format!("at most {} labels", runner::MAX_LABELS)));
    }
    Ok(())
}

/// Whether the claim's run still waits for this attempt's result.
fn still_running(d: &Deployment, c: &RunClaim) -> bool {
    d.runs.get(c.index).is_some_and(|r| r.id == c.run && r.attempts == c.attempt && r.state == RunState::Running)
}

impl Service {
    /// A runner claims up to `capacity` queued runs whose labels it serves (and says it is alive).
    pub async fn runner_claim(&self, runner: &Runner, input: ClaimInput) -> ServiceResult<Claims> {
        check_claim_input(&input)?;
        let serving = runner::serving_labels(runner, input.labels.as_deref())?;
        self.touch_presence(runner, input.version.as_deref(), Some(&serving), Some(&input.in_flight)).await;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(u64::from(input.wait_ms));
        loop {
            // Registered before looking, so that a run queued meanwhile wakes it.
            let queued = self.runs_queued.notified();
            tokio::pin!(queued);
            queued.as_mut().enable();
            let runs = self.claim_queued(runner, &serving, input.capacity).await?;
            let now = tokio::time::Instant::now();
            if !runs.is_empty() || input.capacity == 0 || now >= deadline {
                return Ok(Claims { lease_secs: runner::LEASE_SECS, runs });
            }
            let pause = WAIT_LOOK_EVERY.min(deadline - now);
            tokio::select! {
                _ = &mut queued => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Claims up to `capacity` queued runs whose labels `serving` covers, oldest first, looking through
    /// at most [`MAX_SCANNED`] queued runs (those of other labels are passed over). The runs of one
    /// deployment are taken together: one read of the deployment, one resolution of their variables
    /// and secrets, one commit. Once some runs are taken, a later failure ends the look with those
    /// (they are the runner's now and must reach it).
    async fn claim_queued(&self, runner: &Runner, serving: &[String], capacity: u32) -> ServiceResult<Vec<ClaimedRun>> {
        let capacity = capacity as usize;
        let mut runs = Vec::new();
        if capacity == 0 {
            return Ok(runs);
        }
        let mut q = ListQuery::new(<Claim as Aggregate>::KIND, 100);
        q.category = Some(ClaimState::Queued.as_str().to_string());
        let mut scanned = 0;
        while runs.len() < capacity && scanned < MAX_SCANNED {
            let page = self.store.list(&q).await?;
            let full = page.len() >= q.limit as usize;
            scanned += page.len();
            // The runs it may take, by deployment, in queue order.
            let mut groups: Vec<(String, Vec<Stored<Claim>>)> = Vec::new();
            let mut picked = 0;
            for rec in page {
                q.after_seq = Some(rec.seq);
                let c: Stored<Claim> = crate::persist::decode(rec)?;
                if picked + runs.len() >= capacity || !runner::serves(serving, &c.value.0.labels) {
                    continue;
                }
                picked += 1;
                match groups.iter_mut().find(|(d, _)| *d == c.value.0.deployment) {
                    Some((_, claims)) => claims.push(c),
                    None => groups.push((c.value.0.deployment.clone(), vec![c])),
                }
            }
            for (deployment, claims) in groups {
                match self.take_claims(runner, &deployment, claims).await {
                    Ok(mut taken) => runs.append(&mut taken),
                    Err(e) if !runs.is_empty() => {
                        tracing::warn!(runner = %runner.name, error = %e, "could not take more runs; handing over those taken");
                        return Ok(runs);
                    }
                    Err(e) => return Err(e),
                }
            }
            if !full {
                break;
            }
        }
        Ok(runs)
    }

    /// Takes queued claims of one deployment for `runner`; those another runner took first are left
    /// out, and those whose run no longer waits are dropped (with an event).
    async fn take_claims(
        &self,
        runner: &Runner,
        deployment: &str,
        claims: Vec<Stored<Claim>>,
    ) -> ServiceResult<Vec<ClaimedRun>> {
        let now = self.now();
        let Some(d) = self.find::<Deployment>(deployment).await? else {
            return Ok(Vec::new());
        };
        let (live, stale): (Vec<Stored<Claim>>, Vec<Stored<Claim>>) =
            claims.into_iter().partition(|c| still_running(&d.value, &c.value.0));
        if !stale.is_empty() {
            let mut tx = Tx::new(&crate::engine_work::system(), now);
            for c in &stale {
                tx.delete(c);
                tx.record([railyard_domain::Change::new(
                    "deployment",
                    deployment,
                    "drop_claim",
                    json!({"run": c.value.0.run, "attempt": c.value.0.attempt, "reason": "the run no longer waits"}),
                )]);
            }
            match self.commit(tx).await {
                Ok(()) | Err(ServiceError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if live.is_empty() {
            return Ok(Vec::new());
        }
        let indices: Vec<usize> = live.iter().map(|c| c.value.0.index).collect();
        // Variables and secrets, decrypted now that the runs are handed to the runner that runs them.
        let resolved = self.resolve_runs(&d.value, &indices).await?;
        let taken = self.commit_claims(runner, live).await?;
        let mut out = Vec::new();
        for claim in taken {
            let Some(pos) = indices.iter().position(|i| *i == claim.index) else { continue };
            let run = &d.value.runs[claim.index];
            let r = &resolved[pos];
            let action = match (&r.unresolved, &r.action, &run.action) {
                (Some(why), _, _) => Err(why.clone()),
                (None, Some(a), _) | (None, None, Some(a)) => Ok(a.clone()),
                (None, None, None) => Err("an automation run without an action".to_string()),
            };
            let action = match action {
                Ok(a) => a,
                Err(message) => {
                    // A reference lost its value since the run was queued: it fails without running.
                    self.finish_remote(runner, &claim.id, could_not_start(message, now), Vec::new()).await?;
                    continue;
                }
            };
            // The runner masks what its action holds; the server masks every value in scope again
            // when it stores the output.
            let text = serde_json::to_string(&action).unwrap_or_default();
            let mask = r.mask.iter().filter(|v| text.contains(v.as_str())).cloned().collect();
            out.push(ClaimedRun {
                claim: claim.id.clone(),
                deployment: claim.deployment.clone(),
                run: claim.run.clone(),
                attempt: claim.attempt,
                title: run.title.clone(),
                action,
                env: crate::engine_work::run_env(&d.value, claim.index),
                mask,
                lease_expires_at: claim.expires_at.unwrap_or(now),
            });
        }
        Ok(out)
    }

    /// Marks the claims `runner`'s, all in one commit; when another runner took one of them first,
    /// each that is still queued one by one. The claims taken.
    async fn commit_claims(&self, runner: &Runner, mut claims: Vec<Stored<Claim>>) -> ServiceResult<Vec<RunClaim>> {
        let now = self.now();
        let mut tx = Tx::new(&crate::engine_work::system(), now);
        for c in &mut claims {
            c.value.0.claim(&runner.id, &runner.name, now);
            tx.update(c)?;
        }
        match self.commit(tx).await {
            Ok(()) => return Ok(claims.into_iter().map(|c| c.value.0).collect()),
            Err(ServiceError::Conflict(_)) if claims.len() > 1 => {}
            Err(ServiceError::Conflict(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
        let mut taken = Vec::new();
        for c in claims {
            let Some(mut fresh) = self.find::<Claim>(&c.value.0.id).await? else { continue };
            if fresh.value.0.state != ClaimState::Queued {
                continue;
            }
            fresh.value.0.claim(&runner.id, &runner.name, now);
            let mut tx = Tx::new(&crate::engine_work::system(), now);
            tx.update(&fresh)?;
            match self.commit(tx).await {
                Ok(()) => taken.push(fresh.value.0),
                Err(ServiceError::Conflict(_)) => {}
                Err(e) if !taken.is_empty() => {
                    tracing::warn!(runner = %runner.name, error = %e, "could not take a run");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(taken)
    }

    /// A heartbeat: renews the lease of a run the runner holds and keeps its output so far.
    pub async fn runner_heartbeat(
        &self,
        runner: &Runner,
        claim: &str,
        input: HeartbeatInput,
    ) -> ServiceResult<LeaseView> {
        let lines = check_lines(&input.lines)?;
        let lines = &lines;
        let until = self
            .retrying(None, move || async move {
                let now = self.now();
                let Some(mut c) = self.find::<Claim>(claim).await? else {
                    return Err(not_held(claim));
                };
                let d = self.find::<Deployment>(&c.value.0.deployment).await?;
                let Some(d) = d.filter(|d| still_running(&d.value, &c.value.0)) else {
                    return Err(ServiceError::LeaseLost(format!(
                        "run {claim} no longer runs (it was interrupted or its deployment moved on): stop it"
                    )));
                };
                // The output so far is stored: secret values are masked first, whatever the runner sent.
                let masker = self.maskers_for(&d.value, &[c.value.0.index]).await.pop().unwrap_or_default();
                let lines = crate::run_results::masked(lines.clone(), &masker);
                let until = c.value.0.renew(&runner.id, now, lines, MAX_RUN_LINES).map_err(ServiceError::LeaseLost)?;
                let mut tx = Tx::new(&crate::engine_work::system(), now);
                tx.update(&c)?;
                self.commit(tx).await?;
                Ok(until)
            })
            .await?;
        self.touch_presence(runner, None, None, None).await;
        Ok(LeaseView { lease_expires_at: until })
    }

    /// A runner's result for a run it holds: recorded with its output, in one commit with the claim's
    /// end; the deployment moves on at its engine's next look.
    pub async fn runner_result(&self, runner: &Runner, claim: &str, input: ResultInput) -> ServiceResult<()> {
        let lines = check_lines(&input.lines)?;
        if input.message.len() > 16 * 1024 {
            return Err(ServiceError::invalid("message", "at most 16 KiB"));
        }
        let result = railyard_domain::RunResult {
            status: input.status,
            exit_code: input.exit_code,
            http_status: input.http_status,
            message: input.message,
            finished_at: input.finished_at,
            truncated: input.truncated,
        };
        self.finish_remote(runner, claim, result, lines).await?;
        self.touch_presence(runner, None, None, None).await;
        Ok(())
    }

    /// Records a remote run's result (see [`Service::engine_finish_runs`]), refusing it unless `runner`
    /// holds the claim.
    async fn finish_remote(
        &self,
        runner: &Runner,
        claim: &str,
        result: railyard_domain::RunResult,
        lines: Vec<Value>,
    ) -> ServiceResult<()> {
        let Some(c) = self.find::<Claim>(claim).await? else {
            return Err(not_held(claim));
        };
        let c = c.value.0;
        let remote = crate::engine_work::Remote { runner: runner.clone(), claim: c.id.clone() };
        let finished =
            crate::run_results::Finished { run: c.index, attempt: c.attempt, result, lines, remote: Some(remote) };
        self.record_remote_result(&c.deployment, finished).await
    }

    /// The output so far of a run a remote runner runs, as its heartbeats brought it.
    pub(crate) async fn remote_output_so_far(&self, key: &str) -> ServiceResult<Option<Vec<Value>>> {
        Ok(self.find::<Claim>(key).await?.map(|c| c.value.0.lines))
    }

    /// Writes what a runner said of itself: at most every few seconds, unless something changed. A
    /// write another server made first is fine (presence is best effort).
    async fn touch_presence(
        &self,
        runner: &Runner,
        version: Option<&str>,
        serving: Option<&[String]>,
        in_flight: Option<&[String]>,
    ) {
        let now = self.now();
        let result: ServiceResult<()> = async {
            let Some(mut p) = self.find::<Presence>(&runner.id).await? else { return Ok(()) };
            let before = p.value.0.clone();
            let me = &mut p.value.0;
            if let Some(v) = version {
                me.version = Some(v.to_string());
            }
            if let Some(s) = serving {
                me.labels = s.to_vec();
            }
            if let Some(f) = in_flight {
                me.in_flight = f.to_vec();
            }
            // The runs in flight change with every claim: they ride along with the next write, at most
            // every few seconds; a new version or other labels are written at once.
            let stale = before.last_seen_at.is_none_or(|t| (now - t).num_seconds() >= PRESENCE_EVERY_SECS);
            let changed = me.version != before.version || me.labels != before.labels;
            if !stale && !changed {
                return Ok(());
            }
            me.last_seen_at = Some(now);
            let mut tx = Tx::new(&crate::engine_work::system(), now);
            tx.update(&p)?;
            self.commit(tx).await
        }
        .await;
        match result {
            Ok(()) | Err(ServiceError::Conflict(_)) => {}
            Err(e) => tracing::warn!(runner = %runner.name, error = %e, "could not record that a runner was seen"),
        }
    }
}

fn not_held(claim: &str) -> ServiceError {
    ServiceError::LeaseLost(format!("this runner holds no run {claim}: it ended, was interrupted or was never claimed"))
}

fn could_not_start(message: String, now: DateTime<Utc>) -> railyard_domain::RunResult {
    railyard_domain::RunResult {
        status: RunStatus::CouldNotStart,
        exit_code: None,
        http_status: None,
        message,
        finished_at: now,
        truncated: false,
    }
}
