//! The engine: runs deployments (DESIGN.md §5). It is a client of the service like any user, acting as
//! the `system` actor, so every step lands in the audit log.
//!
//! Each [`Engine::tick`] looks at the scheduled and running deployments, claims each with a lease (or
//! renews its own), lets the service move it on (R13 blocks, R16 groups, R15 manual runs), and launches
//! the automation runs the service hands back, each on its own task through `railyard-runner`. When a run
//! ends, its result and output are recorded in one commit and the deployment is moved on at once.
//! Leases expire when an engine stops: the next engine to look marks the runs that were in flight
//! `interrupted` (never silently rerun), and the deployment fails so that it can be retried.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use railyard_domain::{RunResult, RunStatus};
use railyard_runner::{Limits, OutputLine, RunContext};
use railyard_service::{Launch, Service};
use serde_json::json;

/// How often the engine looks for work.
pub const TICK: Duration = Duration::from_millis(250);

/// A run that ended, waiting to be recorded: deployment, run, attempt, result, output.
type Finished = (String, usize, u32, RunResult, Vec<serde_json::Value>);

/// The most output lines kept per run (the runner caps bytes; this caps many tiny lines).
pub const MAX_LINES: usize = 20_000;

#[derive(Clone)]
pub struct Engine {
    service: Service,
    holder: String,
    /// Runs launched by this engine and not yet recorded: (deployment, run index, attempt).
    in_flight: Arc<Mutex<HashSet<(String, usize, u32)>>>,
    limits: Limits,
    /// Where finished runs go; one recorder task writes them in batches.
    finished: tokio::sync::mpsc::UnboundedSender<Finished>,
}

impl Engine {
    /// A new engine; it must be created inside a tokio runtime (it starts its recorder task).
    pub fn new(service: Service) -> Engine {
        let mut bytes = [0u8; 8];
        let holder = match getrandom::fill(&mut bytes) {
            Ok(()) => format!("engine-{}", hex::encode(bytes)),
            Err(_) => format!("engine-{}", std::process::id()),
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let engine = Engine { service, holder, in_flight: Arc::default(), limits: Limits::default(), finished: tx };
        tokio::spawn(engine.clone().record(rx));
        engine
    }

    /// Records finished runs: everything that finished meanwhile is written together, one commit per
    /// deployment, and each deployment is moved on at once.
    async fn record(self, mut rx: tokio::sync::mpsc::UnboundedReceiver<Finished>) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            type Runs = Vec<(usize, u32, RunResult, Vec<serde_json::Value>)>;
            let mut by_deployment: std::collections::BTreeMap<String, Runs> = std::collections::BTreeMap::new();
            for (d, run, attempt, result, lines) in batch {
                by_deployment.entry(d).or_default().push((run, attempt, result, lines));
            }
            for (id, runs) in by_deployment {
                let keys: Vec<(String, usize, u32)> = runs.iter().map(|(r, a, _, _)| (id.clone(), *r, *a)).collect();
                // A store that is briefly unavailable gets a few more tries; a result that still cannot be
                // written is lost, and the run is marked interrupted when the engine next looks.
                let mut recorded = self.service.engine_finish_runs(&id, runs.clone()).await;
                for pause in [100, 400, 1600] {
                    if recorded.is_ok() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    recorded = self.service.engine_finish_runs(&id, runs.clone()).await;
                }
                {
                    let mut in_flight = self.in_flight();
                    for k in &keys {
                        in_flight.remove(k);
                    }
                }
                if let Err(e) = recorded {
                    tracing::error!(deployment = %id, error = %e, "could not record finished runs");
                    continue;
                }
                if let Err(e) = self.step(&id).await {
                    tracing::warn!(deployment = %id, error = %e, "could not move the deployment on");
                }
            }
        }
    }

    /// The name this engine's leases carry.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Runs until `shutdown` completes; runs still in flight then are abandoned with the process (their
    /// leases expire and the next engine marks them interrupted).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut interval = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = interval.tick() => {
                    if let Err(e) = self.tick().await {
                        tracing::warn!(error = %e, "engine tick failed; trying again");
                    }
                }
            }
        }
    }

    /// One pass over the active deployments. Returns how many runs it launched.
    pub async fn tick(&self) -> Result<usize, railyard_service::ServiceError> {
        let mut launched = 0;
        for id in self.service.active_deployments().await? {
            // One deployment's trouble never holds up the others (nor their lease renewals).
            match self.step(&id).await {
                Ok(n) => launched += n,
                Err(e) => tracing::warn!(deployment = %id, error = %e, "could not move a deployment on"),
            }
        }
        Ok(launched)
    }

    async fn step(&self, id: &str) -> Result<usize, railyard_service::ServiceError> {
        let live: Vec<usize> = self.in_flight().iter().filter(|(d, _, _)| d == id).map(|(_, r, _)| *r).collect();
        let launches = self.service.engine_step(&self.holder, id, &live).await?;
        let n = launches.len();
        for launch in launches {
            self.launch(launch);
        }
        Ok(n)
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<(String, usize, u32)>> {
        self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn launch(&self, launch: Launch) {
        let key = (launch.deployment.clone(), launch.run, launch.task.attempts);
        if !self.in_flight().insert(key.clone()) {
            return;
        }
        let limits = self.limits;
        let finished = self.finished.clone();
        let service = self.service.clone();
        tokio::spawn(async move {
            let (result, lines) = run_one(&service, &launch, &limits).await;
            // The recorder is gone only when the engine is: then the lease expires and the run is
            // marked interrupted by the next engine.
            let _ = finished.send((launch.deployment, launch.run, launch.task.attempts, result, lines));
        });
    }
}

/// Runs one task through the runner; its result and output lines. Each line is also handed to the
/// service as it comes, so the run's log can be read while it runs.
async fn run_one(service: &Service, launch: &Launch, limits: &Limits) -> (RunResult, Vec<serde_json::Value>) {
    let Some(action) = &launch.task.action else {
        let r = RunResult {
            status: RunStatus::CouldNotStart,
            exit_code: None,
            http_status: None,
            message: "an automation run without an action".into(),
            finished_at: chrono_now(),
            truncated: false,
        };
        return (r, Vec::new());
    };
    let ctx = RunContext { env: launch.env.clone() };
    let mut lines: Vec<serde_json::Value> = Vec::new();
    let mut dropped = 0usize;
    let (deployment, run, attempt) = (&launch.deployment, &launch.task.id, launch.task.attempts);
    let mut sink = |line: OutputLine| {
        if lines.len() < MAX_LINES {
            let line = json!({"at": line.at, "stream": line.stream, "text": line.text});
            service.engine_output_line(deployment, run, attempt, line.clone());
            lines.push(line);
        } else {
            dropped += 1;
        }
    };
    let outcome = railyard_runner::run(action, &ctx, &mut sink, limits).await;
    if dropped > 0 {
        lines.push(json!({"at": outcome.finished_at, "stream": "stderr", "text": format!("[{dropped} more lines not kept: a run keeps at most {MAX_LINES} lines]")}));
    }
    let status = match outcome.status {
        railyard_runner::RunStatus::Succeeded => RunStatus::Succeeded,
        railyard_runner::RunStatus::Failed => RunStatus::Failed,
        railyard_runner::RunStatus::TimedOut => RunStatus::TimedOut,
        railyard_runner::RunStatus::CouldNotStart => RunStatus::CouldNotStart,
    };
    let result = RunResult {
        status,
        exit_code: outcome.exit_code,
        http_status: outcome.http_status,
        message: outcome.message,
        finished_at: outcome.finished_at,
        truncated: outcome.truncated,
    };
    (result, lines)
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
