//! Runs one automation task action — a command or an HTTP call — and reports what happened: its output
//! lines as they come (to a [`LineSink`]) and an [`Outcome`] at the end. It knows nothing of trains,
//! turnovers or storage; the engine calls it.
//!
//! A command runs without a shell, in a process group of its own, stdin from `/dev/null`, as the
//! [`Sandbox`]'s task user (never root, holding no capability, unable to gain any), in its own fresh
//! working directory unless it names one, with a cleared environment (see [`sandbox`] for what it keeps
//! and the limits it gets) plus the action's variables plus the [`RunContext`]'s (which win). At its
//! timeout, or when [`RunOptions::stop`] says the server is stopping, every process of the run gets
//! SIGTERM, then SIGKILL after [`KILL_GRACE`]. When its program exits, whatever it left running is
//! killed: every process of a run, in its process group or not, ends with it (through a control group
//! of its own where cgroup v2 is usable; see [`contain`]). The pipes are read for at most
//! [`DRAIN_BOUND`] after the end. Dropping the run's future kills it too, and the process dies with the
//! server (see [`process`]).
//!
//! Output is kept line by line up to [`Limits`] (bytes and lines, one accounting), then one mark says
//! what was dropped.
//!
//! Linux only: the process handling uses `prctl` and `/proc`.
//!
//! ```no_run
//! # async fn demo() {
//! use railyard_runner::{Action, CommandAction, Limits, RunContext, VecSink, run};
//! let action = Action::Command(CommandAction::new("true"));
//! let mut sink = VecSink::new();
//! let outcome = run(&action, &RunContext::default(), &mut sink, &Limits::default()).await;
//! assert!(outcome.succeeded());
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod cgroup;
mod child;
mod command;
mod contain;
mod http;
mod leftovers;
pub mod mask;
mod outcome;
mod output;
pub mod process;
pub mod sandbox;
mod work_root;

// The actions are data of the domain (a task holds one); the runner carries them out.
pub use command::{DRAIN_BOUND, KILL_GRACE};
pub use mask::{MASK, MIN_MASKED_LEN, Masker};
pub use outcome::{Outcome, OutputLine, RunStatus, Stream};
pub use output::{Limits, LineSink, MAX_LINE_BYTES, MAX_LINES, MAX_OUTPUT_BYTES, VecSink};
pub use process::{Reaped, host_id, kill_recorded, protect_server_process};
pub use railyard_domain::RunProcess;
pub(crate) use railyard_domain::action;
pub use railyard_domain::action::{Action, CommandAction, HTTP_METHODS, HttpAction, MAX_TIMEOUT_SECS, is_env_name};
pub use railyard_domain::{FieldError, placeholder};
pub use sandbox::{DEFAULT_MAX_PROCESSES, Sandbox, SandboxError, TaskLimits, TaskUser};

/// What the engine adds to every run: environment variables such as `RAILYARD_TURNOVER` and
/// `RAILYARD_ENVIRONMENT`. A command sees them in its environment (they override the action's own);
/// an HTTP action can use them as `${RAILYARD_...}` placeholders in its URL, headers and body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunContext {
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl RunContext {
    pub fn new() -> Self {
        RunContext::default()
    }

    /// Every variable whose name is not `[A-Za-z_][A-Za-z0-9_]*` or whose value holds a NUL character.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let errors: Vec<FieldError> = self
            .env
            .iter()
            .filter(|(name, value)| !is_env_name(name) || value.contains('\0'))
            .map(|(name, _)| FieldError::new("env", format!("'{name}' is not a usable variable")))
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// Adds one variable.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }
}

/// How runs are run: what they may print, who they run as, and a signal to stop them.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub limits: Limits,
    pub sandbox: Arc<Sandbox>,
    /// When it turns `true`, a command still running is ended (SIGTERM, then SIGKILL) and an HTTP call
    /// abandoned; the outcome is [`RunStatus::Stopped`].
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
}

impl RunOptions {
    /// The default limits and this process's default sandbox ([`Sandbox::for_this_process`]).
    pub fn new(limits: Limits) -> Self {
        RunOptions { limits, sandbox: Sandbox::for_this_process(), stop: None }
    }
}

/// Runs one action to its end with `limits`, in this process's default sandbox; see [`run_with`].
pub async fn run(action: &Action, ctx: &RunContext, sink: &mut dyn LineSink, limits: &Limits) -> Outcome {
    run_with(action, ctx, sink, &RunOptions::new(*limits)).await
}

/// Runs one action to its end. Never panics and never returns an error: whatever happens, including an
/// invalid action, is in the outcome. Output lines go to `sink` as they are read, within
/// `options.limits`, then one mark line when some were dropped.
pub async fn run_with(action: &Action, ctx: &RunContext, sink: &mut dyn LineSink, options: &RunOptions) -> Outcome {
    let started_at = Utc::now();
    let list = |errors: Vec<FieldError>| errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    if let Err(errors) = action.validate() {
        return Outcome::new(RunStatus::CouldNotStart, format!("invalid action: {}", list(errors)), started_at);
    }
    if let Err(errors) = ctx.validate() {
        return Outcome::new(RunStatus::CouldNotStart, format!("invalid run context: {}", list(errors)), started_at);
    }
    let mut capture = output::Capture::new(sink, &options.limits);
    let mut outcome = match action {
        Action::Command(c) => command::run(c, ctx, &mut capture, options, started_at).await,
        Action::Http(h) => http::run(h, ctx, &mut capture, options, started_at).await,
    };
    capture.finish();
    outcome.truncated = capture.truncated();
    outcome.finished_at = Utc::now();
    outcome
}
