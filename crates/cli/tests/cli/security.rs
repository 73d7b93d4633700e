//! `railyard serve` as an attacker meets it: the bootstrap token from `RAILYARD_ADMIN_TOKEN` leaves the
//! process's environment at start and stops working once an admin has created another admin token; a
//! thousand concurrent wrong sign-ins neither exhaust memory nor lock the right password out for longer
//! than the window; `--public-url` is validated and makes the session cookie `Secure` over HTTPS.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::BIN;

const PASSWORD: &str = "correct horse battery staple";

/// A `railyard serve` child on a fresh SQLite file with `env` set; what it printed before listening.
struct Started {
    child: Child,
    url: String,
    printed: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Started {
    /// The admin token the server printed (a generated one), if any.
    fn printed_token(&self) -> Option<String> {
        self.printed.iter().find_map(|l| l.trim().strip_prefix("ry_").map(|t| format!("ry_{t}")))
    }
}

fn start(env: &[(&str, &str)]) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("railyard.db");
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", &format!("sqlite://{}", db.display())])
        .env_remove("RAILYARD_ADMIN_TOKEN")
        .env_remove("RAILYARD_PUBLIC_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = lines.next().expect("the server printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("Railyard is listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
        printed.push(line);
    };
    std::thread::spawn(move || for _ in lines {});
    Started { child, url, printed, _dir: dir }
}

async fn call(url: &str, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{url}{path}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, serde_json::from_str(&res.text().await.unwrap()).unwrap_or(Value::Null))
}

async fn post(url: &str, token: &str, path: &str, body: Value) -> Value {
    let (status, v) = call(url, token, reqwest::Method::POST, path, Some(body)).await;
    assert!(status.is_success(), "POST {path}: {status} {v}");
    v
}

async fn me(url: &str, token: &str) -> StatusCode {
    call(url, token, reqwest::Method::GET, "/api/v1/users/me", None).await.0
}

#[tokio::test]
async fn the_bootstrap_token_leaves_the_environment_and_stops_once_an_admin_creates_another_admin_token() {
    let preset = "preset-bootstrap-token-5f1c9a7e";
    let s = start(&[("RAILYARD_ADMIN_TOKEN", preset)]);
    let mut problems = Vec::new();

    // A task (or anything else reading the process) finds the token nowhere in its environment.
    let environ = std::fs::read(format!("/proc/{}/environ", s.child.id())).unwrap();
    if String::from_utf8_lossy(&environ).contains(preset) {
        problems.push("RAILYARD_ADMIN_TOKEN is still in /proc/<serve>/environ".to_string());
    }
    let said = s.printed.join("\n");
    if !said.contains("stops working once an admin creates another admin token") {
        problems.push(format!("serve does not say how long the bootstrap token lasts:\n{said}"));
    }

    // A token for a user who is not an admin leaves the bootstrap token as it is.
    post(&s.url, preset, "/api/v1/users", json!({"name": "rita", "roles": ["release_manager"]})).await;
    post(&s.url, preset, "/api/v1/tokens", json!({"user": "rita", "label": "laptop"})).await;
    assert_eq!(me(&s.url, preset).await, 200);

    // An admin token for another admin ends it, in the same commit, with its own audit event.
    post(&s.url, preset, "/api/v1/users", json!({"name": "ada", "roles": ["admin"]})).await;
    let created = post(&s.url, preset, "/api/v1/tokens", json!({"user": "ada", "label": "ada"})).await;
    let ada = created["token"].as_str().unwrap().to_string();
    let after = me(&s.url, preset).await;
    if after != 401 {
        problems.push(format!("the bootstrap token still works after ada's admin token was created: {after}"));
    }
    assert_eq!(me(&s.url, &ada).await, 200);
    let (_, events) =
        call(&s.url, &ada, reqwest::Method::GET, "/api/v1/audit/events?object_kind=token&limit=100", None).await;
    let items = events["items"].as_array().cloned().unwrap_or_default();
    let create = items.iter().find(|e| e["object_id"] == created["id"] && e["action"] == "create");
    let revoke = items.iter().find(|e| e["action"] == "revoke" && e["data"]["user"] == "admin");
    match (create, revoke) {
        (Some(c), Some(r)) => {
            assert_eq!(c["commit_seq"], r["commit_seq"], "one commit: {c} {r}");
            assert_eq!(r["data"]["reason"], "bootstrap_replaced", "{r}");
            assert_eq!(r["data"]["replaced_by"], created["id"], "{r}");
        }
        _ => problems.push(format!("no revoke event of the bootstrap token: {items:?}")),
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The resident memory of a process, in kB, as `/proc/<pid>/status` reports it.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|r| r.trim_start_matches(':').split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}

fn form(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{k}={}", v.replace(' ', "+"))).collect::<Vec<_>>().join("&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_wrong_sign_ins_stay_within_memory_and_the_right_password_works_after_the_window() {
    // A 5-second window (the default is 60) so the test waits little; room for all 1,000 connections
    // from this one address (a quarter of 4,096), so that every attempt reaches sign-in.
    let s = start(&[("RAILYARD_AUTH_FAILURE_WINDOW", "5"), ("RAILYARD_MAX_CONNECTIONS", "4096")]);
    let admin = s.printed_token().expect("the server printed the admin token");
    post(&s.url, &admin, "/api/v1/users/admin/password", json!({"password": PASSWORD})).await;

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(format!("{}/sign-in", s.url)).send().await.unwrap();
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("railyard_sign_in="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let sign_in = |name: String, password: String| {
        let http = http.clone();
        let (url, cookie) = (s.url.clone(), cookie.clone());
        async move {
            http.post(format!("{url}/sign-in"))
                .header("cookie", format!("railyard_sign_in={cookie}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&[("csrf", &cookie), ("name", &name), ("password", &password)]))
                .send()
                .await
        }
    };

    let pid = s.child.id();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = status_kb(pid, "VmRSS");
    let attempts: Vec<_> = (0..1000)
        .map(|i| {
            let name = if i % 2 == 0 { "admin".to_string() } else { format!("nobody{i}") };
            tokio::spawn(sign_in(name, format!("wrong password {i}")))
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::new();
    let mut retry_after = 0u64;
    for a in attempts {
        match a.await.unwrap() {
            Ok(res) => {
                *statuses.entry(res.status().as_u16()).or_insert(0) += 1;
                if let Some(secs) = res.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                {
                    retry_after = retry_after.max(secs);
                }
                let _ = res.bytes().await;
            }
            Err(_) => *statuses.entry(0).or_insert(0) += 1,
        }
    }
    // Settled: a few seconds after the last answer.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = status_kb(pid, "VmRSS");
    let peak = status_kb(pid, "VmHWM");
    let growth_mb = (after.saturating_sub(before)) as f64 / 1024.0;
    println!(
        "1000 concurrent wrong sign-ins: statuses {statuses:?}; VmRSS {before} kB -> {after} kB (+{growth_mb:.1} MB), VmHWM {peak} kB, Retry-After {retry_after}"
    );
    assert!(growth_mb < 100.0, "RSS grew by {growth_mb:.1} MB (statuses {statuses:?})");
    assert!(statuses.get(&429).copied().unwrap_or(0) > 0, "no attempt was limited: {statuses:?}");
    assert_eq!(statuses.get(&0), None, "connections failed: {statuses:?}");
    assert!((1..=5).contains(&retry_after), "Retry-After {retry_after} is not within the 5-second window");

    // Once the window the server named has passed (with a wide margin), the right password works.
    let deadline = Instant::now() + Duration::from_secs(retry_after + 3);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let res = sign_in("admin".into(), PASSWORD.into()).await.unwrap();
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    assert_eq!(res.headers()["location"], "/");
}

#[test]
fn serve_help_shows_the_public_url_and_a_bad_one_is_refused_clearly() {
    let help = Command::new(BIN).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    assert!(help.contains("--public-url") && help.contains("RAILYARD_PUBLIC_URL"), "{help}");
    assert!(help.contains("--auth-failure-window") && help.contains("RAILYARD_AUTH_FAILURE_WINDOW"), "{help}");
    for (url, says) in [
        ("ftp://railyard.example.com", "http or https"),
        ("https://railyard.example.com/railyard", "no path"),
        ("not a url", "not a URL"),
    ] {
        let out = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                "sqlite:///nonexistent/dir/x.db",
                "--public-url",
                url,
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("--public-url") && err.contains(says), "{url}: {err}");
    }
}

#[tokio::test]
async fn behind_an_https_public_url_the_cookies_are_secure_and_the_public_origin_is_the_one_accepted() {
    let public = "https://railyard.example.com";
    let s = start(&[("RAILYARD_PUBLIC_URL", public)]);
    let admin = s.printed_token().expect("the server printed the admin token");
    post(&s.url, &admin, "/api/v1/users/admin/password", json!({"password": PASSWORD})).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(format!("{}/sign-in", s.url)).send().await.unwrap();
    let form_cookie = page.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(form_cookie.contains("; Secure"), "{form_cookie}");
    let csrf = form_cookie.strip_prefix("railyard_sign_in=").unwrap().split(';').next().unwrap().to_string();
    let sign_in = |origin: &str| {
        http.post(format!("{}/sign-in", s.url))
            .header("origin", origin)
            .header("cookie", format!("railyard_sign_in={csrf}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("csrf", &csrf), ("name", "admin"), ("password", PASSWORD)]))
            .send()
    };
    // The address the request came to is not the console's origin when a public URL is set.
    let res = sign_in(&s.url).await.unwrap();
    assert_eq!(res.status(), 403);
    let res = sign_in(public).await.unwrap();
    assert_eq!(res.status(), 303);
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("railyard_session="))
        .expect("a session cookie")
        .to_string();
    for part in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(session.contains(part), "{part} missing from {session}");
    }
}
