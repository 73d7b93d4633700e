//! The production-night scenario: 20 production-ready turnovers of 200 `true` tasks each (groups of 50),
//! accepted and scheduled at the same moment across 4 locked production environments, 5 per
//! environment; in each environment one turnover carries a release that depends on another's, so it
//! must wait for that one to finish there (R5). Reports how late each free deployment started after its
//! scheduled time, how long each dependent one waited after its dependency finished, and whether any
//! dependent run started before its dependency's last run ended.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::server::{self, Api, quantiles};

#[derive(clap::Args, Clone, Copy)]
pub struct Args {
    #[arg(long, default_value_t = 20)]
    pub turnovers: usize,
    #[arg(long, default_value_t = 4)]
    pub environments: usize,
    #[arg(long, default_value_t = 200)]
    pub tasks: usize,
    #[arg(long, default_value_t = 50)]
    pub group: usize,
    /// Seconds between the end of the setup and the scheduled time.
    #[arg(long, default_value_t = 5)]
    pub lead: i64,
}

fn time(v: &Value) -> anyhow::Result<DateTime<Utc>> {
    let s = v.as_str().with_context(|| format!("not a time: {v}"))?;
    Ok(DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc))
}

fn id(v: &Value) -> anyhow::Result<String> {
    Ok(v["id"].as_str().with_context(|| format!("no id in {v}"))?.to_string())
}

async fn user(root: &Api, name: &str, roles: &[&str]) -> anyhow::Result<Api> {
    root.post("/api/v1/users", json!({"name": name, "roles": roles})).await?;
    let t = root.post("/api/v1/tokens", json!({"user": name})).await?;
    Ok(Api {
        token: t["token"].as_str().context("token")?.to_string(),
        http: root.http.clone(),
        base: root.base.clone(),
    })
}

async fn wait_settled(api: &Api, id: &str) -> anyhow::Result<Value> {
    loop {
        let d = api.get(&format!("/api/v1/deployments/{id}")).await?;
        if !matches!(d["state"].as_str(), Some("scheduled" | "running")) {
            return Ok(d);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let srv = server::start(&dir.path().join("railyard.db"), 2)?;
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    client.block_on(async {
        let setup = Instant::now();
        let rm = Api::manager(&srv.base, &srv.admin).await?;
        let root = Api { http: rm.http.clone(), base: rm.base.clone(), token: srv.admin.clone() };
        let eng = user(&root, "eng", &["release_engineer", "developer"]).await?;
        let eng2 = user(&root, "eng2", &["release_engineer"]).await?;
        eng.post("/api/v1/environments", json!({"name": "test", "kind": "test"})).await?;
        let envs: Vec<String> = (1..=args.environments).map(|i| format!("prod-{i}")).collect();
        for e in &envs {
            eng.post("/api/v1/environments", json!({"name": e, "kind": "production"})).await?;
        }
        let p = eng.post("/api/v1/deployment-paths", json!({"name": "pre", "stages": [{"environment": "test"}]})).await?;
        let path = id(&p)?;
        eng.post(&format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await?;
        let tasks: Vec<Value> = (0..args.tasks)
            .map(|i| json!({"title": format!("step {i}"), "sequence": i / args.group + 1, "tier": "app", "action": {"kind": "command", "program": "true"}}))
            .collect();
        let rb = eng.post("/api/v1/runbooks", json!({"name": "production night", "tasks": tasks})).await?;
        let rb = id(&rb)?;
        eng.post(&format!("/api/v1/runbooks/{rb}/submit"), json!({})).await?;
        eng2.post(&format!("/api/v1/runbooks/{rb}/accept"), json!({})).await?;
        let policies = json!({"executive": {"levels": [{"approvers": ["eng2"], "required": 1}]},
            "development": {"levels": [{"approvers": ["eng2"], "required": 1}]}});
        let t = rm
            .post("/api/v1/trains", json!({"title": "night", "release_type": "major", "approval_policies": policies, "schedule": {"start": "2027-01-04",
                "scoping_end": "2027-01-15", "construction_end": "2027-02-12", "verification_end": "2027-02-26", "production_date": "2027-03-06"}}))
            .await?;
        let rt = id(&t)?;
        let mut releases = Vec::new();
        for i in 0..args.turnovers {
            let key = format!("A{i:02}");
            rm.post("/api/v1/applications", json!({"key": key, "name": key})).await?;
            let r = rm
                .post("/api/v1/application-releases", json!({"title": key, "application": key, "train": rt, "schedule": {"start": "2027-01-05", "end": "2027-02-01"}}))
                .await?;
            releases.push(id(&r)?);
        }
        // In each environment, the second turnover's release depends on the first's.
        let mut depends: Vec<(usize, usize)> = Vec::new();
        for j in args.environments..(2 * args.environments).min(args.turnovers) {
            rm.post(&format!("/api/v1/application-releases/{}/dependencies", releases[j]), json!({"depends_on": releases[j - args.environments]}))
                .await?;
            depends.push((j, j - args.environments));
        }
        rm.post(&format!("/api/v1/trains/{rt}/submit"), json!({})).await?;
        rm.post(&format!("/api/v1/trains/{rt}/start-construction"), json!({})).await?;
        for ar in &releases {
            rm.post(&format!("/api/v1/application-releases/{ar}/begin-work"), json!({})).await?;
            let to = id(&eng.post("/api/v1/turnovers", json!({"title": "pre", "release": ar, "path": path})).await?)?;
            eng.post(&format!("/api/v1/turnovers/{to}/tasks"), json!({"title": "smoke", "sequence": 1, "action": {"kind": "command", "program": "true"}}))
                .await?;
            let d = id(&eng.post(&format!("/api/v1/turnovers/{to}/deploy"), json!({})).await?)?;
            wait_settled(&eng, &d).await?;
            eng.post(&format!("/api/v1/deployments/{d}/validate"), json!({"passed": true})).await?;
            let r = rm.post(&format!("/api/v1/application-releases/{ar}/request-development-approval"), json!({})).await?;
            let ap = r["development_approval"]["id"].as_str().context("approval")?.to_string();
            eng2.post(&format!("/api/v1/approvals/{ap}/approve"), json!({})).await?;
        }
        rm.post(&format!("/api/v1/trains/{rt}/start-verification"), json!({})).await?;
        let t = rm.post(&format!("/api/v1/trains/{rt}/request-executive-approval"), json!({})).await?;
        let ap = t["executive_approval"]["id"].as_str().context("executive approval")?.to_string();
        eng2.post(&format!("/api/v1/approvals/{ap}/approve"), json!({})).await?;
        let mut turnovers = Vec::new();
        for (i, ar) in releases.iter().enumerate() {
            let env = &envs[i % args.environments];
            let t = eng
                .post("/api/v1/production-turnovers", json!({"title": format!("night {i}"), "releases": [ar], "environments": [env]}))
                .await?;
            let to = id(&t)?;
            eng.post(&format!("/api/v1/turnovers/{to}/tasks/from-runbook"), json!({"runbook": rb})).await?;
            eng.post(&format!("/api/v1/turnovers/{to}/deliver"), json!({})).await?;
            eng2.post(&format!("/api/v1/turnovers/{to}/accept"), json!({})).await?;
            turnovers.push((to, env.clone()));
        }
        let at = Utc::now() + chrono::Duration::seconds(args.lead);
        let at_text = at.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut deployments = Vec::new();
        for (to, env) in &turnovers {
            let d = eng.post(&format!("/api/v1/turnovers/{to}/schedule"), json!({"environment": env, "at": at_text})).await?;
            deployments.push(id(&d)?);
        }
        println!(
            "{} production-ready turnovers of {} tasks (groups of {}) scheduled at {at_text} into {} environments; setup {:.1} s",
            args.turnovers,
            args.tasks,
            args.group,
            args.environments,
            setup.elapsed().as_secs_f64()
        );

        let mut settled = Vec::new();
        for d in &deployments {
            settled.push(wait_settled(&eng, d).await?);
        }
        let wall = (Utc::now() - at).num_milliseconds() as f64 / 1000.0;
        let dependents: Vec<usize> = depends.iter().map(|(j, _)| *j).collect();
        let mut free_late = Vec::new();
        for (i, d) in settled.iter().enumerate() {
            anyhow::ensure!(d["state"] == "succeeded", "deployment {} ended {}", d["id"], d["state"]);
            if !dependents.contains(&i) {
                free_late.push((time(&d["started_at"])? - at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
        }
        let mut waits = Vec::new();
        let mut violations = 0;
        for (j, on) in &depends {
            let (dj, don) = (&settled[*j], &settled[*on]);
            let dep_end = time(&don["finished_at"])?;
            waits.push((time(&dj["started_at"])? - dep_end).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            let last_run_end = don["runs"].as_array().into_iter().flatten().filter_map(|r| time(&r["finished_at"]).ok()).max();
            let first_run_start = dj["runs"].as_array().into_iter().flatten().filter_map(|r| time(&r["started_at"]).ok()).min();
            if let (Some(end), Some(start)) = (last_run_end, first_run_start)
                && start < end
            {
                violations += 1;
            }
        }
        let (p50, p99, max) = quantiles(free_late.clone());
        println!(
            "{} deployments free to start: started {p50:.0} ms (p50), {p99:.0} ms (p99), {max:.0} ms (max) after their scheduled time (budget 1000 ms) {}",
            free_late.len(),
            if max < 1000.0 { "(met)" } else { "(NOT met)" }
        );
        let (w50, _, wmax) = quantiles(waits.clone());
        println!(
            "{} deployments held for a dependency: started {w50:.0} ms (p50), {wmax:.0} ms (max) after it finished; dependency order violations: {violations}",
            waits.len()
        );
        println!("all {} deployments ({} task runs) succeeded {wall:.1} s after the scheduled time", settled.len(), settled.len() * args.tasks);
        anyhow::Ok(())
    })
}
