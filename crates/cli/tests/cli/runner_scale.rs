//! Scale-out with remote runners: two `railyard serve --no-local-runner` processes on one PostgreSQL
//! database, three `railyard runner` processes (two talking to the first server, one to the second),
//! and a deployment of 1,000 tasks: every run is executed exactly once, by some runner, and the
//! deployment succeeds with an intact audit log.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::common::{BIN, Server, eventually, ry, serve_with, tasks_dir, turnover_with_task};

const TASKS: usize = 1_000;
const TURNOVERS: usize = 4;

struct Runner(Child);

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_runner(url: &str, token_file: &Path, work: &Path) -> Runner {
    std::fs::create_dir_all(work).unwrap();
    let child = Command::new(BIN)
        .args(["runner", "--server", url, "--concurrency", "4"])
        .arg("--token-file")
        .arg(token_file)
        .arg("--work-dir")
        .arg(work)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(work.with_extension("log")).unwrap())
        .spawn()
        .unwrap();
    Runner(child)
}

async fn call(http: &reqwest::Client, token: &str, method: reqwest::Method, url: String, body: Value) -> Value {
    let res = http.request(method, &url).bearer_auth(token).json(&body).send().await.unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {v}");
    v
}

/// `GET url` as `token`, its JSON body.
fn get(http: &reqwest::Client, rt: &tokio::runtime::Runtime, token: &str, url: String) -> Value {
    rt.block_on(async { http.get(url).bearer_auth(token).send().await.unwrap().json::<Value>().await.unwrap() })
}

/// The deployment once it ended (4 minutes at most: a debug build on two cores).
fn wait_for(http: &reqwest::Client, rt: &tokio::runtime::Runtime, base: &str, token: &str, id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    loop {
        let d = get(http, rt, token, format!("{base}/api/v1/deployments/{id}"));
        if !matches!(d["state"].as_str(), Some("scheduled" | "running")) {
            return d;
        }
        let done = d["runs"].as_array().map(|r| r.iter().filter(|r| r["state"] == "succeeded").count()).unwrap_or(0);
        assert!(std::time::Instant::now() < deadline, "{id} never ended ({done} runs succeeded)");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

#[test]
fn two_servers_three_runners_and_a_thousand_tasks_each_run_exactly_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(railyard_store_postgres::testing::fresh_database());
    let token = "runner-scale-admin-token-0123456789";
    let start = || {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--no-local-runner"])
            .env("RAILYARD_DATABASE", &url)
            .env("RAILYARD_ADMIN_TOKEN", token);
        let (child, base, _, rx) = serve_with(cmd);
        std::thread::spawn(move || for _ in rx {});
        (child, base)
    };
    let (a, a_url) = start();
    let (b, b_url) = start();
    let s = Server { child: a, url: a_url.clone(), admin_token: token.into(), db: "unused".into(), dir: tasks_dir() };
    let _b = Server { child: b, url: b_url.clone(), admin_token: token.into(), db: "unused".into(), dir: tasks_dir() };
    ry(&s, None, &["login", "--server", &s.url, "--token", token]).ok();
    let dir = s.dir.path().to_path_buf();
    let script = format!("echo \"$RAILYARD_RUN_ID\" >> {}/ids", dir.display());
    let (erin, to) = turnover_with_task(&s, &script);

    let http = reqwest::Client::new();
    let post = reqwest::Method::POST;
    // Four turnovers of 250 tasks (groups of 50), on the first one's release and path.
    let first = get(&http, &rt, token, format!("{a_url}/api/v1/turnovers/{to}"));
    let mut turnovers = vec![to.clone()];
    rt.block_on(async {
        for t in 1..TURNOVERS {
            let body =
                json!({"title": format!("build {t}"), "release": first["releases"][0], "path": first["path_id"]});
            let made = call(&http, token, post.clone(), format!("{a_url}/api/v1/turnovers"), body).await;
            turnovers.push(made["id"].as_str().unwrap().to_string());
        }
        for (t, to) in turnovers.iter().enumerate() {
            let from = if t == 0 { 1 } else { 0 };
            for i in from..TASKS / TURNOVERS {
                let body = json!({"title": format!("t{i}"), "sequence": 1 + i / 50,
                    "action": {"kind": "command", "program": "/bin/sh", "args": ["-c", &script]}});
                call(&http, token, post.clone(), format!("{a_url}/api/v1/turnovers/{to}/tasks"), body).await;
            }
        }
    });
    // Three runners, no labels: with --no-local-runner they take every run.
    let mut runners = Vec::new();
    for (i, server) in [&a_url, &b_url, &a_url].into_iter().enumerate() {
        let name = format!("r{i}");
        let r = rt.block_on(call(
            &http,
            token,
            post.clone(),
            format!("{a_url}/api/v1/runners"),
            json!({"name": name, "labels": ["any"]}),
        ));
        let file = dir.join(format!("{name}.token"));
        std::fs::write(&file, r["token"].as_str().unwrap()).unwrap();
        runners.push(start_runner(server, &file, &dir.join(format!("work-{name}"))));
    }
    let online = || {
        let list = get(&http, &rt, token, format!("{b_url}/api/v1/runners"));
        list["items"].as_array().unwrap().iter().filter(|r| r["online"] == true).count() == 3
    };
    assert!(eventually(60, online), "the three runners came online");

    let mut deployments = Vec::new();
    for to in &turnovers {
        deployments
            .push(ry(&s, Some(&erin), &["deploy", to, "--output", "json"]).json()["id"].as_str().unwrap().to_string());
    }
    let mut runs = Vec::new();
    for id in &deployments {
        let d = wait_for(&http, &rt, &b_url, token, id);
        let failed: Vec<String> = d["runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["state"] != "succeeded")
            .take(5)
            .map(|r| format!("{} {} {} {}", r["id"], r["state"], r["runner"], r["message"]))
            .collect();
        assert_eq!(d["state"], "succeeded", "{id}: runs that did not succeed: {failed:?}");
        runs.extend(d["runs"].as_array().unwrap().iter().cloned());
    }

    // Exactly once: 1,000 lines, 1,000 different runs, all first attempts.
    let ids: Vec<String> = std::fs::read_to_string(dir.join("ids")).unwrap().lines().map(str::to_string).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (TASKS, TASKS), "each run executed exactly once");
    assert!(ids.iter().all(|i| i.ends_with("-1")), "no second attempt");
    let by: BTreeSet<&str> = runs.iter().filter_map(|r| r["runner"].as_str()).collect();
    assert_eq!(runs.iter().filter(|r| r["runner"].is_string()).count(), TASKS, "every run names its runner");
    assert!(by.len() >= 2, "the work spread over the runners: {by:?}");
    let v = get(&http, &rt, token, format!("{b_url}/api/v1/audit/verify"));
    assert_eq!((v["intact"].as_bool(), v["records_differing"].as_u64()), (Some(true), Some(0)), "{v}");
    drop(runners);
}
