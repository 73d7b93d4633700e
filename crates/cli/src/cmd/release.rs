//! `railyard app ...` and `railyard release ...`

use anyhow::bail;
use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::{put, seg};
use crate::config::Context;
use crate::output;

#[derive(Subcommand)]
pub enum AppCmd {
    /// Which actions you may take on it now, and for each refused one the guards that block it.
    Actions {
        /// The application, e.g. PAY.
        key: String,
    },
    /// Register an application.
    Create {
        /// 2 to 16 upper-case letters and digits, e.g. PAY.
        key: String,
        /// The application's name, e.g. Payments.
        #[arg(long)]
        name: String,
        /// Who owns it (a user name).
        #[arg(long)]
        owner: Option<String>,
        /// What the application is.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List applications.
    List {
        /// Include archived applications.
        #[arg(long)]
        archived: bool,
    },
    /// Show an application.
    Show {
        /// The application's key, e.g. PAY.
        key: String,
    },
    /// Change an application's name, owner or description.
    Update {
        /// The application's key, e.g. PAY.
        key: String,
        /// The application's name, e.g. Payments.
        #[arg(long)]
        name: Option<String>,
        /// Who owns it (a user name).
        #[arg(long)]
        owner: Option<String>,
        /// The new description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Archive an application: no new releases of it.
    Archive {
        /// The application's key, e.g. PAY.
        key: String,
    },
}

#[derive(Subcommand)]
pub enum ReleaseCmd {
    /// Which actions you may take on it now, and for each refused one the guards that block it.
    Actions {
        /// The application release, e.g. AR-2.
        id: String,
    },
    /// Create an application release; with --train it joins the train (proposed, or accepted when a
    /// release manager creates it).
    Create {
        /// The release's title, e.g. "PAY 2027.1".
        #[arg(long)]
        title: String,
        /// The application's key.
        #[arg(long)]
        app: String,
        /// The day work starts.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
        start: String,
        /// The day it is to be done.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
        end: String,
        /// The train to propose it to, e.g. RT-1.
        #[arg(long)]
        train: Option<String>,
        /// Product owner; default: you.
        #[arg(long)]
        owner: Option<String>,
        /// major, minor, patch or emergency; default: its train's.
        #[arg(long = "type")]
        release_type: Option<String>,
        /// low, medium, high or critical.
        #[arg(long)]
        criticality: Option<String>,
    },
    /// List application releases.
    List {
        /// Only the releases of this train, e.g. RT-1.
        #[arg(long)]
        train: Option<String>,
        /// Only this application's releases (its key).
        #[arg(long)]
        app: Option<String>,
        /// Only in this state (several: comma-separated).
        #[arg(long)]
        state: Option<String>,
        /// How many to list at most (1 to 500; default 50).
        #[arg(long)]
        limit: Option<u32>,
        /// Where to go on: the `--cursor` the previous page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show an application release: state, schedule, dependencies, milestones.
    Show {
        /// The application release, e.g. AR-1.
        id: String,
    },
    /// Change an application release's fields (only those given).
    Update {
        /// The application release, e.g. AR-1.
        id: String,
        /// The release's title, e.g. "PAY 2027.1".
        #[arg(long)]
        title: Option<String>,
        /// The product owner (a user name).
        #[arg(long)]
        owner: Option<String>,
        /// The day work starts.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
        start: Option<String>,
        /// The day it is to be done.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
        end: Option<String>,
        /// major, minor, patch or emergency; default: its train's.
        #[arg(long = "type")]
        release_type: Option<String>,
        /// low, medium, high or critical.
        #[arg(long)]
        criticality: Option<String>,
    },
    /// Propose it to a train.
    Propose {
        /// The application release, e.g. AR-1.
        id: String,
        /// The train, e.g. RT-1.
        #[arg(long)]
        train: String,
    },
    /// Accept its proposal (release managers).
    Accept {
        /// The application release, e.g. AR-1.
        id: String,
    },
    /// Reject its proposal, with a reason (release managers).
    Reject {
        /// The application release, e.g. AR-1.
        id: String,
        /// Why, for the audit log and whoever reads it.
        #[arg(long)]
        reason: String,
    },
    /// Take it off its train.
    Remove {
        /// The application release, e.g. AR-1.
        id: String,
        /// Why, for the audit log and whoever reads it.
        #[arg(long)]
        reason: Option<String>,
    },
    /// planning → construction.
    BeginWork {
        /// The application release, e.g. AR-1.
        id: String,
    },
    /// construction → awaiting development approval.
    RequestDevelopmentApproval {
        /// The application release, e.g. AR-1.
        id: String,
    },
    /// Back to construction (R10), with its train when the train was past construction.
    SendBack {
        /// The application release, e.g. AR-1.
        id: String,
        /// Why it goes back to construction.
        #[arg(long)]
        reason: String,
    },
    /// Cancel an application release, with a reason.
    Cancel {
        /// The application release, e.g. AR-1.
        id: String,
        /// Why it is cancelled.
        #[arg(long)]
        reason: String,
    },
    /// Make it depend on another application release (of any train); a cycle is refused.
    Depend {
        /// The application release, e.g. AR-1.
        id: String,
        /// The release it depends on, e.g. AR-1.
        #[arg(long)]
        on: String,
    },
    /// Remove a dependency.
    Undepend {
        /// The application release, e.g. AR-1.
        id: String,
        /// The release it no longer depends on, e.g. AR-1.
        #[arg(long)]
        on: String,
    },
}

pub async fn app(ctx: &Context, cmd: AppCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let v = match cmd {
        AppCmd::Create { key, name, owner, description } => {
            let mut body = Map::new();
            body.insert("key".into(), json!(key));
            body.insert("name".into(), json!(name));
            body.insert("description".into(), json!(description));
            put(&mut body, "owner", owner);
            c.post("/api/v1/applications", Some(Value::Object(body))).await?
        }
        AppCmd::List { archived } => {
            let q: Vec<(&str, String)> = if archived { vec![("archived", "true".into())] } else { vec![] };
            let v = c.get("/api/v1/applications", &q).await?;
            ctx.show(&v, output::applications);
            return Ok(());
        }
        AppCmd::Actions { key } => {
            let v = c.get(&format!("/api/v1/applications/{}/actions", seg(&key)), &[]).await?;
            ctx.show(&v, output::actions);
            return Ok(());
        }
        AppCmd::Show { key } => c.get(&format!("/api/v1/applications/{}", seg(&key)), &[]).await?,
        AppCmd::Update { key, name, owner, description } => {
            let path = format!("/api/v1/applications/{}", seg(&key));
            let version = c.get(&path, &[]).await?["version"].as_i64().unwrap_or(0);
            let mut body = Map::new();
            put(&mut body, "name", name);
            put(&mut body, "owner", owner);
            put(&mut body, "description", description);
            c.patch(&path, Value::Object(body), version).await?
        }
        AppCmd::Archive { key } => c.post(&format!("/api/v1/applications/{}/archive", seg(&key)), None).await?,
    };
    ctx.show(&v, output::application);
    Ok(())
}

pub async fn release(ctx: &Context, cmd: ReleaseCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let base = |id: &str| format!("/api/v1/application-releases/{}", seg(id));
    let v = match cmd {
        ReleaseCmd::Create { title, app, start, end, train, owner, release_type, criticality } => {
            let mut body = Map::new();
            body.insert("title".into(), json!(title));
            body.insert("application".into(), json!(app));
            body.insert("schedule".into(), json!({"start": start, "end": end}));
            put(&mut body, "train", train);
            put(&mut body, "product_owner", owner);
            put(&mut body, "release_type", release_type);
            put(&mut body, "criticality", criticality);
            c.post("/api/v1/application-releases", Some(Value::Object(body))).await?
        }
        ReleaseCmd::List { train, app, state, limit, cursor } => {
            let mut q = Vec::new();
            q.extend(train.map(|s| ("train", s)));
            q.extend(app.map(|s| ("application", s)));
            q.extend(state.map(|s| ("state", s)));
            q.extend(limit.map(|s| ("limit", s.to_string())));
            q.extend(cursor.map(|s| ("cursor", s)));
            let v = c.get("/api/v1/application-releases", &q).await?;
            ctx.show(&v, output::releases);
            return Ok(());
        }
        ReleaseCmd::Actions { id } => {
            let v = c.get(&format!("/api/v1/application-releases/{}/actions", seg(&id)), &[]).await?;
            ctx.show(&v, output::actions);
            return Ok(());
        }
        ReleaseCmd::Show { id } => c.get(&base(&id), &[]).await?,
        ReleaseCmd::Update { id, title, owner, start, end, release_type, criticality } => {
            let current = c.get(&base(&id), &[]).await?;
            let mut body = Map::new();
            put(&mut body, "title", title);
            put(&mut body, "product_owner", owner);
            put(&mut body, "release_type", release_type);
            put(&mut body, "criticality", criticality);
            if start.is_some() || end.is_some() {
                let mut sched = current["schedule"].clone();
                if let Some(s) = start {
                    sched["start"] = json!(s);
                }
                if let Some(e) = end {
                    sched["end"] = json!(e);
                }
                body.insert("schedule".into(), sched);
            }
            if body.is_empty() {
                bail!("nothing to change: give at least one field, e.g. --title");
            }
            c.patch(&base(&id), Value::Object(body), current["version"].as_i64().unwrap_or(0)).await?
        }
        ReleaseCmd::Propose { id, train } => {
            c.post(&format!("{}/propose", base(&id)), Some(json!({"train": train}))).await?
        }
        ReleaseCmd::Accept { id } => c.post(&format!("{}/accept", base(&id)), None).await?,
        ReleaseCmd::Reject { id, reason } => {
            c.post(&format!("{}/reject", base(&id)), Some(json!({"reason": reason}))).await?
        }
        ReleaseCmd::Remove { id, reason } => {
            c.post(&format!("{}/remove", base(&id)), Some(json!({"reason": reason}))).await?
        }
        ReleaseCmd::BeginWork { id } => c.post(&format!("{}/begin-work", base(&id)), None).await?,
        ReleaseCmd::RequestDevelopmentApproval { id } => {
            c.post(&format!("{}/request-development-approval", base(&id)), None).await?
        }
        ReleaseCmd::SendBack { id, reason } => {
            c.post(&format!("{}/send-back", base(&id)), Some(json!({"reason": reason}))).await?
        }
        ReleaseCmd::Cancel { id, reason } => {
            c.post(&format!("{}/cancel", base(&id)), Some(json!({"reason": reason}))).await?
        }
        ReleaseCmd::Depend { id, on } => {
            c.post(&format!("{}/dependencies", base(&id)), Some(json!({"depends_on": on}))).await?
        }
        ReleaseCmd::Undepend { id, on } => c.delete(&format!("{}/dependencies/{}", base(&id), seg(&on))).await?,
    };
    ctx.show(&v, output::release);
    Ok(())
}
