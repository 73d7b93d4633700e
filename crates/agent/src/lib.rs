//! The remote runner: `railyard runner --server URL --token RUNNER_TOKEN` on any host that reaches the
//! server over HTTP(S). It connects out (no inbound port), claims task runs, runs them with the
//! `railyard-runner` crate as the built-in runner does (the same timeouts, process-group kill, output
//! caps and sandbox), streams their output and reports their results, all through the runner protocol
//! (`docs/runner-protocol.md`).
//!
//! - **Claims.** While a slot is free (of [`AgentConfig::concurrency`]) it asks for work, letting the
//!   server hold the answer up to [`CLAIM_WAIT`] until a run comes, and asks again
//!   [`AgentConfig::poll_interval`] after each answer, and at once when a run ends; with every slot taken
//!   it still asks, for nothing, every [`PRESENCE_INTERVAL`], so that the server sees it alive.
//! - **Leases.** Each run is heartbeated about every second with the lines printed since, which renews
//!   its lease; see [`run`](crate::run()) for what stops a run.
//! - **Secrets.** Every line and message of a run is masked ([`railyard_runner::Masker`]) with the values
//!   the server says the run holds, before it is sent or logged. The token is never logged; the
//!   configuration's `Debug` hides it.
//! - **Crashes.** While a command runs, its processes are recorded under the work root (see
//!   [`records`]); a runner started after one that was killed outright kills what is left.

mod agent;
mod api;
pub mod config;
pub mod records;
mod run;
pub mod wire;

pub use agent::{CLAIM_WAIT, PRESENCE_INTERVAL, VERSION};
pub use config::{AgentConfig, DEFAULT_CONCURRENCY, DEFAULT_POLL_INTERVAL, MAX_CONCURRENCY};

/// Why a runner stopped (or never started) other than being asked to.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A setting is wrong: the sentence says which and how.
    #[error("{0}")]
    Config(String),
    /// Where tasks run cannot be prepared (the work root, the task user, the records of runs).
    #[error("{0}")]
    Setup(String),
    /// The server answered `401`.
    #[error(
        "the server refused this runner's token: it is unknown or the runner was revoked; register the runner again \
         (`railyard runner register`) and start it with the token that prints"
    )]
    TokenRefused,
    /// The server refused the runner's claims for good (`403`, `422`, ...): its explanation.
    #[error("the server refused this runner: {0}")]
    Refused(String),
}

/// Runs the runner until `shutdown` completes, or the server refuses it.
///
/// A run the runner carries out ends in one of these ways:
/// - it ends by itself (or at its timeout): its result is sent, retried until its lease would have
///   run out;
/// - the server answers a heartbeat with `409 lease_lost`: the run is stopped at once and no result is
///   sent;
/// - the server cannot be reached until its lease runs out by the runner's clock: the run is stopped and
///   given up (the server marks it `interrupted`);
/// - the runner shuts down: the run is stopped and reported `interrupted`, to be retried.
///
/// On `shutdown` it claims nothing more, stops the runs in flight, reports them, and returns `Ok`. A
/// `401` stops everything and returns [`AgentError::TokenRefused`]; a claim refused for good (`403`: not
/// a runner token; `422`: e.g. a label the runner was not registered with) returns
/// [`AgentError::Refused`]. Other failures are logged and retried, with pauses of up to 5 s.
pub async fn run(config: AgentConfig, shutdown: impl Future<Output = ()>) -> Result<(), AgentError> {
    agent::run(config, shutdown).await
}
