//! The engine: runs deployments (DESIGN.md §5). It is a client of the service like any user, acting as
//! the `system` actor, so every step lands in the audit log.
//!
//! Each [`Engine::tick`] looks at the scheduled and running deployments, claims each with a lease (or
//! renews its own), lets the service move it on (R13 blocks, R16 groups, R15 manual runs), and launches
//! the automation runs the service hands back, each on its own task through `railyard-runner`. When a run
//! ends, its result and output are recorded in one commit and the deployment is moved on at once.
//! Leases expire when an engine stops: the next engine to look marks the runs that were in flight
//! `interrupted` (never silently rerun), and the deployment fails so that it can be retried.
//!
//! Commands run in the runner's [`Sandbox`] (never as root, without capabilities; see
//! `railyard_runner::sandbox`), everything they start dies when their run ends, and their leader dies
//! with the server (`PR_SET_PDEATHSIG`). What the rest leaves behind after a crash is found again: each
//! run's processes (its control group, process group and run id) are recorded through the service when
//! it starts, and an engine on the same host kills what is left of runs that were interrupted, when it
//! starts and whenever it marks runs interrupted ([`Engine::reap`]; pid reuse is guarded against by
//! `railyard_runner::kill_recorded`).
//!
//! On shutdown ([`Engine::run`]'s future completing), the engine starts nothing more, ends the runs it
//! has in flight (SIGTERM to their groups, SIGKILL after the runner's grace), records them
//! `interrupted` with their output so far, and fails their deployments so that they can be retried at
//! once; it returns when that is done, or after [`STOP_BOUND`] at most.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use railyard_domain::{RunProcess, RunResult, RunStatus};
use railyard_runner::{LineSink, Masker, OutputLine, Reaped, RunContext, RunOptions, Sandbox};
use railyard_service::{Launch, Service};
use serde_json::json;

/// How often the engine looks for work.
pub const TICK: Duration = Duration::from_millis(250);

/// How often the output so far of the runs in flight is written for the other servers to show.
pub const OUTPUT_EVERY: Duration = Duration::from_secs(1);

/// The longest a shutdown waits for the runs in flight to end and be recorded. The runner ends a run
/// within its kill grace and drain bound (a few seconds); the rest is for the store.
pub const STOP_BOUND: Duration = Duration::from_secs(20);

/// A run that ended, waiting to be recorded: deployment, run, attempt, result, output.
type Finished = (String, usize, u32, RunResult, Vec<serde_json::Value>);

#[derive(Clone)]
pub struct Engine {
    service: Service,
    holder: String,
    /// Runs launched by this engine and not yet recorded: (deployment, run index, attempt).
    in_flight: Arc<Mutex<HashSet<(String, usize, u32)>>>,
    options: RunOptions,
    /// Where finished runs go; one recorder task writes them in batches.
    finished: tokio::sync::mpsc::UnboundedSender<Finished>,
    /// Turns `true` when the engine shuts down: the runs in flight end.
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    stopping: Arc<AtomicBool>,
}

impl Engine {
    /// A new engine running tasks in this process's default sandbox (as root: as `nobody`; otherwise as
    /// the server's own user). It must be created inside a tokio runtime (it starts its recorder task).
    pub fn new(service: Service) -> Engine {
        Engine::with_sandbox(service, Sandbox::for_this_process())
    }

    /// A new engine running tasks in `sandbox`.
    pub fn with_sandbox(service: Service, sandbox: Arc<Sandbox>) -> Engine {
        let mut bytes = [0u8; 8];
        let holder = match getrandom::fill(&mut bytes) {
            Ok(()) => format!("engine-{}", hex::encode(bytes)),
            Err(_) => format!("engine-{}", std::process::id()),
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let options = RunOptions { limits: railyard_runner::Limits::default(), sandbox, stop: Some(stop_rx) };
        let engine = Engine {
            service,
            holder,
            in_flight: Arc::default(),
            options,
            finished: tx,
            stop: Arc::new(stop),
            stopping: Arc::default(),
        };
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
                if self.stopping.load(Ordering::SeqCst) {
                    continue; // shutting down: nothing new starts; the next engine moves it on
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

    /// Kills what is left on this host of runs that were interrupted (see the crate doc), removes their
    /// own working directories, and records that through the service. Returns how many processes it
    /// killed.
    pub async fn reap(&self) -> Result<usize, railyard_service::ServiceError> {
        let mut reaped = Vec::new();
        let mut killed = 0;
        for left in self.service.engine_leftover_processes().await? {
            let (sandbox, process) = (self.options.sandbox.clone(), left.process.clone());
            // Killing a control group waits (briefly) for it to empty: off the runtime's threads.
            let result = tokio::task::spawn_blocking(move || {
                let result = railyard_runner::kill_recorded(&process);
                if result != Reaped::ElsewhereRecorded
                    && let Some(dir) = &process.work_dir
                {
                    // The run's own working directory, which its server died before removing.
                    sandbox.remove_leftover_dir(dir);
                }
                result
            })
            .await;
            let result = match result {
                Ok(result) => result,
                Err(e) => {
                    tracing::error!(deployment = %left.deployment, error = %e, "could not reap an interrupted run");
                    continue;
                }
            };
            match result {
                Reaped::ElsewhereRecorded => {}
                Reaped::Gone => reaped.push((left.id, 0)),
                Reaped::Killed(n) => {
                    tracing::warn!(deployment = %left.deployment, run = %left.run, attempt = left.attempt,
                        pgid = left.process.pgid, processes = n, "killed what was left of an interrupted run");
                    killed += n;
                    reaped.push((left.id, n));
                }
            }
        }
        self.service.engine_processes_reaped(&reaped).await?;
        Ok(killed)
    }

    /// Runs until `shutdown` completes, then stops (see the crate doc): returns once the runs it had in
    /// flight ended and were recorded interrupted, or after [`STOP_BOUND`].
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        if let Err(e) = self.reap().await {
            tracing::warn!(error = %e, "could not look for what interrupted runs left behind");
        }
        // The output so far of the runs in flight goes to the database every second, for the other
        // servers to show.
        let service = self.service.clone();
        let flusher = tokio::spawn(async move {
            let mut every = tokio::time::interval(OUTPUT_EVERY);
            loop {
                every.tick().await;
                service.engine_flush_output().await;
            }
        });
        let mut interval = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = interval.tick() => {
                    if let Err(e) = self.tick().await {
                        tracing::warn!(error = %e, "engine tick failed; trying again");
                    }
                }
                // Remote runners' results recorded here: those deployments move on at once.
                ids = self.service.engine_results_recorded() => {
                    for id in ids {
                        if let Err(e) = self.step(&id).await {
                            tracing::warn!(deployment = %id, error = %e, "could not move the deployment on");
                        }
                    }
                }
            }
        }
        flusher.abort();
        self.stop().await;
    }

    /// Ends the runs in flight and waits (at most [`STOP_BOUND`]) until they are recorded.
    async fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + STOP_BOUND;
        while !self.in_flight().is_empty() {
            if tokio::time::Instant::now() >= deadline {
                tracing::error!(runs = self.in_flight().len(), "runs in flight were not all recorded at shutdown");
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One pass over the active deployments. Returns how many runs it launched.
    pub async fn tick(&self) -> Result<usize, railyard_service::ServiceError> {
        let mut launched = 0;
        let mut interrupted = 0;
        for id in self.service.active_deployments().await? {
            if self.stopping.load(Ordering::SeqCst) {
                break;
            }
            // One deployment's trouble never holds up the others (nor their lease renewals).
            match self.step_counting(&id).await {
                Ok((n, i)) => {
                    launched += n;
                    interrupted += i;
                }
                Err(e) => tracing::warn!(deployment = %id, error = %e, "could not move a deployment on"),
            }
        }
        if interrupted > 0
            && let Err(e) = self.reap().await
        {
            tracing::warn!(error = %e, "could not kill what interrupted runs left behind");
        }
        Ok(launched)
    }

    async fn step(&self, id: &str) -> Result<usize, railyard_service::ServiceError> {
        let (launched, interrupted) = self.step_counting(id).await?;
        if interrupted > 0
            && let Err(e) = self.reap().await
        {
            tracing::warn!(error = %e, "could not kill what interrupted runs left behind");
        }
        Ok(launched)
    }

    /// Moves one deployment on; how many runs it launched and how many it marked interrupted.
    async fn step_counting(&self, id: &str) -> Result<(usize, usize), railyard_service::ServiceError> {
        let live: Vec<usize> = self.in_flight().iter().filter(|(d, _, _)| d == id).map(|(_, r, _)| *r).collect();
        let step = self.service.engine_step(&self.holder, id, &live).await?;
        let n = step.launches.len();
        for launch in step.launches {
            self.launch(launch);
        }
        Ok((n, step.interrupted))
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<(String, usize, u32)>> {
        self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn launch(&self, launch: Launch) {
        let key = (launch.deployment.clone(), launch.run, launch.task.attempts);
        if !self.in_flight().insert(key.clone()) {
            return;
        }
        let options = self.options.clone();
        let finished = self.finished.clone();
        let service = self.service.clone();
        tokio::spawn(async move {
            let (result, lines) = run_one(&service, &launch, &options).await;
            // The recorder is gone only when the engine is: then the lease expires and the run is
            // marked interrupted by the next engine.
            let _ = finished.send((launch.deployment, launch.run, launch.task.attempts, result, lines));
        });
    }
}

/// Where a run's output goes: to the service as it comes (so that its log can be read while it runs)
/// and into the lines kept for its record; its process group goes to the recording task. Every line is
/// masked first (the run's secret values as `***`), so neither the live output, the stored log nor any
/// log line ever holds a value.
struct RunSink<'a> {
    service: &'a Service,
    masker: &'a Masker,
    deployment: &'a str,
    run: &'a str,
    attempt: u32,
    lines: Vec<serde_json::Value>,
    started: Option<tokio::sync::oneshot::Sender<RunProcess>>,
}

impl LineSink for RunSink<'_> {
    fn line(&mut self, line: OutputLine) {
        let text = self.masker.mask(&line.text);
        let line = json!({"at": line.at, "stream": line.stream, "text": text});
        self.service.engine_output_line(self.deployment, self.run, self.attempt, line.clone());
        self.lines.push(line);
    }

    fn started(&mut self, process: &RunProcess) {
        if let Some(tx) = self.started.take() {
            let _ = tx.send(process.clone());
        }
    }
}

/// Runs one task through the runner; its result and output lines (the runner keeps them within its
/// limits, with one mark for what it dropped). The run's process group is recorded through the service
/// while it runs; the result is handed back only once that is done, so that the record always exists
/// when the result ends it.
async fn run_one(service: &Service, launch: &Launch, options: &RunOptions) -> (RunResult, Vec<serde_json::Value>) {
    if let Some(message) = &launch.unresolved {
        let r = RunResult {
            status: RunStatus::CouldNotStart,
            exit_code: None,
            http_status: None,
            message: message.clone(),
            finished_at: chrono_now(),
            truncated: false,
        };
        return (r, Vec::new());
    }
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
    let masker = Masker::new(&launch.mask);
    let (deployment, run, attempt) = (&launch.deployment, &launch.task.id, launch.task.attempts);
    let (started, process) = tokio::sync::oneshot::channel();
    let mut sink =
        RunSink { service, masker: &masker, deployment, run, attempt, lines: Vec::new(), started: Some(started) };
    let record = async {
        if let Ok(process) = process.await
            && let Err(e) = service.engine_run_started(deployment, launch.run, attempt, process).await
        {
            tracing::warn!(deployment = %deployment, run = %run, error = %e, "could not record a run's processes");
        }
    };
    let run = async {
        let outcome = railyard_runner::run_with(action, &ctx, &mut sink, options).await;
        sink.started = None; // a run that never started has nothing to record: let the recording end
        outcome
    };
    let (outcome, ()) = tokio::join!(run, record);
    let status = match outcome.status {
        railyard_runner::RunStatus::Succeeded => RunStatus::Succeeded,
        railyard_runner::RunStatus::Failed => RunStatus::Failed,
        railyard_runner::RunStatus::TimedOut => RunStatus::TimedOut,
        railyard_runner::RunStatus::CouldNotStart => RunStatus::CouldNotStart,
        railyard_runner::RunStatus::Stopped => RunStatus::Interrupted,
    };
    let message = if status == RunStatus::Interrupted {
        "interrupted: the server shut down while it ran; retry the deployment to run it again".to_string()
    } else {
        // An HTTP task's error may quote its URL: no message leaves with a value in it.
        masker.mask(&outcome.message).into_owned()
    };
    let result = RunResult {
        status,
        exit_code: outcome.exit_code,
        http_status: outcome.http_status,
        message,
        finished_at: outcome.finished_at,
        truncated: outcome.truncated,
    };
    (result, sink.lines)
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
