//! `railyard env ...` and `railyard path ...`

use anyhow::bail;
use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::{put, seg};
use crate::config::Context;
use crate::output;

#[derive(Subcommand)]
pub enum EnvCmd {
    /// Which actions you may take on it now, and for each refused one the guards that block it.
    Actions {
        /// The environment, e.g. staging.
        name: String,
    },
    /// Register an environment (production ones are locked by default).
    Create {
        /// 2 to 40 lower-case letters, digits, '-' or '_'.
        name: String,
        /// development, test, staging or production.
        #[arg(long)]
        kind: String,
        /// Who owns it (a user name); default: you.
        #[arg(long)]
        owner: Option<String>,
        /// Locked: takes only accepted production-ready turnovers at their time.
        #[arg(long)]
        locked: Option<bool>,
        /// What the environment is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List environments.
    List {
        /// Only environments of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only environments in this state: online, offline or decommissioned.
        #[arg(long)]
        state: Option<String>,
    },
    /// Show an environment.
    Show {
        /// The environment's name, e.g. staging.
        name: String,
    },
    /// Change an environment's kind, owner, lock, description or runner labels.
    #[command(visible_alias = "edit")]
    Update {
        /// The environment's name, e.g. staging.
        name: String,
        /// development, test, staging or production.
        #[arg(long)]
        kind: Option<String>,
        /// The new owner (a user name).
        #[arg(long)]
        owner: Option<String>,
        /// Locked (true) or not (false).
        #[arg(long)]
        locked: Option<bool>,
        /// The new description.
        #[arg(long)]
        description: Option<String>,
        /// Which remote runners run its tasks, by their labels, separated by commas, e.g. prod-eu; ""
        /// clears them (the built-in runner runs them).
        #[arg(long, value_name = "LABELS")]
        runner_labels: Option<String>,
    },
    /// online → offline: nothing deploys there until it is brought online (R13).
    Offline {
        /// The environment's name, e.g. staging.
        name: String,
        /// Why (kept on the environment, shown on the deployments it holds, and in the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// offline → online.
    Online {
        /// The environment's name, e.g. staging.
        name: String,
        /// Why, shown on the environment.
        #[arg(long)]
        reason: Option<String>,
    },
    /// online or offline → decommissioned, for good.
    Decommission {
        /// The environment's name, e.g. staging.
        name: String,
        /// Why, shown on the environment.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Add a calendar event: maintenance, blackout, or a reservation for a train.
    AddEvent {
        /// The environment's name, e.g. staging.
        name: String,
        /// maintenance, blackout or reservation.
        #[arg(long)]
        kind: String,
        /// What happens, e.g. "DB upgrade".
        #[arg(long)]
        title: String,
        /// When it starts: RFC 3339, e.g. 2027-01-04T22:00:00Z.
        #[arg(long, value_name = "TIME", value_parser = crate::when::time)]
        start: String,
        /// When it ends: RFC 3339, e.g. 2027-01-05T02:00:00Z.
        #[arg(long, value_name = "TIME", value_parser = crate::when::time)]
        end: String,
        /// The train a reservation is for, e.g. RT-1.
        #[arg(long)]
        train: Option<String>,
    },
    /// Remove a calendar event.
    RemoveEvent {
        /// The environment's name, e.g. staging.
        name: String,
        /// The calendar event, e.g. CE-1.
        event: String,
    },
    /// The environment's calendar (default: the next 30 days).
    Calendar {
        /// The environment's name, e.g. staging.
        name: String,
        /// From when: RFC 3339, e.g. 2027-01-04T00:00:00Z; default: now.
        #[arg(long, value_name = "TIME", value_parser = crate::when::time)]
        from: Option<String>,
        /// Until when: RFC 3339; default: 30 days after --from.
        #[arg(long, value_name = "TIME", value_parser = crate::when::time)]
        to: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum PathCmd {
    /// Which actions you may take on it now, and for each refused one the guards that block it.
    Actions {
        /// The deployment path, e.g. DP-1.
        id: String,
    },
    /// Create a deployment path in draft. Stages in order: ENV[:optional][:no-redeploy][:freeze].
    Create {
        /// The path's name, e.g. standard.
        name: String,
        /// e.g. --stage test --stage staging:freeze --stage perf:optional
        #[arg(long = "stage")]
        stages: Vec<String>,
        /// Release types it serves (default: all).
        #[arg(long = "type")]
        release_types: Vec<String>,
        /// What the path is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List deployment paths.
    List {
        /// Only paths in this state: draft, active or retired.
        #[arg(long)]
        state: Option<String>,
    },
    /// Show a deployment path and its stages.
    Show {
        /// The deployment path, e.g. DP-1.
        id: String,
    },
    /// Replace the stages (in draft).
    Update {
        /// The deployment path, e.g. DP-1.
        id: String,
        /// Replaces the stages, in order: ENV[:optional][:no-redeploy][:freeze]. Repeatable.
        #[arg(long = "stage")]
        stages: Vec<String>,
        /// The new name.
        #[arg(long)]
        name: Option<String>,
    },
    /// draft → active: every stage's environment must be usable.
    Activate {
        /// The deployment path, e.g. DP-1.
        id: String,
    },
    /// Back to draft, to edit it.
    Draft {
        /// The deployment path, e.g. DP-1.
        id: String,
    },
    /// active → retired: no new turnovers on it.
    Retire {
        /// The deployment path, e.g. DP-1.
        id: String,
    },
}

fn stage(text: &str) -> anyhow::Result<Value> {
    let mut parts = text.split(':');
    let env = parts.next().unwrap_or_default();
    let (mut required, mut allow_redeploy, mut freeze_tasks) = (true, true, false);
    for flag in parts {
        match flag {
            "optional" => required = false,
            "no-redeploy" => allow_redeploy = false,
            "freeze" => freeze_tasks = true,
            other => bail!("unknown stage flag '{other}' in --stage {text}; flags are optional, no-redeploy, freeze"),
        }
    }
    Ok(
        json!({"environment": env, "required": required, "allow_redeploy": allow_redeploy, "freeze_tasks": freeze_tasks}),
    )
}

pub async fn env(ctx: &Context, cmd: EnvCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let base = |n: &str| format!("/api/v1/environments/{}", seg(n));
    let v = match cmd {
        EnvCmd::Create { name, kind, owner, locked, description } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert("kind".into(), json!(kind));
            body.insert("description".into(), json!(description));
            put(&mut body, "owner", owner);
            put(&mut body, "locked", locked);
            c.post("/api/v1/environments", Some(Value::Object(body))).await?
        }
        EnvCmd::List { kind, state } => {
            let mut q = Vec::new();
            q.extend(kind.map(|s| ("kind", s)));
            q.extend(state.map(|s| ("state", s)));
            let v = c.get("/api/v1/environments", &q).await?;
            ctx.show(&v, output::environments);
            return Ok(());
        }
        EnvCmd::Actions { name } => {
            let v = c.get(&format!("/api/v1/environments/{}/actions", seg(&name)), &[]).await?;
            ctx.show(&v, output::actions);
            return Ok(());
        }
        EnvCmd::Show { name } => c.get(&base(&name), &[]).await?,
        EnvCmd::Update { name, kind, owner, locked, description, runner_labels } => {
            let version = c.get(&base(&name), &[]).await?["version"].as_i64().unwrap_or(0);
            let mut body = Map::new();
            put(&mut body, "kind", kind);
            put(&mut body, "owner", owner);
            put(&mut body, "locked", locked);
            put(&mut body, "description", description);
            put(&mut body, "runner_labels", runner_labels.map(|l| super::runner::labels(&l)));
            c.patch(&base(&name), Value::Object(body), version).await?
        }
        EnvCmd::Offline { name, reason } => c.post(&format!("{}/take-offline", base(&name)), why(reason)).await?,
        EnvCmd::Online { name, reason } => c.post(&format!("{}/bring-online", base(&name)), why(reason)).await?,
        EnvCmd::Decommission { name, reason } => c.post(&format!("{}/decommission", base(&name)), why(reason)).await?,
        EnvCmd::AddEvent { name, kind, title, start, end, train } => {
            let mut body = Map::new();
            body.insert("kind".into(), json!(kind));
            body.insert("title".into(), json!(title));
            body.insert("start".into(), json!(start));
            body.insert("end".into(), json!(end));
            put(&mut body, "train_id", train);
            c.post(&format!("{}/events", base(&name)), Some(Value::Object(body))).await?
        }
        EnvCmd::RemoveEvent { name, event } => c.delete(&format!("{}/events/{}", base(&name), seg(&event))).await?,
        EnvCmd::Calendar { name, from, to } => {
            let mut q = Vec::new();
            q.extend(from.map(|s| ("from", s)));
            q.extend(to.map(|s| ("to", s)));
            let v = c.get(&format!("{}/calendar", base(&name)), &q).await?;
            ctx.show(&v, output::calendar);
            return Ok(());
        }
    };
    ctx.show(&v, output::environment);
    Ok(())
}

pub async fn path(ctx: &Context, cmd: PathCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let base = |id: &str| format!("/api/v1/deployment-paths/{}", seg(id));
    let v = match cmd {
        PathCmd::Create { name, stages, release_types, description } => {
            let stages = stages.iter().map(|s| stage(s)).collect::<anyhow::Result<Vec<_>>>()?;
            let body =
                json!({"name": name, "stages": stages, "release_types": release_types, "description": description});
            c.post("/api/v1/deployment-paths", Some(body)).await?
        }
        PathCmd::List { state } => {
            let q: Vec<(&str, String)> = state.map(|s| ("state", s)).into_iter().collect();
            let v = c.get("/api/v1/deployment-paths", &q).await?;
            ctx.show(&v, output::paths);
            return Ok(());
        }
        PathCmd::Actions { id } => {
            let v = c.get(&format!("/api/v1/deployment-paths/{}/actions", seg(&id)), &[]).await?;
            ctx.show(&v, output::actions);
            return Ok(());
        }
        PathCmd::Show { id } => c.get(&base(&id), &[]).await?,
        PathCmd::Update { id, stages, name } => {
            let version = c.get(&base(&id), &[]).await?["version"].as_i64().unwrap_or(0);
            let mut body = Map::new();
            if !stages.is_empty() {
                let stages = stages.iter().map(|s| stage(s)).collect::<anyhow::Result<Vec<_>>>()?;
                body.insert("stages".into(), json!(stages));
            }
            put(&mut body, "name", name);
            c.patch(&base(&id), Value::Object(body), version).await?
        }
        PathCmd::Activate { id } => c.post(&format!("{}/activate", base(&id)), None).await?,
        PathCmd::Draft { id } => c.post(&format!("{}/return-to-draft", base(&id)), None).await?,
        PathCmd::Retire { id } => c.post(&format!("{}/retire", base(&id)), None).await?,
    };
    ctx.show(&v, output::path);
    Ok(())
}

/// The body of a state change: the reason, when one is given.
fn why(reason: Option<String>) -> Option<Value> {
    reason.map(|r| json!({"reason": r}))
}
