//! Deployments run by the engine with real processes: sequence groups (R16), manual runs (R15),
//! validation, promotion and redeploys (R8), freezing (R12), blocked starts (R13), retries.

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::common::{TestApp, level, train_body};

pub(crate) async fn wait_for(app: &TestApp, token: &str, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = app.get(token, &format!("/api/v1/deployments/{id}")).await.ok();
        if pred(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "deployment {id} never got {what}: {d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn run<'a>(d: &'a Value, title: &str) -> &'a Value {
    d["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == title)
        .unwrap_or_else(|| panic!("no run {title} in {d}"))
}

struct Setup {
    rita: String,
    erin: String,
    dan: String,
    to: String,
    dir: tempfile::TempDir,
}

async fn setup(app: &TestApp) -> Setup {
    let rita = app.user("rita", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    app.user("eve", &["product_owner"]).await;
    for (name, kind) in [("test", "test"), ("staging", "staging")] {
        app.post(&erin, "/api/v1/environments", json!({"name": name, "kind": kind})).await.ok();
    }
    let p = app
        .post(&erin, "/api/v1/deployment-paths", json!({"name": "standard", "stages": [{"environment": "test"}, {"environment": "staging", "freeze_tasks": true}]}))
        .await
        .ok();
    let path = p["id"].as_str().unwrap().to_string();
    app.post(&erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await.ok();
    let t = app
        .post(&rita, "/api/v1/trains", train_body("T", json!({"executive": {"levels": [level(&["eve"], 1)]}})))
        .await
        .ok();
    let rt = t["id"].as_str().unwrap().to_string();
    app.post(&rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    let r = app
        .post(&rita, "/api/v1/application-releases", json!({"title": "PAY 1", "application": "PAY", "train": rt, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}}))
        .await
        .ok();
    let ar = r["id"].as_str().unwrap().to_string();
    app.post(&rita, &format!("/api/v1/trains/{rt}/submit"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/trains/{rt}/start-construction"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/application-releases/{ar}/begin-work"), json!({})).await.ok();
    let t = app
        .post(
            &dan,
            "/api/v1/turnovers",
            json!({"title": "build 42", "release": ar, "path": path, "artifacts": [{"name": "pay", "version": "42"}]}),
        )
        .await
        .ok();
    let to = t["id"].as_str().unwrap().to_string();
    let dir = crate::common::tasks_dir();
    let d = dir.path().display().to_string();
    let sh =
        |script: String| json!({"kind": "command", "program": "/bin/sh", "args": ["-c", script], "timeout_secs": 30});
    for (title, seq, action) in [
        ("Migrate schema", 1, sh(format!("echo migrated > {d}/db-$RAILYARD_ENVIRONMENT.txt"))),
        ("Record artifacts", 1, sh(format!("echo $RAILYARD_ARTIFACTS > {d}/artifacts.txt; echo done"))),
        (
            "Deploy web",
            2,
            sh(format!(
                "test ! -e {d}/fail || {{ echo 'web deploy failed' >&2; exit 3; }}; echo web > {d}/web-$RAILYARD_ENVIRONMENT.txt"
            )),
        ),
    ] {
        app.post(
            &dan,
            &format!("/api/v1/turnovers/{to}/tasks"),
            json!({"title": title, "sequence": seq, "action": action}),
        )
        .await
        .expect(201);
    }
    app.post(
        &dan,
        &format!("/api/v1/turnovers/{to}/tasks"),
        json!({"title": "Sign-off", "sequence": 3, "owner": "rita"}),
    )
    .await
    .expect(201);
    Setup { rita, erin, dan, to, dir }
}

#[tokio::test]
async fn a_turnover_deploys_through_test_and_staging_with_a_failure_fixed_and_redeployed() {
    let app = TestApp::spawn().await;
    let s = setup(&app).await;
    let dir = s.dir.path();
    app.post(&s.dan, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await.expect(403);
    let d = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await.expect(201);
    assert_eq!((d["environment"].as_str(), d["attempt"].as_u64()), (Some("test"), Some(1)));
    let id = d["id"].as_str().unwrap().to_string();
    let r = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await;
    assert_eq!(r.guards(), vec!["deployment_active"]);

    // Groups 1 and 2 run by themselves; the manual sign-off waits for its owner.
    let d =
        wait_for(&app, &s.rita, &id, "its manual run", |d| run(d, "Sign-off")["state"] == "waiting_for_owner").await;
    assert_eq!(run(&d, "Migrate schema")["state"], "succeeded");
    assert_eq!(run(&d, "Deploy web")["state"], "succeeded");
    assert_eq!(std::fs::read_to_string(dir.join("db-test.txt")).unwrap(), "migrated\n");
    assert_eq!(std::fs::read_to_string(dir.join("artifacts.txt")).unwrap(), "pay@42\n");
    assert!(dir.join("web-test.txt").exists());
    let log = app
        .get(
            &s.dan,
            &format!("/api/v1/deployments/{id}/runs/{}/log", run(&d, "Record artifacts")["id"].as_str().unwrap()),
        )
        .await
        .ok();
    assert_eq!(log["lines"][0]["text"], "done");
    let sign_off = run(&d, "Sign-off")["id"].as_str().unwrap().to_string();
    let r =
        app.post(&s.dan, &format!("/api/v1/deployments/{id}/runs/{sign_off}/complete"), json!({"done": true})).await;
    assert_eq!(r.guards(), vec!["not_run_owner"]);
    app.post(
        &s.rita,
        &format!("/api/v1/deployments/{id}/runs/{sign_off}/complete"),
        json!({"done": true, "note": "looks good"}),
    )
    .await
    .ok();
    wait_for(&app, &s.rita, &id, "succeeded", |d| d["state"] == "succeeded").await;
    let r = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await;
    assert_eq!(r.guards(), vec!["awaiting_validation"]);
    app.post(&s.erin, &format!("/api/v1/deployments/{id}/validate"), json!({"passed": true})).await.ok();
    assert_eq!(app.get(&s.dan, &format!("/api/v1/turnovers/{}", s.to)).await.ok()["state"], "in_flight");
    // R9: validated in test, not yet in staging.
    let release =
        app.get(&s.dan, &format!("/api/v1/turnovers/{}", s.to)).await.ok()["releases"][0].as_str().unwrap().to_string();
    let v = app.get(&s.rita, &format!("/api/v1/application-releases/{release}/verification")).await.ok();
    assert_eq!((v["verified"].as_bool(), v["missing"].clone()), (Some(false), json!(["staging"])));

    // Promote to staging, which freezes the tasks (R12); it fails there on purpose.
    std::fs::write(dir.join("fail"), "").unwrap();
    let d = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await.ok();
    assert_eq!(d["environment"], "staging");
    let staging = d["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &s.dan,
            &format!("/api/v1/turnovers/{}/tasks", s.to),
            json!({"title": "late", "sequence": 9, "owner": "dan"}),
        )
        .await;
    assert_eq!(r.guards(), vec!["frozen"]);
    let d = wait_for(&app, &s.rita, &staging, "failed", |d| d["state"] == "failed").await;
    let web = run(&d, "Deploy web");
    assert_eq!((web["state"].as_str(), web["exit_code"].as_i64()), (Some("failed"), Some(3)));
    assert_eq!(run(&d, "Sign-off")["state"], "pending", "the next group never started");
    let log =
        app.get(&s.dan, &format!("/api/v1/deployments/{staging}/runs/{}/log", web["id"].as_str().unwrap())).await.ok();
    assert_eq!(
        (log["lines"][0]["stream"].as_str(), log["lines"][0]["text"].as_str()),
        (Some("stderr"), Some("web deploy failed"))
    );

    // Fixed: the retry reruns the failed run, skips the succeeded ones, and goes on.
    std::fs::remove_file(dir.join("fail")).unwrap();
    app.post(&s.erin, &format!("/api/v1/deployments/{staging}/retry"), json!({})).await.ok();
    let d = wait_for(&app, &s.rita, &staging, "its manual run", |d| run(d, "Sign-off")["state"] == "waiting_for_owner")
        .await;
    assert_eq!(run(&d, "Migrate schema")["state"], "skipped");
    assert_eq!(run(&d, "Deploy web")["attempts"], 2);
    let sign_off = run(&d, "Sign-off")["id"].as_str().unwrap().to_string();
    app.post(&s.erin, &format!("/api/v1/deployments/{staging}/runs/{sign_off}/complete"), json!({"done": true}))
        .await
        .ok();
    wait_for(&app, &s.rita, &staging, "succeeded", |d| d["state"] == "succeeded").await;
    app.post(&s.erin, &format!("/api/v1/deployments/{staging}/validate"), json!({"passed": false})).await.expect(422);
    app.post(
        &s.erin,
        &format!("/api/v1/deployments/{staging}/validate"),
        json!({"passed": false, "note": "checkout is slow"}),
    )
    .await
    .ok();

    // Redeploy into staging (attempt 2), validate, and the turnover is complete.
    let d = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await.ok();
    assert_eq!((d["environment"].as_str(), d["attempt"].as_u64()), (Some("staging"), Some(2)));
    let again = d["id"].as_str().unwrap().to_string();
    let d =
        wait_for(&app, &s.rita, &again, "its manual run", |d| run(d, "Sign-off")["state"] == "waiting_for_owner").await;
    let sign_off = run(&d, "Sign-off")["id"].as_str().unwrap().to_string();
    app.post(&s.rita, &format!("/api/v1/deployments/{again}/runs/{sign_off}/complete"), json!({"done": true}))
        .await
        .ok();
    wait_for(&app, &s.rita, &again, "succeeded", |d| d["state"] == "succeeded").await;
    app.post(&s.erin, &format!("/api/v1/deployments/{again}/validate"), json!({"passed": true, "note": "fast now"}))
        .await
        .ok();
    assert_eq!(app.get(&s.dan, &format!("/api/v1/turnovers/{}", s.to)).await.ok()["state"], "completed");
    let v = app.get(&s.rita, &format!("/api/v1/application-releases/{release}/verification")).await.ok();
    assert_eq!((v["verified"].as_bool(), v["turnover"].as_str()), (Some(true), Some(s.to.as_str())), "{v}");
    let r = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await;
    assert_eq!(r.guards(), vec!["wrong_state", "path_complete"]);

    // Every step is audited, by the engine as `system`.
    let ev = app.get(&s.rita, &format!("/api/v1/audit/events?object={staging}&limit=500")).await.ok();
    let by_system: Vec<&str> = ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "system")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["start", "start_group", "finish_run", "fail", "manual_run_ready", "succeed"] {
        assert!(by_system.contains(&a), "missing {a} in {by_system:?}");
    }
    assert_eq!(app.get(&s.rita, "/api/v1/audit/verify").await.ok()["intact"], true);
}

#[tokio::test]
async fn a_maintenance_window_blocks_a_deployment_until_it_ends() {
    let app = TestApp::spawn().await;
    let s = setup(&app).await;
    // A window open for the next hour: the deployment waits, blocked. The test then moves the server's
    // clock past the window's end instead of waiting for a short window that a busy machine could miss.
    let end = app.now() + chrono::Duration::hours(1);
    let start = (app.now() - chrono::Duration::minutes(5)).to_rfc3339_opts(SecondsFormat::Secs, true);
    app.post(&s.erin, "/api/v1/environments/test/events", json!({"kind": "maintenance", "title": "DB upgrade", "start": start, "end": end.to_rfc3339_opts(SecondsFormat::Millis, true)}))
        .await
        .ok();
    let d = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await.ok();
    let id = d["id"].as_str().unwrap().to_string();
    let d = wait_for(&app, &s.rita, &id, "blocked", |d| d["blocked"].is_string()).await;
    assert_eq!(d["state"], "scheduled");
    assert!(d["blocked"].as_str().unwrap().contains("maintenance"), "{}", d["blocked"]);
    app.advance(chrono::Duration::minutes(61));
    let d = wait_for(&app, &s.rita, &id, "started", |d| d["state"] == "running").await;
    assert!(d["blocked"].is_null());
    let started: chrono::DateTime<Utc> = d["started_at"].as_str().unwrap().parse().unwrap();
    assert!(started >= end, "it started only once the window ended: {d}");
}

#[tokio::test]
async fn sending_the_release_back_returns_its_turnover_to_draft_and_withdraws_waiting_deployments() {
    let app = TestApp::spawn().await;
    let s = setup(&app).await;
    let t = app.get(&s.dan, &format!("/api/v1/turnovers/{}", s.to)).await.ok();
    let (rt, ar) = (t["train_id"].as_str().unwrap().to_string(), t["releases"][0].as_str().unwrap().to_string());
    let train = app.get(&s.rita, &format!("/api/v1/trains/{rt}")).await.ok();
    let mut policies = train["approval_policies"].clone();
    policies["development"] = json!({"levels": [level(&["eve"], 1)]});
    app.patch(
        &s.rita,
        &format!("/api/v1/trains/{rt}"),
        json!({"approval_policies": policies}),
        train["version"].as_i64().unwrap(),
    )
    .await
    .ok();
    let eve = app.post(&app.admin, "/api/v1/tokens", json!({"user": "eve"})).await.ok()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post(&s.rita, &format!("/api/v1/application-releases/{ar}/request-development-approval"), json!({}))
        .await
        .ok();
    let ap = r["development_approval"]["id"].as_str().unwrap();
    app.post(&eve, &format!("/api/v1/approvals/{ap}/approve"), json!({})).await.ok();

    // Through test, with the sign-off in rita's inbox while it waits.
    let d = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await.ok();
    let id = d["id"].as_str().unwrap().to_string();
    let d =
        wait_for(&app, &s.rita, &id, "its manual run", |d| run(d, "Sign-off")["state"] == "waiting_for_owner").await;
    let inbox = app.get(&s.rita, "/api/v1/me/inbox").await.ok();
    assert_eq!(inbox["manual_runs"][0]["deployment"], id.as_str());
    assert_eq!(inbox["manual_runs"][0]["title"], "Sign-off");
    let sign_off = run(&d, "Sign-off")["id"].as_str().unwrap().to_string();
    app.post(&s.rita, &format!("/api/v1/deployments/{id}/runs/{sign_off}/complete"), json!({"done": true})).await.ok();
    wait_for(&app, &s.rita, &id, "succeeded", |d| d["state"] == "succeeded").await;
    assert!(app.get(&s.rita, "/api/v1/me/inbox").await.ok()["manual_runs"].as_array().unwrap().is_empty());
    app.post(&s.erin, &format!("/api/v1/deployments/{id}/validate"), json!({"passed": true})).await.ok();

    // Staging is offline: the next deployment waits, blocked; the turnover is frozen by staging.
    app.post(&s.erin, "/api/v1/environments/staging/take-offline", json!({"reason": "storage migration"})).await.ok();
    let d = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await.ok();
    let staging = d["id"].as_str().unwrap().to_string();
    wait_for(&app, &s.rita, &staging, "blocked", |d| {
        d["blocked"] == "environment staging is offline: storage migration"
    })
    .await;
    assert!(app.get(&s.dan, &format!("/api/v1/turnovers/{}", s.to)).await.ok()["frozen"].is_string());

    // R10: the release goes back; its turnover returns to draft, unfrozen; the waiting deployment is withdrawn.
    app.post(&s.rita, &format!("/api/v1/application-releases/{ar}/send-back"), json!({"reason": "wrong build"}))
        .await
        .ok();
    let t = app.get(&s.dan, &format!("/api/v1/turnovers/{}", s.to)).await.ok();
    assert_eq!(t["state"], "draft");
    assert!(t["frozen"].is_null());
    assert_eq!(app.get(&s.rita, &format!("/api/v1/deployments/{staging}")).await.ok()["state"], "abandoned");
    app.post(
        &s.dan,
        &format!("/api/v1/turnovers/{}/tasks", s.to),
        json!({"title": "fix", "sequence": 9, "owner": "dan"}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn tasks_that_misbehave_end_in_a_clear_state_with_a_message() {
    let app = TestApp::spawn().await;
    let s = setup(&app).await;
    // A second turnover on the same release, with only misbehaving tasks, all in one group.
    let t = app.get(&s.dan, &format!("/api/v1/turnovers/{}", s.to)).await.ok();
    let spec = json!({"title": "chaos", "release": t["releases"][0], "path": t["path_id"]});
    let to = app.post(&s.dan, "/api/v1/turnovers", spec).await.ok()["id"].as_str().unwrap().to_string();
    let sh = |script: &str, timeout: u64| json!({"kind": "command", "program": "/bin/sh", "args": ["-c", script], "timeout_secs": timeout});
    for (title, action) in [
        ("missing program", json!({"kind": "command", "program": "deploy-that-does-not-exist"})),
        ("hangs", sh("sleep 30", 1)),
        ("floods", sh("head -c 3000000 /dev/zero | tr '\\0' x; echo", 30)),
        ("bad bytes", sh("printf 'caf\\351 ok\\n'", 30)),
        ("refused", json!({"kind": "http", "method": "POST", "url": "http://127.0.0.1:9/deploy", "timeout_secs": 5})),
    ] {
        app.post(
            &s.dan,
            &format!("/api/v1/turnovers/{to}/tasks"),
            json!({"title": title, "sequence": 1, "action": action}),
        )
        .await
        .expect(201);
    }
    let d = app.post(&s.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.ok();
    let id = d["id"].as_str().unwrap().to_string();
    let d = wait_for(&app, &s.rita, &id, "failed", |d| d["state"] == "failed").await;
    let missing = run(&d, "missing program");
    assert_eq!(missing["state"], "failed");
    assert!(missing["message"].as_str().unwrap().contains("deploy-that-does-not-exist"), "{missing}");
    let hangs = run(&d, "hangs");
    assert_eq!(hangs["state"], "timed_out", "{hangs}");
    let floods = run(&d, "floods");
    assert_eq!((floods["state"].as_str(), floods["truncated"].as_bool()), (Some("succeeded"), Some(true)), "{floods}");
    let log =
        app.get(&s.rita, &format!("/api/v1/deployments/{id}/runs/{}/log", floods["id"].as_str().unwrap())).await.ok();
    let last = log["lines"].as_array().unwrap().last().unwrap()["text"].as_str().unwrap().to_string();
    assert!(last.starts_with("[output cut: "), "{last}");
    let page = app
        .get(
            &s.rita,
            &format!("/api/v1/deployments/{id}/runs/{}/log?from_line=1&limit=2", floods["id"].as_str().unwrap()),
        )
        .await
        .ok();
    assert_eq!(page["lines"].as_array().unwrap().len(), 2);
    let bad = run(&d, "bad bytes");
    assert_eq!(bad["state"], "succeeded");
    let log =
        app.get(&s.rita, &format!("/api/v1/deployments/{id}/runs/{}/log", bad["id"].as_str().unwrap())).await.ok();
    assert_eq!(log["lines"][0]["text"], "caf\u{fffd} ok");
    let refused = run(&d, "refused");
    assert_eq!(refused["state"], "failed");
    assert!(refused["message"].as_str().unwrap().contains("127.0.0.1:9"), "{refused}");
}

#[tokio::test]
async fn a_task_with_retries_runs_again_by_itself_until_it_succeeds() {
    let app = TestApp::spawn().await;
    let s = setup(&app).await;
    let t = app.get(&s.dan, &format!("/api/v1/turnovers/{}", s.to)).await.ok();
    let spec = json!({"title": "flaky", "release": t["releases"][0], "path": t["path_id"]});
    let to = app.post(&s.dan, "/api/v1/turnovers", spec).await.ok()["id"].as_str().unwrap().to_string();
    let counter = s.dir.path().join("tries");
    // Fails the first two times, succeeds the third.
    let script =
        format!("n=$(cat {0} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {0}; test $n -ge 3", counter.display());
    let action = json!({"kind": "command", "program": "/bin/sh", "args": ["-c", script], "timeout_secs": 10});
    app.post(
        &s.dan,
        &format!("/api/v1/turnovers/{to}/tasks"),
        json!({"title": "flaky", "sequence": 1, "retries": 2, "action": action}),
    )
    .await
    .ok();
    let id = app.post(&s.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = wait_for(&app, &s.rita, &id, "succeeded", |d| d["state"] == "succeeded" || d["state"] == "failed").await;
    assert_eq!(d["state"], "succeeded", "{d}");
    assert_eq!(run(&d, "flaky")["attempts"], 3);
    let ev = app.get(&s.rita, &format!("/api/v1/audit/events?object={id}&limit=500")).await.ok();
    let finishes = ev["items"].as_array().unwrap().iter().filter(|e| e["action"] == "finish_run").count();
    assert_eq!(finishes, 3, "each attempt is recorded");
}

#[tokio::test]
async fn a_failed_group_settles_even_while_a_manual_run_waits_and_cancelling_withdraws_deployments() {
    let app = TestApp::spawn().await;
    let s = setup(&app).await;
    let t = app.get(&s.dan, &format!("/api/v1/turnovers/{}", s.to)).await.ok();
    let spec = json!({"title": "mixed", "release": t["releases"][0], "path": t["path_id"]});
    let to = app.post(&s.dan, "/api/v1/turnovers", spec).await.ok()["id"].as_str().unwrap().to_string();
    let fail = json!({"kind": "command", "program": "/bin/sh", "args": ["-c", "exit 4"]});
    app.post(
        &s.dan,
        &format!("/api/v1/turnovers/{to}/tasks"),
        json!({"title": "breaks", "sequence": 1, "action": fail}),
    )
    .await
    .ok();
    app.post(
        &s.dan,
        &format!("/api/v1/turnovers/{to}/tasks"),
        json!({"title": "check by hand", "sequence": 1, "owner": "rita"}),
    )
    .await
    .ok();
    let id = app.post(&s.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = wait_for(&app, &s.rita, &id, "failed", |d| d["state"] == "failed").await;
    assert_eq!(run(&d, "check by hand")["state"], "pending", "the waiting manual run is withdrawn: {d}");
    let r = app.post(&s.rita, &format!("/api/v1/deployments/{id}/runs/R2/complete"), json!({"done": false})).await;
    assert_eq!(r.status, 422, "a failed manual run needs a note");

    // Offline staging keeps the next deployment waiting; cancelling the turnover withdraws it.
    app.post(&s.erin, &format!("/api/v1/deployments/{id}/abandon"), json!({})).await.ok();
    app.post(&s.erin, "/api/v1/environments/test/take-offline", json!({})).await.ok();
    let next = app.post(&s.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(&app, &s.rita, &next, "blocked", |d| d["blocked"].is_string()).await;
    let r = app.post(&s.erin, &format!("/api/v1/deployments/{id}/retry"), json!({})).await;
    assert_eq!(r.status, 409, "only the latest deployment is retried: {}", r.body);
    app.post(&s.dan, &format!("/api/v1/turnovers/{to}/cancel"), json!({"reason": "replaced"})).await.ok();
    assert_eq!(app.get(&s.rita, &format!("/api/v1/deployments/{next}")).await.ok()["state"], "abandoned");
    // A decommissioned environment takes nothing.
    app.post(&s.erin, "/api/v1/environments/test/decommission", json!({})).await.ok();
    let r = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await;
    assert_eq!(r.guards(), vec!["environment_decommissioned"]);
}

/// Issue 12, finding 10: a task printing 50 MB keeps what the caps allow, and one mark at the end says
/// what was dropped, in bytes and in lines, counted over all of it.
#[tokio::test]
async fn a_flood_of_output_is_cut_behind_one_mark_that_counts_what_was_dropped() {
    let app = TestApp::spawn().await;
    let s = setup(&app).await;
    let t = app.get(&s.dan, &format!("/api/v1/turnovers/{}", s.to)).await.ok();
    let spec = json!({"title": "noisy", "release": t["releases"][0], "path": t["path_id"]});
    let to = app.post(&s.dan, "/api/v1/turnovers", spec).await.ok()["id"].as_str().unwrap().to_string();
    // 50,000,000 bytes in lines of 52 (51 characters and a break), the last one partial.
    let line = "0123456789".repeat(5) + "x";
    let total_bytes: u64 = 50_000_000;
    let script = format!("yes {line} | head -c {total_bytes}");
    let action = json!({"kind": "command", "program": "/bin/sh", "args": ["-c", script], "timeout_secs": 120});
    app.post(
        &s.dan,
        &format!("/api/v1/turnovers/{to}/tasks"),
        json!({"title": "noisy", "sequence": 1, "action": action}),
    )
    .await
    .expect(201);
    let id = app.post(&s.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = wait_for(&app, &s.rita, &id, "settled", |d| d["state"] == "succeeded" || d["state"] == "failed").await;
    let r = run(&d, "noisy");
    assert_eq!((r["state"].as_str(), r["truncated"].as_bool()), (Some("succeeded"), Some(true)), "{r}");
    let log = app.get(&s.rita, &format!("/api/v1/deployments/{id}/runs/{}/log", r["id"].as_str().unwrap())).await.ok();
    let lines: Vec<&str> = log["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    let (kept, mark) = lines.split_at(lines.len() - 1);
    assert!(kept.iter().all(|l| *l == line), "only whole lines of the output are kept");
    let kept_bytes = kept.len() as u64 * 52;
    assert!(kept.len() <= 20_000 && kept_bytes <= 1024 * 1024, "{} lines, {kept_bytes} bytes kept", kept.len());
    let total_lines = total_bytes.div_ceil(52);
    let dropped_lines = total_lines - kept.len() as u64;
    let dropped_mib = (total_bytes - kept_bytes) as f64 / (1024.0 * 1024.0);
    let with_commas = |n: u64| {
        let d = n.to_string();
        d.chars().enumerate().fold(String::new(), |mut out, (i, c)| {
            if i > 0 && (d.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
            out
        })
    };
    let expected = format!(
        "[output cut: {dropped_mib:.1} MiB in {} lines not kept; a run keeps at most 1 MiB and 20,000 lines]",
        with_commas(dropped_lines)
    );
    assert_eq!(mark, [expected.as_str()], "the one mark, after {} lines kept", kept.len());
}
