//! The list of available actions agrees with what happens: every action it lists as allowed succeeds
//! when attempted, and every one it lists as refused is refused with exactly the guards listed, for
//! several roles and states.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Reply, TestApp, level, train_body};

/// The body an action of a collection needs (a reason, a comment, a verdict).
fn body(kind: &str, action: &str) -> Value {
    match (kind, action) {
        (_, "cancel" | "send_back") => json!({"reason": "replanned"}),
        ("application-releases", "reject") => json!({"reason": "not this time"}),
        ("approvals", "reject") => json!({"comment": "not ready"}),
        ("approvals", "override") => json!({"reason": "the board agreed"}),
        ("runbooks" | "turnovers", "reject") => json!({"comment": "fix the order"}),
        ("deployments", "validate") => json!({"passed": true}),
        ("deployments", "start_early") => json!({"override": true, "reason": "the window moved"}),
        _ => json!({}),
    }
}

/// Attempts one listed action through its own route; `on` is the part it is about (an environment's
/// calendar event, a task run, an environment of a production-ready turnover).
async fn attempt(app: &TestApp, token: &str, kind: &str, id: &str, action: &str, on: Option<&str>) -> Reply {
    if let Some(r) = attempt_part(app, token, kind, id, action, on).await {
        return r;
    }
    let at = format!("/api/v1/{kind}/{id}");
    let on = on.unwrap_or_default();
    let (route, body) = match (kind, action) {
        (_, "start_early") => ("start".to_string(), body(kind, action)),
        // Editing its artifacts (tasks and work items are guarded alike).
        ("turnovers", "edit") => {
            let body = json!({"artifacts": [{"name": "pay", "version": "43"}]});
            return app.call(Some(token), Method::PATCH, &at, Some(body)).await;
        }
        (_, "edit") => return app.call(Some(token), Method::PATCH, &at, Some(json!({}))).await,
        ("environments", "plan_calendar") => {
            let event = json!({"kind": "blackout", "title": "freeze", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"});
            return app.post(token, &format!("{at}/events"), event).await;
        }
        ("environments", "remove_event") => {
            return app.call(Some(token), Method::DELETE, &format!("{at}/events/{on}"), None).await;
        }
        (_, "create_production") => {
            let t = app.get(token, &at).await.ok();
            let body =
                json!({"title": "to production", "releases": t["releases"], "environments": ["prod"], "from": id});
            return app.post(token, "/api/v1/production-turnovers", body).await;
        }
        (_, "complete_run") => (format!("runs/{on}/complete"), json!({"done": true})),
        (_, "schedule_production") => {
            let at = chrono::Utc::now() + chrono::Duration::days(2);
            ("schedule".to_string(), json!({"environment": on, "at": at, "window_minutes": 60}))
        }
        (_, "verify_production") => ("verify".to_string(), json!({"environment": on, "passed": true})),
        (_, "rollback") => ("rollback".to_string(), json!({"environment": on, "reason": "it failed"})),
        (_, other) => (other.replace('_', "-"), body(kind, action)),
    };
    app.post(token, &format!("/api/v1/{kind}/{id}/{route}"), body).await
}

/// Attempts one of a train's plan or part actions (`on` its gate, `gate/criterion` or milestone) through
/// its own route; None for those that need another object made first (`add_release`, `add_turnover`:
/// the domain's tables and the console's `available_train` test check them).
async fn attempt_train_part(app: &TestApp, token: &str, id: &str, action: &str, on: Option<&str>) -> Option<Reply> {
    let t = format!("/api/v1/trains/{id}");
    let part = on.unwrap_or_default();
    let criterion = part.split('/').nth(1).unwrap_or_default();
    let (method, path, body) = match action {
        "edit" => (Method::PATCH, t, json!({})),
        "hand_over" => (Method::PATCH, t, json!({"manager": "ralph"})),
        "copy" => (Method::POST, format!("{t}/copy"), json!({"start": "2027-02-01"})),
        "add_milestone" => (Method::POST, format!("{t}/milestones"), json!({"title": "Freeze", "due": "2027-01-20"})),
        "edit_gate" => (Method::PATCH, format!("{t}/gates/{part}"), json!({"approval_required": true})),
        "add_criterion" => (Method::POST, format!("{t}/gates/{part}/criteria"), json!({"title": "Signed"})),
        "request_gate_approval" => (Method::POST, format!("{t}/gates/{part}/request-approval"), json!({})),
        "meet_criterion" => {
            (Method::POST, format!("{t}/criteria/{criterion}/meet"), json!({"evidence": {"note": "ok"}}))
        }
        "waive_criterion" => (Method::POST, format!("{t}/criteria/{criterion}/waive"), json!({"reason": "moot"})),
        "reopen_criterion" => (Method::POST, format!("{t}/criteria/{criterion}/reopen"), json!({})),
        "edit_criterion" => (Method::PATCH, format!("{t}/criteria/{criterion}"), json!({})),
        "remove_criterion" => (Method::DELETE, format!("{t}/criteria/{criterion}"), json!({})),
        "complete_milestone" => (Method::POST, format!("{t}/milestones/{part}/complete"), json!({})),
        "miss_milestone" => (Method::POST, format!("{t}/milestones/{part}/miss"), json!({})),
        "edit_milestone" => (Method::PATCH, format!("{t}/milestones/{part}"), json!({})),
        "remove_milestone" => (Method::DELETE, format!("{t}/milestones/{part}"), json!({})),
        _ => return None,
    };
    let body = (method != Method::DELETE).then_some(body);
    // A change of the plan names the version it is based on.
    let version = match method {
        Method::PATCH => app.get(token, &format!("/api/v1/trains/{id}")).await.ok()["version"].as_i64(),
        _ => None,
    };
    Some(app.call_with(Some(token), method, &path, body, version).await)
}

/// The train's lifecycle actions: those `agree` returns when allowed (the plan and parts are attempted
/// when refused, but not returned, so the rows below read as the train's next steps).
const TRAIN_LIFECYCLE: [&str; 6] =
    ["submit", "start_construction", "start_verification", "request_executive_approval", "close", "cancel"];

/// The actions on what belongs to an application release or an application, through their own routes
/// (changing it, its work items, dependencies, milestones, a new turnover or release of it), with input
/// that would be accepted, so a refusal is for the guards listed.
async fn attempt_part(
    app: &TestApp,
    token: &str,
    kind: &str,
    id: &str,
    action: &str,
    on: Option<&str>,
) -> Option<Reply> {
    let base = format!("/api/v1/{kind}/{id}");
    let version = || async { app.get(&app.admin, &base).await.ok()["version"].as_i64().unwrap_or(0) };
    let on = on.unwrap_or_default();
    Some(match (kind, action) {
        ("application-releases" | "applications", "edit") => app.patch(token, &base, json!({}), version().await).await,
        ("application-releases", "propose") => {
            let r = app.get(&app.admin, &base).await.ok();
            app.post(token, &format!("{base}/propose"), json!({"train": r["membership"]["train_id"]})).await
        }
        ("application-releases", "manage_work_items") => {
            let item = json!({"key": "PAY-900", "title": "Refunds", "kind": "business_request"});
            app.post(token, &format!("{base}/work-items"), item).await
        }
        ("application-releases", "add_dependency") => {
            app.post(token, &format!("{base}/dependencies"), json!({"depends_on": "AR-900"})).await
        }
        ("application-releases", "remove_dependency") => {
            app.call(Some(token), reqwest::Method::DELETE, &format!("{base}/dependencies/{on}"), None).await
        }
        ("application-releases", "add_milestone") => {
            app.post(token, &format!("{base}/milestones"), json!({"title": "Freeze", "due": "2027-01-20"})).await
        }
        ("application-releases", "complete_milestone" | "miss_milestone") => {
            let route = if action == "complete_milestone" { "complete" } else { "miss" };
            app.post(token, &format!("{base}/milestones/{on}/{route}"), json!({})).await
        }
        ("application-releases", "edit_milestone") => {
            app.patch(token, &format!("{base}/milestones/{on}"), json!({}), version().await).await
        }
        ("application-releases", "remove_milestone") => {
            app.call(Some(token), reqwest::Method::DELETE, &format!("{base}/milestones/{on}"), None).await
        }
        ("application-releases", "create_turnover") => {
            // The first deployment path there is (the test makes one), so only the release's guards refuse.
            let paths = app.get(&app.admin, "/api/v1/deployment-paths").await.ok();
            let path = paths["items"][0]["id"].as_str().unwrap_or("DP-900").to_string();
            let spec = json!({"title": "build 1", "release": id, "path": path,
                              "artifacts": [{"name": "pay", "version": "1"}]});
            app.post(token, "/api/v1/turnovers", spec).await
        }
        ("applications", "create_release") => {
            let spec = json!({"title": "PAY 9", "application": id,
                              "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
            app.post(token, "/api/v1/application-releases", spec).await
        }
        _ => return None,
    })
}

/// Lists the actions of an object for `token`, attempts each refused one and checks it is refused with
/// exactly the listed guards (changing nothing); returns the names of the allowed ones (for a train,
/// its lifecycle's).
async fn agree(app: &TestApp, token: &str, kind: &str, id: &str) -> Vec<String> {
    let list = app.get(token, &format!("/api/v1/{kind}/{id}/actions")).await.ok();
    let before = app.event_count().await;
    let mut allowed = Vec::new();
    for a in list.as_array().expect("a list of actions") {
        let name = a["action"].as_str().expect("an action name");
        let part = kind == "trains" && !TRAIN_LIFECYCLE.contains(&name);
        let listed: Vec<String> = a["guards"]
            .as_array()
            .expect("guards")
            .iter()
            .map(|g| g["code"].as_str().unwrap_or("").to_string())
            .collect();
        if a["allowed"] == true {
            assert!(listed.is_empty(), "{kind} {id}: {name} allowed with guards {listed:?}");
            if !part {
                allowed.push(match a["on"].as_str() {
                    Some(on) => format!("{name} {on}"),
                    None => name.to_string(),
                });
            }
            continue;
        }
        let r = if part {
            match attempt_train_part(app, token, id, name, a["on"].as_str()).await {
                Some(r) => r,
                None => continue,
            }
        } else {
            attempt(app, token, kind, id, name, a["on"].as_str()).await
        };
        assert!(!r.status.is_success(), "{kind} {id}: {name} was listed as refused ({listed:?}) but succeeded");
        if listed == ["role_required"] {
            // A role refusal: 403 forbidden, its detail the listed guard's words.
            assert_eq!(r.status.as_u16(), 403, "{kind} {id}: {name}: {}", r.body);
            assert_eq!(r.body["code"], "forbidden");
            assert_eq!(r.body["detail"], a["guards"][0]["message"], "{kind} {id}: {name}");
        } else if listed == ["invalid_input"] {
            assert_eq!(r.status.as_u16(), 422, "{kind} {id}: {name}: {}", r.body);
        } else if name == "create_production" {
            // Assembling one takes releases and environments chosen in its form: the listed guards (about
            // this turnover and its train) are among those the create meets.
            let met = r.guards();
            assert!(listed.iter().all(|g| met.contains(g)), "{kind} {id}: {name}: {listed:?} not in {}", r.body);
        } else {
            assert_eq!(r.guards(), listed, "{kind} {id}: {name} refused otherwise than listed: {}", r.body);
            let messages: Vec<&str> =
                a["guards"].as_array().into_iter().flatten().filter_map(|g| g["message"].as_str()).collect();
            assert_eq!(r.guard_text(), messages.join(" | "), "{kind} {id}: {name}: the same words");
        }
    }
    assert_eq!(app.event_count().await, before, "{kind} {id}: a refused action changed something");
    allowed
}

/// Takes an action the list allows, and checks that it succeeds.
async fn act(app: &TestApp, token: &str, kind: &str, id: &str, action: &str) -> Value {
    let allowed = agree(app, token, kind, id).await;
    assert!(allowed.iter().any(|a| a == action), "{kind} {id}: {action} is not listed as allowed: {allowed:?}");
    attempt(app, token, kind, id, action, None).await.ok()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

#[tokio::test]
async fn the_listed_actions_of_trains_releases_and_approvals_are_what_each_role_can_do() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let ralph = app.user("ralph", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let eve = app.user("eve", &["product_owner"]).await;
    let vic = app.user("vic", &["viewer"]).await;
    let policies = json!({
        "executive": {"levels": [level(&["eve"], 1)]},
        "development": {"levels": [level(&["erin"], 1)], "override_allowed": true}
    });
    let rt = id(&app.post(&rita, "/api/v1/trains", train_body("Q1", policies)).await.ok());
    let everyone = [&rita, &ralph, &erin, &eve, &vic];
    for who in everyone {
        agree(&app, who, "trains", &rt).await;
    }
    assert_eq!(agree(&app, &rita, "trains", &rt).await, ["submit", "cancel"]);
    assert!(agree(&app, &vic, "trains", &rt).await.is_empty(), "a viewer changes nothing");
    act(&app, &rita, "trains", &rt, "submit").await;
    assert_eq!(agree(&app, &ralph, "trains", &rt).await, ["start_construction", "cancel"]);

    app.post(&rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    // A deployment path, so a refused turnover of the release is refused for the release, not the path.
    app.post(&erin, "/api/v1/environments", json!({"name": "test", "kind": "test"})).await.ok();
    let stages = json!({"name": "standard", "stages": [{"environment": "test"}]});
    let p = id(&app.post(&erin, "/api/v1/deployment-paths", stages).await.ok());
    app.post(&erin, &format!("/api/v1/deployment-paths/{p}/activate"), json!({})).await.ok();
    let ar = id(&app
        .post(&eve, "/api/v1/application-releases", json!({"title": "PAY 1", "application": "PAY", "train": rt, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}}))
        .await
        .ok());
    for who in everyone {
        agree(&app, who, "application-releases", &ar).await;
    }
    act(&app, &rita, "application-releases", &ar, "accept").await;
    act(&app, &rita, "trains", &rt, "start_construction").await;
    act(&app, &eve, "application-releases", &ar, "begin_work").await;
    let r = act(&app, &eve, "application-releases", &ar, "request_development_approval").await;
    let ap = r["development_approval"]["id"].as_str().expect("a development approval").to_string();

    for who in everyone {
        agree(&app, who, "approvals", &ap).await;
    }
    assert_eq!(agree(&app, &erin, "approvals", &ap).await, ["approve", "reject"]);
    assert_eq!(agree(&app, &rita, "approvals", &ap).await, ["override"], "the train's manager overrides");
    assert!(agree(&app, &ralph, "approvals", &ap).await.is_empty(), "another manager does not");
    act(&app, &erin, "approvals", &ap, "approve").await;

    act(&app, &rita, "trains", &rt, "start_verification").await;
    // Nothing verified the release: the train waits, and says so.
    let list = app.get(&rita, &format!("/api/v1/trains/{rt}/actions")).await.ok();
    let exec = list.as_array().unwrap().iter().find(|a| a["action"] == "request_executive_approval").unwrap();
    assert_eq!(exec["guards"][0]["code"], "release_not_verified", "{list}");
    for who in everyone {
        agree(&app, who, "trains", &rt).await;
        agree(&app, who, "application-releases", &ar).await;
    }
    act(&app, &eve, "application-releases", &ar, "send_back").await;
    assert_eq!(app.get(&rita, &format!("/api/v1/trains/{rt}")).await.ok()["state"], "construction");
    act(&app, &rita, "trains", &rt, "cancel").await;
    for who in everyone {
        assert!(agree(&app, who, "trains", &rt).await.is_empty());
    }
}

async fn wait_for_state(app: &TestApp, token: &str, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = app.get(token, &format!("/api/v1/deployments/{id}")).await.ok();
        if d["state"] == state {
            return d;
        }
        assert!(Instant::now() < deadline, "deployment {id} never got {state}: {d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_listed_actions_of_turnovers_deployments_runbooks_and_environments_are_what_happens() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    app.user("eve", &["product_owner"]).await;
    for (name, kind) in [("test", "test"), ("prod", "production")] {
        app.post(&erin, "/api/v1/environments", json!({"name": name, "kind": kind})).await.ok();
    }
    assert_eq!(
        agree(&app, &erin, "environments", "test").await,
        ["take_offline", "decommission", "edit", "plan_calendar"]
    );
    assert_eq!(
        agree(&app, &rita, "environments", "test").await,
        ["plan_calendar"],
        "environments are the engineers'; managers plan their calendar"
    );
    let p = id(&app
        .post(
            &erin,
            "/api/v1/deployment-paths",
            json!({"name": "standard", "stages": [{"environment": "test"}, {"environment": "prod"}]}),
        )
        .await
        .ok());
    app.post(&erin, &format!("/api/v1/deployment-paths/{p}/activate"), json!({})).await.ok();
    let rt = id(&app
        .post(&rita, "/api/v1/trains", train_body("T", json!({"executive": {"levels": [level(&["eve"], 1)]}})))
        .await
        .ok());
    app.post(&rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    let ar = id(&app
        .post(&rita, "/api/v1/application-releases", json!({"title": "PAY 1", "application": "PAY", "train": rt, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}}))
        .await
        .ok());
    app.post(&rita, &format!("/api/v1/trains/{rt}/submit"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/trains/{rt}/start-construction"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/application-releases/{ar}/begin-work"), json!({})).await.ok();
    let to = id(&app
        .post(
            &dan,
            "/api/v1/turnovers",
            json!({"title": "build 42", "release": ar, "path": p, "artifacts": [{"name": "pay", "version": "42"}]}),
        )
        .await
        .ok());
    // No task yet: nothing to deploy.
    assert_eq!(agree(&app, &erin, "turnovers", &to).await, ["cancel", "edit"]);
    app.post(
        &dan,
        &format!("/api/v1/turnovers/{to}/tasks"),
        json!({"title": "Sign-off", "sequence": 1, "owner": "dan"}),
    )
    .await
    .expect(201);
    assert_eq!(agree(&app, &dan, "turnovers", &to).await, ["cancel", "edit"], "a developer does not deploy");
    let d = act(&app, &erin, "turnovers", &to, "deploy").await;
    let de = id(&d);
    // The manual run waits for dan: the deployment runs, and the turnover is not cancelled under it.
    wait_for_state(&app, &erin, &de, "running").await;
    let list = app.get(&erin, &format!("/api/v1/turnovers/{to}/actions")).await.ok();
    let cancel = list.as_array().unwrap().iter().find(|a| a["action"] == "cancel").unwrap();
    assert_eq!(cancel["guards"][0]["code"], "deployment_running", "{list}");
    let run = d["runs"][0]["id"].as_str().unwrap().to_string();
    for who in [&rita, &erin, &dan] {
        agree(&app, who, "turnovers", &to).await;
    }
    // Only completing the manual run is left: by its owner or a release engineer, not a manager.
    assert!(agree(&app, &rita, "deployments", &de).await.is_empty());
    for who in [&erin, &dan] {
        assert_eq!(agree(&app, who, "deployments", &de).await, [format!("complete_run {run}")]);
    }
    app.post(&dan, &format!("/api/v1/deployments/{de}/runs/{run}/complete"), json!({"done": true})).await.ok();
    wait_for_state(&app, &erin, &de, "succeeded").await;
    assert_eq!(agree(&app, &dan, "deployments", &de).await, Vec::<String>::new(), "a developer validates nothing");
    act(&app, &erin, "deployments", &de, "validate").await;
    // Next is prod: locked, it takes no standard turnover.
    let list = app.get(&erin, &format!("/api/v1/turnovers/{to}/actions")).await.ok();
    let deploy = list.as_array().unwrap().iter().find(|a| a["action"] == "deploy").unwrap();
    assert_eq!(deploy["guards"][0]["code"], "environment_locked", "{list}");
    assert!(!deploy["guards"][0]["message"].as_str().unwrap().contains("R11"));
    agree(&app, &erin, "turnovers", &to).await;

    // The path is active (a turnover runs along it); the application is the register keepers'.
    assert_eq!(agree(&app, &erin, "deployment-paths", &p).await, ["return_to_draft", "retire"]);
    assert!(agree(&app, &dan, "deployment-paths", &p).await.is_empty());
    assert_eq!(agree(&app, &rita, "applications", "PAY").await, ["archive", "edit", "create_release"]);
    assert!(agree(&app, &erin, "applications", "PAY").await.is_empty());

    // A runbook: its author submits it, someone else reviews it.
    let rb = id(&app
        .post(
            &dan,
            "/api/v1/runbooks",
            json!({"name": "web", "tasks": [{"title": "Restart", "sequence": 1, "owner": "erin"}]}),
        )
        .await
        .ok());
    assert_eq!(agree(&app, &erin, "runbooks", &rb).await, ["submit"]);
    act(&app, &dan, "runbooks", &rb, "submit").await;
    assert!(agree(&app, &dan, "runbooks", &rb).await.is_empty(), "nobody reviews their own runbook");
    act(&app, &erin, "runbooks", &rb, "accept").await;
    assert_eq!(agree(&app, &dan, "runbooks", &rb).await, ["deactivate"]);
    act(&app, &erin, "environments", "test", "take_offline").await;
    assert_eq!(
        agree(&app, &erin, "environments", "test").await,
        ["bring_online", "decommission", "edit", "plan_calendar"]
    );
    // The calendar: a release manager plans it but manages no environment; a developer does neither.
    let event = json!({"kind": "maintenance", "title": "patching", "start": "2030-01-02T00:00:00Z", "end": "2030-01-02T02:00:00Z"});
    let env = app.post(&erin, "/api/v1/environments/test/events", event).await.ok();
    let ev = env["events"][0]["id"].as_str().expect("an event id").to_string();
    let listed = app.get(&rita, "/api/v1/environments/test/actions").await.ok();
    let remove = listed.as_array().unwrap().iter().find(|a| a["action"] == "remove_event").unwrap();
    assert_eq!((remove["on"].as_str(), remove["allowed"].as_bool()), (Some(ev.as_str()), Some(true)), "{listed}");
    assert_eq!(
        agree(&app, &rita, "environments", "test").await,
        ["plan_calendar".to_string(), format!("remove_event {ev}")]
    );
    assert!(agree(&app, &dan, "environments", "test").await.is_empty());
    act(&app, &erin, "environments", "test", "decommission").await;
    assert!(agree(&app, &erin, "environments", "test").await.is_empty(), "a decommissioned environment is kept");
    assert!(agree(&app, &rita, "environments", "test").await.is_empty());
}

#[tokio::test]
async fn the_actions_of_something_that_does_not_exist_are_not_found() {
    let app = TestApp::spawn().await;
    let vic = app.user("vic", &["viewer"]).await;
    for kind in ["trains", "application-releases", "turnovers", "deployments", "approvals", "runbooks", "environments"]
    {
        let r = app.get(&vic, &format!("/api/v1/{kind}/NOPE-1/actions")).await;
        assert_eq!(r.body["code"], "not_found", "{kind}: {}", r.body);
    }
    let r = app.call(None, reqwest::Method::GET, "/api/v1/trains/RT-1/actions", None).await;
    assert_eq!(r.status.as_u16(), 401);
}
