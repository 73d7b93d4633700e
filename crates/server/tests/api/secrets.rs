//! Secrets: set, listed, replaced and deleted by the roles that may, never shown; a name taken in its
//! scope is refused with nothing written; tasks naming unknown secrets are refused when added; and a real
//! deployment whose task prints a secret shows `***` in its log, while the value is nowhere in the
//! database file, its WAL, any response or the audit log.

use serde_json::{Value, json};

use crate::common::TestApp;
use crate::deployments::{run, wait_for};
use crate::variables::{people, sh, turnover};

const VALUE: &str = "s3cr3t-T0ken-9f2a";

/// Every audit event, page by page.
async fn all_events(app: &TestApp) -> String {
    let mut out = String::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit/events?limit=500&cursor={c}"),
            None => "/api/v1/audit/events?limit=500".to_string(),
        };
        let page = app.get(&app.admin, &path).await.ok();
        out.push_str(&page.to_string());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(VALUE), "{what} shows the secret: {text}");
}

#[tokio::test]
async fn secrets_are_set_listed_replaced_and_deleted_by_who_may_and_never_shown() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let g = app.post(&p.erin, "/api/v1/secrets", json!({"name": "TOKEN", "value": VALUE})).await.expect(201);
    assert_hidden("create", &g.to_string());
    assert_eq!(g["scope"], json!({"kind": "global"}));
    assert_eq!((g["changed_by"].as_str(), g["version"].as_i64()), (Some("erin"), Some(1)));
    assert!(g.get("value").is_none() && g.get("sealed").is_none(), "{g}");
    let id = g["id"].as_str().unwrap().to_string();

    // A name taken in its scope: 409 naming the name and the scope, nothing written.
    let before = app.event_count().await;
    let r = app.post(&p.erin, "/api/v1/secrets", json!({"name": "TOKEN", "value": "other1"})).await.expect(409);
    let detail = r["detail"].as_str().unwrap();
    assert!(detail.contains("TOKEN") && detail.contains("global"), "{detail}");
    assert_eq!(app.event_count().await, before, "nothing written");

    // Who may: a developer may not set any; a product owner only for the applications they own.
    app.post(&p.dan, "/api/v1/secrets", json!({"name": "D", "value": "v123"})).await.expect(403);
    let pay = json!({"name": "TOKEN", "value": "pay-value", "scope": {"kind": "application", "application": "PAY"}});
    app.post(&p.paula, "/api/v1/secrets", pay).await.expect(201);
    let web = json!({"name": "TOKEN", "value": "web-value", "scope": {"kind": "application", "application": "WEB"}});
    let r = app.post(&p.paula, "/api/v1/secrets", web).await;
    assert_eq!((r.status.as_u16(), r.guards()), (403, vec!["not_application_owner".to_string()]), "{}", r.body);
    let r = app.post(&p.paula, "/api/v1/secrets", json!({"name": "P", "value": "v123"})).await;
    assert_eq!((r.status.as_u16(), r.guards()), (403, vec!["not_release_engineer".to_string()]), "{}", r.body);
    assert!(r.guard_text().contains("secrets"), "{}", r.guard_text());

    // Bad input names the field and never quotes the value.
    for (body, field) in [
        (json!({"name": "bad-name", "value": "v123"}), "name"),
        (json!({"name": "SHORT", "value": "abc"}), "at least 4"),
        (json!({"name": "NUL", "value": "ab\u{0}cd"}), "NUL"),
        (json!({"name": "BIG", "value": "x".repeat(8 * 1024 + 1)}), "8 KiB"),
    ] {
        let r = app.post(&p.erin, "/api/v1/secrets", body).await.expect(422);
        assert!(r.to_string().contains(field), "{r}");
    }

    // Listed and shown without values; filtered by scope.
    let all = app.get(&p.dan, "/api/v1/secrets").await.ok();
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
    assert_hidden("list", &all.to_string());
    assert!(!all.to_string().contains("pay-value"), "{all}");
    let pay = app.get(&p.dan, "/api/v1/secrets?application=PAY").await.ok();
    assert_eq!(pay["items"][0]["name"], "TOKEN", "{pay}");
    assert_hidden("show", &app.get(&p.dan, &format!("/api/v1/secrets/{id}")).await.ok().to_string());

    // Replaced with the version it was based on; a stale one is refused.
    let v = app.patch(&p.erin, &format!("/api/v1/secrets/{id}"), json!({"value": "second-value"}), 1).await.ok();
    assert_eq!(v["version"].as_i64(), Some(2));
    assert!(!v.to_string().contains("second-value"), "{v}");
    app.patch(&p.erin, &format!("/api/v1/secrets/{id}"), json!({"value": "stale-value"}), 1).await.expect(409);

    // Audited: create, update and delete with name and scope, never the value.
    app.call(Some(&p.erin), reqwest::Method::DELETE, &format!("/api/v1/secrets/{id}"), None).await.expect(204);
    app.get(&p.dan, &format!("/api/v1/secrets/{id}")).await.expect(404);
    let events = app.get(&p.dan, &format!("/api/v1/audit/events?object_kind=secret&object={id}")).await.ok();
    let actions: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.len(), 3, "{events}");
    let text = events.to_string();
    assert!(text.contains("TOKEN") && !text.contains("second-value"), "{text}");
    assert_hidden("the audit log", &all_events(&app).await);
}

#[tokio::test]
async fn a_deployment_masks_the_secret_it_prints_and_the_value_is_nowhere_stored() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let to = turnover(&app, &p).await;
    let env = json!({"name": "TOKEN", "value": VALUE, "scope": {"kind": "environment", "environment": "test"}});
    app.post(&p.erin, "/api/v1/secrets", env).await.expect(201);
    // Defined only for prod, which this turnover's path does not reach.
    let prod =
        json!({"name": "PROD_ONLY", "value": "prod-value", "scope": {"kind": "environment", "environment": "prod"}});
    app.post(&p.erin, "/api/v1/secrets", prod).await.expect(201);

    // Unknown secrets are refused when the task is added, naming them; malformed ones name the field.
    let tasks = format!("/api/v1/turnovers/{to}/tasks");
    let before = app.event_count().await;
    let r = app
        .post(
            &p.dan,
            &tasks,
            json!({"title": "t", "sequence": 1, "action": sh("echo ${secret.NOPE} ${secret.PROD_ONLY}")}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    assert_eq!(r.guards(), ["unknown_secret", "unknown_secret"], "{}", r.body);
    assert!(r.guard_text().contains("NOPE") && r.guard_text().contains("PROD_ONLY"), "{}", r.guard_text());
    let r = app.post(&p.dan, &tasks, json!({"title": "t", "sequence": 1, "action": sh("${secret.bad-x}")})).await;
    assert!(r.expect(422).to_string().contains("action.args"));
    assert_eq!(app.event_count().await, before, "nothing written");

    // A task that prints the value, its base64 form and its URL-encoded form; and an HTTP task whose
    // failing URL carries it.
    let mut echo = sh("echo \"token=$T\"; printf %s \"$T\" | base64; echo \"url=${secret.TOKEN}\"");
    echo["env"] = json!({"T": "${secret.TOKEN}"});
    let t = app.post(&p.dan, &tasks, json!({"title": "Echo", "sequence": 1, "action": echo})).await.expect(201);
    assert!(t.to_string().contains("${secret.TOKEN}"), "{t}");
    let http =
        json!({"kind": "http", "method": "GET", "url": "http://127.0.0.1:9/?token=${secret.TOKEN}", "timeout_secs": 5});
    app.post(&p.dan, &tasks, json!({"title": "Call", "sequence": 1, "action": http})).await.expect(201);

    let d = app.post(&p.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.expect(201);
    let id = d["id"].as_str().unwrap().to_string();
    let settled = |d: &Value| {
        ["Echo", "Call"].iter().all(|t| !matches!(run(d, t)["state"].as_str(), Some("pending" | "running")))
    };
    let d = wait_for(&app, &p.rita, &id, "a settled state", settled).await;
    assert_eq!(run(&d, "Echo")["state"], "succeeded", "{d}");
    assert_ne!(run(&d, "Call")["state"], "succeeded", "{d}");
    assert_hidden("the deployment", &d.to_string());
    let echo_run = run(&d, "Echo")["id"].as_str().unwrap().to_string();
    let log = app.get(&p.dan, &format!("/api/v1/deployments/{id}/runs/{echo_run}/log")).await.ok();
    let lines: Vec<&str> = log["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(lines, ["token=***", "***", "url=***"], "{log}");
    let call_run = run(&d, "Call")["id"].as_str().unwrap().to_string();
    let log = app.get(&p.dan, &format!("/api/v1/deployments/{id}/runs/{call_run}/log")).await.ok();
    assert_hidden("the HTTP run's log", &log.to_string());

    // Nowhere stored: not in the database file, its WAL, the audit log or the turnover.
    assert_hidden("the audit log", &all_events(&app).await);
    assert_hidden("the turnover", &app.get(&p.dan, &format!("/api/v1/turnovers/{to}")).await.ok().to_string());
    let wal = app.db_path.with_extension("db-wal");
    for file in [app.db_path.clone(), wal] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(!contains(&bytes, VALUE.as_bytes()), "{} holds the secret", file.display());
    }
    assert!(std::fs::metadata(&app.db_path).unwrap().len() > 0);
}

#[tokio::test]
async fn a_remote_runner_gets_the_secret_and_its_mask_and_the_server_masks_what_it_reports() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let to = turnover(&app, &p).await;
    let env = json!({"name": "TOKEN", "value": VALUE, "scope": {"kind": "environment", "environment": "test"}});
    app.post(&p.erin, "/api/v1/secrets", env).await.expect(201);
    let r = app.post(&p.erin, "/api/v1/runners", json!({"name": "eu-1", "labels": ["eu"]})).await.expect(201);
    let runner = r["token"].as_str().unwrap().to_string();
    let e = app.get(&p.erin, "/api/v1/environments/test").await.ok();
    app.patch(&p.erin, "/api/v1/environments/test", json!({"runner_labels": ["eu"]}), e["version"].as_i64().unwrap())
        .await
        .ok();
    let tasks = format!("/api/v1/turnovers/{to}/tasks");
    let mut echo = sh("echo \"token=$T\"");
    echo["env"] = json!({"T": "${secret.TOKEN}"});
    app.post(&p.dan, &tasks, json!({"title": "Echo", "sequence": 1, "action": echo})).await.expect(201);
    let d = app.post(&p.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.expect(201);
    let id = d["id"].as_str().unwrap().to_string();

    // The claim carries the resolved action and the value to mask: only the runner that runs it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let got = loop {
        let c = app.post(&runner, "/api/v1/runner/claim", json!({"capacity": 1, "wait_ms": 500})).await.expect(200);
        if let Some(r) = c["runs"].as_array().and_then(|r| r.first()) {
            break r.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no run came: {c}");
    };
    assert_eq!(got["action"]["env"]["T"], VALUE, "{got}");
    assert!(got["mask"].as_array().unwrap().contains(&json!(VALUE)), "{got}");

    // A runner that forgot to mask: the server masks its output so far and its result.
    let claim = got["claim"].as_str().unwrap();
    let line = |t: &str| json!({"at": chrono::Utc::now(), "stream": "stdout", "text": t});
    let hb = format!("/api/v1/runner/runs/{claim}/heartbeat");
    app.post(&runner, &hb, json!({"lines": [line(&format!("early {VALUE}"))]})).await.expect(200);
    let log = app.get(&p.dan, &format!("/api/v1/deployments/{id}/runs/R1/log")).await.ok();
    assert_eq!(log["lines"][0]["text"], "early ***", "{log}");
    let result = json!({"status": "failed", "exit_code": 1, "message": format!("failed near {VALUE}"),
        "finished_at": chrono::Utc::now(), "lines": [line(&format!("token={VALUE}"))]});
    app.post(&runner, &format!("/api/v1/runner/runs/{claim}/result"), result).await.expect(200);
    let d = wait_for(&app, &p.rita, &id, "failed", |d| d["state"] == "failed").await;
    assert_eq!(run(&d, "Echo")["message"], "failed near ***", "{d}");
    let log = app.get(&p.dan, &format!("/api/v1/deployments/{id}/runs/R1/log")).await.ok();
    let lines: Vec<&str> = log["lines"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(lines, ["early ***", "token=***"], "{log}");
    assert_hidden("the audit log", &all_events(&app).await);
    for file in [app.db_path.clone(), app.db_path.with_extension("db-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(!contains(&bytes, VALUE.as_bytes()), "{} holds the secret", file.display());
    }
}
