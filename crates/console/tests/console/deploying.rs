//! The turnover page (its board, tasks and actions) and the deployment page (runs, logs, manual runs),
//! with the engine running the tasks as real processes.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{PASSWORD, TestApp};

pub struct Setup {
    pub erin: String,
    pub to: String,
}

/// Users rita (release manager), erin (release engineer), dan (developer), eve (product owner); a path
/// test → staging; a train in construction; a turnover of PAY 1 with two automation tasks in sequence 1,
/// one in sequence 2, and (when `manual`) a manual sign-off by rita in sequence 3.
pub async fn setup(app: &TestApp, manual: bool) -> Setup {
    let rita = app.user("rita", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    app.user("eve", &["product_owner"]).await;
    for (name, kind) in [("test", "test"), ("staging", "staging")] {
        app.post(&erin, "/api/v1/environments", json!({"name": name, "kind": kind})).await;
    }
    let stages = json!([{"environment": "test"}, {"environment": "staging", "freeze_tasks": true}]);
    let p = app.post(&erin, "/api/v1/deployment-paths", json!({"name": "standard", "stages": stages})).await;
    let path = p["id"].as_str().unwrap().to_string();
    app.post(&erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await;
    let level = json!({"approvers": ["eve"], "required": 1});
    let body = json!({
        "title": "Spring release", "release_type": "major", "purpose": "Q1 release",
        "schedule": {
            "start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"
        },
        "approval_policies": {"executive": {"levels": [level]}}
    });
    let train = app.post(&rita, "/api/v1/trains", body).await["id"].as_str().unwrap().to_string();
    app.post(&rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let body = json!({"title": "PAY 1", "application": "PAY", "train": train, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
    let release = app.post(&rita, "/api/v1/application-releases", body).await["id"].as_str().unwrap().to_string();
    app.post(&rita, &format!("/api/v1/trains/{train}/submit"), json!({})).await;
    app.post(&rita, &format!("/api/v1/trains/{train}/start-construction"), json!({})).await;
    app.post(&rita, &format!("/api/v1/application-releases/{release}/begin-work"), json!({})).await;
    let body =
        json!({"title": "build 42", "release": release, "path": path, "artifacts": [{"name": "pay", "version": "42"}]});
    let to = app.post(&dan, "/api/v1/turnovers", body).await["id"].as_str().unwrap().to_string();
    let sh =
        |script: &str| json!({"kind": "command", "program": "/bin/sh", "args": ["-c", script], "timeout_secs": 30});
    for (title, seq, script) in [
        ("Migrate schema", 1, "echo migrated $RAILYARD_ENVIRONMENT"),
        ("Record artifacts", 1, "echo $RAILYARD_ARTIFACTS"),
        ("Deploy web", 2, "echo web deployed"),
    ] {
        let task = json!({"title": title, "sequence": seq, "action": sh(script)});
        app.post(&dan, &format!("/api/v1/turnovers/{to}/tasks"), task).await;
    }
    if manual {
        let task = json!({"title": "Sign-off", "sequence": 3, "owner": "rita"});
        app.post(&dan, &format!("/api/v1/turnovers/{to}/tasks"), task).await;
    }
    Setup { erin, to }
}

/// Polls the API until the deployment satisfies `pred`.
pub async fn wait_for(app: &TestApp, token: &str, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = app.get(token, &format!("/api/v1/deployments/{id}")).await;
        if pred(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "deployment {id} never got {what}: {d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_turnover_page_shows_the_board_columns_and_the_tasks_by_sequence() {
    let app = TestApp::spawn().await;
    let s = setup(&app, true).await;
    let erin = app.browser();
    erin.sign_in("erin", PASSWORD).await;
    let page = erin.get(&format!("/turnovers/{}", s.to)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let b = &page.body;
    for text in [
        "build 42",
        r#"aria-label="Stage 1: test""#,
        r#"aria-label="Stage 2: staging""#,
        "Sequence 1 (run in parallel)",
        "Sequence 2",
        "Sequence 3",
        "Migrate schema",
        "Record artifacts",
        "manual, by rita",
        "runs <code>/bin/sh",
        "pay 42",
        "Not deployed yet.",
        &format!(r#"action="/turnovers/{}/deploy""#, s.to),
    ] {
        assert!(b.contains(text), "no {text:?} in:\n{b}");
    }
    // The sequence groups come in order.
    assert!(b.find("Sequence 1").unwrap() < b.find("Sequence 2").unwrap());
    assert!(b.find("Sequence 2").unwrap() < b.find("Sequence 3").unwrap());

    // A developer may not deploy: no deploy form for dan.
    let dan = app.browser();
    dan.sign_in("dan", PASSWORD).await;
    let page = dan.get(&format!("/turnovers/{}", s.to)).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("/deploy\""), "{}", page.body);
}

#[tokio::test]
async fn deploying_from_the_turnover_page_runs_to_succeeded_and_the_deployment_page_shows_the_runs() {
    let app = TestApp::spawn().await;
    let s = setup(&app, false).await;
    let erin = app.browser();
    erin.sign_in("erin", PASSWORD).await;
    let page = erin.get(&format!("/turnovers/{}", s.to)).await;
    let res = erin.post(&format!("/turnovers/{}/deploy", s.to), &[("csrf", &page.csrf())]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let id = res.location().strip_prefix("/deployments/").expect("sent to the deployment page").to_string();

    let live = erin.get(&format!("/deployments/{id}")).await;
    assert_eq!(live.status, 200, "{}", live.body);
    let active = app.get(&s.erin, &format!("/api/v1/deployments/{id}")).await;
    if active["state"] == "scheduled" || active["state"] == "running" {
        assert!(live.body.contains(r#"<meta http-equiv="refresh" content="2">"#), "{}", live.body);
    }

    let d = wait_for(&app, &s.erin, &id, "succeeded", |d| d["state"] == "succeeded").await;
    assert_eq!(d["environment"], "test");
    let page = erin.get(&format!("/deployments/{id}")).await;
    let b = &page.body;
    assert!(b.contains(r#"<p id="deployment-state"><span class="state">succeeded</span>"#), "{b}");
    assert!(!b.contains("http-equiv=\"refresh\""), "a settled deployment does not reload: {b}");
    for text in ["Migrate schema", "Record artifacts", "Deploy web", &format!("/deployments/{id}/runs/R1/log")] {
        assert!(b.contains(text), "no {text:?} in:\n{b}");
    }
    assert_eq!(b.matches(r#"<span class="state">succeeded</span>"#).count(), 4, "the deployment and its 3 runs: {b}");
    assert!(b.contains(&format!(r#"action="/deployments/{id}/validate""#)), "{b}");

    let log = erin.get(&format!("/deployments/{id}/runs/R1/log")).await;
    assert_eq!(log.status, 200, "{}", log.body);
    assert!(log.body.contains("migrated test"), "{}", log.body);

    // The board lists it under its stage, linked; nothing more deploys until it is validated (R8).
    let board = erin.get(&format!("/turnovers/{}", s.to)).await;
    assert!(board.body.contains(&format!(r#"href="/deployments/{id}""#)), "{}", board.body);
    assert!(!board.body.contains(&format!(r#"action="/turnovers/{}/deploy""#, s.to)), "{}", board.body);
    assert!(board.body.contains("Nothing to deploy now") && board.body.contains("awaits validation"), "{}", board.body);

    // Validated from the page.
    let res = erin.post(&format!("/deployments/{id}/validate"), &[("csrf", &page.csrf()), ("outcome", "pass")]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, format!("/deployments/{id}").as_str()), "{}", res.body);
    assert_eq!(app.get(&s.erin, &format!("/api/v1/deployments/{id}")).await["state"], "validated");
    // Validated in test, it is offered into staging.
    let board = erin.get(&format!("/turnovers/{}", s.to)).await;
    assert!(board.body.contains("Deploy to staging"), "{}", board.body);
}

#[tokio::test]
async fn deploying_again_while_one_is_active_shows_the_guard() {
    let app = TestApp::spawn().await;
    let s = setup(&app, true).await;
    let erin = app.browser();
    erin.sign_in("erin", PASSWORD).await;
    let page = erin.get(&format!("/turnovers/{}", s.to)).await;
    let path = format!("/turnovers/{}/deploy", s.to);
    let first = erin.post(&path, &[("csrf", &page.csrf())]).await;
    assert_eq!(first.status, 303, "{}", first.body);
    // The manual sign-off keeps the first one active.
    let again = erin.post(&path, &[("csrf", &page.csrf())]).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("The action was refused"), "{}", again.body);
    assert!(again.body.contains("(deployment_active)"), "{}", again.body);
}

#[tokio::test]
async fn a_manual_run_is_completed_from_the_deployment_page_by_its_owner() {
    let app = TestApp::spawn().await;
    let s = setup(&app, true).await;
    let id = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let waiting = |d: &Value| d["runs"].as_array().is_some_and(|r| r.iter().any(|r| r["state"] == "waiting_for_owner"));
    let d = wait_for(&app, &s.erin, &id, "a run waiting for its owner", waiting).await;
    let run = d["runs"].as_array().unwrap().iter().find(|r| r["title"] == "Sign-off").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let action = format!(r#"action="/deployments/{id}/runs/{run}/complete""#);

    // dan is not its owner and not a release engineer: no form.
    let dan = app.browser();
    dan.sign_in("dan", PASSWORD).await;
    assert!(!dan.get(&format!("/deployments/{id}")).await.body.contains(&action));

    let rita = app.browser();
    rita.sign_in("rita", PASSWORD).await;
    let page = rita.get(&format!("/deployments/{id}")).await;
    assert!(page.body.contains(&action), "{}", page.body);
    assert!(page.body.contains("waiting for owner"), "{}", page.body);
    let res = rita
        .post(
            &format!("/deployments/{id}/runs/{run}/complete"),
            &[("csrf", &page.csrf()), ("outcome", "done"), ("note", "signed off")],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    wait_for(&app, &s.erin, &id, "succeeded", |d| d["state"] == "succeeded").await;
    let events = app.events_of(&id).await;
    assert!(events.iter().any(|e| e["actor"] == "rita"), "{events:?}");
}

#[tokio::test]
async fn a_production_ready_turnover_is_delivered_reviewed_and_scheduled_from_its_page() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    app.user("ed", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let dave = app.user("dave", &["developer"]).await;
    app.user("eve", &["product_owner"]).await;
    app.post(&erin, "/api/v1/environments", json!({"name": "test", "kind": "test"})).await;
    app.post(&erin, "/api/v1/environments", json!({"name": "prod-eu", "kind": "production"})).await;
    let p =
        app.post(&erin, "/api/v1/deployment-paths", json!({"name": "pre", "stages": [{"environment": "test"}]})).await;
    let path = p["id"].as_str().unwrap().to_string();
    app.post(&erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await;
    let level = |who: &str| json!({"levels": [{"approvers": [who], "required": 1}]});
    let body = json!({
        "title": "Spring release", "release_type": "major", "purpose": "Q1 release",
        "schedule": {
            "start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"
        },
        "approval_policies": {"executive": level("eve"), "development": level("dave")}
    });
    let train = app.post(&rita, "/api/v1/trains", body).await["id"].as_str().unwrap().to_string();
    app.post(&rita, "/api/v1/applications", json!({"key": "DB", "name": "Database"})).await;
    let body = json!({"title": "DB 2", "application": "DB", "train": train, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
    let release = app.post(&rita, "/api/v1/application-releases", body).await["id"].as_str().unwrap().to_string();
    app.post(&rita, &format!("/api/v1/trains/{train}/submit"), json!({})).await;
    app.post(&rita, &format!("/api/v1/trains/{train}/start-construction"), json!({})).await;
    app.post(&rita, &format!("/api/v1/application-releases/{release}/begin-work"), json!({})).await;
    let body = json!({"title": "db build", "release": release, "path": path});
    let pre = app.post(&dan, "/api/v1/turnovers", body).await["id"].as_str().unwrap().to_string();
    let action = json!({"kind": "command", "program": "/bin/sh", "args": ["-c", "echo installed"], "timeout_secs": 30});
    let task = json!({"title": "db install", "sequence": 1, "tier": "database", "action": action});
    app.post(&dan, &format!("/api/v1/turnovers/{pre}/tasks"), task).await;
    let de = app.post(&erin, &format!("/api/v1/turnovers/{pre}/deploy"), json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(&app, &erin, &de, "succeeded", |d| d["state"] == "succeeded").await;
    app.post(&erin, &format!("/api/v1/deployments/{de}/validate"), json!({"passed": true})).await;
    let dap = app
        .post(&rita, &format!("/api/v1/application-releases/{release}/request-development-approval"), json!({}))
        .await;
    let ap = dap["development_approval"]["id"].as_str().unwrap().to_string();
    app.post(&dave, &format!("/api/v1/approvals/{ap}/approve"), json!({})).await;
    app.post(&rita, &format!("/api/v1/trains/{train}/start-verification"), json!({})).await;
    let body = json!({"title": "Spring production", "releases": [release], "environments": ["prod-eu"]});
    let to = app.post(&erin, "/api/v1/production-turnovers", body).await["id"].as_str().unwrap().to_string();
    app.post(&erin, &format!("/api/v1/turnovers/{to}/tasks/copy"), json!({"from": pre})).await;
    let page_path = format!("/turnovers/{to}");
    let state = || async { app.get(&erin, &format!("/api/v1/turnovers/{to}")).await["state"].clone() };

    // erin delivers it; she may not accept her own turnover, so ed reviews it.
    let erin_b = app.browser();
    erin_b.sign_in("erin", PASSWORD).await;
    let page = erin_b.get(&page_path).await;
    assert!(page.body.contains("Production-ready") && page.body.contains("Stage 1: prod-eu"), "{}", page.body);
    let erin_csrf = page.csrf();
    let res = erin_b.post(&format!("{page_path}/deliver"), &[("csrf", &erin_csrf)]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, page_path.as_str()), "{}", res.body);
    assert_eq!(state().await, "delivered");

    let ed = app.browser();
    ed.sign_in("ed", PASSWORD).await;
    let page = ed.get(&page_path).await;
    let ed_csrf = page.csrf();
    assert!(page.body.contains(&format!(r#"action="{page_path}/accept""#)), "{}", page.body);
    let res =
        ed.post(&format!("{page_path}/reject"), &[("csrf", &page.csrf()), ("comment", "add the release note")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(state().await, "draft");
    assert!(ed.get(&page_path).await.body.contains("add the release note"));
    let res = erin_b.post(&format!("{page_path}/deliver"), &[("csrf", &erin_csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let page = erin_b.get(&page_path).await;
    assert!(!page.body.contains(&format!(r#"action="{page_path}/accept""#)), "not for her own: {}", page.body);
    let res = erin_b.post(&format!("{page_path}/accept"), &[("csrf", &erin_csrf)]).await;
    assert_eq!(res.status, 409, "her own turnover: {}", res.body);
    assert!(res.body.contains("(own_turnover)"), "{}", res.body);
    let res = ed.post(&format!("{page_path}/accept"), &[("csrf", &ed_csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(state().await, "accepted");

    // Scheduled with a datetime-local value, read as UTC.
    let page = ed.get(&page_path).await;
    assert!(page.body.contains(r#"type="datetime-local""#), "{}", page.body);
    let when = chrono::Utc::now() + chrono::Duration::hours(2);
    let local = when.format("%Y-%m-%dT%H:%M").to_string();
    let form =
        [("csrf", page.csrf()), ("environment", "prod-eu".into()), ("at", local), ("window_minutes", "30".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = ed.post(&format!("{page_path}/schedule"), &form).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let board = ed.get(&page_path).await.body;
    let shown = format!("scheduled for <time datetime=\"{}", when.format("%Y-%m-%dT%H:%M:00+00:00"));
    assert!(board.contains(&shown), "no {shown:?} in:\n{board}");
}

#[tokio::test]
async fn a_running_task_shows_its_output_so_far_and_the_whole_log_when_it_ends() {
    let app = TestApp::spawn().await;
    let s = setup(&app, false).await;
    // A slow first task: a line, a pause, another line. The engine keeps its output as it comes.
    let dan_token = app.post(&app.admin, "/api/v1/tokens", json!({"user": "dan", "label": "slow"})).await;
    let dan = dan_token["token"].as_str().unwrap().to_string();
    let slow = json!({"title": "Slow migration", "sequence": 1, "action": {"kind": "command", "program": "/bin/sh",
        "args": ["-c", "echo step one; sleep 3; echo step two"], "timeout_secs": 30}});
    let t = app.post(&dan, &format!("/api/v1/turnovers/{}/tasks", s.to), slow).await;
    let slow_run = t["tasks"].as_array().unwrap().iter().position(|x| x["title"] == "Slow migration").unwrap();
    let erin = app.browser();
    erin.sign_in("erin", PASSWORD).await;
    let page = erin.get(&format!("/turnovers/{}", s.to)).await;
    let res = erin.post(&format!("/turnovers/{}/deploy", s.to), &[("csrf", &page.csrf())]).await;
    let id = res.location().strip_prefix("/deployments/").expect("sent to the deployment page").to_string();

    // The run's id on the deployment (runs follow the tasks' order).
    let d = wait_for(&app, &s.erin, &id, "runs", |d| d["runs"].as_array().is_some_and(|r| !r.is_empty())).await;
    let run = d["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == "Slow migration")
        .and_then(|r| r["id"].as_str())
        .unwrap_or_else(|| panic!("no slow run (task {slow_run}) in {d}"))
        .to_string();
    let path = format!("/deployments/{id}/runs/{run}/log");
    let deadline = Instant::now() + Duration::from_secs(20);
    let so_far = loop {
        let log = erin.get(&path).await;
        if log.body.contains("step one") {
            break log;
        }
        assert!(Instant::now() < deadline, "the output so far never showed:\n{}", log.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Still running: the first line only, and the page reloads itself.
    assert!(!so_far.body.contains("step two"), "{}", so_far.body);
    assert!(so_far.body.contains("Running: the output so far"), "{}", so_far.body);
    assert!(so_far.body.contains(r#"<meta http-equiv="refresh" content="2">"#), "{}", so_far.body);
    let api = app.get(&s.erin, &format!("/api/v1/deployments/{id}/runs/{run}/log")).await;
    assert_eq!(api["lines"].as_array().map(Vec::len), Some(1), "{api}");

    wait_for(&app, &s.erin, &id, "succeeded", |d| d["state"] == "succeeded").await;
    let log = erin.get(&path).await;
    assert!(log.body.contains("step one") && log.body.contains("step two"), "{}", log.body);
    assert!(!log.body.contains("http-equiv=\"refresh\""), "a finished run's log does not reload: {}", log.body);
}
