//! The import scenario: 10,000 work items from a Jira-style CSV export into one application release,
//! through the HTTP API, then the same file again (which must change nothing).

use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use crate::server::{self, Api};

#[derive(clap::Args, Clone, Copy)]
pub struct Args {
    #[arg(long, default_value_t = 10_000)]
    pub rows: usize,
}

fn jira_csv(rows: usize) -> String {
    let mut out = String::from(
        "Summary,Issue key,Issue id,Issue Type,Status,Priority,Assignee,Sprint,Sprint,Labels,Description\n",
    );
    let types = ["Story", "Task", "Bug", "Sub-task", "Epic", "New Feature", "Improvement"];
    let statuses = ["To Do", "In Progress", "Done", "Closed", "Resolved", "In Review"];
    for i in 0..rows {
        out.push_str(&format!(
            "\"Item {i}, with a comma\",BEN-{i},{},{},{},Medium,dev{},S{},S{},bench,\"Line one\nline two of {i}\"\n",
            100_000 + i,
            types[i % types.len()],
            statuses[i % statuses.len()],
            i % 7,
            i % 10,
            i % 10 + 1,
        ));
    }
    out
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let srv = server::start(&dir.path().join("railyard.db"), 2)?;
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    client.block_on(async {
        let api = Api::manager(&srv.base, &srv.admin).await?;
        api.post("/api/v1/applications", json!({"key": "BEN", "name": "Bench"})).await?;
        let r = api
            .post(
                "/api/v1/application-releases",
                json!({"title": "big", "application": "BEN", "schedule": {"start": "2027-01-01", "end": "2027-03-01"}}),
            )
            .await?;
        let ar = r["id"].as_str().context("release id")?.to_string();
        let csv = jira_csv(args.rows);
        println!("a Jira-style CSV of {} rows, {} KiB", args.rows, csv.len() / 1024);
        for label in ["first import", "same file again"] {
            let t = Instant::now();
            let req = api
                .http
                .post(format!("{}/api/v1/application-releases/{ar}/work-items/import", api.base))
                .header("Content-Type", "text/csv")
                .body(csv.clone());
            let report = api.send(req).await?;
            let secs = t.elapsed().as_secs_f64();
            println!("{label}: {secs:.2} s, {report}");
            if label == "first import" {
                println!("  budget (issue 3): under 2 s {}", if secs < 2.0 { "(met)" } else { "(NOT met)" });
            }
        }
        anyhow::Ok(())
    })
}
