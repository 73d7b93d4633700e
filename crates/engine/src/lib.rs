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

#[derive(Clone)]
pub struct Engine {
    service: Service,
    holder: String,
    /// Runs launched by this engine and not yet recorded: (deployment, run index).
    in_flight: Arc<Mutex<HashSet<(String, usize)>>>,
    limits: Limits,
}

impl Engine {
    pub fn new(service: Service) -> Engine {
        let mut bytes = [0u8; 8];
        let holder = match getrandom::fill(&mut bytes) {
            Ok(()) => format!("engine-{}", hex::encode(bytes)),
            Err(_) => format!("engine-{}", std::process::id()),
        };
        Engine { service, holder, in_flight: Arc::default(), limits: Limits::default() }
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
            launched += self.step(&id).await?;
        }
        Ok(launched)
    }

    async fn step(&self, id: &str) -> Result<usize, railyard_service::ServiceError> {
        let launches = self.service.engine_step(&self.holder, id).await?;
        let n = launches.len();
        for launch in launches {
            self.launch(launch);
        }
        Ok(n)
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<(String, usize)>> {
        self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn launch(&self, launch: Launch) {
        let key = (launch.deployment.clone(), launch.run);
        if !self.in_flight().insert(key.clone()) {
            return;
        }
        let engine = self.clone();
        tokio::spawn(async move {
            let result = run_one(&launch, &engine.limits).await;
            let recorded = engine.service.engine_finish_run(&launch.deployment, launch.run, result.0, result.1).await;
            engine.in_flight().remove(&key);
            if let Err(e) = recorded {
                tracing::error!(deployment = %launch.deployment, run = launch.run, error = %e, "could not record a run's result");
                return;
            }
            if let Err(e) = engine.step(&launch.deployment).await {
                tracing::warn!(deployment = %launch.deployment, error = %e, "could not move the deployment on");
            }
        });
    }
}

/// Runs one task through the runner; its result and output lines.
async fn run_one(launch: &Launch, limits: &Limits) -> (RunResult, Vec<serde_json::Value>) {
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
    let mut sink = |line: OutputLine| lines.push(json!({"at": line.at, "stream": line.stream, "text": line.text}));
    let outcome = railyard_runner::run(action, &ctx, &mut sink, limits).await;
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
