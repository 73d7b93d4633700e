//! Deployments through the CLI, and the engine surviving a SIGKILL of the server mid-run.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

fn show(s: &Server, server: &str, token: &str, id: &str) -> Value {
    ry(s, Some(token), &["--server", server, "deployment", "show", id, "--output", "json"]).json()
}

fn wait(s: &Server, server: &str, token: &str, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let d = show(s, server, token, id);
        if pred(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "{id} never got {what}: {d}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_run_in_flight_when_the_server_is_killed_is_interrupted_and_a_retry_completes_the_deployment() {
    let mut s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let rita = create_user(&s, "rita", "release_manager");
    let erin = create_user(&s, "erin", "release_engineer");
    let dan = create_user(&s, "dan", "developer");
    create_user(&s, "eve", "product_owner");
    let (r, e, d) = (Some(rita.as_str()), Some(erin.as_str()), Some(dan.as_str()));
    ry(&s, e, &["env", "create", "test", "--kind", "test"]).ok();
    let p = ry(&s, e, &["path", "create", "quick", "--stage", "test", "--output", "json"]).json();
    let path = p["id"].as_str().unwrap().to_string();
    ry(&s, e, &["path", "activate", &path]).ok();
    let t = ry(
        &s,
        r,
        &[
            "train",
            "create",
            "--title",
            "T",
            "--type",
            "minor",
            "--start",
            "2027-01-04",
            "--scoping-end",
            "2027-01-15",
            "--construction-end",
            "2027-02-12",
            "--verification-end",
            "2027-02-26",
            "--production-date",
            "2027-03-06",
            "--output",
            "json",
        ],
    )
    .json();
    let rt = t["id"].as_str().unwrap().to_string();
    ry(&s, r, &["train", "policy", &rt, "executive", "--level", "eve"]).ok();
    ry(&s, r, &["app", "create", "PAY", "--name", "Payments"]).ok();
    let ar = ry(
        &s,
        r,
        &[
            "release",
            "create",
            "--title",
            "PAY 1",
            "--app",
            "PAY",
            "--train",
            &rt,
            "--start",
            "2027-01-05",
            "--end",
            "2027-02-05",
            "--output",
            "json",
        ],
    )
    .json();
    let ar = ar["id"].as_str().unwrap().to_string();
    ry(&s, r, &["train", "submit", &rt]).ok();
    ry(&s, r, &["train", "start-construction", &rt]).ok();
    ry(&s, r, &["release", "begin-work", &ar]).ok();
    let t =
        ry(&s, d, &["turnover", "create", "--title", "build 7", "--release", &ar, "--path", &path, "--output", "json"])
            .json();
    let to = t["id"].as_str().unwrap().to_string();
    let dir = s.dir.path().display().to_string();
    let db_task = format!("test -e {dir}/quick || sleep 4; echo migrated > {dir}/db.txt");
    let web_task = format!("echo web > {dir}/web.txt; echo deployed web");
    ry(
        &s,
        d,
        &["task", "add", &to, "--title", "Migrate schema", "--sequence", "1", "--run", "/bin/sh", "-c", &db_task],
    )
    .ok();
    ry(&s, d, &["task", "add", &to, "--title", "Deploy web", "--sequence", "2", "--run", "/bin/sh", "-c", &web_task])
        .ok();
    ry(&s, d, &["task", "add", &to, "--title", "Sign-off", "--sequence", "3", "--owner", "rita"]).ok();

    let dep = ry(&s, e, &["deploy", &to, "--output", "json"]).json();
    let id = dep["id"].as_str().unwrap().to_string();
    let url = s.url.clone();
    wait(&s, &url, &erin, &id, "its first run running", |d| d["runs"][0]["state"] == "running");

    // SIGKILL the server while the migration runs, and start it again on the same database.
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let (mut again, url2) = serve_on(&s.db);
    let dep = wait(&s, &url2, &erin, &id, "failed", |d| d["state"] == "failed");
    assert_eq!(dep["runs"][0]["state"], "interrupted", "{dep}");
    assert!(dep["runs"][0]["message"].as_str().unwrap().contains("interrupted"), "{dep}");
    assert_eq!(dep["runs"][1]["state"], "pending", "nothing after the interrupted run started");

    // Retry: the migration runs again (quickly now), the web group follows, the sign-off waits for rita.
    std::fs::write(s.dir.path().join("quick"), "").unwrap();
    ry(&s, e, &["--server", &url2, "deployment", "retry", &id]).ok();
    wait(&s, &url2, &erin, &id, "its manual run", |d| d["runs"][2]["state"] == "waiting_for_owner");
    ry(&s, d, &["--server", &url2, "run", "complete", &id, "R3", "--done"]).refused("not_run_owner");
    ry(&s, r, &["--server", &url2, "run", "complete", &id, "R3", "--done", "--note", "signed"]).ok();
    let out = ry(&s, e, &["--server", &url2, "deployment", "watch", &id, "--timeout", "30"]).ok();
    assert!(out.contains("succeeded"), "{out}");
    assert_eq!(std::fs::read_to_string(s.dir.path().join("db.txt")).unwrap(), "migrated\n");
    let log = ry(&s, e, &["--server", &url2, "deployment", "logs", &id, "R2"]).ok();
    assert!(log.contains("deployed web"), "{log}");
    let dep = show(&s, &url2, &erin, &id);
    assert_eq!(dep["runs"][0]["attempts"], 2);
    ry(&s, e, &["--server", &url2, "deployment", "validate", &id, "--pass"]).ok();
    let t = ry(&s, d, &["--server", &url2, "turnover", "show", &to, "--output", "json"]).json();
    assert_eq!(t["state"], "completed");
    let _ = again.kill();
    let _ = again.wait();
}
