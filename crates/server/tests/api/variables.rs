//! Variables: created, listed, changed and deleted by the roles that may; a name taken in its scope is
//! refused with nothing written; tasks naming unknown or malformed references are refused when added;
//! and a real deployment runs with the environment's value (which wins over the application's and the
//! global one), while a run whose variable was deleted does not start and names it.

use serde_json::{Value, json};

use crate::common::TestApp;
use crate::deployments::{run, wait_for};

pub(crate) struct People {
    pub rita: String,
    pub erin: String,
    pub dan: String,
    pub paula: String,
}

pub(crate) async fn people(app: &TestApp) -> People {
    let p = People {
        rita: app.user("rita", &["release_manager"]).await,
        erin: app.user("erin", &["release_engineer"]).await,
        dan: app.user("dan", &["developer"]).await,
        paula: app.user("paula", &["product_owner"]).await,
    };
    app.user("wes", &["product_owner"]).await;
    app.user("eve", &["product_owner"]).await;
    app.post(&p.erin, "/api/v1/environments", json!({"name": "test", "kind": "test"})).await.ok();
    app.post(&p.erin, "/api/v1/environments", json!({"name": "prod", "kind": "production"})).await.ok();
    app.post(&p.rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments", "owner": "paula"})).await.ok();
    app.post(&p.rita, "/api/v1/applications", json!({"key": "WEB", "name": "Web", "owner": "wes"})).await.ok();
    p
}

fn items(v: &Value) -> Vec<(String, String)> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap().to_string(), i["value"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn variables_are_created_listed_changed_and_deleted_by_who_may() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let g = app.post(&p.erin, "/api/v1/variables", json!({"name": "GREETING", "value": "hello"})).await.expect(201);
    assert_eq!(g["scope"], json!({"kind": "global"}));
    assert_eq!((g["created_by"].as_str(), g["version"].as_i64()), (Some("erin"), Some(1)));
    let id = g["id"].as_str().unwrap().to_string();

    // A name taken in its scope: 409 naming the name and the scope, nothing written.
    let before = app.event_count().await;
    let r = app.post(&p.erin, "/api/v1/variables", json!({"name": "GREETING", "value": "other"})).await.expect(409);
    let detail = r["detail"].as_str().unwrap();
    assert!(detail.contains("GREETING") && detail.contains("global"), "{detail}");
    assert_eq!(app.event_count().await, before, "nothing written");
    let all = app.get(&p.dan, "/api/v1/variables").await.ok();
    assert_eq!(items(&all), [("GREETING".to_string(), "hello".to_string())]);

    // The same name in another scope is another variable.
    let env = json!({"name": "GREETING", "value": "hi test", "scope": {"kind": "environment", "environment": "test"}});
    app.post(&p.erin, "/api/v1/variables", env).await.expect(201);
    let r = app
        .post(
            &p.erin,
            "/api/v1/variables",
            json!({"name": "X", "value": "v", "scope": {"kind": "environment", "environment": "nowhere"}}),
        )
        .await
        .expect(422);
    assert!(r.to_string().contains("scope.environment"), "{r}");

    // Who may: a developer may not create any; a product owner only for the applications they own.
    app.post(&p.dan, "/api/v1/variables", json!({"name": "D", "value": "v"})).await.expect(403);
    let pay = json!({"name": "GREETING", "value": "hi pay", "scope": {"kind": "application", "application": "PAY"}});
    app.post(&p.paula, "/api/v1/variables", pay).await.expect(201);
    let web = json!({"name": "GREETING", "value": "hi web", "scope": {"kind": "application", "application": "WEB"}});
    let r = app.post(&p.paula, "/api/v1/variables", web).await;
    assert_eq!((r.status.as_u16(), r.guards()), (403, vec!["not_application_owner".to_string()]), "{}", r.body);
    assert!(r.guard_text().contains("wes"), "{}", r.guard_text());
    let r = app.post(&p.paula, "/api/v1/variables", json!({"name": "P", "value": "v"})).await;
    assert_eq!((r.status.as_u16(), r.guards()), (403, vec!["not_release_engineer".to_string()]), "{}", r.body);
    let r = app.patch(&p.paula, &format!("/api/v1/variables/{id}"), json!({"value": "mine"}), 1).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.body);

    // Filters by scope.
    let test = app.get(&p.dan, "/api/v1/variables?environment=test").await.ok();
    assert_eq!(items(&test), [("GREETING".to_string(), "hi test".to_string())]);
    let pay = app.get(&p.dan, "/api/v1/variables?application=PAY").await.ok();
    assert_eq!(items(&pay), [("GREETING".to_string(), "hi pay".to_string())]);
    assert_eq!(items(&app.get(&p.dan, "/api/v1/variables?global=true").await.ok()).len(), 1);
    app.get(&p.dan, "/api/v1/variables?global=true&environment=test").await.expect(422);

    // Bad input names the field.
    for (body, field) in [
        (json!({"name": "bad-name", "value": "v"}), "name"),
        (json!({"name": "9X", "value": "v"}), "name"),
        (json!({"name": "BIG", "value": "x".repeat(8 * 1024 + 1)}), "value"),
        (json!({"name": "S", "value": "v", "scope": {"kind": "galaxy"}}), ""),
    ] {
        let r = app.post(&p.erin, "/api/v1/variables", body).await.expect(422);
        assert!(r.to_string().contains(field), "{r}");
    }

    // Change with the version it was based on; a stale one is refused.
    let v = app.patch(&p.erin, &format!("/api/v1/variables/{id}"), json!({"value": "hello again"}), 1).await.ok();
    assert_eq!((v["value"].as_str(), v["version"].as_i64()), (Some("hello again"), Some(2)));
    app.patch(&p.erin, &format!("/api/v1/variables/{id}"), json!({"value": "stale"}), 1).await.expect(409);

    // Audited: create, update and delete with name, scope and value.
    app.call(Some(&p.erin), reqwest::Method::DELETE, &format!("/api/v1/variables/{id}"), None).await.expect(204);
    app.get(&p.dan, &format!("/api/v1/variables/{id}")).await.expect(404);
    let events = app.get(&p.dan, &format!("/api/v1/audit/events?object_kind=variable&object={id}")).await.ok();
    let actions: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.len(), 3, "{events}");
    for a in ["create", "update", "delete"] {
        assert!(actions.contains(&a), "{actions:?}");
    }
    let text = events.to_string();
    assert!(text.contains("hello again") && text.contains("GREETING"), "{text}");
}

/// A turnover of PAY on a path through `test`, ready for tasks.
pub(crate) async fn turnover(app: &TestApp, p: &People) -> String {
    crate::common::pay_turnover_through_test(app, &p.rita, &p.erin, &p.dan).await
}

pub(crate) fn sh(script: &str) -> Value {
    json!({"kind": "command", "program": "/bin/sh", "args": ["-c", script], "timeout_secs": 30})
}

#[tokio::test]
async fn a_deployment_runs_with_the_environments_value_and_refuses_what_it_cannot_resolve() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let to = turnover(&app, &p).await;
    let scoped = |value: &str, scope: Value| json!({"name": "GREETING", "value": value, "scope": scope});
    app.post(&p.erin, "/api/v1/variables", scoped("from global", json!({"kind": "global"}))).await.expect(201);
    app.post(&p.paula, "/api/v1/variables", scoped("from PAY", json!({"kind": "application", "application": "PAY"})))
        .await
        .expect(201);
    app.post(&p.erin, "/api/v1/variables", scoped("from test", json!({"kind": "environment", "environment": "test"})))
        .await
        .expect(201);
    // Defined only for prod, which this turnover's path does not reach.
    let prod_only = json!({"name": "PROD_ONLY", "value": "p", "scope": {"kind": "environment", "environment": "prod"}});
    app.post(&p.erin, "/api/v1/variables", prod_only).await.expect(201);
    let gone = app.post(&p.erin, "/api/v1/variables", json!({"name": "GONE", "value": "soon"})).await.expect(201);

    // Unknown and malformed references are refused when the task is added, naming them.
    let tasks = format!("/api/v1/turnovers/{to}/tasks");
    let before = app.event_count().await;
    let r = app
        .post(&p.dan, &tasks, json!({"title": "t", "sequence": 1, "action": sh("echo ${var.NOPE} ${var.PROD_ONLY}")}))
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    assert_eq!(r.guards(), ["unknown_variable", "unknown_variable"], "{}", r.body);
    assert!(r.guard_text().contains("NOPE") && r.guard_text().contains("PROD_ONLY"), "{}", r.guard_text());
    for bad in ["${var.}", "${var.bad-name}", "${var.X"] {
        let r = app.post(&p.dan, &tasks, json!({"title": "t", "sequence": 1, "action": sh(bad)})).await.expect(422);
        assert!(r.to_string().contains("action.args"), "{r}");
    }
    let url = json!({"kind": "http", "method": "GET", "url": "http://h.test/${var.}"});
    let r = app.post(&p.dan, &tasks, json!({"title": "t", "sequence": 1, "action": url})).await.expect(422);
    assert!(r.to_string().contains("action.url"), "{r}");
    assert_eq!(app.event_count().await, before, "nothing written");
    let r = app.post(&p.dan, &tasks, json!({"title": "t", "sequence": 1, "action": sh("echo ${var.X}")})).await;
    let detail = r.body["detail"].as_str().unwrap_or_default().to_string();
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    assert!(detail.contains("add_task of turnover") && detail.contains("(state draft)"), "{detail}");

    // A runbook's tasks likewise: known globally, or for its applications and environments.
    let runbook = |script: &str| json!({"name": "rb", "tasks": [{"title": "t", "sequence": 1, "action": sh(script)}]});
    let r = app.post(&p.dan, "/api/v1/runbooks", runbook("echo ${var.NOPE}")).await;
    assert_eq!((r.status.as_u16(), r.guards()), (409, vec!["unknown_variable".to_string()]), "{}", r.body);
    app.post(&p.dan, "/api/v1/runbooks", runbook("echo ${var.GREETING}")).await.expect(201);

    // The task keeps the reference; the run sees the environment's value.
    let mut greet = sh("echo \"$X\"; echo ${var.GREETING}");
    greet["env"] = json!({"X": "${var.GREETING}"});
    let t = app.post(&p.dan, &tasks, json!({"title": "Greet", "sequence": 1, "action": greet})).await.expect(201);
    assert!(t.to_string().contains("${var.GREETING}"), "{t}");
    app.post(&p.dan, &tasks, json!({"title": "Uses gone", "sequence": 1, "action": sh("echo ${var.GONE}")}))
        .await
        .expect(201);
    let gone_id = gone["id"].as_str().unwrap();
    app.call(Some(&p.erin), reqwest::Method::DELETE, &format!("/api/v1/variables/{gone_id}"), None).await.expect(204);

    let d = app.post(&p.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.expect(201);
    let id = d["id"].as_str().unwrap().to_string();
    let settled = |d: &Value| {
        ["Greet", "Uses gone"].iter().all(|t| !matches!(run(d, t)["state"].as_str(), Some("pending" | "running")))
    };
    let d = wait_for(&app, &p.rita, &id, "a settled state", settled).await;
    assert_eq!(run(&d, "Greet")["state"], "succeeded", "{d}");
    let greet_run = run(&d, "Greet")["id"].as_str().unwrap().to_string();
    let log = app.get(&p.dan, &format!("/api/v1/deployments/{id}/runs/{greet_run}/log")).await.ok();
    let lines: Vec<&str> = log["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(lines, ["from test", "from test"], "{log}");

    let failed = run(&d, "Uses gone");
    assert_ne!(failed["state"], "succeeded", "{d}");
    let message = failed["message"].as_str().unwrap();
    assert!(message.contains("${var.GONE}") && message.contains("not started"), "{message}");
    let log_id = failed["id"].as_str().unwrap();
    let log = app.get(&p.dan, &format!("/api/v1/deployments/{id}/runs/{log_id}/log")).await.ok();
    assert!(!log.to_string().contains("soon"), "it never ran: {log}");
    // The stored task still shows the reference, not the value.
    let t = app.get(&p.dan, &format!("/api/v1/turnovers/{to}")).await.ok();
    assert!(t.to_string().contains("${var.GREETING}") && !t.to_string().contains("from test"), "{t}");
}

#[tokio::test]
async fn tasks_copied_from_a_runbook_or_another_turnover_are_refused_when_they_name_an_unknown_variable() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let to = turnover(&app, &p).await;
    let temp = app.post(&p.erin, "/api/v1/variables", json!({"name": "TEMP", "value": "t"})).await.expect(201);
    // A runbook and a turnover whose tasks name it, while it exists.
    let rb = app
        .post(
            &p.dan,
            "/api/v1/runbooks",
            json!({"name": "rb", "tasks": [{"title": "t", "sequence": 1, "action": sh("echo ${var.TEMP}")}]}),
        )
        .await
        .expect(201);
    let rb = rb["id"].as_str().unwrap().to_string();
    app.post(&p.dan, &format!("/api/v1/runbooks/{rb}/submit"), json!({})).await.ok();
    app.post(&p.erin, &format!("/api/v1/runbooks/{rb}/accept"), json!({})).await.ok();
    let source = app.post(&p.dan, "/api/v1/turnovers", json!({"title": "source", "release": app.get(&p.dan, &format!("/api/v1/turnovers/{to}")).await.ok()["releases"][0], "path": app.get(&p.dan, &format!("/api/v1/turnovers/{to}")).await.ok()["path_id"]})).await.ok();
    let source = source["id"].as_str().unwrap().to_string();
    app.post(
        &p.dan,
        &format!("/api/v1/turnovers/{source}/tasks"),
        json!({"title": "uses temp", "sequence": 1, "action": sh("echo ${var.TEMP}")}),
    )
    .await
    .expect(201);
    // Gone: copying those tasks now would add tasks naming an unknown variable.
    let id = temp["id"].as_str().unwrap();
    app.call(Some(&p.erin), reqwest::Method::DELETE, &format!("/api/v1/variables/{id}"), None).await.expect(204);
    let before = app.event_count().await;
    let r = app.post(&p.dan, &format!("/api/v1/turnovers/{to}/tasks/from-runbook"), json!({"runbook": rb})).await;
    assert_eq!((r.status.as_u16(), r.guards()), (409, vec!["unknown_variable".to_string()]), "{}", r.body);
    assert!(r.guard_text().contains("TEMP"), "{}", r.guard_text());
    let r = app.post(&p.dan, &format!("/api/v1/turnovers/{to}/tasks/copy"), json!({"from": [source]})).await;
    assert_eq!((r.status.as_u16(), r.guards()), (409, vec!["unknown_variable".to_string()]), "{}", r.body);
    assert_eq!(app.event_count().await, before, "nothing written");
    let t = app.get(&p.dan, &format!("/api/v1/turnovers/{to}")).await.ok();
    assert_eq!(t["tasks"], json!([]), "no task was copied: {t}");
}
