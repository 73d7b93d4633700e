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
        id: String,
    },
    /// Create a turnover of an application release on an active deployment path.
    Create {
        #[arg(long)]
        title: String,
        #[arg(long)]
        release: String,
        #[arg(long)]
        path: String,
        #[arg(long)]
        developer: Option<String>,
        /// NAME@VERSION, repeatable.
        #[arg(long = "artifact")]
        artifacts: Vec<String>,
    },
    List {
        #[arg(long)]
        release: Option<String>,
        #[arg(long)]
        train: Option<String>,
        #[arg(long)]
        state: Option<String>,
    },
    Show {
        id: String,
    },
    /// Link done work items of its release (R7).
    Link {
        id: String,
        #[arg(required = true)]
        work_items: Vec<String>,
    },
    Unlink {
        id: String,
        work_item: String,
    },
    Cancel {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Save its tasks as a new draft runbook.
    SaveAsRunbook {
        id: String,
        #[arg(long)]
        name: String,
    },
    /// Create a production-ready turnover: releases of one train, locked environments, optionally from a
    /// validated pre-production turnover (its tasks, artifacts and work items are copied).
    CreateProduction {
        #[arg(long)]
        title: String,
        /// Repeatable.
        #[arg(long = "release", required = true)]
        releases: Vec<String>,
        /// Locked environments, repeatable.
        #[arg(long = "env", required = true)]
        environments: Vec<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        developer: Option<String>,
    },
    /// Propose a task order: releases by dependencies, then tiers; --apply to take it.
    ProposeOrder {
        id: String,
        /// Tier order, e.g. database,app,web (the default).
        #[arg(long)]
        tiers: Option<String>,
        #[arg(long)]
        apply: bool,
    },
    /// Deliver a production-ready turnover to release engineering.
    Deliver {
        id: String,
    },
    /// Accept a delivered turnover (release engineers other than its developer); it is frozen.
    Accept {
        id: String,
    },
    /// Send a delivered turnover back to draft, with a comment.
    Reject {
        id: String,
        #[arg(long)]
        comment: String,
    },
    /// Schedule an accepted production-ready turnover into a locked environment (or move its time).
    Schedule {
        id: String,
        #[arg(long = "env")]
        environment: String,
        /// RFC 3339, e.g. 2027-01-04T21:00:00Z, or from now: +30s, +10m, +2h, +1d.
        #[arg(long)]
        at: String,
        /// The planned window in minutes.
        #[arg(long, default_value_t = 60)]
        window: u32,
    },
    /// Verify a deployed production turnover: --pass, or --fail with a note.
    Verify {
        id: String,
        /// Only this environment (default: each one awaiting verification).
        #[arg(long = "env")]
        environment: Option<String>,
        #[arg(long, conflicts_with = "fail")]
        pass: bool,
        #[arg(long)]
        fail: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Roll a failed production deployment back (runs the tasks marked rollback).
    Rollback {
        id: String,
        #[arg(long = "env")]
        environment: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum RunbookCmd {
    /// Which actions you may take on it now, and for each refused one the guards that block it.
    Actions {
        id: String,
    },
    /// Create a draft runbook from a JSON file (the API's body: name, tasks, environments, applications).
    Create {
        #[arg(long)]
        file: std::path::PathBuf,
    },
    List {
        #[arg(long)]
        state: Option<String>,
    },
    Show {
        id: String,
    },
    /// draft → in review.
    Submit {
        id: String,
    },
    /// in review → accepted (a reviewer who did not write it).
    Accept {
        id: String,
    },
    /// in review → draft, with a comment.
    Reject {
        id: String,
        #[arg(long)]
        comment: String,
    },
    Deactivate {
        id: String,
    },
}

#[derive(Subcommand)]
pub enum TaskCmd {
    /// Add a task: manual with --owner, or automation with --run (a command, no shell unless named) or --http.
    Add {
        turnover: String,
        #[arg(long)]
        title: String,
        /// Equal numbers run in parallel.
        #[arg(long)]
        sequence: u32,
        #[arg(long, conflicts_with_all = ["run", "http"])]
        owner: Option<String>,
        /// The program and its arguments, e.g. --run /bin/sh -c "./migrate.sh"
        #[arg(long, num_args = 1.., allow_hyphen_values = true, conflicts_with = "http")]
        run: Vec<String>,
        /// METHOD URL, e.g. --http POST https://deploy.example/hooks/web
        #[arg(long, num_args = 2)]
        http: Vec<String>,
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        #[arg(long)]
        tier: Option<String>,
        /// Environments it applies to (default: all).
        #[arg(long = "env")]
        environments: Vec<String>,
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
        turnover: String,
        #[arg(required = true)]
        moves: Vec<String>,
    },
    Remove {
        turnover: String,
        task: String,
    },
    /// Copy an accepted runbook's tasks into the turnover.
    FromRunbook {
        turnover: String,
        runbook: String,
    },
    /// Copy tasks from other turnovers (all, or --task ones); --from is repeatable.
    Copy {
        turnover: String,
        #[arg(long = "from", required = true)]
        from: Vec<String>,
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
            let at = schedule_time(&at, chrono::Utc::now())?;
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

/// A time for `--at`: `+N` followed by s, m, h or d is that long from `now` (sent as RFC 3339, to the
/// second); anything else is passed on as written, for the server to read as RFC 3339.
fn schedule_time(at: &str, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<String> {
    let Some(rest) = at.strip_prefix('+') else { return Ok(at.to_string()) };
    let unit_at = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let (number, unit) = rest.split_at(unit_at);
    let hint = || format!("--at {at}: write a time from now as +30s, +10m, +2h or +1d, or an RFC 3339 time");
    let n: i64 = number.parse().with_context(hint)?;
    let delta = match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => None,
    };
    let Some(when) = delta.and_then(|d| now.checked_add_signed(d)) else { bail!(hint()) };
    Ok(when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::schedule_time;

    #[test]
    fn schedule_times_relative_to_now_or_as_written() {
        let now = Utc.with_ymd_and_hms(2027, 3, 6, 20, 59, 30).unwrap();
        assert_eq!(schedule_time("+30s", now).unwrap(), "2027-03-06T21:00:00Z");
        assert_eq!(schedule_time("+10m", now).unwrap(), "2027-03-06T21:09:30Z");
        assert_eq!(schedule_time("+2h", now).unwrap(), "2027-03-06T22:59:30Z");
        assert_eq!(schedule_time("+1d", now).unwrap(), "2027-03-07T20:59:30Z");
        assert_eq!(schedule_time("2027-03-06T21:00:00Z", now).unwrap(), "2027-03-06T21:00:00Z");
        for bad in ["+", "+10", "+m", "+10w", "+-5m", "+99999999999999999999s", "+9999999999999d"] {
            let err = schedule_time(bad, now).unwrap_err().to_string();
            assert!(err.contains("+30s"), "{bad}: {err}");
        }
    }
}
