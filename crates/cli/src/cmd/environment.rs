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
        name: String,
    },
    /// Register an environment (production ones are locked by default).
    Create {
        /// 2 to 40 lower-case letters, digits, '-' or '_'.
        name: String,
        /// development, test, staging or production.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        locked: Option<bool>,
        #[arg(long, default_value = "")]
        description: String,
    },
    List {
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        state: Option<String>,
    },
    Show {
        name: String,
    },
    Update {
        name: String,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        locked: Option<bool>,
        #[arg(long)]
        description: Option<String>,
    },
    /// online → offline: nothing deploys there until it is brought online (R13).
    Offline {
        name: String,
        /// Why (kept on the environment, shown on the deployments it holds, and in the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// offline → online.
    Online {
        name: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// online or offline → decommissioned, for good.
    Decommission {
        name: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Add a calendar event: maintenance, blackout, or a reservation for a train.
    AddEvent {
        name: String,
        /// maintenance, blackout or reservation.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        title: String,
        /// RFC 3339, e.g. 2027-01-04T22:00:00Z.
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
        #[arg(long)]
        train: Option<String>,
    },
    RemoveEvent {
        name: String,
        event: String,
    },
    /// The environment's calendar (default: the next 30 days).
    Calendar {
        name: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum PathCmd {
    /// Which actions you may take on it now, and for each refused one the guards that block it.
    Actions {
        id: String,
    },
    /// Create a deployment path in draft. Stages in order: ENV[:optional][:no-redeploy][:freeze].
    Create {
        name: String,
        /// e.g. --stage test --stage staging:freeze --stage perf:optional
        #[arg(long = "stage")]
        stages: Vec<String>,
        /// Release types it serves (default: all).
        #[arg(long = "type")]
        release_types: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    List {
        #[arg(long)]
        state: Option<String>,
    },
    Show {
        id: String,
    },
    /// Replace the stages (in draft).
    Update {
        id: String,
        #[arg(long = "stage")]
        stages: Vec<String>,
        #[arg(long)]
        name: Option<String>,
    },
    Activate {
        id: String,
    },
    /// Back to draft, to edit it.
    Draft {
        id: String,
    },
    Retire {
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
        EnvCmd::Update { name, kind, owner, locked, description } => {
            let version = c.get(&base(&name), &[]).await?["version"].as_i64().unwrap_or(0);
            let mut body = Map::new();
            put(&mut body, "kind", kind);
            put(&mut body, "owner", owner);
            put(&mut body, "locked", locked);
            put(&mut body, "description", description);
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
