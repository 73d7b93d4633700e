//! The engine's side of deployments: it acts through these functions as the `system` actor, so every
//! step is in the audit log. Work is claimed with a lease (renewed while it runs), so that several
//! servers sharing one database never run the same deployment twice, and a deployment whose engine died
//! is picked up once its lease expires, its in-flight runs marked interrupted (never silently rerun).

use std::collections::BTreeMap;

use chrono::Duration;
use railyard_domain::{
    Actor, ClaimState, Deployment, DeploymentState, Environment, Lease, Role, RunClaim, RunResult, Runner,
    SYSTEM_ACTOR, TaskRun,
};
use railyard_store::ListQuery;

use crate::leases::DeploymentLease;
use crate::persist::{Stored, Tx};
use crate::runner_protocol::{Claim, claim_seq};
use crate::{Service, ServiceResult};

/// How long a claim lasts unless renewed.
pub const LEASE_SECS: i64 = 10;

/// A run of ours that has been running this long without being in flight is lost.
pub const LOST_AFTER_SECS: i64 = 5;

/// One automation run the engine must launch now. Its `Debug` shows neither the resolved action nor
/// the values to mask.
#[derive(Clone)]
pub struct Launch {
    pub deployment: String,
    pub run: usize,
    pub task: TaskRun,
    /// `RAILYARD_*` variables for the run: `RAILYARD_TURNOVER`, `RAILYARD_ENVIRONMENT`,
    /// `RAILYARD_DEPLOYMENT`, `RAILYARD_RUN` (`R1`), `RAILYARD_ATTEMPT` (this run's start: 1, then 2 on a
    /// retry or an automatic retry, ...), `RAILYARD_RUN_ID` (`DE-5-R1-2`: unique per attempt within the
    /// database, so that a task can tell a retry from its first run and make itself idempotent) and
    /// `RAILYARD_ARTIFACTS`.
    pub env: BTreeMap<String, String>,
    /// Why the run must not start: a `${var.NAME}` or `${secret.NAME}` its task names has no value for
    /// this run (deleted since the task was added), or a secret does not decrypt. The engine fails the
    /// run with this message instead of running it with the literal text. `task.action` otherwise has
    /// every reference resolved, secrets included: it is never logged nor stored.
    pub unresolved: Option<String>,
    /// The secret values in effect for the run: masked as `***` in every output line and message.
    pub mask: Vec<String>,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("deployment", &self.deployment)
            .field("run", &self.run)
            .field("task", &self.task.id)
            .field("unresolved", &self.unresolved)
            .field("mask", &format_args!("<{} values>", self.mask.len()))
            .finish()
    }
}

/// What one step of a deployment gave the engine.
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// Automation runs to launch now.
    pub launches: Vec<Launch>,
    /// How many runs it marked interrupted (what is left of their processes must be killed).
    pub interrupted: usize,
}

pub(crate) fn system() -> Actor {
    Actor::new(SYSTEM_ACTOR, &[Role::Admin])
}

impl Service {
    /// Scheduled and running deployments.
    pub async fn active_deployments(&self) -> ServiceResult<Vec<String>> {
        let mut q = ListQuery::new("deployment", crate::MAX_PAGE);
        q.states = vec![DeploymentState::Scheduled.as_str().into(), DeploymentState::Running.as_str().into()];
        Ok(self.list_all::<Deployment>(q).await?.into_iter().map(|d| d.value.id).collect())
    }

    /// Claims (or renews) a deployment for `holder` and moves it on: R13 blocks, group starts, settling.
    /// Returns the automation runs to launch. A deployment another live engine holds is left alone; one
    /// whose lease expired while runs were in flight has them marked interrupted first.
    ///
    /// `live` lists the runs (by index) this engine still has in flight for the deployment: a run it
    /// launched more than [`LOST_AFTER_SECS`] ago and no longer has (its result was lost) is marked
    /// interrupted rather than left running.
    pub async fn engine_step(&self, holder: &str, id: &str, live: &[usize]) -> ServiceResult<Step> {
        let actor = system();
        self.retrying(None, || async {
            let mut d: Stored<Deployment> = self.load(id).await?;
            if !d.value.state.is_active() {
                return Ok(Step::default());
            }
            let now = self.now();
            if d.value.state == DeploymentState::Scheduled && !d.value.is_due(now) {
                // R11: a scheduled deployment is not touched before its time (nothing to claim or write).
                return Ok(Step::default());
            }
            // The lease is a record of its own (see `leases.rs`).
            let held: Option<Stored<DeploymentLease>> = self.find(id).await?;
            let current = held.as_ref().map(|l| &l.value.lease);
            let orphaned = current.is_some_and(|l| l.holder != holder && l.expires_at <= now);
            let took_over = current.is_none_or(|l| l.holder != holder);
            // A lease of ours with more than half its time left needs no renewal yet.
            let fresh =
                current.is_some_and(|l| l.holder == holder && l.expires_at - now > Duration::seconds(LEASE_SECS / 2));
            let Some(lease) = Lease::claim(current, holder, now, Duration::seconds(LEASE_SECS)) else {
                return Ok(Step::default());
            };
            let mut tx = Tx::new(&actor, now);
            let mut changed = false;
            let mut interrupted = 0;
            let env: Option<Stored<Environment>> = self.find(&d.value.environment).await?;
            // Runs handed to remote runners are theirs: their claims, not this engine, say whether they
            // still run (see `runner_protocol.rs`).
            let claims = self.claims_of(&d.value).await?;
            let remote: Vec<usize> = claims.iter().map(|c| c.value.0.index).collect();
            let ended = self.end_lost_claims(&mut d.value, &claims, &mut tx, now);
            changed |= ended > 0;
            interrupted += ended;
            if took_over && d.value.state == DeploymentState::Running {
                tx.record([railyard_domain::Change::new(
                    "deployment",
                    id,
                    "claim",
                    serde_json::json!({"holder": holder}),
                )]);
                changed = true;
            }
            if !orphaned && !took_over {
                // Runs of ours that we no longer have in flight and that started a while ago are lost.
                let lost: Vec<usize> = (0..d.value.runs.len())
                    .filter(|i| {
                        let r = &d.value.runs[*i];
                        r.state == railyard_domain::RunState::Running
                            && !live.contains(i)
                            && !remote.contains(i)
                            && r.started_at.is_some_and(|t| now - t > Duration::seconds(LOST_AFTER_SECS))
                    })
                    .collect();
                if !lost.is_empty() {
                    let keep: Vec<usize> = (0..d.value.runs.len()).filter(|i| !lost.contains(i)).collect();
                    let c = d.value.interrupt_except(&keep, now);
                    changed |= c.is_some();
                    interrupted += lost.len();
                    tx.record(c);
                }
            }
            if orphaned {
                interrupted += (0..d.value.runs.len())
                    .filter(|i| d.value.runs[*i].state == railyard_domain::RunState::Running && !remote.contains(i))
                    .count();
                let c = d.value.interrupt_except(&remote, now);
                changed |= c.is_some();
                tx.record(c);
            }
            if d.value.state == DeploymentState::Scheduled {
                // What holds it: the stopped line, the environment (R13, and R11 for what is not
                // production-ready), the train and the dependencies (R11, R5). All of it is shown.
                // A rollback is not held by a stopped line: the line stops new work, and undoing a
                // failed production deployment is what an incident usually needs. The calendar (R13)
                // still holds it.
                let line = if d.value.rollback { None } else { self.line_state().await?.hold() };
                let mut holds: Vec<String> = line.into_iter().collect();
                match &env {
                    Some(e) => {
                        holds.extend(e.value.blocked_at(now));
                        if e.value.locked && !d.value.production {
                            holds.push(format!(
                                "environment {} is locked: it takes only accepted production-ready turnovers",
                                e.value.name
                            ));
                        }
                    }
                    None => holds.push(format!("environment {} no longer exists", d.value.environment)),
                }
                holds.extend(self.production_holds(&d.value).await?);
                let c = d.value.set_blocked((!holds.is_empty()).then(|| holds.join("; ")));
                changed |= c.is_some();
                tx.record(c);
            }
            let (changes, launch) = d.value.advance(now);
            // Where its automation runs go: a remote runner carrying the environment's labels, or
            // (none named) the built-in runner, unless this server has none.
            let labels = env.as_ref().map(|e| e.value.runner_labels.clone()).unwrap_or_default();
            let to_runners = !labels.is_empty() || !self.local_runner;
            let moved = changes.iter().any(|c| matches!(c.action.as_str(), "start" | "succeed" | "fail"));
            changed |= !changes.is_empty() || !launch.is_empty();
            if !changed && fresh {
                // Nothing moved and the lease holds: write nothing (a deployment waiting for a person
                // costs one lease renewal every few seconds, not a write every tick).
                return Ok(Step::default());
            }
            tx.record(changes);
            let launches = if launch.is_empty() {
                Vec::new()
            } else {
                // Variables and secrets in effect for each run's application in this environment, resolved
                // for the built-in runner (runs queued for remote runners are resolved again when claimed,
                // see `runner_protocol.rs`; these launches are dropped).
                let resolved = self.resolve_runs(&d.value, &launch).await?;
                launch
                    .into_iter()
                    .zip(resolved)
                    .map(|(i, resolved)| {
                        let run = &d.value.runs[i];
                        let env = run_env(&d.value, i);
                        let mut task = run.clone();
                        if resolved.action.is_some() {
                            task.action = resolved.action;
                        }
                        let (unresolved, mask) = (resolved.unresolved, resolved.mask);
                        Launch { deployment: d.value.id.clone(), run: i, task, env, unresolved, mask }
                    })
                    .collect()
            };
            // Runs for remote runners are queued in this commit; a run whose references cannot be
            // resolved stays with the engine, which fails it without running anything.
            let (queued, launches): (Vec<Launch>, Vec<Launch>) =
                launches.into_iter().partition(|l| to_runners && l.unresolved.is_none());
            for l in &queued {
                let claim = RunClaim::queued(&l.deployment, l.run, &l.task.id, l.task.attempts, labels.clone(), now);
                tx.insert(&Claim(claim), claim_seq(&l.deployment, l.run))?;
            }
            if d.value.state == DeploymentState::Running {
                let waiting = !queued.is_empty() || claims.iter().any(|c| c.value.0.state == ClaimState::Queued);
                let reason = if waiting { self.no_runner_for(&labels).await? } else { None };
                let c = d.value.set_waiting(reason);
                changed |= c.is_some();
                tx.record(c);
            }
            if d.value.production && moved {
                let turnover = d.value.turnover_id.clone();
                self.follow_production(&mut tx, &turnover, std::slice::from_ref(&d.value), SYSTEM_ACTOR, now).await?;
            }
            // The deployment is written only with events; the lease every time, at the version read, so
            // that two engines deciding on one deployment conflict. A first lease is written with an
            // event (its claim, when nothing else changed), so that some change lists every lease record.
            if changed {
                tx.update(&d)?;
            } else if held.is_none() {
                tx.record([railyard_domain::Change::new(
                    "deployment",
                    id,
                    "claim",
                    serde_json::json!({"holder": holder}),
                )]);
            }
            match held {
                Some(mut l) => {
                    l.value.lease = lease;
                    tx.update(&l)?;
                }
                None => tx.insert(&DeploymentLease { deployment: id.to_string(), lease }, d.seq)?,
            }
            self.commit(tx).await?;
            if !queued.is_empty() {
                self.runs_queued.notify_waiters();
            }
            Ok(Step { launches, interrupted })
        })
        .await
    }
}

/// A remote runner's result: who sent it, for which claim.
pub(crate) struct Remote {
    pub runner: Runner,
    pub claim: String,
}

/// `RAILYARD_*` variables for a run (see [`Launch::env`]).
pub(crate) fn run_env(d: &Deployment, index: usize) -> BTreeMap<String, String> {
    let (run, attempts) = d.runs.get(index).map(|r| (r.id.clone(), r.attempts)).unwrap_or_default();
    BTreeMap::from([
        ("RAILYARD_TURNOVER".to_string(), d.turnover_id.clone()),
        ("RAILYARD_ENVIRONMENT".to_string(), d.environment.clone()),
        ("RAILYARD_DEPLOYMENT".to_string(), d.id.clone()),
        ("RAILYARD_ATTEMPT".to_string(), attempts.to_string()),
        ("RAILYARD_RUN_ID".to_string(), format!("{}-{run}-{attempts}", d.id)),
        ("RAILYARD_RUN".to_string(), run),
        ("RAILYARD_ARTIFACTS".to_string(), d.artifacts.join(" ")),
    ])
}

impl Service {
    /// The claims of a deployment's runs handed to remote runners.
    async fn claims_of(&self, d: &Deployment) -> ServiceResult<Vec<Stored<Claim>>> {
        if !d.runs.iter().any(|r| r.state == railyard_domain::RunState::Running) {
            return Ok(Vec::new());
        }
        let mut q = ListQuery::new("run_claim", crate::MAX_PAGE);
        q.parent_id = Some(d.id.clone());
        self.list_all::<Claim>(q).await
    }

    /// Ends the claims whose runner stopped answering (their runs are interrupted, naming the runner)
    /// and those whose run no longer waits for them; returns how many runs it interrupted. The claims
    /// go in `tx`, with the deployment's changes.
    fn end_lost_claims(
        &self,
        d: &mut Deployment,
        claims: &[Stored<Claim>],
        tx: &mut Tx,
        now: chrono::DateTime<chrono::Utc>,
    ) -> usize {
        let mut interrupted = 0;
        for c in claims {
            let claim = &c.value.0;
            let current = d.runs.get(claim.index).is_some_and(|r| {
                r.id == claim.run && r.attempts == claim.attempt && r.state == railyard_domain::RunState::Running
            });
            if current && !claim.expired(now) {
                continue;
            }
            if current {
                let runner = claim.runner_name.clone().unwrap_or_default();
                let until = claim.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default();
                let result = RunResult {
                    status: railyard_domain::RunStatus::Interrupted,
                    exit_code: None,
                    http_status: None,
                    message: format!(
                        "interrupted: runner {runner} stopped answering (its lease on the run expired at {until}); \
                         retry the deployment to run it again"
                    ),
                    finished_at: now,
                    truncated: false,
                };
                if let Ok(mut change) = d.finish_run(claim.index, claim.attempt, result) {
                    change.data["runner"] = serde_json::json!(runner);
                    d.runs[claim.index].runner = Some(runner);
                    tx.record([change]);
                    interrupted += 1;
                }
            } else {
                tx.record([railyard_domain::Change::new(
                    "deployment",
                    &d.id,
                    "drop_claim",
                    serde_json::json!({"run": claim.run, "attempt": claim.attempt, "reason": "the run no longer waits"}),
                )]);
            }
            tx.delete(c);
        }
        if interrupted > 0 {
            tx.record(d.settle_interrupted(now));
        }
        interrupted
    }

    /// Why runs needing `labels` wait: no online runner carries them all (`None` when one does).
    async fn no_runner_for(&self, labels: &[String]) -> ServiceResult<Option<String>> {
        let online = self.online_runners().await?;
        if online.iter().any(|(_, p)| railyard_domain::runner::serves(&p.labels, labels)) {
            return Ok(None);
        }
        Ok(Some(if labels.is_empty() {
            "waiting for a runner: no runner is online and this server runs no tasks itself (--no-local-runner)".into()
        } else {
            format!("waiting for a runner with labels {}: none is online", labels.join(", "))
        }))
    }
}
