//! The runners page: a release engineer registers a runner through the form and sees its token once, a
//! developer sees the runners but neither the form nor a Revoke button, and revoking works from the page;
//! its buttons are the runner actions the API lists for the same user. An environment's runner labels
//! are edited through its form (an unknown label refused, naming the field), and a deployment waiting
//! for a runner with its labels says so on its page, which names the runner that ran each run.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Browser, PASSWORD, Page, TestApp};
use crate::deploying::{setup, wait_for};

#[track_caller]
fn redirected(res: &Page, to: &str) {
    assert_eq!((res.status.as_u16(), res.location()), (303, to), "{}", res.body);
}

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    redirected(&b.sign_in(name, PASSWORD).await, "/");
    b
}

/// The runner token shown on a page, if any.
fn token_on(page: &Page) -> Option<String> {
    let at = page.body.find("ryrun_")?;
    Some(page.body[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
}

/// The page's Revoke buttons are exactly the runners `GET /api/v1/runners/actions` lets `token` revoke.
#[track_caller]
fn buttons_match(page: &Page, actions: &Value) {
    let items = actions.as_array().cloned().unwrap_or_default();
    assert!(!items.is_empty(), "{actions}");
    for a in &items {
        assert_eq!(a["action"], "revoke", "{a}");
        let form = format!(r#"action="/runners/{}/revoke""#, a["on"].as_str().unwrap_or_default());
        assert_eq!(page.body.contains(&form), a["allowed"] == true, "{form} against {a}:\n{}", page.body);
    }
}

#[tokio::test]
async fn an_engineer_registers_a_runner_sees_its_token_once_and_revokes_it_and_a_developer_only_reads() {
    let app = TestApp::spawn().await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let b = signed_in(&app, "erin").await;
    let page = b.get("/runners").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"action="/runners""#) && page.body.contains("No runners yet"), "{}", page.body);
    assert!(page.body.contains(r#"href="/runners""#), "the navigation links the page: {}", page.body);

    let form = [
        ("csrf", page.csrf()),
        ("name", "eu-1".into()),
        ("labels", " eu, linux ".into()),
        ("description", "Frankfurt hosts".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let shown = b.post("/runners", &form).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let token = token_on(&shown).unwrap_or_else(|| panic!("no token shown:\n{}", shown.body));
    assert!(token.len() > 40, "{token}");
    assert!(shown.body.contains("Copy it now: it is not shown again"), "{}", shown.body);
    let command = format!("railyard runner --server {} --token-file /etc/railyard/eu-1.token", app.base);
    assert!(shown.body.contains(&command), "{command} in:\n{}", shown.body);
    let runner = app.get(&erin, "/api/v1/runners/eu-1").await;
    assert_eq!(
        (runner["labels"].clone(), runner["description"].as_str()),
        (json!(["eu", "linux"]), Some("Frankfurt hosts")),
        "{runner}"
    );

    // Shown once: a second look at the page does not carry it.
    let again = b.get("/runners").await;
    assert!(again.body.contains("eu-1") && again.body.contains("Frankfurt hosts"), "{}", again.body);
    assert_eq!(token_on(&again), None, "the token is shown again:\n{}", again.body);
    assert!(again.body.contains("never") && again.body.contains("offline"), "{}", again.body);

    // The runner says hello serving one of its labels: online, its version, what it serves.
    let hello = json!({"version": "1.2.3", "capacity": 0, "labels": ["eu"]});
    app.post(&token, "/api/v1/runner/claim", hello).await;
    let seen = b.get("/runners").await;
    for text in ["1.2.3", "serving now: eu", ">online<"] {
        assert!(seen.body.contains(text), "{text} in:\n{}", seen.body);
    }
    buttons_match(&seen, &app.get(&erin, "/api/v1/runners/actions").await);

    let d = signed_in(&app, "dan").await;
    let read = d.get("/runners").await;
    assert!(read.body.contains("eu-1") && read.body.contains("eu, linux"), "{}", read.body);
    assert!(!read.body.contains(r#"action="/runners""#) && !read.body.contains("/revoke"), "{}", read.body);
    buttons_match(&read, &app.get(&dan, "/api/v1/runners/actions").await);
    let posted = d.post("/runners", &[("csrf", &read.csrf()), ("name", "us-1"), ("labels", "us")]).await;
    assert_eq!(posted.status, 403, "{}", posted.body);

    // A bad label is refused, naming it and the field.
    let bad = b.post("/runners", &[("csrf", &seen.csrf()), ("name", "us-1"), ("labels", "us, Bad Label")]).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("labels[1]") && bad.body.contains("Bad Label"), "{}", bad.body);

    // Revoking asks for the box to be ticked, then works from the page.
    let csrf = seen.csrf();
    let unticked = b.post("/runners/eu-1/revoke", &[("csrf", &csrf)]).await;
    assert_eq!(unticked.status, 422, "{}", unticked.body);
    assert_eq!(app.get(&erin, "/api/v1/runners/eu-1").await["state"], "active");
    redirected(&b.post("/runners/eu-1/revoke", &[("csrf", &csrf), ("confirm", "yes")]).await, "/runners");
    assert_eq!(app.get(&erin, "/api/v1/runners/eu-1").await["state"], "revoked");
    let after = b.get("/runners").await;
    assert!(after.body.contains("revoked") && !after.body.contains("/runners/eu-1/revoke"), "{}", after.body);
    buttons_match(&after, &app.get(&erin, "/api/v1/runners/actions").await);
}

#[tokio::test]
async fn an_environments_runner_labels_are_edited_and_a_deployment_waiting_for_a_runner_says_so() {
    let app = TestApp::spawn().await;
    let s = setup(&app, false).await;
    let runner = app.post(&s.erin, "/api/v1/runners", json!({"name": "eu-1", "labels": ["eu"]})).await;
    let runner = runner["token"].as_str().unwrap().to_string();
    let b = signed_in(&app, "erin").await;
    let page = b.get("/environments/test").await;
    assert!(
        page.body.contains("the built-in runner") && page.body.contains(r#"name="runner_labels""#),
        "{}",
        page.body
    );

    let owner = app.get(&s.erin, "/api/v1/environments/test").await["owner"].as_str().unwrap().to_string();
    let edit = |labels: &'static str, page: &Page| {
        vec![
            ("csrf".to_string(), page.csrf()),
            ("version".to_string(), page.input_value("Edit test", "version")),
            ("kind".to_string(), "test".to_string()),
            ("owner".to_string(), owner.clone()),
            ("description".to_string(), String::new()),
            ("runner_labels".to_string(), labels.to_string()),
        ]
    };
    let refused = b.post_fields("/environments/test", &edit("eu, mars", &page)).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("runner_labels") && refused.body.contains("'mars'"), "{}", refused.body);
    assert!(refused.body.contains("/environments/test?edit=open"), "{}", refused.body);
    redirected(&b.post_fields("/environments/test", &edit("eu", &page)).await, "/environments/test");
    assert_eq!(app.get(&s.erin, "/api/v1/environments/test").await["runner_labels"], json!(["eu"]));
    let page = b.get("/environments/test").await;
    assert!(page.body.contains("a runner with labels eu"), "{}", page.body);
    assert!(page.body.contains(r#"name="runner_labels" value="eu""#), "{}", page.body);

    // No runner with label eu is online: the deployment's page says it waits, naming the label.
    let d = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await;
    let id = d["id"].as_str().unwrap().to_string();
    wait_for(&app, &s.erin, &id, "a wait for a runner", |d| d["blocked"].is_string()).await;
    let shown = b.get(&format!("/deployments/{id}")).await;
    assert!(shown.body.contains(r#"id="blocked""#), "{}", shown.body);
    assert!(shown.body.contains("waiting for a runner with labels eu: none is online"), "{}", shown.body);
    assert!(shown.body.contains("built-in"), "{}", shown.body);

    // The runner takes a run and reports it done: the page names it as the run's runner.
    let deadline = Instant::now() + Duration::from_secs(20);
    let claim = loop {
        let c = app.post(&runner, "/api/v1/runner/claim", json!({"version": "test", "capacity": 1})).await;
        if let Some(r) = c["runs"].as_array().and_then(|r| r.first()) {
            break r["claim"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "no run came: {c}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let result = json!({"status": "succeeded", "exit_code": 0, "message": "exited with 0", "finished_at": chrono::Utc::now(), "lines": []});
    app.post(&runner, &format!("/api/v1/runner/runs/{claim}/result"), result).await;
    let page = b.get(&format!("/deployments/{id}")).await;
    assert!(page.body.contains("<td>eu-1</td>"), "{}", page.body);
}
