//! `railyard train|gate|criterion|milestone ...`

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::{put, seg};
use crate::config::Context;
use crate::output;

#[derive(Args)]
pub struct ScheduleArgs {
    /// The day the train starts.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
    start: Option<String>,
    /// The day scoping ends.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
    scoping_end: Option<String>,
    /// The day construction ends.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
    construction_end: Option<String>,
    /// The day verification ends.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
    verification_end: Option<String>,
    /// The day it goes into production.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
    production_date: Option<String>,
}

impl ScheduleArgs {
    fn given(&self) -> Vec<(&'static str, &String)> {
        [
            ("start", &self.start),
            ("scoping_end", &self.scoping_end),
            ("construction_end", &self.construction_end),
            ("verification_end", &self.verification_end),
            ("production_date", &self.production_date),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect()
    }
}

#[derive(Subcommand)]
pub enum TrainCmd {
    /// Which actions you may take on it now, and for each refused one the guards that block it.
    Actions {
        /// The train, e.g. RT-7.
        id: String,
    },
    /// Create a train in draft. Dates are YYYY-MM-DD, each on or after the one before.
    Create {
        /// The train's title, e.g. 2027.1.
        #[arg(long, required_unless_present = "file")]
        title: Option<String>,
        /// major, minor, patch or emergency.
        #[arg(long = "type", required_unless_present = "file")]
        release_type: Option<String>,
        /// What the train is for.
        #[arg(long)]
        purpose: Option<String>,
        /// Default: you.
        #[arg(long)]
        manager: Option<String>,
        /// A release engineer of the train. Repeatable.
        #[arg(long = "engineer")]
        engineers: Vec<String>,
        #[command(flatten)]
        schedule: ScheduleArgs,
        /// A JSON file with the whole train (the API's create body); flags override its fields.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// List trains.
    List {
        /// One state or several, comma-separated.
        #[arg(long)]
        state: Option<String>,
        /// Only trains of this type: major, minor, patch or emergency.
        #[arg(long = "type")]
        release_type: Option<String>,
        /// How many to list at most (1 to 500; default 50).
        #[arg(long)]
        limit: Option<u32>,
        /// Where to go on: the `--cursor` the previous page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show a train: its state, schedule, gates, approvals and releases.
    Show {
        /// The train, e.g. RT-1.
        id: String,
    },
    /// Change a train's fields (only those given).
    Update {
        /// The train, e.g. RT-1.
        id: String,
        /// The train's title, e.g. 2027.1.
        #[arg(long)]
        title: Option<String>,
        /// major, minor, patch or emergency.
        #[arg(long = "type")]
        release_type: Option<String>,
        /// What the train is for.
        #[arg(long)]
        purpose: Option<String>,
        /// The train's manager (a user name).
        #[arg(long)]
        manager: Option<String>,
        /// Replaces the engineers.
        #[arg(long = "engineer")]
        engineers: Vec<String>,
        /// Replaces the reserved environments.
        #[arg(long = "reserve")]
        reserved: Vec<String>,
        #[command(flatten)]
        schedule: ScheduleArgs,
        /// The version your change is based on; default: the current one.
        #[arg(long)]
        if_match: Option<i64>,
    },
    /// Set (or clear) one approval policy: train, development, executive or gate.
    Policy {
        /// The train, e.g. RT-1.
        id: String,
        /// Which policy: train, development, executive or gate.
        kind: String,
        /// One level: approvers, comma-separated, and optionally ':N' approvals required (default 1).
        /// Repeat for more levels, in order: --level alice,bob:2 --level carol
        #[arg(long = "level")]
        levels: Vec<String>,
        /// Whether the train's manager may override.
        #[arg(long)]
        override_allowed: bool,
        /// Remove the policy.
        #[arg(long, conflicts_with = "levels")]
        clear: bool,
    },
    /// Copy a train to a new start date: every date shifts by the same offset.
    Copy {
        /// The train, e.g. RT-1.
        id: String,
        /// The copy's start date; every other date moves by as much.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
        start: String,
        /// The copy's title; default: the original's.
        #[arg(long)]
        title: Option<String>,
    },
    /// draft → awaiting train approval (or scoping).
    Submit {
        /// The train, e.g. RT-1.
        id: String,
    },
    /// scoping → construction.
    StartConstruction {
        /// The train, e.g. RT-1.
        id: String,
    },
    /// construction → verification.
    StartVerification {
        /// The train, e.g. RT-1.
        id: String,
    },
    /// verification → awaiting executive approval.
    RequestExecutiveApproval {
        /// The train, e.g. RT-1.
        id: String,
    },
    /// deployment → closed.
    Close {
        /// The train, e.g. RT-1.
        id: String,
    },
    /// Cancel, with a reason.
    Cancel {
        /// The train, e.g. RT-1.
        id: String,
        /// Why the train is cancelled.
        #[arg(long)]
        reason: String,
    },
    /// Schedule conflicts: dependencies that end after their dependents start.
    Conflicts {
        /// The train, e.g. RT-1.
        id: String,
    },
    /// The train's application releases in dependency order.
    Order {
        /// The train, e.g. RT-1.
        id: String,
    },
    /// Stages, gates, milestones and release bars, planned against actual.
    Timeline {
        /// The train, e.g. RT-1.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum GateCmd {
    /// Make a gate require (or, with --off, not require) approval.
    RequireApproval {
        /// The train, e.g. RT-1.
        train: String,
        /// The gate: scoping, construction or verification.
        gate: String,
        /// No approval needed any more.
        #[arg(long)]
        off: bool,
    },
    /// Request the approval of a gate.
    RequestApproval {
        /// The train, e.g. RT-1.
        train: String,
        /// The gate: scoping, construction or verification.
        gate: String,
    },
}

#[derive(Subcommand)]
pub enum CriterionCmd {
    /// Add an exit criterion to a gate.
    Add {
        /// The train, e.g. RT-1.
        train: String,
        /// The gate: scoping, construction or verification.
        gate: String,
        /// What must be true, e.g. "Load test passed".
        #[arg(long)]
        title: String,
        /// Who answers for it (a user name).
        #[arg(long)]
        owner: Option<String>,
        /// The environment it is about, if any.
        #[arg(long)]
        environment: Option<String>,
    },
    /// Change an exit criterion's title, owner or environment.
    Edit {
        /// The train, e.g. RT-1.
        train: String,
        /// The exit criterion, e.g. EC-1.
        criterion: String,
        /// The new title.
        #[arg(long)]
        title: Option<String>,
        /// Who answers for it (a user name).
        #[arg(long)]
        owner: Option<String>,
        /// The environment it is about, if any.
        #[arg(long)]
        environment: Option<String>,
    },
    /// Remove an exit criterion.
    Remove {
        /// The train, e.g. RT-1.
        train: String,
        /// The exit criterion, e.g. EC-1.
        criterion: String,
    },
    /// Meet a criterion, with evidence.
    Meet {
        /// The train, e.g. RT-1.
        train: String,
        /// The exit criterion, e.g. EC-1.
        criterion: String,
        /// The evidence: what shows it is met.
        #[arg(long)]
        note: String,
        /// A link to the evidence.
        #[arg(long)]
        link: Option<String>,
    },
    /// Waive a criterion, with a reason.
    Waive {
        /// The train, e.g. RT-1.
        train: String,
        /// The exit criterion, e.g. EC-1.
        criterion: String,
        /// Why it is waived.
        #[arg(long)]
        reason: String,
    },
    /// Reopen a met or waived exit criterion.
    Reopen {
        /// The train, e.g. RT-1.
        train: String,
        /// The exit criterion, e.g. EC-1.
        criterion: String,
    },
}

#[derive(Subcommand)]
pub enum MilestoneCmd {
    /// Add a milestone.
    Add {
        /// Whose milestone: a train (RT-1) or an application release (AR-1).
        train: String,
        /// What is due, e.g. "Code freeze".
        #[arg(long)]
        title: String,
        /// The day it is due.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
        due: String,
        /// Who answers for it (a user name).
        #[arg(long)]
        owner: Option<String>,
        /// Copy into every application release when construction starts.
        #[arg(long)]
        inherit: bool,
    },
    /// Change a milestone's title, due date, owner or inherit flag.
    Edit {
        /// Whose milestone: a train (RT-1) or an application release (AR-1).
        train: String,
        /// The milestone, e.g. MS-1.
        milestone: String,
        /// What is due, e.g. "Code freeze".
        #[arg(long)]
        title: Option<String>,
        /// The day it is due.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::when::date)]
        due: Option<String>,
        /// Who answers for it (a user name).
        #[arg(long)]
        owner: Option<String>,
        /// Whether it is copied into every application release when construction starts.
        #[arg(long)]
        inherit: Option<bool>,
    },
    /// Remove a milestone.
    Remove {
        /// Whose milestone: a train (RT-1) or an application release (AR-1).
        train: String,
        /// The milestone, e.g. MS-1.
        milestone: String,
    },
    /// Mark a milestone completed.
    Complete {
        /// Whose milestone: a train (RT-1) or an application release (AR-1).
        train: String,
        /// The milestone, e.g. MS-1.
        milestone: String,
    },
    /// Mark a milestone missed.
    Miss {
        /// Whose milestone: a train (RT-1) or an application release (AR-1).
        train: String,
        /// The milestone, e.g. MS-1.
        milestone: String,
    },
}

fn parse_level(text: &str) -> anyhow::Result<Value> {
    let (names, required) = match text.rsplit_once(':') {
        Some((n, r)) => {
            (n, r.trim().parse::<u32>().with_context(|| format!("'{r}' in --level {text} is not a number"))?)
        }
        None => (text, 1),
    };
    let approvers: Vec<&str> = names.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if approvers.is_empty() {
        bail!("--level {text} names no approvers; write e.g. --level alice,bob:2");
    }
    Ok(json!({"approvers": approvers, "required": required}))
}

pub async fn train(ctx: &Context, cmd: TrainCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let v = match cmd {
        TrainCmd::Create { title, release_type, purpose, manager, engineers, schedule, file } => {
            let mut body: Map<String, Value> = match file {
                Some(f) => {
                    let text = std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?;
                    serde_json::from_str(&text).with_context(|| format!("{} is not a JSON object", f.display()))?
                }
                None => Map::new(),
            };
            put(&mut body, "title", title);
            put(&mut body, "release_type", release_type);
            put(&mut body, "purpose", purpose);
            put(&mut body, "manager", manager);
            if !engineers.is_empty() {
                body.insert("engineers".into(), json!(engineers));
            }
            let given = schedule.given();
            if !given.is_empty() {
                let sched = body.entry("schedule").or_insert_with(|| json!({}));
                let Some(sched) = sched.as_object_mut() else {
                    bail!("'schedule' in the file must be an object of dates, e.g. {{\"start\": \"2027-01-04\", ...}}");
                };
                for (k, v) in given {
                    sched.insert(k.to_string(), json!(v));
                }
            }
            c.post("/api/v1/trains", Some(Value::Object(body))).await?
        }
        TrainCmd::List { state, release_type, limit, cursor } => {
            let mut q = Vec::new();
            q.extend(state.map(|s| ("state", s)));
            q.extend(release_type.map(|s| ("release_type", s)));
            q.extend(limit.map(|s| ("limit", s.to_string())));
            q.extend(cursor.map(|s| ("cursor", s)));
            let v = c.get("/api/v1/trains", &q).await?;
            ctx.show(&v, output::trains);
            return Ok(());
        }
        TrainCmd::Actions { id } => {
            let v = c.get(&format!("/api/v1/trains/{}/actions", seg(&id)), &[]).await?;
            ctx.show(&v, output::actions);
            return Ok(());
        }
        TrainCmd::Show { id } => c.get(&format!("/api/v1/trains/{}", seg(&id)), &[]).await?,
        TrainCmd::Update { id, title, release_type, purpose, manager, engineers, reserved, schedule, if_match } => {
            let path = format!("/api/v1/trains/{}", seg(&id));
            let current = c.get(&path, &[]).await?;
            let mut body = Map::new();
            put(&mut body, "title", title);
            put(&mut body, "release_type", release_type);
            put(&mut body, "purpose", purpose);
            put(&mut body, "manager", manager);
            if !engineers.is_empty() {
                body.insert("engineers".into(), json!(engineers));
            }
            if !reserved.is_empty() {
                body.insert("reserved_environments".into(), json!(reserved));
            }
            let given = schedule.given();
            if !given.is_empty() {
                let mut sched = current["schedule"].clone();
                for (k, v) in given {
                    sched[k] = json!(v);
                }
                body.insert("schedule".into(), sched);
            }
            if body.is_empty() {
                bail!("nothing to change: give at least one field, e.g. --title");
            }
            let version = if_match.or(current["version"].as_i64()).unwrap_or(0);
            c.patch(&path, Value::Object(body), version).await?
        }
        TrainCmd::Policy { id, kind, levels, override_allowed, clear } => {
            if !["train", "development", "executive", "gate"].contains(&kind.as_str()) {
                bail!("unknown policy kind '{kind}'; kinds are train, development, executive, gate");
            }
            let path = format!("/api/v1/trains/{}", seg(&id));
            let current = c.get(&path, &[]).await?;
            let mut policies = current["approval_policies"].clone();
            if clear {
                policies[&kind] = Value::Null;
            } else {
                if levels.is_empty() {
                    bail!("give at least one --level (e.g. --level alice,bob:2), or --clear");
                }
                let levels = levels.iter().map(|l| parse_level(l)).collect::<anyhow::Result<Vec<_>>>()?;
                policies[&kind] = json!({"levels": levels, "override_allowed": override_allowed});
            }
            let version = current["version"].as_i64().unwrap_or(0);
            c.patch(&path, json!({"approval_policies": policies}), version).await?
        }
        TrainCmd::Copy { id, start, title } => {
            let mut body = Map::new();
            body.insert("start".into(), json!(start));
            put(&mut body, "title", title);
            c.post(&format!("/api/v1/trains/{}/copy", seg(&id)), Some(Value::Object(body))).await?
        }
        TrainCmd::Submit { id } => action(ctx, &id, "submit", None).await?,
        TrainCmd::StartConstruction { id } => action(ctx, &id, "start-construction", None).await?,
        TrainCmd::StartVerification { id } => action(ctx, &id, "start-verification", None).await?,
        TrainCmd::RequestExecutiveApproval { id } => action(ctx, &id, "request-executive-approval", None).await?,
        TrainCmd::Close { id } => action(ctx, &id, "close", None).await?,
        TrainCmd::Cancel { id, reason } => action(ctx, &id, "cancel", Some(json!({"reason": reason}))).await?,
        TrainCmd::Conflicts { id } => {
            let v = c.get(&format!("/api/v1/trains/{}/conflicts", seg(&id)), &[]).await?;
            ctx.show(&v, output::conflicts);
            return Ok(());
        }
        TrainCmd::Timeline { id } => {
            let v = c.get(&format!("/api/v1/trains/{}/timeline", seg(&id)), &[]).await?;
            ctx.show(&v, output::timeline);
            return Ok(());
        }
        TrainCmd::Order { id } => {
            let v = c.get(&format!("/api/v1/trains/{}/order", seg(&id)), &[]).await?;
            ctx.show(&v, output::order);
            return Ok(());
        }
    };
    ctx.show(&v, output::train);
    Ok(())
}

async fn action(ctx: &Context, id: &str, action: &str, body: Option<Value>) -> anyhow::Result<Value> {
    Ok(ctx.client.post(&format!("/api/v1/trains/{}/{action}", seg(id)), body).await?)
}

pub async fn gate(ctx: &Context, cmd: GateCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let v = match cmd {
        GateCmd::RequireApproval { train, gate, off } => {
            let path = format!("/api/v1/trains/{}", seg(&train));
            let version = c.get(&path, &[]).await?["version"].as_i64().unwrap_or(0);
            c.patch(&format!("{path}/gates/{}", seg(&gate)), json!({"approval_required": !off}), version).await?
        }
        GateCmd::RequestApproval { train, gate } => {
            c.post(&format!("/api/v1/trains/{}/gates/{}/request-approval", seg(&train), seg(&gate)), None).await?
        }
    };
    ctx.show(&v, output::train);
    Ok(())
}

pub async fn criterion(ctx: &Context, cmd: CriterionCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let base = |t: &str| format!("/api/v1/trains/{}", seg(t));
    let v = match cmd {
        CriterionCmd::Add { train, gate, title, owner, environment } => {
            let mut body = Map::new();
            body.insert("title".into(), json!(title));
            put(&mut body, "owner", owner);
            put(&mut body, "environment", environment);
            c.post(&format!("{}/gates/{}/criteria", base(&train), seg(&gate)), Some(Value::Object(body))).await?
        }
        CriterionCmd::Edit { train, criterion, title, owner, environment } => {
            let mut body = Map::new();
            put(&mut body, "title", title);
            put(&mut body, "owner", owner);
            put(&mut body, "environment", environment);
            let version = c.get(&base(&train), &[]).await?["version"].as_i64().unwrap_or(0);
            c.patch(&format!("{}/criteria/{}", base(&train), seg(&criterion)), Value::Object(body), version).await?
        }
        CriterionCmd::Remove { train, criterion } => {
            c.delete(&format!("{}/criteria/{}", base(&train), seg(&criterion))).await?
        }
        CriterionCmd::Meet { train, criterion, note, link } => {
            let body = json!({"evidence": {"note": note, "link": link}});
            c.post(&format!("{}/criteria/{}/meet", base(&train), seg(&criterion)), Some(body)).await?
        }
        CriterionCmd::Waive { train, criterion, reason } => {
            c.post(&format!("{}/criteria/{}/waive", base(&train), seg(&criterion)), Some(json!({"reason": reason})))
                .await?
        }
        CriterionCmd::Reopen { train, criterion } => {
            c.post(&format!("{}/criteria/{}/reopen", base(&train), seg(&criterion)), None).await?
        }
    };
    ctx.show(&v, output::train);
    Ok(())
}

/// The collection an id belongs to: application releases (AR-…) or trains.
fn owner_path(id: &str) -> String {
    if id.starts_with("AR-") {
        format!("/api/v1/application-releases/{}", seg(id))
    } else {
        format!("/api/v1/trains/{}", seg(id))
    }
}

pub async fn milestone(ctx: &Context, cmd: MilestoneCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let base = |t: &str| format!("{}/milestones", owner_path(t));
    let v = match cmd {
        MilestoneCmd::Add { train, title, due, owner, inherit } => {
            let mut body = Map::new();
            body.insert("title".into(), json!(title));
            body.insert("due".into(), json!(due));
            body.insert("inherit".into(), json!(inherit));
            put(&mut body, "owner", owner);
            c.post(&base(&train), Some(Value::Object(body))).await?
        }
        MilestoneCmd::Edit { train, milestone, title, due, owner, inherit } => {
            let mut body = Map::new();
            put(&mut body, "title", title);
            put(&mut body, "due", due);
            put(&mut body, "owner", owner);
            put(&mut body, "inherit", inherit);
            let version = c.get(&owner_path(&train), &[]).await?["version"].as_i64().unwrap_or(0);
            c.patch(&format!("{}/{}", base(&train), seg(&milestone)), Value::Object(body), version).await?
        }
        MilestoneCmd::Remove { train, milestone } => c.delete(&format!("{}/{}", base(&train), seg(&milestone))).await?,
        MilestoneCmd::Complete { train, milestone } => {
            c.post(&format!("{}/{}/complete", base(&train), seg(&milestone)), None).await?
        }
        MilestoneCmd::Miss { train, milestone } => {
            c.post(&format!("{}/{}/miss", base(&train), seg(&milestone)), None).await?
        }
    };
    ctx.show(&v, if v["application"].is_string() { output::release } else { output::train });
    Ok(())
}
