//! Runners: registered by who may, their tokens good for the runner protocol only; environments name
//! their labels (unknown ones refused); runs of a labelled environment wait for a runner carrying the
//! labels (the deployment says so), are handed to exactly one, carry their output so far while they
//! run, and end with the runner's result, which names it. A runner that stops answering loses its runs
//! (interrupted, never rerun without a retry) and its late results are refused.

use serde_json::{Value, json};

use crate::common::TestApp;
use crate::deployments::{run, wait_for};

struct People {
    rita: String,
    erin: String,
    dan: String,
}

async fn people(app: &TestApp) -> People {
    let p = People {
        rita: app.user("rita", &["release_manager"]).await,
        erin: app.user("erin", &["release_engineer"]).await,
        dan: app.user("dan", &["developer"]).await,
    };
    app.user("paula", &["product_owner"]).await;
    app.user("eve", &["product_owner"]).await;
    app.post(&p.erin, "/api/v1/environments", json!({"name": "test", "kind": "test"})).await.ok();
    app.post(&p.rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments", "owner": "paula"})).await.ok();
    p
}

/// A turnover of PAY on a path through `test` with one task running `script`.
async fn turnover(app: &TestApp, p: &People, script: &str) -> String {
    let to = crate::common::pay_turnover_through_test(app, &p.rita, &p.erin, &p.dan).await;
    let action = json!({"kind": "command", "program": "/bin/sh", "args": ["-c", script], "timeout_secs": 30});
    app.post(
        &p.dan,
        &format!("/api/v1/turnovers/{to}/tasks"),
        json!({"title": "Deploy", "sequence": 1, "action": action}),
    )
    .await
    .expect(201);
    to
}

async fn register(app: &TestApp, token: &str, name: &str, labels: &[&str]) -> String {
    let r = app.post(token, "/api/v1/runners", json!({"name": name, "labels": labels})).await.expect(201);
    r["token"].as_str().unwrap().to_string()
}

async fn claim(app: &TestApp, runner: &str, body: Value) -> crate::common::Reply {
    app.post(runner, "/api/v1/runner/claim", body).await
}

/// Claims until a run comes (the engine queues it within a tick or two).
async fn claim_one(app: &TestApp, runner: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let c = claim(app, runner, json!({"version": "test", "capacity": 1})).await.expect(200);
        if let Some(r) = c["runs"].as_array().and_then(|r| r.first()) {
            return r.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no run came: {c}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn line(text: &str) -> Value {
    json!({"at": chrono::Utc::now(), "stream": "stdout", "text": text})
}

#[tokio::test]
async fn runners_are_registered_by_who_may_and_their_tokens_speak_only_the_runner_protocol() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    app.post(&p.dan, "/api/v1/runners", json!({"name": "eu-1", "labels": ["eu"]})).await.expect(403);
    app.post(&p.rita, "/api/v1/runners", json!({"name": "eu-1", "labels": ["eu"]})).await.expect(403);
    let r = app.post(&p.erin, "/api/v1/runners", json!({"name": "eu-1", "labels": ["Bad Label"]})).await.expect(422);
    assert!(r.to_string().contains("labels[0]"), "{r}");
    let before = app.event_count().await;
    let token = register(&app, &p.erin, "eu-1", &["eu", "linux"]).await;
    assert!(token.starts_with("ryrun_"), "{token}");
    assert_eq!(app.event_count().await, before + 1, "one event: the registration");
    let r = app.post(&p.erin, "/api/v1/runners", json!({"name": "eu-1", "labels": ["us"]})).await.expect(409);
    assert!(r["detail"].as_str().unwrap().contains("eu-1"), "{r}");

    // The token is shown once: never in a list, a runner or the audit log.
    let list = app.get(&p.dan, "/api/v1/runners").await.ok();
    let eu = &list["items"][0];
    assert_eq!(
        (eu["name"].as_str(), eu["state"].as_str(), eu["online"].as_bool()),
        (Some("eu-1"), Some("active"), Some(false))
    );
    let events = app.get(&app.admin, "/api/v1/audit/events?limit=500").await.ok();
    let hash = railyard_service::hash_token(&token);
    for text in [list.to_string(), app.get(&p.dan, "/api/v1/runners/eu-1").await.ok().to_string(), events.to_string()] {
        assert!(!text.contains(&token) && !text.contains(&hash), "token or hash shown: {text}");
    }

    // A runner token on any other endpoint: 403; a user's token on the protocol: 403.
    let r = app.get(&token, "/api/v1/trains").await.expect(403);
    assert!(r["detail"].as_str().unwrap().contains("runner protocol"), "{r}");
    let r = claim(&app, &p.erin, json!({"capacity": 1})).await.expect(403);
    assert!(r["detail"].as_str().unwrap().contains("runner"), "{r}");
    claim(&app, "ryrun_0000", json!({"capacity": 1})).await.expect(401);

    // Bad claims are named: an unknown label, too much capacity.
    let r = claim(&app, &token, json!({"capacity": 1, "labels": ["us"]})).await.expect(422);
    assert!(r.to_string().contains("'us'") && r.to_string().contains("eu, linux"), "{r}");
    let r = claim(&app, &token, json!({"capacity": 65})).await.expect(422);
    assert!(r.to_string().contains("capacity"), "{r}");
    claim(&app, &token, json!({"capacity": 0, "version": "0.1.0", "labels": ["eu"]})).await.expect(200);
    let eu = app.get(&p.dan, "/api/v1/runners/eu-1").await.ok();
    assert_eq!((eu["online"].as_bool(), eu["version"].as_str()), (Some(true), Some("0.1.0")), "{eu}");
    assert_eq!(eu["serving"], json!(["eu"]), "{eu}");

    // Environments name labels some runner carries; an unknown one is refused, naming it.
    let env = app.get(&p.erin, "/api/v1/environments/test").await.ok();
    let version = env["version"].as_i64().unwrap();
    let r = app
        .patch(&p.erin, "/api/v1/environments/test", json!({"runner_labels": ["eu", "mars"]}), version)
        .await
        .expect(422);
    assert!(r.to_string().contains("'mars'") && r.to_string().contains("runner_labels"), "{r}");
    let env = app.patch(&p.erin, "/api/v1/environments/test", json!({"runner_labels": ["eu"]}), version).await.ok();
    assert_eq!(env["runner_labels"], json!(["eu"]));

    // Who may revoke, and a revoked runner's token stops working at once.
    let actions = app.get(&p.dan, "/api/v1/runners/actions").await.ok();
    assert_eq!(actions[0]["allowed"], false, "{actions}");
    let actions = app.get(&p.erin, "/api/v1/runners/actions").await.ok();
    assert_eq!((actions[0]["allowed"].as_bool(), actions[0]["on"].as_str()), (Some(true), Some("eu-1")), "{actions}");
    app.post(&p.dan, "/api/v1/runners/eu-1/revoke", json!({})).await.expect(403);
    let r = app.post(&p.erin, "/api/v1/runners/eu-1/revoke", json!({})).await.ok();
    assert_eq!(r["state"], "revoked");
    app.post(&p.erin, "/api/v1/runners/eu-1/revoke", json!({})).await.expect(409);
    let r = claim(&app, &token, json!({"capacity": 1})).await.expect(401);
    assert!(r["detail"].as_str().unwrap().contains("revoked"), "{r}");
}

#[tokio::test]
async fn a_run_waits_for_a_runner_with_its_labels_goes_to_exactly_one_and_ends_with_its_result() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let eu = register(&app, &p.erin, "eu-1", &["eu"]).await;
    let eu2 = register(&app, &p.erin, "eu-2", &["eu", "linux"]).await;
    let us = register(&app, &p.erin, "us-1", &["us"]).await;
    app.post(
        &p.erin,
        "/api/v1/variables",
        json!({"name": "WHO", "value": "from test", "scope": {"kind": "environment", "environment": "test"}}),
    )
    .await
    .expect(201);
    let env = app.get(&p.erin, "/api/v1/environments/test").await.ok();
    app.patch(&p.erin, "/api/v1/environments/test", json!({"runner_labels": ["eu"]}), env["version"].as_i64().unwrap())
        .await
        .ok();
    let to = turnover(&app, &p, "echo ${var.WHO}").await;
    let d = app.post(&p.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.expect(201);
    let id = d["id"].as_str().unwrap().to_string();

    // No runner with its labels is online: the deployment says so, naming them.
    let d = wait_for(&app, &p.rita, &id, "a wait for a runner", |d| d["blocked"].is_string()).await;
    let blocked = d["blocked"].as_str().unwrap();
    assert!(blocked.contains("labels eu") && blocked.contains("none is online"), "{blocked}");
    assert_eq!(run(&d, "Deploy")["state"], "running", "{d}");

    // A runner without the labels gets nothing (its claim waits, then answers empty); one with them
    // gets the run, resolved; no other gets it.
    let c = claim(&app, &us, json!({"capacity": 4, "wait_ms": 300})).await.expect(200);
    assert_eq!(c["runs"], json!([]), "{c}");
    let r = claim(&app, &us, json!({"capacity": 1, "wait_ms": 30001})).await.expect(422);
    assert!(r.to_string().contains("wait_ms"), "{r}");
    let got = claim_one(&app, &eu).await;
    assert_eq!(got["claim"].as_str(), Some(format!("{id}:R1:1").as_str()), "{got}");
    assert_eq!(got["action"]["args"][1], "echo from test", "{got}");
    assert_eq!(got["env"]["RAILYARD_RUN_ID"], format!("{id}-R1-1"), "{got}");
    let claim_id = got["claim"].as_str().unwrap().to_string();
    let c = claim(&app, &eu2, json!({"capacity": 4})).await.expect(200);
    assert_eq!(c["runs"], json!([]), "exclusive: {c}");
    let d = wait_for(&app, &p.rita, &id, "the wait to clear", |d| d["blocked"].is_null()).await;
    assert_eq!(run(&d, "Deploy")["state"], "running");

    // Heartbeats renew the lease and bring the output so far, readable while it runs.
    let hb = format!("/api/v1/runner/runs/{claim_id}/heartbeat");
    let r = app.post(&eu, &hb, json!({"lines": [line("step 1")]})).await.expect(200);
    assert!(r["lease_expires_at"].is_string(), "{r}");
    let log = app.get(&p.dan, &format!("/api/v1/deployments/{id}/runs/R1/log")).await.ok();
    assert_eq!(log["lines"][0]["text"], "step 1", "{log}");
    // A heartbeat of long lines is past the 1 MiB every other body gets, and is taken whole.
    let long: Vec<Value> = (0..200).map(|i| line(&format!("{i:03}{}", "x".repeat(8000)))).collect();
    app.post(&eu, &hb, json!({"lines": long})).await.expect(200);
    let log = app.get(&p.dan, &format!("/api/v1/deployments/{id}/runs/R1/log")).await.ok();
    assert_eq!(
        log["lines"].as_array().unwrap().len(),
        1 + 131,
        "kept up to 1 MiB of text: {}",
        log["lines"].as_array().unwrap().len()
    );
    // Another runner's heartbeat or result for it: refused, nothing recorded.
    let r = app.post(&eu2, &hb, json!({"lines": []})).await.expect(409);
    assert_eq!(r["code"], "lease_lost", "{r}");
    let bad = app
        .post(&eu, &hb, json!({"lines": [{"at": chrono::Utc::now(), "stream": "stdin", "text": "x"}]}))
        .await
        .expect(422);
    assert!(bad.to_string().contains("lines[0].stream"), "{bad}");

    let result = json!({"status": "succeeded", "exit_code": 0, "message": "exited with 0", "finished_at": chrono::Utc::now(), "lines": [line("done")]});
    let res = format!("/api/v1/runner/runs/{claim_id}/result");
    app.post(&eu2, &res, result.clone()).await.expect(409);
    app.post(&eu, &res, result.clone()).await.expect(200);
    let d = wait_for(&app, &p.rita, &id, "success", |d| d["state"] == "succeeded").await;
    assert_eq!(run(&d, "Deploy")["runner"], "eu-1", "{d}");
    let log = app.get(&p.dan, &format!("/api/v1/deployments/{id}/runs/R1/log")).await.ok();
    let texts: Vec<&str> = log["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    // step 1, the long lines within 1 MiB, the result's short line (it still fits), the mark of the rest.
    assert_eq!(texts.len(), 1 + 131 + 2, "{:?}", &texts[texts.len() - 2..]);
    assert_eq!((texts[0], texts[132]), ("step 1", "done"));
    assert_eq!(texts[133], "[railyard: 69 lines dropped past the output limit]");
    // A second result for the same run: refused, the first stands.
    let r = app.post(&eu, &res, result).await.expect(409);
    assert_eq!(r["code"], "lease_lost", "{r}");
    let events = app.get(&app.admin, &format!("/api/v1/audit/events?object={id}&limit=100")).await.ok();
    let finish: Vec<&Value> =
        events["items"].as_array().unwrap().iter().filter(|e| e["action"] == "finish_run").collect();
    assert_eq!(finish.len(), 1, "{events}");
    assert!(finish[0].to_string().contains("eu-1"), "the result's event names the runner: {}", finish[0]);
    // Claims and presence are housekeeping: the audit log still explains every record.
    let v = app.get(&app.admin, "/api/v1/audit/verify").await.ok();
    assert_eq!((v["intact"].as_bool(), v["records_differing"].as_u64()), (Some(true), Some(0)), "{v}");
}

#[tokio::test]
async fn a_runner_that_stops_answering_loses_its_run_which_runs_again_only_on_a_retry() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let eu = register(&app, &p.erin, "eu-1", &["eu"]).await;
    let env = app.get(&p.erin, "/api/v1/environments/test").await.ok();
    app.patch(&p.erin, "/api/v1/environments/test", json!({"runner_labels": ["eu"]}), env["version"].as_i64().unwrap())
        .await
        .ok();
    let to = turnover(&app, &p, "sleep 60").await;
    let d = app.post(&p.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.expect(201);
    let id = d["id"].as_str().unwrap().to_string();
    let got = claim_one(&app, &eu).await;
    let claim_id = got["claim"].as_str().unwrap().to_string();

    // Its lease runs out (the server's clock moves past it): the run is interrupted, naming the runner.
    app.advance(chrono::Duration::seconds(11));
    let d = wait_for(&app, &p.rita, &id, "failure", |d| d["state"] == "failed").await;
    let r = run(&d, "Deploy");
    assert_eq!(r["state"], "interrupted", "{d}");
    let message = r["message"].as_str().unwrap();
    assert!(
        message.contains("eu-1") && message.contains("stopped answering") && message.contains("retry"),
        "{message}"
    );
    // Its heartbeat and its late result are refused; nobody gets the run again by itself.
    let r = app.post(&eu, &format!("/api/v1/runner/runs/{claim_id}/heartbeat"), json!({})).await.expect(409);
    assert_eq!(r["code"], "lease_lost");
    let late = json!({"status": "succeeded", "exit_code": 0, "finished_at": chrono::Utc::now()});
    app.post(&eu, &format!("/api/v1/runner/runs/{claim_id}/result"), late).await.expect(409);
    let c = claim(&app, &eu, json!({"capacity": 4})).await.expect(200);
    assert_eq!(c["runs"], json!([]), "{c}");
    let d = app.get(&p.rita, &format!("/api/v1/deployments/{id}")).await.ok();
    assert_eq!(run(&d, "Deploy")["state"], "interrupted", "the late result changed nothing: {d}");

    // A retry queues attempt 2, which a runner claims afresh.
    app.post(&p.erin, &format!("/api/v1/deployments/{id}/retry"), json!({})).await.ok();
    let again = claim_one(&app, &eu).await;
    assert_eq!(again["claim"].as_str(), Some(format!("{id}:R1:2").as_str()), "{again}");
    assert_eq!(again["attempt"], 2);
    let v = app.get(&app.admin, "/api/v1/audit/verify").await.ok();
    assert_eq!((v["intact"].as_bool(), v["records_differing"].as_u64()), (Some(true), Some(0)), "{v}");
}

#[tokio::test]
async fn with_two_servers_on_one_database_a_run_is_claimed_once_and_its_output_read_from_either() {
    let (a, b) = TestApp::pair_on_postgres().await;
    let p = people(&a).await;
    let r1 = register(&a, &p.erin, "eu-1", &["eu"]).await;
    let r2 = register(&b, &p.erin, "eu-2", &["eu"]).await;
    let env = a.get(&p.erin, "/api/v1/environments/test").await.ok();
    a.patch(&p.erin, "/api/v1/environments/test", json!({"runner_labels": ["eu"]}), env["version"].as_i64().unwrap())
        .await
        .ok();
    let to = turnover(&a, &p, "true").await;
    let d = a.post(&p.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.expect(201);
    let id = d["id"].as_str().unwrap().to_string();
    wait_for(&a, &p.rita, &id, "its run started", |d| run(d, "Deploy")["state"] == "running").await;

    // Both runners ask at once, one through each server: exactly one gets the run.
    let (c1, c2) = tokio::join!(claim(&a, &r1, json!({"capacity": 1})), claim(&b, &r2, json!({"capacity": 1})));
    let (c1, c2) = (c1.expect(200), c2.expect(200));
    let got: Vec<(&str, &Value)> = [("eu-1", &c1), ("eu-2", &c2)]
        .into_iter()
        .flat_map(|(n, c)| c["runs"].as_array().unwrap().iter().map(move |r| (n, r)))
        .collect();
    assert_eq!(got.len(), 1, "one claim: {c1} {c2}");
    let (name, run_claim) = got[0];
    let (token, server, other) = if name == "eu-1" { (&r1, &b, &a) } else { (&r2, &a, &b) };
    let claim_id = run_claim["claim"].as_str().unwrap();
    // Its output so far, sent through one server, is read from the other.
    server
        .post(token, &format!("/api/v1/runner/runs/{claim_id}/heartbeat"), json!({"lines": [line("halfway")]}))
        .await
        .expect(200);
    let log = other.get(&p.dan, &format!("/api/v1/deployments/{id}/runs/R1/log")).await.ok();
    assert_eq!(log["lines"][0]["text"], "halfway", "{log}");
    let result = json!({"status": "succeeded", "exit_code": 0, "finished_at": chrono::Utc::now()});
    server.post(token, &format!("/api/v1/runner/runs/{claim_id}/result"), result).await.expect(200);
    let d = wait_for(other, &p.rita, &id, "success", |d| d["state"] == "succeeded").await;
    assert_eq!(run(&d, "Deploy")["runner"], name, "{d}");
}

#[tokio::test]
async fn the_output_so_far_of_a_run_of_the_built_in_runner_is_read_from_the_other_server() {
    let (a, b) = TestApp::pair_on_postgres().await;
    let p = people(&a).await;
    // `test` names no runner labels: the first server's own engine runs it.
    let to = turnover(&a, &p, "echo first line; sleep 30").await;
    let d = a.post(&p.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.expect(201);
    let id = d["id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let log = b.get(&p.dan, &format!("/api/v1/deployments/{id}/runs/R1/log")).await.ok();
        if log["lines"][0]["text"] == "first line" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the other server never showed the output so far: {log}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let d = b.get(&p.dan, &format!("/api/v1/deployments/{id}")).await.ok();
    assert_eq!(run(&d, "Deploy")["state"], "running", "still running: {d}");
    assert!(run(&d, "Deploy")["runner"].is_null(), "the built-in runner runs it: {d}");
}

#[tokio::test]
async fn a_waiting_claim_is_answered_as_soon_as_a_run_is_queued() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let eu = register(&app, &p.erin, "eu-1", &["eu"]).await;
    let env = app.get(&p.erin, "/api/v1/environments/test").await.ok();
    app.patch(&p.erin, "/api/v1/environments/test", json!({"runner_labels": ["eu"]}), env["version"].as_i64().unwrap())
        .await
        .ok();
    let to = turnover(&app, &p, "true").await;
    // The runner asks first and waits; the deployment comes after.
    let waiting = claim(&app, &eu, json!({"capacity": 1, "wait_ms": 20000}));
    let deploy = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.post(&p.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.expect(201)
    };
    let asked = std::time::Instant::now();
    let (c, d) = tokio::join!(waiting, deploy);
    let c = c.expect(200);
    let id = d["id"].as_str().unwrap();
    assert_eq!(c["runs"][0]["claim"].as_str(), Some(format!("{id}:R1:1").as_str()), "{c}");
    assert!(asked.elapsed() < std::time::Duration::from_secs(15), "answered when the run came, not at the wait's end");
}
