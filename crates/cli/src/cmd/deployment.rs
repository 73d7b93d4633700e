//! `railyard deploy`, `railyard deployment ...` and `railyard run ...`

use std::time::Duration;

use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use super::seg;
use crate::config::Context;
use crate::output;

#[derive(Subcommand)]
pub enum DeploymentCmd {
    /// Which actions you may take on it now, and for each refused one the guards that block it.
    Actions {
        /// The deployment, e.g. DE-4.
        id: String,
    },
    /// List deployments.
    List {
        /// Only deployments of this turnover, e.g. TO-1.
        #[arg(long)]
        turnover: Option<String>,
        /// Only deployments into this environment.
        #[arg(long = "env")]
        environment: Option<String>,
        /// Only deployments in this state, e.g. running.
        #[arg(long)]
        state: Option<String>,
    },
    /// Show a deployment and its task runs.
    Show {
        /// The deployment, e.g. DE-1.
        id: String,
    },
    /// Follow a deployment live until it settles; exits 0 when it succeeded, 1 when it failed.
    Watch {
        /// The deployment, e.g. DE-1.
        id: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
        /// Also stop (exit 0) as soon as a manual run waits for its owner.
        #[arg(long)]
        until_waiting: bool,
    },
    /// Print a run's output.
    Logs {
        /// The deployment, e.g. DE-1.
        id: String,
        /// The task run, e.g. R1.
        run: String,
    },
    /// Run a failed deployment again: failed runs rerun, succeeded ones are skipped unless named.
    Retry {
        /// The deployment, e.g. DE-1.
        id: String,
        /// Succeeded runs to run again too (default: skipped), e.g. R1. Repeatable.
        #[arg(long = "rerun")]
        rerun: Vec<String>,
    },
    /// Abandon a failed deployment.
    Abandon {
        /// The deployment, e.g. DE-1.
        id: String,
    },
    /// Start a scheduled deployment before its time: needs --override and a --reason, by the train's
    /// manager (R11).
    Start {
        /// The deployment, e.g. DE-1.
        id: String,
        /// Start before the scheduled time (the train's manager only; needs --reason).
        #[arg(long = "override")]
        override_schedule: bool,
        /// Why it starts early.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Validate a succeeded deployment: --pass, or --fail with a note.
    Validate {
        /// The deployment, e.g. DE-1.
        id: String,
        /// It works in this stage.
        #[arg(long, conflicts_with = "fail")]
        pass: bool,
        /// It does not work in this stage (say why with --note).
        #[arg(long)]
        fail: bool,
        /// What was checked and seen.
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Subcommand)]
pub enum RunCmd {
    /// Complete a manual run you own: --done, or --failed with a note.
    Complete {
        /// The deployment, e.g. DE-1.
        deployment: String,
        /// The manual run, e.g. R3.
        run: String,
        /// The task is done.
        #[arg(long, conflicts_with = "failed")]
        done: bool,
        /// The task failed (say why with --note).
        #[arg(long)]
        failed: bool,
        /// What was done or went wrong.
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Subcommand)]
pub enum LineCmd {
    /// Whether the line is stopped.
    Status,
    /// Stop the line: no deployment starts anywhere until it is resumed, except rollbacks; runs in
    /// flight finish.
    Halt {
        /// Why the line stops, e.g. an incident number.
        #[arg(long)]
        reason: String,
    },
    /// Resume the line: scheduled deployments start again.
    Resume {
        /// Why it may go on.
        #[arg(long)]
        reason: String,
    },
}

pub async fn line(ctx: &Context, cmd: LineCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let v = match cmd {
        LineCmd::Status => c.get("/api/v1/line", &[]).await?,
        LineCmd::Halt { reason } => c.post("/api/v1/line/halt", Some(json!({"reason": reason}))).await?,
        LineCmd::Resume { reason } => c.post("/api/v1/line/resume", Some(json!({"reason": reason}))).await?,
    };
    ctx.show(&v, output::line);
    Ok(())
}

pub async fn deploy(ctx: &Context, turnover: &str, skip: Vec<String>) -> anyhow::Result<()> {
    let v =
        ctx.client.post(&format!("/api/v1/turnovers/{}/deploy", seg(turnover)), Some(json!({"skip": skip}))).await?;
    ctx.show(&v, output::deployment);
    Ok(())
}

pub async fn deployment(ctx: &Context, cmd: DeploymentCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let base = |id: &str| format!("/api/v1/deployments/{}", seg(id));
    let v = match cmd {
        DeploymentCmd::List { turnover, environment, state } => {
            let mut q = Vec::new();
            q.extend(turnover.map(|s| ("turnover", s)));
            q.extend(environment.map(|s| ("environment", s)));
            q.extend(state.map(|s| ("state", s)));
            let v = c.get("/api/v1/deployments", &q).await?;
            ctx.show(&v, output::deployments);
            return Ok(());
        }
        DeploymentCmd::Actions { id } => {
            let v = c.get(&format!("/api/v1/deployments/{}/actions", seg(&id)), &[]).await?;
            ctx.show(&v, output::actions);
            return Ok(());
        }
        DeploymentCmd::Show { id } => c.get(&base(&id), &[]).await?,
        DeploymentCmd::Watch { id, timeout, until_waiting } => return watch(ctx, &id, timeout, until_waiting).await,
        DeploymentCmd::Logs { id, run } => {
            let v = c.get(&format!("{}/runs/{}/log", base(&id), seg(&run)), &[]).await?;
            ctx.show(&v, output::run_log);
            return Ok(());
        }
        DeploymentCmd::Retry { id, rerun } => {
            c.post(&format!("{}/retry", base(&id)), Some(json!({"rerun": rerun}))).await?
        }
        DeploymentCmd::Abandon { id } => c.post(&format!("{}/abandon", base(&id)), None).await?,
        DeploymentCmd::Start { id, override_schedule, reason } => {
            let body = json!({"override": override_schedule, "reason": reason});
            c.post(&format!("{}/start", base(&id)), Some(body)).await?
        }
        DeploymentCmd::Validate { id, pass, fail, note } => {
            if pass == fail {
                bail!("say --pass or --fail (with --note saying what failed)");
            }
            c.post(&format!("{}/validate", base(&id)), Some(json!({"passed": pass, "note": note}))).await?
        }
    };
    ctx.show(&v, output::deployment);
    Ok(())
}

pub async fn run(ctx: &Context, cmd: RunCmd) -> anyhow::Result<()> {
    let RunCmd::Complete { deployment, run, done, failed, note } = cmd;
    if done == failed {
        bail!("say --done or --failed (with --note)");
    }
    let path = format!("/api/v1/deployments/{}/runs/{}/complete", seg(&deployment), seg(&run));
    let v = ctx.client.post(&path, Some(json!({"done": done, "note": note}))).await?;
    ctx.show(&v, output::deployment);
    Ok(())
}

/// Polls the deployment until it settles (or, with `until_waiting`, until a manual run waits for its
/// owner): a progress bar per sequence group as it moves, then each run's result as it comes; the state
/// it settles in comes last.
async fn watch(ctx: &Context, id: &str, timeout: u64, until_waiting: bool) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut bars: Vec<(u64, usize)> = Vec::new();
    let mut last_state = String::new();
    loop {
        let d = ctx.client.get(&format!("/api/v1/deployments/{}", seg(id)), &[]).await?;
        let state = d["state"].as_str().unwrap_or_default().to_string();
        let settled = matches!(state.as_str(), "succeeded" | "validated" | "failed" | "abandoned" | "rejected");
        if state != last_state && !settled {
            let blocked = d["blocked"].as_str().map(|b| format!(" (blocked: {b})")).unwrap_or_default();
            println!("{id} {state}{blocked}");
            last_state = state.clone();
        }
        let runs = d["runs"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let mut groups: Vec<u64> = runs.iter().filter_map(|r| r["sequence"].as_u64()).collect();
        groups.sort_unstable();
        groups.dedup();
        for g in groups {
            let in_group: Vec<&serde_json::Value> = runs.iter().filter(|r| r["sequence"].as_u64() == Some(g)).collect();
            let done = in_group
                .iter()
                .filter(|r| {
                    matches!(
                        r["state"].as_str(),
                        Some("succeeded" | "skipped" | "failed" | "timed_out" | "interrupted")
                    )
                })
                .count();
            let started = in_group.iter().any(|r| r["state"] != "pending");
            if started && !bars.contains(&(g, done)) {
                println!("  group {g} {}", bar(done, in_group.len()));
                bars.push((g, done));
            }
        }
        let mut waiting = Vec::new();
        for r in runs {
            let key =
                (r["id"].as_str().unwrap_or_default().to_string(), r["state"].as_str().unwrap_or_default().to_string());
            if key.1 == "waiting_for_owner" {
                waiting.push(format!("{} ({})", key.0, output::s(&r["owner"])));
            }
            let finished =
                matches!(key.1.as_str(), "succeeded" | "failed" | "timed_out" | "interrupted" | "waiting_for_owner");
            if finished && !seen.contains(&key) {
                println!("    {}", output::run_line(r));
                seen.push(key);
            }
        }
        if settled {
            println!("{id} {state}");
        }
        match state.as_str() {
            "succeeded" | "validated" => return Ok(()),
            "failed" | "abandoned" | "rejected" => bail!("deployment {id} {state}"),
            _ => {}
        }
        if until_waiting && !waiting.is_empty() {
            println!("{id} waits for its owners: {}", waiting.join(", "));
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("deployment {id} is still {state} after {timeout} s");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// `[########............] 8/20`
fn bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 20;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    format!("[{}{}] {done}/{total}", "#".repeat(filled), ".".repeat(WIDTH - filled))
}
