//! Into production: executive approval, production-ready turnovers spanning releases (tasks copied and
//! ordered database first), acceptance by release engineering, scheduled deployments into locked
//! environments started by the engine on time (R11), early starts under override, dependency order
//! across turnovers (R5), blackouts (R13), stop the line, verification, rollback and closing (R14).

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, level, train_body};

async fn wait_for(app: &TestApp, token: &str, path: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let v = app.get(token, path).await.ok();
        if pred(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{path} never got {what}: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Schedules a turnover as soon as the rules allow without racing the clock: half a minute ahead on the
/// server's clock, which the test then moves past that time (nothing else may be running then).
async fn schedule_soon(app: &TestApp, f: &Flow, turnover: &str, env: &str) -> Value {
    let body = json!({"environment": env, "at": app.at(30)});
    let d = app.post(&f.erin, &format!("/api/v1/turnovers/{turnover}/schedule"), body).await.ok();
    app.advance(chrono::Duration::seconds(31));
    d
}

fn at(secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap().with_timezone(&Utc)
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// People, environments, one train with three application releases (API depends on DB, WEB on API),
/// each with a pre-production turnover validated in `test`; the train in verification.
struct Flow {
    rita: String,
    erin: String,
    ed: String,
    dan: String,
    eve: String,
    train: String,
    /// DB, API, WEB releases.
    releases: [String; 3],
    /// Their pre-production turnovers.
    turnovers: [String; 3],
    dir: tempfile::TempDir,
}

async fn flow(app: &TestApp) -> Flow {
    flow_with(app, true).await
}

/// As [`flow`]; without `validate_web`, WEB's pre-production deployment is left unvalidated (WEB is then
/// development-approved but not verified, R9).
async fn flow_with(app: &TestApp, validate_web: bool) -> Flow {
    let rita = app.user("rita", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let ed = app.user("ed", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let dave = app.user("dave", &["developer"]).await;
    let eve = app.user("eve", &["product_owner"]).await;
    app.post(&erin, "/api/v1/environments", json!({"name": "test", "kind": "test"})).await.ok();
    for name in ["prod-eu", "prod-us"] {
        let e = app.post(&erin, "/api/v1/environments", json!({"name": name, "kind": "production"})).await.ok();
        assert_eq!(e["locked"], true, "production environments are locked by default");
    }
    let p =
        app.post(&erin, "/api/v1/deployment-paths", json!({"name": "pre", "stages": [{"environment": "test"}]})).await;
    let path = id(&p.ok());
    app.post(&erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await.ok();
    let policies =
        json!({"executive": {"levels": [level(&["eve"], 1)]}, "development": {"levels": [level(&["dave"], 1)]}});
    let train = id(&app.post(&rita, "/api/v1/trains", train_body("Spring", policies)).await.ok());
    let dir = crate::common::tasks_dir();
    let d = dir.path().display().to_string();
    let mut releases = Vec::new();
    for key in ["DB", "API", "WEB"] {
        app.post(&rita, "/api/v1/applications", json!({"key": key, "name": key})).await.ok();
        let r = app
            .post(&rita, "/api/v1/application-releases", json!({"title": format!("{key} 2"), "application": key, "train": train, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}}))
            .await
            .ok();
        releases.push(id(&r));
    }
    for (dependent, on) in [(1, 0), (2, 1)] {
        app.post(
            &rita,
            &format!("/api/v1/application-releases/{}/dependencies", releases[dependent]),
            json!({"depends_on": releases[on]}),
        )
        .await
        .ok();
    }
    app.post(&rita, &format!("/api/v1/trains/{train}/submit"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/trains/{train}/start-construction"), json!({})).await.ok();
    let mut turnovers = Vec::new();
    for (r, key, tier) in [(&releases[0], "db", "database"), (&releases[1], "api", "app"), (&releases[2], "web", "web")]
    {
        app.post(&rita, &format!("/api/v1/application-releases/{r}/begin-work"), json!({})).await.ok();
        let t = app
            .post(&dan, "/api/v1/turnovers", json!({"title": format!("{key} build"), "release": r, "path": path}))
            .await
            .ok();
        let to = id(&t);
        // Each task appends a line to a log per environment, so the order across turnovers is visible.
        let sh = |text: &str| json!({"kind": "command", "program": "/bin/sh", "args": ["-c", format!("echo {text} >> {d}/log-$RAILYARD_ENVIRONMENT.txt")], "timeout_secs": 30});
        for (title, seq, tier, rollback) in [
            (format!("{key} install"), 1, tier, false),
            (format!("{key} smoke"), 2, tier, false),
            (format!("{key} undo"), 1, tier, true),
        ] {
            let body =
                json!({"title": title, "sequence": seq, "tier": tier, "rollback": rollback, "action": sh(&title)});
            app.post(&dan, &format!("/api/v1/turnovers/{to}/tasks"), body).await.expect(201);
        }
        let dep = app.post(&erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.expect(201);
        let de = id(&dep);
        wait_for(app, &erin, &format!("/api/v1/deployments/{de}"), "success", |v| v["state"] == "succeeded").await;
        if validate_web || key != "web" {
            app.post(&erin, &format!("/api/v1/deployments/{de}/validate"), json!({"passed": true})).await.ok();
        }
        let dap = app
            .post(&rita, &format!("/api/v1/application-releases/{r}/request-development-approval"), json!({}))
            .await
            .ok();
        let ap = dap["development_approval"]["id"].as_str().unwrap().to_string();
        app.post(&dave, &format!("/api/v1/approvals/{ap}/approve"), json!({})).await.ok();
        turnovers.push(to);
    }
    assert_eq!(
        app.post(&rita, &format!("/api/v1/trains/{train}/start-verification"), json!({})).await.ok()["state"],
        "verification"
    );
    // The rollback tasks did not run in test: only rollbacks run them.
    let log = std::fs::read_to_string(dir.path().join("log-test.txt")).unwrap();
    assert!(!log.contains("undo"), "{log}");
    Flow {
        rita,
        erin,
        ed,
        dan,
        eve,
        train,
        releases: releases.try_into().unwrap(),
        turnovers: turnovers.try_into().unwrap(),
        dir,
    }
}

/// A production-ready turnover made by erin from the given pre-production turnovers, ordered by the
/// proposal (with a slow first task when asked), delivered and accepted by ed.
async fn accepted(
    app: &TestApp,
    f: &Flow,
    title: &str,
    releases: &[&str],
    from: &[&str],
    envs: &[&str],
    slow: bool,
) -> String {
    let t = app
        .post(
            &f.erin,
            "/api/v1/production-turnovers",
            json!({"title": title, "releases": releases, "environments": envs}),
        )
        .await
        .expect(201);
    let to = id(&t);
    app.post(&f.erin, &format!("/api/v1/turnovers/{to}/tasks/copy"), json!({"from": from})).await.ok();
    let p = app.get(&f.erin, &format!("/api/v1/turnovers/{to}/proposed-order")).await.ok();
    app.post(&f.erin, &format!("/api/v1/turnovers/{to}/tasks/reorder"), json!({"order": p["order"]})).await.ok();
    if slow {
        // A first group that takes a while, so that the deployment is seen running.
        let action = json!({"kind": "command", "program": "/bin/sleep", "args": ["2"], "timeout_secs": 30});
        let body = json!({"title": "drain traffic", "sequence": 1, "tier": "database", "action": action});
        app.post(&f.erin, &format!("/api/v1/turnovers/{to}/tasks"), body).await.expect(201);
    }
    app.post(&f.erin, &format!("/api/v1/turnovers/{to}/deliver"), json!({})).await.ok();
    assert_eq!(app.post(&f.ed, &format!("/api/v1/turnovers/{to}/accept"), json!({})).await.ok()["state"], "accepted");
    to
}

/// Erin rolls a production-ready turnover back in one environment; the rollback deployment's API path.
async fn rollback(app: &TestApp, f: &Flow, turnover: &str, environment: &str, reason: &str) -> String {
    let body = json!({"environment": environment, "reason": reason});
    let rb = app.post(&f.erin, &format!("/api/v1/turnovers/{turnover}/rollback"), body).await.expect(201);
    format!("/api/v1/deployments/{}", id(&rb))
}

async fn approve_executive(app: &TestApp, f: &Flow) {
    let t = app.post(&f.rita, &format!("/api/v1/trains/{}/request-executive-approval", f.train), json!({})).await.ok();
    let ap = t["executive_approval"]["id"].as_str().unwrap().to_string();
    app.post(&f.eve, &format!("/api/v1/approvals/{ap}/approve"), json!({})).await.ok();
    assert_eq!(app.get(&f.rita, &format!("/api/v1/trains/{}", f.train)).await.ok()["state"], "deployment");
}

#[tokio::test]
async fn production_turnovers_are_accepted_scheduled_started_on_time_verified_and_the_train_closes() {
    production_night(Backend::Sqlite).await;
}

#[tokio::test]
async fn production_turnovers_go_the_same_way_on_postgres() {
    production_night(Backend::Postgres).await;
}

async fn production_night(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let f = flow(&app).await;
    let [db, api, web] = &f.releases;
    let [to_db, to_api, to_web] = &f.turnovers;

    // Bad input: a release of another train, an unlocked environment, a turnover not validated.
    let other = id(&app.post(&f.rita, "/api/v1/trains", train_body("Other", json!({}))).await.ok());
    app.post(&f.rita, "/api/v1/applications", json!({"key": "OPS", "name": "Ops"})).await.ok();
    let ops = app
        .post(&f.rita, "/api/v1/application-releases", json!({"title": "OPS 1", "application": "OPS", "train": other, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}}))
        .await
        .ok();
    let r = app
        .post(
            &f.erin,
            "/api/v1/production-turnovers",
            json!({"title": "x", "releases": [db, id(&ops)], "environments": ["prod-eu", "test"]}),
        )
        .await;
    assert_eq!(r.status, 409);
    let guards = r.guards();
    assert!(guards.contains(&"releases_of_two_trains".to_string()), "{guards:?}");
    assert!(guards.contains(&"environment_not_locked".to_string()), "{guards:?}");

    // One production-ready turnover spans DB and API, made from their validated turnovers; it copies
    // the tasks of one of them on creation and of the other by copying.
    let t = app
        .post(
            &f.erin,
            "/api/v1/production-turnovers",
            json!({"title": "DB+API", "releases": [db, api], "environments": ["prod-eu", "prod-us"], "from": to_api}),
        )
        .await
        .expect(201);
    let p1 = id(&t);
    assert_eq!(
        (t["kind"].as_str(), t["state"].as_str(), t["tasks"].as_array().unwrap().len()),
        (Some("production_ready"), Some("draft"), 3)
    );
    app.post(&f.erin, &format!("/api/v1/turnovers/{p1}/tasks/copy"), json!({"from": [to_db]})).await.ok();
    // The proposal: DB's tasks (database) before API's (app), each keeping its own order.
    let p = app.get(&f.erin, &format!("/api/v1/turnovers/{p1}/proposed-order")).await.ok();
    let groups: Vec<&str> = p["groups"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert!(groups[0].starts_with("sequence 1: database tasks of") && groups[0].contains(db.as_str()), "{groups:?}");
    assert!(groups.iter().any(|g| g.contains("app tasks of") && g.contains(api.as_str())), "{groups:?}");
    let t =
        app.post(&f.erin, &format!("/api/v1/turnovers/{p1}/tasks/reorder"), json!({"order": p["order"]})).await.ok();
    let titles: Vec<&str> = t["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["rollback"] == false)
        .map(|k| k["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["db install", "db smoke", "api install", "api smoke"]);

    // Delivered; its developer may not accept it; another engineer rejects it, then accepts it.
    app.post(&f.erin, &format!("/api/v1/turnovers/{p1}/deliver"), json!({})).await.ok();
    let r = app.post(&f.erin, &format!("/api/v1/turnovers/{p1}/accept"), json!({})).await;
    assert_eq!(r.guards(), vec!["own_turnover"]);
    app.post(&f.dan, &format!("/api/v1/turnovers/{p1}/accept"), json!({})).await.expect(403);
    let r = app.post(&f.ed, &format!("/api/v1/turnovers/{p1}/reject"), json!({})).await;
    assert_eq!(r.status, 422, "a rejection needs a comment");
    let t = app
        .post(&f.ed, &format!("/api/v1/turnovers/{p1}/reject"), json!({"comment": "add the release note"}))
        .await
        .ok();
    assert_eq!((t["state"].as_str(), t["rejection"].as_str()), (Some("draft"), Some("add the release note")));
    app.post(&f.erin, &format!("/api/v1/turnovers/{p1}/deliver"), json!({})).await.ok();
    let t = app.post(&f.ed, &format!("/api/v1/turnovers/{p1}/accept"), json!({})).await.ok();
    assert_eq!((t["state"].as_str(), t["accepted_by"].as_str()), (Some("accepted"), Some("ed")));
    // Accepted means frozen (R12).
    let task = t["tasks"][0]["id"].as_str().unwrap().to_string();
    let r = app
        .call(
            Some(&f.erin),
            reqwest::Method::PATCH,
            &format!("/api/v1/turnovers/{p1}/tasks/{task}"),
            Some(json!({"title": "changed"})),
        )
        .await;
    assert!(r.guards().contains(&"frozen".to_string()), "{:?}", r.body);

    // Nothing deploys into a locked environment but by schedule, and only accepted turnovers.
    let r = app.post(&f.erin, &format!("/api/v1/turnovers/{p1}/deploy"), json!({})).await;
    assert!(r.guards().contains(&"production_ready".to_string()), "{:?}", r.body);
    let p2 = app
        .post(
            &f.erin,
            "/api/v1/production-turnovers",
            json!({"title": "WEB", "releases": [web], "environments": ["prod-eu"], "from": to_web}),
        )
        .await
        .ok();
    let p2 = id(&p2);
    let r = app
        .post(&f.erin, &format!("/api/v1/turnovers/{p2}/schedule"), json!({"environment": "prod-eu", "at": at(60)}))
        .await;
    assert_eq!(r.guards(), vec!["not_accepted"]);
    app.post(&f.erin, &format!("/api/v1/turnovers/{p2}/deliver"), json!({})).await.ok();
    app.post(&f.ed, &format!("/api/v1/turnovers/{p2}/accept"), json!({})).await.ok();
    // Scheduling in the past is refused, naming the field.
    let r = app
        .post(&f.erin, &format!("/api/v1/turnovers/{p1}/schedule"), json!({"environment": "prod-eu", "at": at(-60)}))
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body["errors"][0]["field"] == "at", "{}", r.body);

    // Both scheduled into prod-eu at the same moment: the conflict is reported; WEB (which depends on
    // API) waits for DB+API to finish there (R5). Before the train is in deployment, they wait (R11).
    let when = app.at(30);
    let d1 = app
        .post(&f.erin, &format!("/api/v1/turnovers/{p1}/schedule"), json!({"environment": "prod-eu", "at": when}))
        .await
        .expect(201);
    let d2 = app
        .post(&f.erin, &format!("/api/v1/turnovers/{p2}/schedule"), json!({"environment": "prod-eu", "at": when}))
        .await
        .expect(201);
    assert!(d2["conflicts"][0].as_str().unwrap().contains(&id(&d1)), "{d2}");
    app.advance(chrono::Duration::seconds(31));
    let (d1, d2) = (id(&d1), id(&d2));
    let held = wait_for(&app, &f.rita, &format!("/api/v1/deployments/{d1}"), "held by the train", |v| {
        v["blocked"].is_string()
    })
    .await;
    assert!(held["blocked"].as_str().unwrap().contains("is verification"), "{held}");
    assert_eq!(held["state"], "scheduled");

    // Executive approval: rejected back to verification first, then approved.
    let t = app.post(&f.rita, &format!("/api/v1/trains/{}/request-executive-approval", f.train), json!({})).await.ok();
    let ap = t["executive_approval"]["id"].as_str().unwrap().to_string();
    app.post(
        &f.eve,
        &format!("/api/v1/approvals/{ap}/reject"),
        json!({"comment": "wait for the audit", "return_to": "verification"}),
    )
    .await
    .ok();
    assert_eq!(app.get(&f.rita, &format!("/api/v1/trains/{}", f.train)).await.ok()["state"], "verification");
    approve_executive(&app, &f).await;

    let v1 =
        wait_for(&app, &f.rita, &format!("/api/v1/deployments/{d1}"), "success", |v| v["state"] == "succeeded").await;
    let v2 =
        wait_for(&app, &f.rita, &format!("/api/v1/deployments/{d2}"), "success", |v| v["state"] == "succeeded").await;
    assert!(time(&v1["started_at"]) >= time(&v1["scheduled_for"]), "never before its time: {v1}");
    assert!(time(&v2["started_at"]) >= time(&v1["finished_at"]), "WEB after DB+API: {v1} {v2}");
    assert_eq!(v1["trigger"], "scheduled");
    let log = std::fs::read_to_string(f.dir.path().join("log-prod-eu.txt")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines, ["db install", "db smoke", "api install", "api smoke", "web install", "web smoke"]);
    let t = app.get(&f.rita, &format!("/api/v1/turnovers/{p1}")).await.ok();
    assert_eq!(t["state"], "deploying", "prod-us is still to come");

    // prod-us: scheduled an hour ahead; an early start needs the manager's override with a reason.
    let d3 = id(&app
        .post(&f.erin, &format!("/api/v1/turnovers/{p1}/schedule"), json!({"environment": "prod-us", "at": at(3600)}))
        .await
        .ok());
    let r = app.post(&f.erin, &format!("/api/v1/deployments/{d3}/start"), json!({})).await;
    assert_eq!(r.guards(), vec!["before_scheduled_time"]);
    assert!(r.guard_text().contains("rita"), "names the manager: {}", r.guard_text());
    app.post(&f.erin, &format!("/api/v1/deployments/{d3}/start"), json!({"override": true, "reason": "r"}))
        .await
        .expect(403);
    let r = app.post(&f.rita, &format!("/api/v1/deployments/{d3}/start"), json!({"override": true})).await;
    assert_eq!(r.guards(), vec!["reason_missing"]);
    app.post(
        &f.rita,
        &format!("/api/v1/deployments/{d3}/start"),
        json!({"override": true, "reason": "customer outage fix"}),
    )
    .await
    .ok();
    let v3 =
        wait_for(&app, &f.rita, &format!("/api/v1/deployments/{d3}"), "success", |v| v["state"] == "succeeded").await;
    assert!(time(&v3["started_at"]) < time(&v3["scheduled_for"]));
    assert_eq!(v3["early_start"]["reason"], "customer outage fix");
    let events = app.get(&f.rita, &format!("/api/v1/audit/events?object={d3}")).await.ok();
    let early = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "start_early")
        .expect("the override is in the audit log");
    assert_eq!(
        (early["actor"].as_str(), early["data"]["reason"].as_str()),
        (Some("rita"), Some("customer outage fix"))
    );

    // Verification: prod-eu passes, prod-us fails; the train cannot close (R14), naming the turnover.
    app.post(&f.erin, &format!("/api/v1/turnovers/{p1}/verify"), json!({"environment": "prod-us", "passed": false}))
        .await
        .expect(422);
    app.post(&f.erin, &format!("/api/v1/turnovers/{p1}/verify"), json!({"environment": "prod-eu", "passed": true}))
        .await
        .ok();
    let t = app
        .post(
            &f.erin,
            &format!("/api/v1/turnovers/{p1}/verify"),
            json!({"environment": "prod-us", "passed": false, "note": "latency doubled"}),
        )
        .await
        .ok();
    assert_eq!(t["state"], "deployed");
    app.post(&f.erin, &format!("/api/v1/turnovers/{p2}/verify"), json!({"passed": true})).await.ok();
    assert_eq!(app.get(&f.rita, &format!("/api/v1/application-releases/{web}")).await.ok()["state"], "released");
    assert_eq!(app.get(&f.rita, &format!("/api/v1/application-releases/{db}")).await.ok()["state"], "verification");
    let before = app.event_count().await;
    let r = app.post(&f.rita, &format!("/api/v1/trains/{}/close", f.train), json!({})).await;
    assert_eq!(r.guards(), vec!["turnover_open"]);
    assert!(r.guard_text().contains(&p1) && r.guard_text().contains("latency doubled"), "{}", r.guard_text());
    assert_eq!(app.event_count().await, before, "a refusal changes nothing");

    // Rolled back in prod-us (its rollback tasks run), then deployed again and verified.
    let rb = rollback(&app, &f, &p1, "prod-us", "latency").await;
    let rb = wait_for(&app, &f.rita, &rb, "success", |v| v["state"] == "succeeded").await;
    assert_eq!(rb["rollback"], true);
    let log = std::fs::read_to_string(f.dir.path().join("log-prod-us.txt")).unwrap();
    assert!(log.ends_with("db undo\napi undo\n") || log.ends_with("api undo\ndb undo\n"), "{log}");
    assert_eq!(app.get(&f.rita, &format!("/api/v1/turnovers/{p1}")).await.ok()["state"], "rolled_back");
    let d4 = schedule_soon(&app, &f, &p1, "prod-us").await;
    assert_eq!(d4["attempt"], 3);
    wait_for(&app, &f.rita, &format!("/api/v1/deployments/{}", id(&d4)), "success", |v| v["state"] == "succeeded")
        .await;
    let t = app
        .post(&f.erin, &format!("/api/v1/turnovers/{p1}/verify"), json!({"passed": true, "note": "fine now"}))
        .await
        .ok();
    assert_eq!(t["state"], "verified");
    for r in [db, api] {
        assert_eq!(app.get(&f.rita, &format!("/api/v1/application-releases/{r}")).await.ok()["state"], "released");
    }

    // The calendar of prod-eu shows both deployments in time order, with the reported conflict.
    let cal = app.get(&f.rita, &format!("/api/v1/environments/prod-eu/calendar?from={}", at(-600))).await.ok();
    let ids: Vec<&str> = cal["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [d1.as_str(), d2.as_str()]);
    assert_eq!(cal["items"][1]["kind"], "deployment");
    assert!(!cal["items"][1]["conflicts"].as_array().unwrap().is_empty());

    // The train closes; its verified turnovers and released releases close with it.
    let t = app.post(&f.erin, &format!("/api/v1/trains/{}/close", f.train), json!({})).await.ok();
    assert_eq!(t["state"], "closed");
    assert_eq!(app.get(&f.rita, &format!("/api/v1/turnovers/{p1}")).await.ok()["state"], "closed");
    assert_eq!(app.get(&f.rita, &format!("/api/v1/application-releases/{api}")).await.ok()["state"], "closed");
    let _ = (to_db, &f.dan);
}

#[tokio::test]
async fn a_blackout_holds_a_scheduled_deployment_until_it_ends_and_a_stopped_line_holds_new_work() {
    let app = TestApp::spawn().await;
    let f = flow(&app).await;
    let [db, api, web] = &f.releases;
    let [to_db, to_api, to_web] = &f.turnovers;
    let p1 = accepted(&app, &f, "DB+API", &[db, api], &[to_db, to_api], &["prod-us"], true).await;
    let p2 = accepted(&app, &f, "WEB", &[web], &[to_web], &["prod-eu"], false).await;
    approve_executive(&app, &f).await;

    // A blackout over prod-eu for the next hour; a deployment scheduled inside it is reported as a
    // conflict and waits blocked with the blackout named. The test then moves the server's clock past
    // the blackout's end (rather than waiting for a short one, which a busy machine could overtake), and
    // the deployment starts.
    let end = app.now() + chrono::Duration::hours(1);
    let event = json!({"kind": "blackout", "title": "Payroll freeze", "start": app.at(-60), "end": end.to_rfc3339_opts(SecondsFormat::Millis, true)});
    app.post(&f.erin, "/api/v1/environments/prod-eu/events", event).await.expect(201);
    let d = schedule_soon(&app, &f, &p2, "prod-eu").await;
    assert!(d["conflicts"][0].as_str().unwrap().contains("Payroll freeze"), "{d}");
    let path = format!("/api/v1/deployments/{}", id(&d));
    let held = wait_for(&app, &f.rita, &path, "blocked", |v| v["blocked"].is_string()).await;
    assert!(held["blocked"].as_str().unwrap().contains("blackout"), "{held}");
    assert_eq!(held["state"], "scheduled", "{held}");
    app.advance(chrono::Duration::minutes(61));
    let done = wait_for(&app, &f.rita, &path, "success", |v| v["state"] == "succeeded").await;
    assert!(time(&done["started_at"]) >= end, "started inside the blackout: {done}");

    // Stop the line while a deployment runs: it finishes; a new one waits, saying why, until resumed.
    let p1_slow = app.get(&f.rita, &format!("/api/v1/turnovers/{p1}")).await.ok();
    assert_eq!(p1_slow["state"], "accepted");
    let running = schedule_soon(&app, &f, &p1, "prod-us").await;
    let running = format!("/api/v1/deployments/{}", id(&running));
    wait_for(&app, &f.rita, &running, "running", |v| v["state"] == "running").await;
    app.post(&f.dan, "/api/v1/line/halt", json!({"reason": "incident"})).await.expect(403);
    let line = app.post(&f.rita, "/api/v1/line/halt", json!({"reason": "incident INC-7"})).await.ok();
    assert_eq!(line["halted"], true);
    let r = app.post(&f.rita, "/api/v1/line/halt", json!({"reason": "again"})).await;
    assert_eq!(r.guards(), vec!["wrong_state"]);
    // The WEB turnover failed verification in prod-eu. Rolling it back is not new work: it runs at once
    // though the line is stopped.
    app.post(&f.erin, &format!("/api/v1/turnovers/{p2}/verify"), json!({"passed": false, "note": "broken css"}))
        .await
        .ok();
    let rb = rollback(&app, &f, &p2, "prod-eu", "broken css").await;
    let undone =
        wait_for(&app, &f.rita, &rb, "a rollback while the line is stopped", |v| v["state"] == "succeeded").await;
    assert!(undone["blocked"].is_null(), "{undone}");
    let log = std::fs::read_to_string(f.dir.path().join("log-prod-eu.txt")).unwrap();
    assert!(log.ends_with("web undo\n"), "{log}");
    // Deployed again: that is new work, held by the stopped line. (A few seconds ahead, not half a
    // minute with the clock moved: a deployment is running.)
    let again = app
        .post(&f.erin, &format!("/api/v1/turnovers/{p2}/schedule"), json!({"environment": "prod-eu", "at": app.at(5)}))
        .await
        .ok();
    let again = format!("/api/v1/deployments/{}", id(&again));
    let held = wait_for(&app, &f.rita, &again, "held by the line", |v| v["blocked"].is_string()).await;
    assert!(held["blocked"].as_str().unwrap().contains("incident INC-7"), "{held}");
    wait_for(&app, &f.rita, &running, "success while the line is stopped", |v| v["state"] == "succeeded").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        app.get(&f.rita, &again).await.ok()["state"],
        "scheduled",
        "nothing new starts while the line is stopped"
    );
    app.post(&f.rita, "/api/v1/line/resume", json!({"reason": "INC-7 resolved"})).await.ok();
    let done = wait_for(&app, &f.rita, &again, "success after resuming", |v| v["state"] == "succeeded").await;
    assert!(done["blocked"].is_null(), "{done}");
    let events = app.get(&f.rita, "/api/v1/audit/events?object=line").await.ok();
    let actions: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
}

#[tokio::test]
async fn production_turnovers_never_verify_a_release_accept_their_own_or_wait_for_each_other_forever() {
    let app = TestApp::spawn().await;
    let f = flow_with(&app, false).await;
    let [db, api, web] = &f.releases;

    // A production-ready turnover does not make WEB verified (R9): only a validated pre-production one.
    app.post(
        &f.erin,
        "/api/v1/production-turnovers",
        json!({"title": "WEB", "releases": [web], "environments": ["prod-eu"]}),
    )
    .await
    .expect(201);
    let r = app.post(&f.rita, &format!("/api/v1/trains/{}/request-executive-approval", f.train), json!({})).await;
    assert_eq!(r.guards(), vec!["release_not_verified"]);
    assert!(r.guard_text().contains(web.as_str()), "{}", r.guard_text());

    // Whoever created or delivered a turnover does not accept it, whoever is named its developer; and the
    // developer is fixed once it is delivered.
    let t = app
        .post(
            &f.erin,
            "/api/v1/production-turnovers",
            json!({"title": "DB+WEB", "releases": [db, web], "environments": ["prod-eu"], "developer": "ed"}),
        )
        .await
        .ok();
    let x = id(&t);
    let task = json!({"title": "install", "sequence": 1, "owner": "dan"});
    app.post(&f.erin, &format!("/api/v1/turnovers/{x}/tasks"), task.clone()).await.expect(201);
    app.post(&f.erin, &format!("/api/v1/turnovers/{x}/deliver"), json!({})).await.ok();
    let r = app
        .call(
            Some(&f.erin),
            reqwest::Method::PATCH,
            &format!("/api/v1/turnovers/{x}"),
            Some(json!({"developer": "dan"})),
        )
        .await;
    assert_eq!(r.guards(), vec!["developer_fixed"]);
    let r = app.post(&f.erin, &format!("/api/v1/turnovers/{x}/accept"), json!({})).await;
    assert_eq!(r.guards(), vec!["own_turnover"]);
    let r = app.post(&f.ed, &format!("/api/v1/turnovers/{x}/accept"), json!({})).await;
    assert_eq!(r.guards(), vec!["own_turnover"], "ed is its developer");
    let admin = app.admin.clone();
    app.post(&admin, &format!("/api/v1/turnovers/{x}/accept"), json!({})).await.ok();

    // DB+WEB and API in one environment would wait for each other (WEB needs API, API needs DB): the
    // schedule that would close that circle is refused, naming it.
    let t = app
        .post(
            &f.dan,
            "/api/v1/production-turnovers",
            json!({"title": "API", "releases": [api], "environments": ["prod-eu"]}),
        )
        .await
        .ok();
    let y = id(&t);
    app.post(&f.dan, &format!("/api/v1/turnovers/{y}/tasks"), task).await.expect(201);
    app.post(&f.dan, &format!("/api/v1/turnovers/{y}/deliver"), json!({})).await.ok();
    app.post(&f.ed, &format!("/api/v1/turnovers/{y}/accept"), json!({})).await.ok();
    let before = app.event_count().await;
    let r = app
        .post(&f.erin, &format!("/api/v1/turnovers/{x}/schedule"), json!({"environment": "prod-eu", "at": at(600)}))
        .await;
    assert_eq!(r.guards(), vec!["dependency_deadlock"]);
    assert!(
        r.guard_text().contains(&format!("{x} waits for {y}"))
            && r.guard_text().contains(&format!("{y} waits for {x}")),
        "{}",
        r.guard_text()
    );
    assert_eq!(app.event_count().await, before);

    // A time more than a year ahead is refused as input, not a crash.
    let r = app
        .post(
            &f.erin,
            &format!("/api/v1/turnovers/{y}/schedule"),
            json!({"environment": "prod-eu", "at": "+262142-12-31T23:59:59Z"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
}
