//! The engine scenario: a turnover of 1,000 automation tasks running `true`, in 20 groups of 50, deployed
//! through the HTTP API and run by the engine; then the same 1,000 `true` processes spawned alone (20
//! groups of 50 at once) for the ratio. Reports the engine's own overhead per task beyond spawning, the
//! audit events the deployment wrote, and the process's peak memory (server, engine and client).

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::server;

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
        let (eng, to) = server::bench_turnover(&srv.base, &srv.admin, "bench").await?;
        let setup = Instant::now();
        for i in 0..args.tasks {
            let seq = i / args.group + 1;
            eng.post(
                &format!("/api/v1/turnovers/{to}/tasks"),
                json!({"title": format!("t{i}"), "sequence": seq, "action": {"kind": "command", "program": "true"}}),
            )
            .await?;
        }
        println!(
            "a turnover of {} tasks in groups of {} (added in {:.1}s)",
            args.tasks,
            args.group,
            setup.elapsed().as_secs_f64()
        );

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
                group.push(
                    tokio::process::Command::new("true")
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped())
                        .status(),
                );
            }
            for g in group {
                g.await?;
            }
        }
        let spawn_secs = spawn_started.elapsed().as_secs_f64();
        let overhead_ms = (engine_secs - spawn_secs) * 1000.0 / args.tasks as f64;
        println!("deployment {id}: {state} in {engine_secs:.2} s, {count} audit events");
        println!("spawning the same {} processes alone: {spawn_secs:.2} s", args.tasks);
        println!(
            "engine overhead beyond spawning: {overhead_ms:.2} ms per task (budget 2 ms) {}",
            if overhead_ms < 2.0 { "(met)" } else { "(NOT met)" }
        );
        println!("peak memory of the process (server, engine, client): {:.0} MB (budget 150 MB)", peak_rss_mb());
        anyhow::Ok(())
    })
}
