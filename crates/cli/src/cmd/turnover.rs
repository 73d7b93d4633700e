//! `railyard turnover ...` and `railyard task ...`

use anyhow::{Context as _, bail};
use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::{put, seg};
use crate::config::Context;
use crate::output;

#[derive(Subcommand)]
pub enum TurnoverCmd {
    /// Which actions you may take on it now, and for each refused one the guards that block it.
    Actions {
        /// The turnover, e.g. TO-5.
        id: String,
    },
    /// Create a turnover of an application release on an active deployment path.
    Create {
        /// The turnover's title, e.g. "PAY build 42".
        #[arg(long)]
        title: String,
        /// The application release it carries, e.g. AR-1.
        #[arg(long)]
        release: String,
        /// The deployment path it moves through, e.g. DP-1.
        #[arg(long)]
        path: String,
        /// Its developer (a user name); default: you.
        #[arg(long)]
        developer: Option<String>,
        /// NAME@VERSION, repeatable.
        #[arg(long = "artifact")]
        artifacts: Vec<String>,
    },
    /// List turnovers.
    List {
        /// Only turnovers of this application release, e.g. AR-1.
        #[arg(long)]
        release: Option<String>,
        /// Only turnovers of this train, e.g. RT-1.
        #[arg(long)]
        train: Option<String>,
        /// Only in this state (several: comma-separated).
        #[arg(long)]
        state: Option<String>,
    },
    /// Show a turnover: its tasks, artifacts and deployments.
    Show {
        /// The turnover, e.g. TO-1.
        id: String,
    },
    /// Link done work items of its release (R7).
    Link {
        /// The turnover, e.g. TO-1.
        id: String,
        /// Work items to link, e.g. WI-1 WI-2 (done, of its own releases).
        #[arg(required = true)]
        work_items: Vec<String>,
    },
    /// Unlink a work item from a turnover.
    Unlink {
        /// The turnover, e.g. TO-1.
        id: String,
        /// The work item to unlink, e.g. WI-1.
        work_item: String,
    },
    /// Cancel a turnover, with a reason.
    Cancel {
        /// The turnover, e.g. TO-1.
        id: String,
        /// Why it is cancelled.
        #[arg(long)]
        reason: String,
    },
    /// Save its tasks as a new draft runbook.
    SaveAsRunbook {
        /// The turnover, e.g. TO-1.
        id: String,
        /// The runbook's name.
        #[arg(long)]
        name: String,
    },
    /// Create a production-ready turnover: releases of one train, locked environments, optionally from a
    /// validated pre-production turnover (its tasks, artifacts and work items are copied).
    CreateProduction {
        /// The turnover's title, e.g. "PAY build 42".
        #[arg(long)]
        title: String,
        /// Repeatable.
        #[arg(long = "release", required = true)]
        releases: Vec<String>,
        /// Locked environments, repeatable.
        #[arg(long = "env", required = true)]
        environments: Vec<String>,
        /// A turnover whose tasks, artifacts and work items to copy, e.g. TO-1. Repeatable.
        #[arg(long)]
        from: Option<String>,
        /// Its developer (a user name); default: you.
        #[arg(long)]
        developer: Option<String>,
    },
    /// Propose a task order: releases by dependencies, then tiers; --apply to take it.
    ProposeOrder {
        /// The turnover, e.g. TO-1.
        id: String,
        /// Tier order, e.g. database,app,web (the default).
        #[arg(long)]
        tiers: Option<String>,
        /// Reorder the tasks as proposed (without it: only show the proposal).
        #[arg(long)]
        apply: bool,
    },
    /// Deliver a production-ready turnover to release engineering.
    Deliver {
        /// The turnover, e.g. TO-1.
        id: String,
    },
    /// Accept a delivered turnover (release engineers other than its developer); it is frozen.
    Accept {
        /// The turnover, e.g. TO-1.
        id: String,
    },
    /// Send a delivered turnover back to draft, with a comment.
    Reject {
        /// The turnover, e.g. TO-1.
        id: String,
        /// Why it goes back to its developer.
        #[arg(long)]
        comment: String,
    },
    /// Schedule an accepted production-ready turnover into a locked environment (or move its time).
    Schedule {
        /// The turnover, e.g. TO-1.
        id: String,
        /// The environment, e.g. prod-eu.
        #[arg(long = "env")]
        environment: String,
        /// RFC 3339, e.g. 2027-01-04T21:00:00Z, or from now: +30s, +10m, +2h, +1d.
        #[arg(long, value_name = "TIME", value_parser = crate::when::time_or_from_now)]
        at: String,
        /// The planned window in minutes.
        #[arg(long, default_value_t = 60)]
        window: u32,
    },
    /// Verify a deployed production turnover: --pass, or --fail with a note.
    Verify {
        /// The turnover, e.g. TO-1.
        id: String,
        /// Only this environment (default: each one awaiting verification).
        #[arg(long = "env")]
        environment: Option<String>,
        /// It works there.
        #[arg(long, conflicts_with = "fail")]
        pass: bool,
        /// It does not work there (say why with --note).
        #[arg(long)]
        fail: bool,
        /// What was checked and seen.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Roll a failed production deployment back (runs the tasks marked rollback).
    Rollback {
        /// The turnover, e.g. TO-1.
        id: String,
        /// The environment, e.g. prod-eu.
        #[arg(long = "env")]
        environment: String,
        /// Why it is rolled back.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum RunbookCmd {
    /// Which actions you may take on it now, and for each refused one the guards that block it.
    Actions {
        /// The runbook, e.g. RB-1.
        id: String,
    },
    /// Create a draft runbook from a JSON file (the API's body: name, tasks, environments, applications).
    Create {
        /// A JSON file with the runbook: its name, scope and tasks.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// List runbooks.
    List {
        /// Only runbooks in this state: draft, in_review, accepted or inactive.
        #[arg(long)]
        state: Option<String>,
    },
    /// Show a runbook and its tasks.
    Show {
        /// The runbook, e.g. RB-1.
        id: String,
    },
    /// draft → in review.
    Submit {
        /// The runbook, e.g. RB-1.
        id: String,
    },
    /// in review → accepted (a reviewer who did not write it).
    Accept {
        /// The runbook, e.g. RB-1.
        id: String,
    },
    /// in review → draft, with a comment.
    Reject {
        /// The runbook, e.g. RB-1.
        id: String,
        /// What to change before it is accepted.
        #[arg(long)]
        comment: String,
    },
    /// Deactivate a runbook: no longer offered.
    Deactivate {
        /// The runbook, e.g. RB-1.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum TaskCmd {
    /// Add a task: manual with --owner, or automation with --run (a command, no shell unless named) or --http.
    Add {
        /// The turnover, e.g. TO-1.
        turnover: String,
        /// The task's title, e.g. "Migrate schema".
        #[arg(long)]
        title: String,
        /// Equal numbers run in parallel.
        #[arg(long)]
        sequence: u32,
        /// A manual task: who does it (a user name).
        #[arg(long, conflicts_with_all = ["run", "http"])]
        owner: Option<String>,
        /// The program and its arguments, e.g. --run /bin/sh -c "./migrate.sh"
        #[arg(long, num_args = 1.., allow_hyphen_values = true, conflicts_with = "http")]
        run: Vec<String>,
        /// METHOD URL, e.g. --http POST https://deploy.example/hooks/web
        #[arg(long, num_args = 2)]
        http: Vec<String>,
        /// Seconds the task may take before it is stopped and fails.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// The tier it deploys: database, app or web (orders production tasks).
        #[arg(long)]
        tier: Option<String>,
        /// Environments it applies to (default: all).
        #[arg(long = "env")]
        environments: Vec<String>,
        /// How many times to try again after a failure.
        #[arg(long, default_value_t = 0)]
        retries: u32,
        /// Run only when a production deployment is rolled back.
        #[arg(long)]
        rollback: bool,
        /// The application release it belongs to (production-ready turnovers spanning several).
        #[arg(long)]
        release: Option<String>,
    },
    /// Move tasks: TASK=SEQUENCE pairs.
    Reorder {
        /// The turnover, e.g. TO-1.
        turnover: String,
        /// TASK=SEQUENCE pairs, e.g. TA-9=1 TA-3=2.
        #[arg(required = true)]
        moves: Vec<String>,
    },
    /// Remove a task from a turnover.
    Remove {
        /// The turnover, e.g. TO-1.
        turnover: String,
        /// The task, e.g. TA-1.
        task: String,
    },
    /// Copy an accepted runbook's tasks into the turnover.
    FromRunbook {
        /// The turnover, e.g. TO-1.
        turnover: String,
        /// The runbook whose tasks to add, e.g. RB-1.
        runbook: String,
    },
    /// Copy tasks from other turnovers (all, or --task ones); --from is repeatable.
    Copy {
        /// The turnover, e.g. TO-1.
        turnover: String,
        /// A turnover to copy tasks from, e.g. TO-1. Repeatable.
        #[arg(long = "from", required = true)]
        from: Vec<String>,
        /// Only these tasks, e.g. TA-1. Repeatable.
        #[arg(long = "task")]
        tasks: Vec<String>,
    },
}

pub async fn turnover(ctx: &Context, cmd: TurnoverCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let base = |id: &str| format!("/api/v1/turnovers/{}", seg(id));
    let v = match cmd {
        TurnoverCmd::Create { title, release, path, developer, artifacts } => {
            let artifacts = artifacts
                .iter()
                .map(|a| {
                    let (name, version) =
                        a.split_once('@').with_context(|| format!("--artifact {a}: write NAME@VERSION"))?;
                    Ok(json!({"name": name, "version": version}))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut body = Map::new();
            body.insert("title".into(), json!(title));
            body.insert("release".into(), json!(release));
            body.insert("path".into(), json!(path));
            body.insert("artifacts".into(), json!(artifacts));
            put(&mut body, "developer", developer);
            c.post("/api/v1/turnovers", Some(Value::Object(body))).await?
        }
        TurnoverCmd::List { release, train, state } => {
            let mut q = Vec::new();
            q.extend(release.map(|s| ("release", s)));
            q.extend(train.map(|s| ("train", s)));
            q.extend(state.map(|s| ("state", s)));
            let v = c.get("/api/v1/turnovers", &q).await?;
            ctx.show(&v, output::turnovers);
            return Ok(());
        }
        TurnoverCmd::Actions { id } => {
            let v = c.get(&format!("/api/v1/turnovers/{}/actions", seg(&id)), &[]).await?;
            ctx.show(&v, output::actions);
            return Ok(());
        }
        TurnoverCmd::Show { id } => c.get(&base(&id), &[]).await?,
        TurnoverCmd::Link { id, work_items } => {
            c.post(&format!("{}/work-items", base(&id)), Some(json!({"work_items": work_items}))).await?
        }
        TurnoverCmd::Unlink { id, work_item } => {
            c.delete(&format!("{}/work-items/{}", base(&id), seg(&work_item))).await?
        }
        TurnoverCmd::Cancel { id, reason } => {
            c.post(&format!("{}/cancel", base(&id)), Some(json!({"reason": reason}))).await?
        }
        TurnoverCmd::CreateProduction { title, releases, environments, from, developer } => {
            let mut body = Map::new();
            body.insert("title".into(), json!(title));
            body.insert("releases".into(), json!(releases));
            body.insert("environments".into(), json!(environments));
            put(&mut body, "from", from);
            put(&mut body, "developer", developer);
            c.post("/api/v1/production-turnovers", Some(Value::Object(body))).await?
        }
        TurnoverCmd::ProposeOrder { id, tiers, apply } => {
            let q: Vec<(&str, String)> = tiers.map(|t| ("tiers", t)).into_iter().collect();
            let proposal = c.get(&format!("{}/proposed-order", base(&id)), &q).await?;
            if !apply {
                ctx.show(&proposal, output::proposed_order);
                return Ok(());
            }
            c.post(&format!("{}/tasks/reorder", base(&id)), Some(json!({"order": proposal["order"]}))).await?
        }
        TurnoverCmd::Deliver { id } => c.post(&format!("{}/deliver", base(&id)), None).await?,
        TurnoverCmd::Accept { id } => c.post(&format!("{}/accept", base(&id)), None).await?,
        TurnoverCmd::Reject { id, comment } => {
            c.post(&format!("{}/reject", base(&id)), Some(json!({"comment": comment}))).await?
        }
        TurnoverCmd::Schedule { id, environment, at, window } => {
            let body = json!({"environment": environment, "at": at, "window_minutes": window});
            let v = c.post(&format!("{}/schedule", base(&id)), Some(body)).await?;
            ctx.show(&v, output::deployment);
            return Ok(());
        }
        TurnoverCmd::Verify { id, environment, pass, fail, note } => {
            if pass == fail {
                bail!("say --pass or --fail (with --note saying what failed)");
            }
            let mut body = Map::new();
            body.insert("passed".into(), json!(pass));
            body.insert("note".into(), json!(note));
            put(&mut body, "environment", environment);
            c.post(&format!("{}/verify", base(&id)), Some(Value::Object(body))).await?
        }
        TurnoverCmd::Rollback { id, environment, reason } => {
            let body = json!({"environment": environment, "reason": reason});
            let v = c.post(&format!("{}/rollback", base(&id)), Some(body)).await?;
            ctx.show(&v, output::deployment);
            return Ok(());
        }
        TurnoverCmd::SaveAsRunbook { id, name } => {
            let v = c.post(&format!("{}/save-as-runbook", base(&id)), Some(json!({"name": name}))).await?;
            ctx.show(&v, output::runbook);
            return Ok(());
        }
    };
    ctx.show(&v, output::turnover);
    Ok(())
}

pub async fn task(ctx: &Context, cmd: TaskCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let base = |id: &str| format!("/api/v1/turnovers/{}/tasks", seg(id));
    let v = match cmd {
        TaskCmd::Add {
            turnover,
            title,
            sequence,
            owner,
            run,
            http,
            timeout,
            tier,
            environments,
            retries,
            rollback,
            release,
        } => {
            let mut body = Map::new();
            body.insert("title".into(), json!(title));
            body.insert("sequence".into(), json!(sequence));
            body.insert("environments".into(), json!(environments));
            body.insert("retries".into(), json!(retries));
            body.insert("rollback".into(), json!(rollback));
            put(&mut body, "tier", tier);
            put(&mut body, "owner", owner);
            put(&mut body, "release", release);
            if let Some((program, args)) = run.split_first() {
                body.insert(
                    "action".into(),
                    json!({"kind": "command", "program": program, "args": args, "timeout_secs": timeout}),
                );
            } else if let [method, url] = http.as_slice() {
                body.insert(
                    "action".into(),
                    json!({"kind": "http", "method": method, "url": url, "timeout_secs": timeout}),
                );
            }
            c.post(&base(&turnover), Some(Value::Object(body))).await?
        }
        TaskCmd::Reorder { turnover, moves } => {
            let mut order = Vec::new();
            for m in &moves {
                let Some((task, seq)) = m.split_once('=') else { bail!("'{m}': write TASK=SEQUENCE, e.g. TA-3=1") };
                let seq: u32 = seq.parse().with_context(|| format!("'{seq}' in {m} is not a number"))?;
                order.push(json!({"task": task, "sequence": seq}));
            }
            c.post(&format!("{}/reorder", base(&turnover)), Some(json!({"order": order}))).await?
        }
        TaskCmd::FromRunbook { turnover, runbook } => {
            c.post(&format!("{}/from-runbook", base(&turnover)), Some(json!({"runbook": runbook}))).await?
        }
        TaskCmd::Remove { turnover, task } => c.delete(&format!("{}/{}", base(&turnover), seg(&task))).await?,
        TaskCmd::Copy { turnover, from, tasks } => {
            c.post(&format!("{}/copy", base(&turnover)), Some(json!({"from": from, "tasks": tasks}))).await?
        }
    };
    ctx.show(&v, output::turnover);
    Ok(())
}

pub async fn runbook(ctx: &Context, cmd: RunbookCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let base = |id: &str| format!("/api/v1/runbooks/{}", seg(id));
    let v = match cmd {
        RunbookCmd::Create { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let body: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
            c.post("/api/v1/runbooks", Some(body)).await?
        }
        RunbookCmd::List { state } => {
            let q: Vec<(&str, String)> = state.map(|s| ("state", s)).into_iter().collect();
            let v = c.get("/api/v1/runbooks", &q).await?;
            ctx.show(&v, output::runbooks);
            return Ok(());
        }
        RunbookCmd::Actions { id } => {
            let v = c.get(&format!("/api/v1/runbooks/{}/actions", seg(&id)), &[]).await?;
            ctx.show(&v, output::actions);
            return Ok(());
        }
        RunbookCmd::Show { id } => c.get(&base(&id), &[]).await?,
        RunbookCmd::Submit { id } => c.post(&format!("{}/submit", base(&id)), None).await?,
        RunbookCmd::Accept { id } => c.post(&format!("{}/accept", base(&id)), None).await?,
        RunbookCmd::Reject { id, comment } => {
            c.post(&format!("{}/reject", base(&id)), Some(json!({"comment": comment}))).await?
        }
        RunbookCmd::Deactivate { id } => c.post(&format!("{}/deactivate", base(&id)), None).await?,
    };
    ctx.show(&v, output::runbook);
    Ok(())
}
