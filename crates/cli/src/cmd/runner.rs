//! `railyard runner`: without a subcommand, this host becomes a remote runner of the server (see the
//! `railyard-agent` crate); with one, runners are registered, listed and revoked through the API, with
//! the user's own credentials.
//!
//! The runner's token comes from `--token`, `--token-file` or `RAILYARD_RUNNER_TOKEN`, in that order.
//! A command line is visible to every local user (`/proc/<pid>/cmdline`): the file or the variable is
//! the better place. `RAILYARD_RUNNER_TOKEN` leaves the process's environment before any thread starts
//! ([`take_token_env`]); `RAILYARD_TOKEN` and the saved login (a user's token) are never used as the
//! runner's.

use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use railyard_agent::AgentConfig;
use serde_json::{Map, Value, json};

use super::{put, seg};
use crate::config::Context;
use crate::output::{kv, s, table};

/// The variable the runner's token may come from.
pub const TOKEN_ENV: &str = "RAILYARD_RUNNER_TOKEN";

/// `railyard runner [OPTIONS]` or `railyard runner <COMMAND>`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunnerArgs {
    #[command(subcommand)]
    pub command: Option<RunnerCmd>,
    #[command(flatten)]
    pub agent: AgentArgs,
}

/// How this host runs as a runner.
#[derive(Args)]
pub struct AgentArgs {
    /// A file holding the runner's token, as `railyard runner register` printed it (readable by the
    /// runner's user only); default: RAILYARD_RUNNER_TOKEN.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// The labels this runner serves, separated by commas, e.g. prod-eu,linux: some of those it was
    /// registered with; default: all of them.
    #[arg(long, value_name = "LABELS")]
    labels: Option<String>,
    /// How many runs it takes at once (1 to 64).
    #[arg(long, value_name = "N", default_value_t = railyard_agent::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Where its tasks get their own working directories, and where it records the runs in flight;
    /// default: $TMPDIR/railyard-tasks-<uid>.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// How long it pauses between two requests for work while it can take more, in milliseconds (each
    /// request may wait on the server up to 5 s for a run).
    #[arg(long, value_name = "MS", default_value_t = 200)]
    poll_interval_ms: u64,
}

#[derive(Subcommand)]
pub enum RunnerCmd {
    /// Register a runner for some labels; prints its token, once.
    Register {
        /// Its name: 2 to 40 lower-case letters, digits, '-' or '_', e.g. eu-1.
        #[arg(long)]
        name: String,
        /// The labels it may serve, separated by commas, e.g. prod-eu,linux (an environment's runner
        /// labels say which runners may run its tasks).
        #[arg(long, value_name = "LABELS")]
        labels: String,
        /// What it is, e.g. "build host in Frankfurt".
        #[arg(long)]
        description: Option<String>,
    },
    /// List runners: name, labels, state, last seen, runs in flight, version.
    List,
    /// Show a runner.
    Show {
        /// The runner's name (or id).
        name: String,
    },
    /// Revoke a runner: its token stops working at once and the runs it holds are interrupted.
    Revoke {
        /// The runner's name (or id).
        name: String,
    },
}

/// Takes `RAILYARD_RUNNER_TOKEN` out of the environment, its value overwritten in place. Call it before
/// any other thread exists (as `serve` does with its bootstrap token).
pub fn take_token_env() -> Option<String> {
    let value = std::env::var(TOKEN_ENV).ok();
    #[cfg(target_os = "linux")]
    if value.is_some() {
        // SAFETY: no other thread exists yet. `getenv` points into this process's writable environment
        // block; its `strlen` bytes are overwritten in place, the terminating NUL left as it is.
        unsafe {
            let p = libc::getenv(c"RAILYARD_RUNNER_TOKEN".as_ptr());
            if !p.is_null() {
                std::ptr::write_bytes(p, b'x', libc::strlen(p));
            }
        }
    }
    // SAFETY: as above, no other thread reads or writes the environment now.
    unsafe { std::env::remove_var(TOKEN_ENV) };
    value.filter(|t| !t.trim().is_empty())
}

/// Where the runner's token came from.
pub struct TokenSources {
    /// `--token`, when typed on the command line (not from `RAILYARD_TOKEN`).
    pub argv: Option<String>,
    /// `RAILYARD_RUNNER_TOKEN`, taken by [`take_token_env`].
    pub env: Option<String>,
}

/// Runs this host as a runner until SIGINT or SIGTERM.
pub async fn serve(args: AgentArgs, server: Option<String>, tokens: TokenSources) -> anyhow::Result<()> {
    // Tasks that run as this user must not read the token out of this process's memory.
    if let Err(e) = railyard_runner::protect_server_process() {
        crate::say::complain!("warning: could not make the runner non-dumpable (prctl PR_SET_DUMPABLE): {e}");
    }
    let Some(server) = server else {
        bail!("name the server: railyard runner --server URL (or RAILYARD_SERVER)");
    };
    let token = match (tokens.argv, &args.token_file, tokens.env) {
        (Some(_), Some(_), _) => bail!("give the runner's token once: --token or --token-file, not both"),
        (Some(t), None, _) => t,
        (None, Some(file), _) => read_token_file(file)?,
        (None, None, Some(t)) => t,
        (None, None, None) => {
            bail!("the runner needs its token: --token-file FILE or {TOKEN_ENV} (from `railyard runner register`)")
        }
    };
    let mut config = AgentConfig::new(&server, &token)?
        .with_concurrency(args.concurrency)?
        .with_poll_interval(Duration::from_millis(args.poll_interval_ms))?;
    if let Some(labels) = &args.labels {
        config = config.with_labels(labels)?;
    }
    if let Some(dir) = args.work_dir {
        config = config.with_work_dir(dir);
    }
    crate::say::say!(
        "Railyard runner {} for {}: up to {} runs at once{}",
        railyard_agent::VERSION,
        config.server,
        config.concurrency,
        config.labels.as_ref().map(|l| format!(", labels {}", l.join(","))).unwrap_or_default()
    );
    railyard_agent::run(config, crate::serve::shutdown_signal()).await?;
    Ok(())
}

/// The token in `file` (its first line, trimmed); warns when others may read it.
fn read_token_file(file: &PathBuf) -> anyhow::Result<String> {
    let opened = std::fs::File::open(file).with_context(|| format!("cannot read --token-file {}", file.display()))?;
    #[cfg(unix)]
    if let Ok(meta) = opened.metadata() {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            crate::say::complain!("warning: --token-file {} can be read by other users; chmod 600 it", file.display());
        }
    }
    let mut text = String::new();
    opened
        .take(4096)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read --token-file {}", file.display()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.is_empty() {
        bail!("--token-file {} is empty: put the token `railyard runner register` printed in it", file.display());
    }
    Ok(token)
}

/// `prod-eu,linux` as a JSON list (empty names dropped).
pub fn labels(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

pub async fn run(ctx: &Context, cmd: RunnerCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let base = |n: &str| format!("/api/v1/runners/{}", seg(n));
    match cmd {
        RunnerCmd::Register { name, labels: wanted, description } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert("labels".into(), json!(labels(&wanted)));
            put(&mut body, "description", description);
            let v = c.post("/api/v1/runners", Some(Value::Object(body))).await?;
            ctx.show(&v, registered);
        }
        RunnerCmd::List => {
            let v = c.get("/api/v1/runners", &[]).await?;
            ctx.show(&v, runners);
        }
        RunnerCmd::Show { name } => {
            let v = c.get(&base(&name), &[]).await?;
            ctx.show(&v, runner);
        }
        RunnerCmd::Revoke { name } => {
            let v = c.post(&format!("{}/revoke", base(&name)), None).await?;
            ctx.show(&v, runner);
        }
    }
    Ok(())
}

fn registered(v: &Value) {
    println!("Registered runner {} ({}), labels: {}.", s(&v["name"]), s(&v["id"]), s(&v["labels"]));
    println!(
        "Its token, shown this once (it will not be shown again; keep it where only the runner's user can read it):"
    );
    println!("{}", s(&v["token"]));
    println!("Start it with: railyard runner --server URL --token-file FILE (or {TOKEN_ENV} set to the token)");
}

/// When a runner was last seen, and whether it is online now.
fn seen(r: &Value) -> String {
    let at = s(&r["last_seen_at"]);
    match r["online"].as_bool() {
        Some(true) => format!("{at} (online)"),
        _ if r["last_seen_at"].is_null() => "never".into(),
        _ => at,
    }
}

fn runners(page: &Value) {
    let rows: Vec<Vec<String>> = crate::output::items(page)
        .iter()
        .map(|r| {
            vec![s(&r["name"]), s(&r["labels"]), s(&r["state"]), seen(r), s(&r["runs_in_flight"]), s(&r["version"])]
        })
        .collect();
    table(&["NAME", "LABELS", "STATE", "LAST SEEN", "IN FLIGHT", "VERSION"], &rows);
}

fn runner(r: &Value) {
    kv(&[
        ("name", s(&r["name"])),
        ("id", s(&r["id"])),
        ("labels", s(&r["labels"])),
        ("description", s(&r["description"])),
        ("state", s(&r["state"])),
        ("serving", s(&r["serving"])),
        ("last seen", seen(r)),
        ("in flight", s(&r["runs_in_flight"])),
        ("version", s(&r["version"])),
        ("created by", s(&r["created_by"])),
        ("created at", s(&r["created_at"])),
    ]);
}

#[cfg(test)]
mod tests {
    use super::labels;

    #[test]
    fn labels_are_split_on_commas_and_an_empty_list_clears_them() {
        assert_eq!(labels("prod-eu, linux"), ["prod-eu", "linux"]);
        assert_eq!(labels(" eu ,,"), ["eu"]);
        assert!(labels("").is_empty());
    }
}
