//! `railyard approval ...`

use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::{put, seg};
use crate::config::Context;
use crate::output;

#[derive(Subcommand)]
pub enum ApprovalCmd {
    /// Which actions you may take on it now, and for each refused one the guards that block it.
    Actions {
        id: String,
    },
    /// List approvals; --mine: those waiting for your decision now.
    List {
        #[arg(long)]
        mine: bool,
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        train: Option<String>,
        /// train, development, executive or gate.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        cursor: Option<String>,
    },
    Show {
        id: String,
    },
    /// Approve at the current level.
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reject, with a comment; executive rejections say where the train goes back to.
    Reject {
        id: String,
        #[arg(long)]
        comment: String,
        /// verification or construction (executive approvals).
        #[arg(long)]
        return_to: Option<String>,
    },
    /// Override (the train's manager, where the policy allows), with a reason.
    Override {
        id: String,
        #[arg(long)]
        reason: String,
    },
}

pub async fn run(ctx: &Context, cmd: ApprovalCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let v = match cmd {
        ApprovalCmd::List { mine, state, train, kind, limit, cursor } => {
            let mut q = Vec::new();
            if mine {
                q.push(("mine", "true".to_string()));
            }
            q.extend(state.map(|s| ("state", s)));
            q.extend(train.map(|s| ("train", s)));
            q.extend(kind.map(|s| ("kind", s)));
            q.extend(limit.map(|s| ("limit", s.to_string())));
            q.extend(cursor.map(|s| ("cursor", s)));
            let v = c.get("/api/v1/approvals", &q).await?;
            ctx.show(&v, output::approvals);
            return Ok(());
        }
        ApprovalCmd::Actions { id } => {
            let v = c.get(&format!("/api/v1/approvals/{}/actions", seg(&id)), &[]).await?;
            ctx.show(&v, output::actions);
            return Ok(());
        }
        ApprovalCmd::Show { id } => c.get(&format!("/api/v1/approvals/{}", seg(&id)), &[]).await?,
        ApprovalCmd::Approve { id, comment } => {
            let mut body = Map::new();
            put(&mut body, "comment", comment);
            c.post(&format!("/api/v1/approvals/{}/approve", seg(&id)), Some(Value::Object(body))).await?
        }
        ApprovalCmd::Reject { id, comment, return_to } => {
            let mut body = Map::new();
            body.insert("comment".into(), json!(comment));
            put(&mut body, "return_to", return_to);
            c.post(&format!("/api/v1/approvals/{}/reject", seg(&id)), Some(Value::Object(body))).await?
        }
        ApprovalCmd::Override { id, reason } => {
            c.post(&format!("/api/v1/approvals/{}/override", seg(&id)), Some(json!({"reason": reason}))).await?
        }
    };
    ctx.show(&v, output::approval);
    Ok(())
}
