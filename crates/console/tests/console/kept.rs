//! Saving an edit form keeps what the form does not show, and a form drawn from an older version is
//! refused rather than overwriting: a train's third approval level, a task's environment variables and
//! an HTTP call's headers, an artifact with both a digest and a link. And every form action of the
//! console refuses a post without the session's CSRF token.

use serde_json::{Value, json};

use crate::common::{PASSWORD, TestApp};
use crate::form::{fields, with};
use crate::pages::release_with_turnover;

fn one_level(who: &str) -> Value {
    json!({"approvers": [who], "required": 1})
}

#[tokio::test]
async fn saving_an_edit_form_keeps_what_it_does_not_show_and_a_stale_one_is_refused() {
    let app = TestApp::spawn().await;
    let (train, pay, _, turnover) = release_with_turnover(&app).await;
    let rosa = app.user("rosa", &["release_manager"]).await;
    let browser = app.browser();
    browser.sign_in("rosa", PASSWORD).await;

    // A train whose executive approval has three levels: renaming it keeps them.
    app.user("ed", &["product_owner"]).await;
    let policies = json!({"executive": {"levels": [one_level("eve"), one_level("ed"), one_level("rita")]}});
    let mut body = json!({"title": "Three levels", "release_type": "minor", "approval_policies": policies,
        "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"}});
    let t = app.post(&rosa, "/api/v1/trains", body.take()).await;
    let id = t["id"].as_str().unwrap();
    let page = browser.get(&format!("/trains/{id}/edit")).await;
    let form = with(fields(&page.body, &format!("/trains/{id}")), "title", "Three levels, renamed");
    let res = browser.post_fields(&format!("/trains/{id}"), &form).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let t = app.get(&rosa, &format!("/api/v1/trains/{id}")).await;
    assert_eq!(t["title"], "Three levels, renamed");
    assert_eq!(t["approval_policies"]["executive"]["levels"], policies["executive"]["levels"], "{t}");

    // A turnover whose artifact has a digest and a link, and two tasks with what the form does not show.
    let to = app.get(&rosa, &format!("/api/v1/turnovers/{turnover}")).await;
    let artifacts = json!([{"name": "pay-api", "version": "1.4.2", "digest": "sha256:ab12",
        "link": "https://builds.example/pay-api/1.4.2"}]);
    let res = app
        .api
        .patch(format!("{}/api/v1/turnovers/{turnover}", app.base))
        .bearer_auth(&rosa)
        .header("If-Match", format!("\"{}\"", to["version"]))
        .json(&json!({"artifacts": artifacts}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let command = json!({"title": "Migrate", "sequence": 1, "action": {"kind": "command", "program": "/bin/sh",
        "args": ["-c", "echo migrate"], "env": {"DB_URL": "postgres://db/pay"}, "working_dir": "/srv/pay"}});
    let call = json!({"title": "Notify", "sequence": 2, "action": {"kind": "http", "method": "POST",
        "url": "https://hooks.example/deployed", "headers": {"Authorization": "Bearer s3cret"},
        "body": "{\"app\":\"pay\"}", "expected_status": [202]}});
    for task in [command, call] {
        app.post(&rosa, &format!("/api/v1/turnovers/{turnover}/tasks"), task).await;
    }
    let before = app.get(&rosa, &format!("/api/v1/turnovers/{turnover}")).await;
    let task_ids: Vec<String> =
        before["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();

    let page = browser.get(&format!("/turnovers/{turnover}")).await;
    let action = format!("/turnovers/{turnover}/edit");
    let res = browser.post_fields(&action, &with(fields(&page.body, &action), "title", "PAY 1 build 43")).await;
    assert_eq!(res.status, 303, "{}", res.body);
    // Each task renamed from the same page, as drawn: the first save moves the turnover's version on.
    let mut stale = Vec::new();
    for (i, task) in task_ids.iter().enumerate() {
        let page = browser.get(&format!("/turnovers/{turnover}")).await;
        let action = format!("/turnovers/{turnover}/tasks/{task}/edit");
        let form = with(fields(&page.body, &action), "title", &format!("Step {}", i + 1));
        let res = browser.post_fields(&action, &form).await;
        assert_eq!(res.status, 303, "{}", res.body);
        stale.push((action, form));
    }
    let after = app.get(&rosa, &format!("/api/v1/turnovers/{turnover}")).await;
    assert_eq!(after["title"], "PAY 1 build 43");
    assert_eq!(after["artifacts"], artifacts, "the link is kept");
    let titles: Vec<&str> = after["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles, vec!["Step 1", "Step 2"]);
    for (b, a) in before["tasks"].as_array().unwrap().iter().zip(after["tasks"].as_array().unwrap()) {
        assert_eq!(b["action"], a["action"], "what the form does not show is kept");
    }

    // The first task's form, drawn before the second task was saved, is now stale.
    let events = app.event_count().await;
    let (action, form) = &stale[0];
    let res = browser.post_fields(action, &with(form.clone(), "title", "Overwritten")).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("Someone changed this first"), "{}", res.body);
    assert_eq!(app.event_count().await, events);

    // A release milestone's edit form carries the release's version too.
    let m = app
        .post(
            &rosa,
            &format!("/api/v1/application-releases/{pay}/milestones"),
            json!({"title": "Demo", "due": "2027-01-20"}),
        )
        .await;
    let ms = m["milestones"].as_array().unwrap().last().unwrap()["id"].as_str().unwrap().to_string();
    let page = browser.get(&format!("/releases/{pay}")).await;
    let action = format!("/releases/{pay}/milestones/{ms}/edit");
    let form = fields(&page.body, &action);
    let res = browser.post_fields(&action, &with(form.clone(), "title", "Demo day")).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let res = browser.post_fields(&action, &with(form, "title", "Overwritten")).await;
    assert_eq!(res.status, 409, "{}", res.body);
    let r = app.get(&rosa, &format!("/api/v1/application-releases/{pay}")).await;
    let titles: Vec<&str> = r["milestones"].as_array().unwrap().iter().map(|m| m["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&"Demo day") && !titles.contains(&"Overwritten"), "{titles:?}");
    let _ = train;
}

#[tokio::test]
async fn every_form_action_refuses_a_post_without_the_csrf_token() {
    let app = TestApp::spawn().await;
    let (train, pay, _, turnover) = release_with_turnover(&app).await;
    let browser = app.browser();
    browser.sign_in_with_token(&app.admin).await;
    let before = app.event_count().await;

    // Every POST route of the console, its path parameters filled with objects that exist.
    let routes = include_str!("../../src/routes.rs");
    let mut checked = 0;
    for line in routes.lines().filter(|l| l.contains(".route(\"") && l.contains("post(")) {
        let path = line.split('"').nth(1).unwrap();
        if path == "/sign-in" {
            continue; // Checked on its own in sign_in.rs: there is no session yet.
        }
        let path = path
            .replace("/trains/{id}", &format!("/trains/{train}"))
            .replace("/releases/{id}", &format!("/releases/{pay}"))
            .replace("/turnovers/{id}", &format!("/turnovers/{turnover}"))
            .replace("/users/{name}", "/users/rita")
            .replace("/environments/{name}", "/environments/test")
            .replace("/applications/{key}", "/applications/PAY");
        let path: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "X-1".to_string() } else { seg.to_string() })
            .collect::<Vec<_>>()
            .join("/");
        let res = browser.post(&path, &[("back", "/"), ("reason", "forged"), ("title", "forged")]).await;
        assert_eq!(res.status, 403, "POST {path} without the CSRF token: {}", res.body);
        assert!(res.body.contains("Refused: the form could not be verified"), "POST {path}: {}", res.body);
        checked += 1;
    }
    assert!(checked > 90, "only {checked} form actions found in routes.rs");
    assert_eq!(app.event_count().await, before, "a refused form changed something");
}
