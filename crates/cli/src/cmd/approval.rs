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
        /// The approval, e.g. AP-3.
        id: String,
    },
    /// List approvals; --mine: those waiting for your decision now.
    List {
        /// Only approvals waiting for my decision.
        #[arg(long)]
        mine: bool,
        /// Only approvals in this state: pending, approved, rejected, overridden or cancelled.
        #[arg(long)]
        state: Option<String>,
        /// Only approvals of this train, e.g. RT-1.
        #[arg(long)]
        train: Option<String>,
        /// train, development, executive or gate.
        #[arg(long)]
        kind: Option<String>,
        /// How many to list at most (1 to 500; default 50).
        #[arg(long)]
        limit: Option<u32>,
        /// Where to go on: the `--cursor` the previous page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show an approval: its levels and decisions.
    Show {
        /// The approval, e.g. AP-1.
        id: String,
    },
    /// Approve at the current level.
    Approve {
        /// The approval, e.g. AP-1.
        id: String,
        /// A comment for the audit log and whoever reads it.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reject, with a comment; executive rejections say where the train goes back to.
    Reject {
        /// The approval, e.g. AP-1.
        id: String,
        /// A comment for the audit log and whoever reads it.
        #[arg(long)]
        comment: String,
        /// verification or construction (executive approvals).
        #[arg(long)]
        return_to: Option<String>,
    },
    /// Override (the train's manager, where the policy allows), with a reason.
    Override {
        /// The approval, e.g. AP-1.
        id: String,
        /// Why the approval is overridden.
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
