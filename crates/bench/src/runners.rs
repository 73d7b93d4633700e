//! The runners scenario: a `railyard serve --no-local-runner` process on a fresh SQLite file and 4
//! `railyard runner` processes (concurrency 4 each) on this machine run a turnover of 1,000 `true`
//! tasks in groups of 16 (one per runner slot); then the same 1,000 `true` processes are spawned alone,
//! 16 at a time, for the ratio. Reports the server-side overhead per task beyond spawning, how long
//! each run waited from being queued to being claimed by a runner (from the result events, which
//! record both times; with a slot free for every run, this is the protocol's own latency), and the
//! server process's peak memory.
//!
//! Both binaries come from the directory of this one: build them first with `cargo build --release`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use crate::server::{self, Api, quantiles};

#[derive(clap::Args, Clone, Copy)]
pub struct Args {
    #[arg(long, default_value_t = 1_000)]
    pub tasks: usize,
    #[arg(long, default_value_t = 4)]
    pub runners: usize,
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Tasks per sequence group (default: one per runner slot, so that every queued run finds a free
    /// slot and the queued-to-claimed time is the protocol's own latency).
    #[arg(long)]
    pub group: Option<usize>,
}

/// A child process killed when dropped.
struct Kept(Child);

impl Drop for Kept {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn railyard() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.parent().context("the bench's directory")?.join("railyard");
    if !bin.exists() {
        bail!("{} is missing: build it first with `cargo build --release`", bin.display());
    }
    Ok(bin)
}

/// Peak resident memory of a process, in MB.
fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn start_server(bin: &PathBuf, dir: &std::path::Path, admin: &str) -> anyhow::Result<(Kept, String)> {
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-local-runner", "--database"])
        .arg(format!("sqlite://{}", dir.join("railyard.db").display()))
        .env("RAILYARD_ADMIN_TOKEN", admin)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("the server's output")?;
    let mut lines = BufReader::new(stdout).lines();
    let kept = Kept(child);
    for line in lines.by_ref() {
        let line = line?;
        if let Some(rest) = line.strip_prefix("Railyard is listening on ") {
            let url = rest.split_whitespace().next().context("an address")?.to_string();
            std::thread::spawn(move || for _ in lines {});
            return Ok((kept, url));
        }
    }
    bail!("the server stopped before it listened")
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let bin = railyard()?;
    let dir = tempfile::tempdir()?;
    let admin = "bench-runners-admin-token-0123456789";
    let (server, base) = start_server(&bin, dir.path(), admin)?;
    let slots = args.runners * args.concurrency;
    let group = args.group.unwrap_or(slots).max(1);
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    client.block_on(async {
        let (eng, to) = server::bench_turnover(&base, admin, "bench").await?;
        let root = Api { http: eng.http.clone(), base: base.clone(), token: admin.to_string() };
        let setup = Instant::now();
        for i in 0..args.tasks {
            let seq = i / group + 1;
            eng.post(
                &format!("/api/v1/turnovers/{to}/tasks"),
                json!({"title": format!("t{i}"), "sequence": seq, "action": {"kind": "command", "program": "true"}}),
            )
            .await?;
        }
        println!(
            "a turnover of {} tasks in groups of {group} (added in {:.1}s)",
            args.tasks,
            setup.elapsed().as_secs_f64()
        );
        let mut runners = Vec::new();
        for i in 0..args.runners {
            let r = root.post("/api/v1/runners", json!({"name": format!("bench-{i}"), "labels": ["bench"]})).await?;
            let file = dir.path().join(format!("bench-{i}.token"));
            std::fs::write(&file, r["token"].as_str().context("a runner token")?)?;
            let work = dir.path().join(format!("work-{i}"));
            std::fs::create_dir_all(&work)?;
            let child = Command::new(&bin)
                .args(["runner", "--server", &base, "--concurrency", &args.concurrency.to_string()])
                .arg("--token-file")
                .arg(&file)
                .arg("--work-dir")
                .arg(&work)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            runners.push(Kept(child));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let list = root.get("/api/v1/runners").await?;
            let online =
                list["items"].as_array().map(|i| i.iter().filter(|r| r["online"] == true).count()).unwrap_or(0);
            if online == args.runners {
                break;
            }
            if Instant::now() > deadline {
                bail!("only {online} of {} runners came online", args.runners);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

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
        let secs = started.elapsed().as_secs_f64();
        let rss = peak_rss_mb(server.0.id());

        // Queued to claimed, from the result events.
        let mut waits = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = match &cursor {
                None => eng.get(&format!("/api/v1/audit/events?object={id}&limit=500")).await?,
                Some(c) => eng.get(&format!("/api/v1/audit/events?object={id}&limit=500&cursor={c}")).await?,
            };
            for e in page["items"].as_array().into_iter().flatten().filter(|e| e["action"] == "finish_run") {
                let at = |k: &str| e["data"][k].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                if let (Some(q), Some(c)) = (at("queued_at"), at("claimed_at")) {
                    waits.push((c - q).num_microseconds().unwrap_or(0) as f64 / 1000.0);
                }
            }
            cursor = page["next_cursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        drop(runners);

        // Spawning alone: the same processes, the same groups, nothing else.
        let spawn_started = Instant::now();
        // Groups as the deployment's, at most `slots` processes at once within a group.
        for g in 0..args.tasks.div_ceil(group) {
            let in_group = group.min(args.tasks - g * group);
            for wave in 0..in_group.div_ceil(slots) {
                let mut spawned = Vec::new();
                for _ in 0..slots.min(in_group - wave * slots) {
                    spawned.push(
                        tokio::process::Command::new("true").stdout(Stdio::piped()).stderr(Stdio::piped()).status(),
                    );
                }
                for s in spawned {
                    s.await?;
                }
            }
        }
        let spawn_secs = spawn_started.elapsed().as_secs_f64();
        let overhead_ms = (secs - spawn_secs) * 1000.0 / args.tasks as f64;
        let (p50, p99, max) = quantiles(waits.clone());
        println!("deployment {id}: {state} in {secs:.2} s on {} runners x {} slots", args.runners, args.concurrency);
        println!(
            "spawning the same {} processes alone, in the same groups, {slots} at a time: {spawn_secs:.2} s",
            args.tasks
        );
        println!(
            "server-side overhead beyond spawning: {overhead_ms:.2} ms per task (budget 3 ms) {}",
            if overhead_ms <= 3.0 { "(met)" } else { "(NOT met)" }
        );
        println!(
            "queued to claimed, {} runs: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms (budget p99 100 ms) {}",
            waits.len(),
            if p99 <= 100.0 { "(met)" } else { "(NOT met)" }
        );
        println!("server peak memory: {rss:.0} MB (budget 150 MB) {}", if rss < 150.0 { "(met)" } else { "(NOT met)" });
        anyhow::Ok(())
    })?;
    drop(server);
    Ok(())
}
