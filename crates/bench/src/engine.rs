//! The engine scenario: a turnover of 1,000 automation tasks running `true`, in 20 groups of 50, deployed
//! through the HTTP API and run by the engine; then the same 1,000 `true` processes spawned alone (20
//! groups of 50 at once) for the ratio. Reports the engine's own overhead per task beyond spawning, the
//! audit events the deployment wrote, and the process's peak memory (server, engine and client).

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::server::{self, Api};

#[derive(clap::Args, Clone, Copy)]
pub struct Args {
    #[arg(long, default_value_t = 1_000)]
    pub tasks: usize,
    #[arg(long, default_value_t = 50)]
    pub group: usize,
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let srv = server::start(&dir.path().join("railyard.db"), 2)?;
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    client.block_on(async {
        let api = Api::manager(&srv.base, &srv.admin).await?;
        let root = Api { http: api.http.clone(), base: api.base.clone(), token: srv.admin.clone() };
        root.post("/api/v1/users", json!({"name": "eng", "roles": ["release_engineer", "developer"]})).await?;
        let t = root.post("/api/v1/tokens", json!({"user": "eng"})).await?;
        let eng = Api { token: t["token"].as_str().context("token")?.to_string(), http: api.http.clone(), base: api.base.clone() };
        eng.post("/api/v1/environments", json!({"name": "bench", "kind": "test"})).await?;
        let p = eng.post("/api/v1/deployment-paths", json!({"name": "bench", "stages": [{"environment": "bench"}]})).await?;
        let path = p["id"].as_str().context("path")?.to_string();
        eng.post(&format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await?;
        let t = api
            .post("/api/v1/trains", json!({"title": "bench", "release_type": "minor", "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15",
                "construction_end": "2027-02-12", "verification_end": "2027-02-26", "production_date": "2027-03-06"}}))
            .await?;
        let rt = t["id"].as_str().context("train")?.to_string();
        let mut pol = t["approval_policies"].clone();
        pol["executive"] = json!({"levels": [{"approvers": ["eng"], "required": 1}]});
        let v = t["version"].as_i64().unwrap_or(1);
        api.send(api.http.patch(format!("{}/api/v1/trains/{rt}", api.base)).header("If-Match", v.to_string()).json(&json!({"approval_policies": pol}))).await?;
        api.post(&format!("/api/v1/trains/{rt}/submit"), json!({})).await?;
        api.post(&format!("/api/v1/trains/{rt}/start-construction"), json!({})).await?;
        api.post("/api/v1/applications", json!({"key": "BEN", "name": "Bench"})).await?;
        let r = api
            .post("/api/v1/application-releases", json!({"title": "r", "application": "BEN", "train": rt, "schedule": {"start": "2027-01-05", "end": "2027-02-01"}}))
            .await?;
        let ar = r["id"].as_str().context("release")?.to_string();
        api.post(&format!("/api/v1/application-releases/{ar}/begin-work"), json!({})).await?;
        let to = eng.post("/api/v1/turnovers", json!({"title": "bench", "release": ar, "path": path})).await?;
        let to = to["id"].as_str().context("turnover")?.to_string();
        let setup = Instant::now();
        for i in 0..args.tasks {
            let seq = i / args.group + 1;
            eng.post(&format!("/api/v1/turnovers/{to}/tasks"), json!({"title": format!("t{i}"), "sequence": seq, "action": {"kind": "command", "program": "true"}}))
                .await?;
        }
        println!("a turnover of {} tasks in groups of {} (added in {:.1}s)", args.tasks, args.group, setup.elapsed().as_secs_f64());

        let started = Instant::now();
        let d = eng.post(&format!("/api/v1/turnovers/{to}/deploy"), json!({})).await?;
        let id = d["id"].as_str().context("deployment")?.to_string();
        let state = loop {
            let d = eng.get(&format!("/api/v1/deployments/{id}")).await?;
            let state = d["state"].as_str().unwrap_or_default().to_string();
            if !matches!(state.as_str(), "scheduled" | "running") {
                break state;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let engine_secs = started.elapsed().as_secs_f64();
        let events = eng.get(&format!("/api/v1/audit/events?object={id}&limit=500")).await?;
        let mut count = events["items"].as_array().map(Vec::len).unwrap_or(0);
        let mut cursor = events["next_cursor"].as_str().map(str::to_string);
        while let Some(c) = cursor {
            let page = eng.get(&format!("/api/v1/audit/events?object={id}&limit=500&cursor={c}")).await?;
            count += page["items"].as_array().map(Vec::len).unwrap_or(0);
            cursor = page["next_cursor"].as_str().map(str::to_string);
        }

        // Spawning alone: the same processes, the same groups, nothing else.
        let spawn_started = Instant::now();
        for _ in 0..args.tasks.div_ceil(args.group) {
            let mut group = Vec::new();
            for _ in 0..args.group {
                group.push(tokio::process::Command::new("true").stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).status());
            }
            for g in group {
                g.await?;
            }
        }
        let spawn_secs = spawn_started.elapsed().as_secs_f64();
        let overhead_ms = (engine_secs - spawn_secs) * 1000.0 / args.tasks as f64;
        println!("deployment {id}: {state} in {engine_secs:.2} s, {count} audit events");
        println!("spawning the same {} processes alone: {spawn_secs:.2} s", args.tasks);
        println!("engine overhead beyond spawning: {overhead_ms:.2} ms per task (budget 2 ms) {}", if overhead_ms < 2.0 { "(met)" } else { "(NOT met)" });
        println!("peak memory of the process (server, engine, client): {:.0} MB (budget 150 MB)", peak_rss_mb());
        anyhow::Ok(())
    })
}
