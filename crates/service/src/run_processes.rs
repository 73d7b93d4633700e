//! Where the processes of automation runs live, so that what is left of them after a crash can be
//! killed (issue 12, finding 4).
//!
//! When the engine starts a command, it records the run's processes ([`RunProcess`]: host, process
//! group, the leader's start time, uid, its own directory, control group and run id) as a `run_process`
//! record of its own, `live`, with an audit event
//! `record_process` on the deployment. It is a record of its own rather than a field of the task run:
//! writing it never conflicts with the deployment's own updates, it stays out of the API's deployment
//! document, and the few `live` ones are found by an indexed query on their state.
//!
//! A record leaves `live` in the same commit as its run's result (`ended`), or when an engine on its host
//! killed what was left of it after the run was marked interrupted (`reaped`, with an audit event
//! `reap_processes`). An engine looks for such leftovers when it starts and whenever it marks runs
//! interrupted; records of another host wait for an engine on that host.

use railyard_domain::{Actor, Change, Deployment, Role, RunProcess, RunState, SYSTEM_ACTOR};
use railyard_store::ListQuery;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::persist::{Aggregate, Stored, Tx};
use crate::{Service, ServiceResult};

const LIVE: &str = "live";
const ENDED: &str = "ended";
const REAPED: &str = "reaped";

/// The processes of one attempt of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunProcessRecord {
    /// `DE-5:R1:2`: deployment, run, attempt.
    pub id: String,
    pub deployment: String,
    pub run: String,
    pub run_index: usize,
    pub attempt: u32,
    pub process: RunProcess,
    /// `live`, `ended` or `reaped`.
    pub state: String,
}

impl Aggregate for RunProcessRecord {
    const KIND: &'static str = "run_process";
    fn id(&self) -> &str {
        &self.id
    }
    fn state(&self) -> Option<String> {
        Some(self.state.clone())
    }
    fn parent_id(&self) -> Option<String> {
        Some(self.deployment.clone())
    }
}

pub(crate) fn record_id(deployment: &str, run: &str, attempt: u32) -> String {
    format!("{deployment}:{run}:{attempt}")
}

/// What is left of an interrupted run, for the engine to kill.
#[derive(Debug, Clone)]
pub struct Leftover {
    /// The record's id, to report back with [`Service::engine_processes_reaped`].
    pub id: String,
    pub deployment: String,
    pub run: String,
    pub attempt: u32,
    pub process: RunProcess,
}

fn system() -> Actor {
    Actor::new(SYSTEM_ACTOR, &[Role::Admin])
}

impl Service {
    /// Records the process group of a run the engine just started (attempt `attempt` of run `run`).
    pub async fn engine_run_started(
        &self,
        deployment: &str,
        run: usize,
        attempt: u32,
        process: RunProcess,
    ) -> ServiceResult<()> {
        let d: Stored<Deployment> = self.load(deployment).await?;
        let Some(r) = d.value.runs.get(run) else { return Ok(()) };
        let now = self.now();
        let record = RunProcessRecord {
            id: record_id(deployment, &r.id, attempt),
            deployment: deployment.to_string(),
            run: r.id.clone(),
            run_index: run,
            attempt,
            process,
            state: LIVE.into(),
        };
        let seq = self.store.next_seq(RunProcessRecord::KIND).await?;
        let mut tx = Tx::new(&system(), now);
        tx.insert(&record, seq)?;
        // Its output so far, for the other servers (see `live.rs`).
        tx.insert(&crate::live::new_output_record(deployment, &r.id, attempt), seq)?;
        tx.record([Change::new(
            "deployment",
            deployment,
            "record_process",
            json!({"run": record.run, "attempt": attempt, "host": record.process.host, "pgid": record.process.pgid,
                "uid": record.process.uid, "cgroup": record.process.cgroup}),
        )]);
        self.commit(tx).await
    }

    /// The `live` process records of runs no longer running at their attempt (interrupted, or the
    /// deployment moved on): what an engine on their host must kill.
    pub async fn engine_leftover_processes(&self) -> ServiceResult<Vec<Leftover>> {
        let mut q = ListQuery::new(RunProcessRecord::KIND, crate::MAX_PAGE);
        q.states = vec![LIVE.into()];
        let mut out = Vec::new();
        for r in self.list_all::<RunProcessRecord>(q).await? {
            let r = r.value;
            let d: Option<Stored<Deployment>> = self.find(&r.deployment).await?;
            let running = d
                .as_ref()
                .and_then(|d| d.value.runs.get(r.run_index))
                .is_some_and(|run| run.id == r.run && run.attempts == r.attempt && run.state == RunState::Running);
            if !running {
                out.push(Leftover {
                    id: r.id,
                    deployment: r.deployment,
                    run: r.run,
                    attempt: r.attempt,
                    process: r.process,
                });
            }
        }
        Ok(out)
    }

    /// Marks process records `reaped`: `(record id, processes killed)`.
    pub async fn engine_processes_reaped(&self, reaped: &[(String, usize)]) -> ServiceResult<()> {
        for (id, killed) in reaped {
            self.retrying(None, || async {
                let Some(mut r): Option<Stored<RunProcessRecord>> = self.find(id).await? else { return Ok(()) };
                if r.value.state != LIVE {
                    return Ok(());
                }
                r.value.state = REAPED.into();
                let mut tx = Tx::new(&system(), self.now());
                tx.update(&r)?;
                self.end_output_records(&mut tx, &r.value.deployment, &[(r.value.run.clone(), r.value.attempt)]).await?;
                tx.record([Change::new(
                    "deployment",
                    &r.value.deployment,
                    "reap_processes",
                    json!({"run": r.value.run, "attempt": r.value.attempt, "pgid": r.value.process.pgid, "killed": killed}),
                )]);
                self.commit(tx).await
            })
            .await?;
        }
        Ok(())
    }

    /// Adds to `tx` the end of the `live` process records of these runs (`(run id, attempt)`) of one
    /// deployment: their runs ended and were recorded in the same commit.
    pub(crate) async fn end_processes(
        &self,
        tx: &mut Tx,
        deployment: &str,
        runs: &[(String, u32)],
    ) -> ServiceResult<()> {
        let mut q = ListQuery::new(RunProcessRecord::KIND, crate::MAX_PAGE);
        q.parent_id = Some(deployment.to_string());
        q.states = vec![LIVE.into()];
        for mut r in self.list_all::<RunProcessRecord>(q).await? {
            if runs.iter().any(|(run, attempt)| *run == r.value.run && *attempt == r.value.attempt) {
                r.value.state = ENDED.into();
                tx.update(&r)?;
            }
        }
        Ok(())
    }
}
