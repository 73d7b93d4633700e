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
    let path = path_through(&s, &erin, &["test"]);
    let (_, releases) = train_with_releases(&s, &rita, &["PAY"]);
    let ar = releases[0].clone();
    let t =
        ry(&s, d, &["turnover", "create", "--title", "build 7", "--release", &ar, "--path", &path, "--output", "json"])
            .json();
    let to = t["id"].as_str().unwrap().to_string();
    let dir = s.dir.path().display().to_string();
    // The first attempt waits for a sentinel that only the test creates (after the kill), so the kill always
    // lands while it runs; each attempt leaves its own mark.
    let db_task = format!(
        "echo started >> {dir}/db-starts.txt; i=0; while [ ! -e {dir}/quick ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; echo migrated > {dir}/db.txt"
    );
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
    // A run is recorded running before its program is under way: the kill must come once the migration
    // has said it started, or a loaded machine kills it before its first line.
    let starts = s.dir.path().join("db-starts.txt");
    assert!(
        eventually(60, || std::fs::read_to_string(&starts).is_ok_and(|t| t.lines().count() == 1)),
        "the migration never started"
    );

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
    let starts = std::fs::read_to_string(s.dir.path().join("db-starts.txt")).unwrap();
    assert_eq!(starts.lines().count(), 2, "the migration started twice: once before the kill, once on the retry");
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

/// Sets up a train in construction with a release that began work and an active path test → staging;
/// returns (rita, erin, dan, eve tokens, release, path).
fn stage_set(s: &Server) -> (String, String, String, String, String, String, String) {
    ry(s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let rita = create_user(s, "rita", "release_manager");
    let erin = create_user(s, "erin", "release_engineer");
    let dan = create_user(s, "dan", "developer");
    let eve = create_user(s, "eve", "product_owner");
    let path = path_through(s, &erin, &["test", "staging"]);
    let (rt, releases) = train_with_releases(s, &rita, &["PAY", "WEB"]);
    ry(s, Some(rita.as_str()), &["train", "policy", &rt, "development", "--level", "eve"]).ok();
    (rita, erin, dan, eve, releases[0].clone(), releases[1].clone(), path)
}

#[test]
fn through_the_cli_a_turnover_is_deployed_validated_promoted_fails_is_fixed_and_redeployed() {
    let s = start_server();
    let (rita, erin, dan, eve, pay, web, path) = stage_set(&s);
    let (r, e, d) = (Some(rita.as_str()), Some(erin.as_str()), Some(dan.as_str()));
    let dir = s.dir.path().display().to_string();
    let t = ry(
        &s,
        d,
        &["turnover", "create", "--title", "PAY build 42", "--release", &pay, "--path", &path, "--output", "json"],
    )
    .json();
    let to = t["id"].as_str().unwrap().to_string();
    let db = format!("echo schema > {dir}/db-$RAILYARD_ENVIRONMENT.txt; echo migrated");
    let cache = format!("echo warm > {dir}/cache-$RAILYARD_ENVIRONMENT.txt");
    let web_task = format!(
        "test ! -e {dir}/broken || {{ echo 'health check failed' >&2; exit 2; }}; echo up > {dir}/web-$RAILYARD_ENVIRONMENT.txt"
    );
    ry(
        &s,
        d,
        &[
            "task",
            "add",
            &to,
            "--title",
            "Migrate schema",
            "--sequence",
            "1",
            "--tier",
            "database",
            "--run",
            "/bin/sh",
            "-c",
            &db,
        ],
    )
    .ok();
    ry(
        &s,
        d,
        &[
            "task",
            "add",
            &to,
            "--title",
            "Warm cache",
            "--sequence",
            "1",
            "--tier",
            "database",
            "--run",
            "/bin/sh",
            "-c",
            &cache,
        ],
    )
    .ok();
    ry(
        &s,
        d,
        &[
            "task",
            "add",
            &to,
            "--title",
            "Deploy web",
            "--sequence",
            "2",
            "--tier",
            "web",
            "--run",
            "/bin/sh",
            "-c",
            &web_task,
        ],
    )
    .ok();
    ry(&s, d, &["task", "add", &to, "--title", "Sign-off", "--sequence", "3", "--owner", "rita"]).ok();

    // test: both groups run by themselves, the sign-off waits in rita's inbox.
    let id = ry(&s, e, &["deploy", &to, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    wait(&s, &s.url, &erin, &id, "the sign-off", |d| d["runs"][3]["state"] == "waiting_for_owner");
    let inbox = ry(&s, r, &["inbox"]).ok();
    assert!(inbox.contains(&id) && inbox.contains("Sign-off"), "{inbox}");
    ry(&s, r, &["run", "complete", &id, "R4", "--done", "--note", "checked"]).ok();
    let out = ry(&s, e, &["deployment", "watch", &id, "--timeout", "30"]).ok();
    assert!(out.contains("group 1 [####################] 2/2") && out.contains("succeeded"), "{out}");
    ry(&s, e, &["deployment", "validate", &id, "--pass"]).ok();
    for f in ["db-test.txt", "cache-test.txt", "web-test.txt"] {
        assert!(s.dir.path().join(f).exists(), "{f} was not written");
    }

    // staging: it fails on purpose; the watch exits non-zero and the log says why.
    std::fs::write(s.dir.path().join("broken"), "").unwrap();
    let st = ry(&s, e, &["deploy", &to, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    let run = ry(&s, e, &["deployment", "watch", &st, "--timeout", "30"]);
    assert!(!run.ok && run.stderr.contains("failed"), "{}", run.stdout);
    assert!(run.stdout.contains("Deploy web: failed (exited with 2)"), "{}", run.stdout);
    assert!(ry(&s, e, &["deployment", "logs", &st, "R3"]).ok().contains("health check failed"));

    // Fixed: abandon, redeploy into staging, validate.
    std::fs::remove_file(s.dir.path().join("broken")).unwrap();
    ry(&s, e, &["deployment", "abandon", &st]).ok();
    let again = ry(&s, e, &["deploy", &to, "--output", "json"]).json();
    assert_eq!((again["environment"].as_str(), again["attempt"].as_u64()), (Some("staging"), Some(2)));
    let again = again["id"].as_str().unwrap().to_string();
    wait(&s, &s.url, &erin, &again, "the sign-off", |d| d["runs"][3]["state"] == "waiting_for_owner");
    ry(&s, r, &["run", "complete", &again, "R4", "--done"]).ok();
    ry(&s, e, &["deployment", "watch", &again, "--timeout", "30"]).ok();
    ry(&s, e, &["deployment", "validate", &again, "--pass"]).ok();
    assert_eq!(field(&ry(&s, d, &["turnover", "show", &to]).ok(), "state"), "completed");

    // Another release's turnover is sent back to construction with its release.
    let t2 = ry(
        &s,
        d,
        &["turnover", "create", "--title", "WEB build 7", "--release", &web, "--path", &path, "--output", "json"],
    )
    .json();
    let to2 = t2["id"].as_str().unwrap().to_string();
    ry(&s, d, &["task", "add", &to2, "--title", "Deploy", "--sequence", "1", "--run", "/bin/true"]).ok();
    let dep = ry(&s, e, &["deploy", &to2, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    ry(&s, e, &["deployment", "watch", &dep, "--timeout", "30"]).ok();
    let out = ry(&s, r, &["release", "request-development-approval", &web, "--output", "json"]).json();
    let ap = out["development_approval"]["id"].as_str().unwrap().to_string();
    ry(&s, Some(eve.as_str()), &["approval", "approve", &ap]).ok();
    ry(&s, r, &["release", "send-back", &web, "--reason", "wrong build"]).ok();
    assert_eq!(field(&ry(&s, d, &["turnover", "show", &to2]).ok(), "state"), "draft");
    assert_eq!(field(&ry(&s, r, &["release", "show", &web]).ok(), "state"), "construction");
}
