//! Turnovers: created under R6, linking only done work items of their release (R7), with manual and
//! automation tasks.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, level, train_body};

struct Fixture {
    rita: String,
    dan: String,
    rt: String,
    ar: String,
    path: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let rita = app.user("rita", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    app.user("eve", &["product_owner"]).await;
    for (name, kind) in [("test", "test"), ("staging", "staging")] {
        app.post(&erin, "/api/v1/environments", json!({"name": name, "kind": kind})).await.ok();
    }
    let p = app
        .post(
            &erin,
            "/api/v1/deployment-paths",
            json!({"name": "standard", "stages": [{"environment": "test"}, {"environment": "staging"}]}),
        )
        .await
        .ok();
    let path = p["id"].as_str().unwrap().to_string();
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
    Fixture { rita, dan, rt, ar, path }
}

fn spec(f: &Fixture) -> Value {
    json!({"title": "PAY 1 build 42", "release": f.ar, "path": f.path, "artifacts": [{"name": "pay-api", "version": "1.4.2", "digest": "sha256:ab12"}]})
}

#[tokio::test]
async fn turnovers_follow_r6_and_r7_and_carry_tasks() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let erin = app.user("erin2", &["release_engineer"]).await;

    // R6: the path must be active, the train in construction, the release begun.
    let r = app.post(&f.dan, "/api/v1/turnovers", spec(&f)).await;
    assert_eq!(r.guards(), vec!["train_not_in_construction", "release_not_begun", "path_not_active"]);
    app.post(&erin, &format!("/api/v1/deployment-paths/{}/activate", f.path), json!({})).await.ok();
    app.post(&f.rita, &format!("/api/v1/trains/{}/submit", f.rt), json!({})).await.ok();
    app.post(&f.rita, &format!("/api/v1/trains/{}/start-construction", f.rt), json!({})).await.ok();
    let r = app.post(&f.dan, "/api/v1/turnovers", spec(&f)).await;
    assert_eq!(r.guards(), vec!["release_not_begun"]);
    app.post(&f.rita, &format!("/api/v1/application-releases/{}/begin-work", f.ar), json!({})).await.ok();
    let t = app.post(&f.dan, "/api/v1/turnovers", spec(&f)).await.expect(201);
    assert_eq!(
        (t["state"].as_str(), t["developer"].as_str(), t["kind"].as_str()),
        (Some("draft"), Some("dan"), Some("standard"))
    );
    assert_eq!(t["stages"].as_array().unwrap().len(), 2, "the path's stages are copied");
    let to = t["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/turnovers/{to}");

    // R7: only done work items of its own release.
    let items = json!([
        {"key": "PAY-1", "title": "done", "kind": "development_task", "status": "done"},
        {"key": "PAY-2", "title": "open", "kind": "development_task"}
    ]);
    let res = app
        .http
        .post(format!("{}/api/v1/application-releases/{}/work-items/import", app.base, f.ar))
        .bearer_auth(&f.rita)
        .header("Content-Type", "application/json")
        .body(items.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let list = app.get(&f.dan, &format!("/api/v1/application-releases/{}/work-items", f.ar)).await.ok();
    let (done, open) =
        (list["items"][0]["id"].as_str().unwrap().to_string(), list["items"][1]["id"].as_str().unwrap().to_string());
    let r = app.post(&f.dan, &format!("{base}/work-items"), json!({"work_items": [done, open]})).await;
    assert_eq!(r.guards(), vec!["work_item_not_done"]);
    assert!(r.guard_text().contains("PAY-2"), "{}", r.guard_text());
    let t = app.post(&f.dan, &format!("{base}/work-items"), json!({"work_items": [done]})).await.ok();
    assert_eq!(t["work_items"], json!([done]));
    app.post(&f.dan, &format!("{base}/work-items"), json!({"work_items": ["WI-999"]})).await.expect(422);

    // Tasks: manual (an owner) or automation (an action), validated field by field.
    let r = app.post(&f.dan, &format!("{base}/tasks"), json!({"title": "x", "sequence": 1})).await;
    assert_eq!(r.body["errors"][0]["field"], "action");
    let r = app
        .post(
            &f.dan,
            &format!("{base}/tasks"),
            json!({"title": "x", "sequence": 1, "action": {"kind": "command", "program": ""}}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["field"], "action.program", "{}", r.body);
    let r = app.post(&f.dan, &format!("{base}/tasks"), json!({"title": "x", "sequence": 1, "owner": "nobody"})).await;
    assert_eq!(r.status, 422);
    app.post(
        &f.dan,
        &format!("{base}/tasks"),
        json!({"title": "Migrate schema", "sequence": 1, "tier": "database",
        "action": {"kind": "command", "program": "/bin/sh", "args": ["-c", "echo migrate"], "timeout_secs": 60}}),
    )
    .await
    .expect(201);
    app.post(
        &f.dan,
        &format!("{base}/tasks"),
        json!({"title": "Deploy web", "sequence": 2, "tier": "web",
        "action": {"kind": "http", "method": "POST", "url": "http://127.0.0.1:9/deploy", "timeout_secs": 5}}),
    )
    .await
    .expect(201);
    let t = app
        .post(&f.dan, &format!("{base}/tasks"), json!({"title": "Sign-off", "sequence": 3, "owner": "rita"}))
        .await
        .ok();
    let tasks: Vec<&str> = t["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(tasks, ["Migrate schema", "Deploy web", "Sign-off"]);
    let sign_off = t["tasks"][2]["id"].as_str().unwrap().to_string();
    let t = app
        .post(&f.dan, &format!("{base}/tasks/reorder"), json!({"order": [{"task": sign_off, "sequence": 1}]}))
        .await
        .ok();
    assert_eq!(t["tasks"][0]["title"], "Migrate schema");
    assert_eq!(t["tasks"][1]["title"], "Sign-off", "equal sequences keep id order");
    let t = app
        .call(Some(&f.dan), Method::PATCH, &format!("{base}/tasks/{sign_off}"), Some(json!({"sequence": 4})))
        .await
        .ok();
    assert_eq!(t["tasks"][2]["title"], "Sign-off");

    // Another developer cannot change dan's turnover; a second turnover copies its tasks.
    let dora = app.user("dora", &["developer"]).await;
    let r = app.post(&dora, &format!("{base}/tasks"), json!({"title": "y", "sequence": 1, "owner": "dora"})).await;
    assert_eq!(r.guards(), vec!["not_developer"]);
    let t2 = app.post(&dora, "/api/v1/turnovers", spec(&f)).await.ok();
    let base2 = format!("/api/v1/turnovers/{}", t2["id"].as_str().unwrap());
    let t2 = app.post(&dora, &format!("{base2}/tasks/copy"), json!({"from": to})).await.ok();
    assert_eq!(t2["tasks"].as_array().unwrap().len(), 3);
    assert_ne!(t2["tasks"][0]["id"], t["tasks"][0]["id"]);
    let r = app.post(&dora, &format!("{base2}/tasks/copy"), json!({"from": to, "tasks": ["TA-999"]})).await;
    assert_eq!(r.status, 422);

    // Cancel needs a reason; a cancelled turnover no longer changes.
    app.post(&f.dan, &format!("{base}/cancel"), json!({})).await.expect(422);
    app.post(&f.dan, &format!("{base}/cancel"), json!({"reason": "superseded by build 43"})).await.ok();
    let r = app.post(&f.dan, &format!("{base}/tasks"), json!({"title": "z", "sequence": 1, "owner": "dan"})).await;
    assert_eq!(r.guards(), vec!["wrong_state"]);
    let mine = app.get(&f.dan, &format!("/api/v1/turnovers?release={}&state=draft", f.ar)).await.ok();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn runbooks_are_reviewed_then_copied_into_turnovers_and_made_from_them() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let erin = app.user("erin2", &["release_engineer"]).await;
    app.post(&erin, &format!("/api/v1/deployment-paths/{}/activate", f.path), json!({})).await.ok();
    app.post(&f.rita, &format!("/api/v1/trains/{}/submit", f.rt), json!({})).await.ok();
    app.post(&f.rita, &format!("/api/v1/trains/{}/start-construction", f.rt), json!({})).await.ok();
    app.post(&f.rita, &format!("/api/v1/application-releases/{}/begin-work", f.ar), json!({})).await.ok();
    let t = app.post(&f.dan, "/api/v1/turnovers", spec(&f)).await.ok();
    let to = t["id"].as_str().unwrap().to_string();

    let tasks = json!([
        {"title": "Stop app", "sequence": 1, "action": {"kind": "command", "program": "/bin/true"}},
        {"title": "Smoke test", "sequence": 2, "owner": "rita"}
    ]);
    let r = app
        .post(
            &f.dan,
            "/api/v1/runbooks",
            json!({"name": "x", "tasks": [{"title": "bad", "sequence": 0, "owner": "rita"}]}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["field"], "tasks[0].sequence");
    let rb = app
        .post(&f.dan, "/api/v1/runbooks", json!({"name": "PAY restart", "applications": ["PAY"], "tasks": tasks}))
        .await
        .expect(201);
    let id = rb["id"].as_str().unwrap().to_string();
    let other = app
        .post(&f.dan, "/api/v1/runbooks", json!({"name": "WEB only", "applications": ["WEB"], "tasks": tasks}))
        .await
        .ok();
    let other = other["id"].as_str().unwrap().to_string();

    // A draft cannot be used; its author cannot accept it; a reviewer can.
    let r = app.post(&f.dan, &format!("/api/v1/turnovers/{to}/tasks/from-runbook"), json!({"runbook": id})).await;
    assert_eq!(r.guards(), vec!["runbook_not_accepted"]);
    app.post(&f.dan, &format!("/api/v1/runbooks/{id}/submit"), json!({})).await.ok();
    let r = app.post(&f.dan, &format!("/api/v1/runbooks/{id}/accept"), json!({})).await;
    // Not a reviewer at all: refused by who may (403), naming every unmet guard.
    assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (403, Some("forbidden")), "{}", r.body);
    assert_eq!(r.guards(), vec!["own_runbook", "not_reviewer"]);
    app.post(&erin, &format!("/api/v1/runbooks/{id}/reject"), json!({})).await.expect(422);
    let rb = app.post(&erin, &format!("/api/v1/runbooks/{id}/accept"), json!({"comment": "fine"})).await.ok();
    assert_eq!((rb["state"].as_str(), rb["reviewed_by"].as_str()), (Some("accepted"), Some("erin2")));
    let t = app.post(&f.dan, &format!("/api/v1/turnovers/{to}/tasks/from-runbook"), json!({"runbook": id})).await.ok();
    let titles: Vec<&str> = t["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Stop app", "Smoke test"]);
    assert_ne!(t["tasks"][0]["id"], rb["tasks"][0]["id"], "copies get their own ids");
    app.post(&f.dan, &format!("/api/v1/runbooks/{other}/submit"), json!({})).await.ok();
    app.post(&erin, &format!("/api/v1/runbooks/{other}/accept"), json!({})).await.ok();
    let r = app.post(&f.dan, &format!("/api/v1/turnovers/{to}/tasks/from-runbook"), json!({"runbook": other})).await;
    assert_eq!(r.guards(), vec!["runbook_out_of_scope"]);

    // A turnover's tasks saved as a new draft runbook; a runbook is deactivated.
    let saved = app
        .post(&f.dan, &format!("/api/v1/turnovers/{to}/save-as-runbook"), json!({"name": "from build 42"}))
        .await
        .expect(201);
    assert_eq!((saved["state"].as_str(), saved["tasks"].as_array().unwrap().len()), (Some("draft"), 2));
    app.post(&erin, &format!("/api/v1/runbooks/{id}/deactivate"), json!({})).await.ok();
    let accepted = app.get(&f.dan, "/api/v1/runbooks?state=accepted").await.ok();
    assert_eq!(accepted["items"].as_array().unwrap().len(), 1);
}
