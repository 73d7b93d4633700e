//! `railyard work-item ...`

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::{put, seg};
use crate::config::Context;
use crate::output;

#[derive(Subcommand)]
pub enum WorkItemCmd {
    /// Add one work item to an application release.
    Add {
        /// The application release, e.g. AR-1.
        release: String,
        /// The item's key in its source system, e.g. PAY-142.
        #[arg(long)]
        key: String,
        /// The item's title.
        #[arg(long)]
        title: String,
        /// business_request or development_task.
        #[arg(long)]
        kind: String,
        /// open, in_progress or done.
        #[arg(long)]
        status: Option<String>,
        /// A link to the item in its source system.
        #[arg(long)]
        link: Option<String>,
        /// The system it comes from, e.g. jira.
        #[arg(long)]
        source: Option<String>,
    },
    /// List an application release's work items.
    List {
        /// The application release, e.g. AR-1.
        release: String,
        /// business_request or development_task.
        #[arg(long)]
        kind: Option<String>,
        /// open, in_progress or done.
        #[arg(long)]
        status: Option<String>,
        /// How many to list at most (1 to 500; default 50).
        #[arg(long)]
        limit: Option<u32>,
        /// Where to go on: the `--cursor` the previous page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Import a CSV (Railyard's columns or a Jira issue export) or JSON file: all or nothing.
    Import {
        /// The application release, e.g. AR-1.
        release: String,
        /// A CSV (Railyard's columns or a Jira export) or JSON file.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Change a work item's title, status, kind or link.
    Update {
        /// The work item, e.g. WI-1.
        id: String,
        /// The item's title.
        #[arg(long)]
        title: Option<String>,
        /// open, in_progress or done.
        #[arg(long)]
        status: Option<String>,
        /// business_request or development_task.
        #[arg(long)]
        kind: Option<String>,
        /// A link to the item in its source system.
        #[arg(long)]
        link: Option<String>,
    },
}

pub async fn run(ctx: &Context, cmd: WorkItemCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let base = |id: &str| format!("/api/v1/application-releases/{}/work-items", seg(id));
    let v = match cmd {
        WorkItemCmd::Add { release, key, title, kind, status, link, source } => {
            let mut body = Map::new();
            body.insert("key".into(), json!(key));
            body.insert("title".into(), json!(title));
            body.insert("kind".into(), json!(kind));
            put(&mut body, "status", status);
            put(&mut body, "link", link);
            put(&mut body, "source", source);
            c.post(&base(&release), Some(Value::Object(body))).await?
        }
        WorkItemCmd::List { release, kind, status, limit, cursor } => {
            let mut q = Vec::new();
            q.extend(kind.map(|s| ("kind", s)));
            q.extend(status.map(|s| ("status", s)));
            q.extend(limit.map(|s| ("limit", s.to_string())));
            q.extend(cursor.map(|s| ("cursor", s)));
            let v = c.get(&base(&release), &q).await?;
            ctx.show(&v, output::work_items);
            return Ok(());
        }
        WorkItemCmd::Import { release, file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let json = file.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
            let content_type = if json { "application/json" } else { "text/csv" };
            let v = c.post_file(&format!("{}/import", base(&release)), bytes, content_type).await?;
            ctx.show(&v, output::import_report);
            return Ok(());
        }
        WorkItemCmd::Update { id, title, status, kind, link } => {
            let path = format!("/api/v1/work-items/{}", seg(&id));
            let version = c.get(&path, &[]).await?["version"].as_i64().unwrap_or(0);
            let mut body = Map::new();
            put(&mut body, "title", title);
            put(&mut body, "status", status);
            put(&mut body, "kind", kind);
            put(&mut body, "link", link);
            c.patch(&path, Value::Object(body), version).await?
        }
    };
    ctx.show(&v, output::work_item);
    Ok(())
}
