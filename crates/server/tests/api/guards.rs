//! Guards and edge cases found in review: each must refuse, naming why, and change nothing.

use reqwest::Method;
use serde_json::json;

use crate::common::{TestApp, level, train_body};

fn release(title: &str, app: &str, train: Option<&str>) -> serde_json::Value {
    let mut b = json!({"title": title, "application": app, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
    if let Some(t) = train {
        b["train"] = json!(t);
    }
    b
}

#[tokio::test]
async fn only_the_manager_hands_a_train_over_and_nobody_requests_an_approval_no_one_can_grant() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let ralph = app.user("ralph", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let policies = json!({"train": {"levels": [level(&["rita"], 1)]}, "executive": {"levels": [level(&["eve"], 1)]}});
    let t = app.post(&rita, "/api/v1/trains", train_body("T", policies)).await.ok();
    let path = format!("/api/v1/trains/{}", t["id"].as_str().unwrap());
    let v = t["version"].as_i64().unwrap();
    // R3 rests on who the manager is: another manager cannot make the train theirs.
    let r = app.patch(&ralph, &path, json!({"manager": "ralph"}), v).await;
    assert_eq!(r.guards(), vec!["not_train_manager"]);
    app.patch(&ralph, &path, json!({"purpose": "shared work"}), v).await.ok();
    // rita alone is listed in the train policy, and may not decide her own request (R2).
    let r = app.post(&rita, &format!("{path}/submit"), json!({})).await;
    assert_eq!(r.guards(), vec!["approval_undecidable"]);
    assert!(r.guard_text().contains("level 1 needs 1"), "{}", r.guard_text());
    let t = app.get(&rita, &path).await.ok();
    assert_eq!(t["state"], "draft");
    // A train is handed only to someone who may manage trains: not to a product owner.
    let r = app.patch(&rita, &path, json!({"manager": "eve"}), t["version"].as_i64().unwrap()).await;
    assert_eq!(r.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.to_string().contains("eve is not a release manager"), "{}", r.body);
    assert_eq!(app.get(&rita, &path).await.ok()["manager"], "rita");
    // The manager hands over; now ralph may submit it, and rita decides.
    let t = app.patch(&rita, &path, json!({"manager": "ralph"}), t["version"].as_i64().unwrap()).await.ok();
    assert_eq!(t["manager"], "ralph");
    let t = app.post(&ralph, &format!("{path}/submit"), json!({})).await.ok();
    let ap = t["train_approval"]["id"].as_str().unwrap();
    let a = app.get(&ralph, &format!("/api/v1/approvals/{ap}")).await.ok();
    assert_eq!(a["waiting_for"], json!(["rita"]));
}

#[tokio::test]
async fn releases_join_trains_only_up_to_construction_and_never_ahead_of_them() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    app.post(&rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    let t = app
        .post(&rita, "/api/v1/trains", train_body("T", json!({"executive": {"levels": [level(&["eve"], 1)]}})))
        .await
        .ok();
    let rt = t["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/trains/{rt}");
    app.post(&rita, &format!("{path}/submit"), json!({})).await.ok();

    // A release that began work on its own cannot join a train still in scoping.
    let r = app.post(&rita, "/api/v1/application-releases", release("early bird", "PAY", None)).await.ok();
    let early = format!("/api/v1/application-releases/{}", r["id"].as_str().unwrap());
    app.post(&rita, &format!("{early}/begin-work"), json!({})).await.ok();
    let r = app.post(&rita, &format!("{early}/propose"), json!({"train": rt})).await;
    assert_eq!(r.guards(), vec!["release_ahead_of_train"]);

    // Once the train is past construction, nobody joins.
    app.post(&rita, &format!("{path}/start-construction"), json!({})).await.ok();
    app.post(&rita, &format!("{early}/propose"), json!({"train": rt})).await.ok();
    app.post(&rita, &format!("{path}/start-verification"), json!({})).await.expect(409);
    app.post(&rita, &format!("{early}/remove"), json!({})).await.ok();
    app.post(&rita, &format!("{path}/start-verification"), json!({})).await.ok();
    let r = app.post(&rita, "/api/v1/application-releases", release("late", "PAY", Some(&rt))).await;
    assert_eq!(r.guards(), vec!["train_closed_to_releases"]);
    assert!(r.guard_text().contains("verification"), "{}", r.guard_text());
}

#[tokio::test]
async fn cancelling_a_train_frees_releases_waiting_for_development_approval() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    app.user("dave", &["developer"]).await;
    app.user("eve", &["product_owner"]).await;
    app.post(&rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    let policies =
        json!({"executive": {"levels": [level(&["eve"], 1)]}, "development": {"levels": [level(&["dave"], 1)]}});
    let t = app.post(&rita, "/api/v1/trains", train_body("T", policies)).await.ok();
    let rt = t["id"].as_str().unwrap().to_string();
    let r = app.post(&rita, "/api/v1/application-releases", release("PAY 1", "PAY", Some(&rt))).await.ok();
    let ar = format!("/api/v1/application-releases/{}", r["id"].as_str().unwrap());
    app.post(&rita, &format!("/api/v1/trains/{rt}/submit"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/trains/{rt}/start-construction"), json!({})).await.ok();
    app.post(&rita, &format!("{ar}/begin-work"), json!({})).await.ok();
    let r = app.post(&rita, &format!("{ar}/request-development-approval"), json!({})).await.ok();
    let dap = r["development_approval"]["id"].as_str().unwrap().to_string();
    app.post(&rita, &format!("/api/v1/trains/{rt}/cancel"), json!({"reason": "descoped"})).await.ok();
    let r = app.get(&rita, &ar).await.ok();
    assert_eq!(r["state"], "construction");
    assert_eq!(r["development_approval"]["state"], "cancelled");
    assert_eq!(app.get(&rita, &format!("/api/v1/approvals/{dap}")).await.ok()["state"], "cancelled");
}

#[tokio::test]
async fn odd_input_is_a_clear_4xx() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    app.post(&rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    let t = app.post(&rita, "/api/v1/trains", train_body("T", json!({}))).await.ok();
    let rt = t["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/trains/{rt}");

    // A copy to a date that pushes the schedule off the calendar.
    let r = app.post(&rita, &format!("{path}/copy"), json!({"start": "+262142-12-01"})).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "start");
    // Moving the train's dates so that a release falls outside is refused, naming the release.
    let r = app.post(&rita, "/api/v1/application-releases", release("PAY 1", "PAY", Some(&rt))).await.ok();
    let ar = r["id"].as_str().unwrap().to_string();
    let sched = json!({"start": "2027-01-10", "scoping_end": "2027-01-15", "construction_end": "2027-02-12", "verification_end": "2027-02-26", "production_date": "2027-03-06"});
    let r = app.patch(&rita, &path, json!({"schedule": sched}), t["version"].as_i64().unwrap()).await;
    assert_eq!(r.status, 422);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains(&ar), "{}", r.body);
    // Control characters in URLs; things that exist already; unknown query parameters.
    let r = app.get(&rita, "/api/v1/trains/RT-1%00").await;
    assert_eq!((r.status.as_u16(), r.body["code"].as_str().unwrap()), (422, "invalid_input"));
    let r = app.get(&rita, "/api/v1/audit/events?actor=a%00b").await;
    assert_eq!(r.status, 422);
    let r = app.post(&rita, "/api/v1/applications", json!({"key": "PAY", "name": "again"})).await;
    assert_eq!((r.status.as_u16(), r.body["code"].as_str().unwrap()), (409, "already_exists"));
    let r = app.get(&rita, "/api/v1/trains?colour=red").await;
    assert_eq!((r.status.as_u16(), r.body["code"].as_str().unwrap()), (422, "invalid_input"));
    assert!(r.body["detail"].as_str().unwrap().contains("colour"), "{}", r.body);
    let r = app.call(Some(&rita), Method::POST, "/api/v1/trains", None).await;
    assert_eq!(r.status, 415);
}

#[tokio::test]
async fn every_imported_work_item_has_its_own_audit_event_in_the_import_commit() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    app.post(&rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    let r = app.post(&rita, "/api/v1/application-releases", release("PAY 1", "PAY", None)).await.ok();
    let ar = r["id"].as_str().unwrap().to_string();
    let body = json!([{"key": "PAY-1", "title": "a", "kind": "business_request"}, {"key": "PAY-2", "title": "b", "kind": "development_task"}]);
    let res = app
        .http
        .post(format!("{}/api/v1/application-releases/{ar}/work-items/import", app.base))
        .bearer_auth(&rita)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let items = app.get(&rita, &format!("/api/v1/application-releases/{ar}/work-items")).await.ok();
    let wi = items["items"][1]["id"].as_str().unwrap();
    let ev = app.get(&rita, &format!("/api/v1/audit/events?object={wi}")).await.ok();
    assert_eq!(ev["items"][0]["action"], "import_create");
    let commit = ev["items"][0]["commit_seq"].as_i64().unwrap();
    let all = app.get(&rita, &format!("/api/v1/audit/events?commit={commit}")).await.ok();
    let actions: Vec<&str> = all["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["import_work_items", "import_create", "import_create"]);
}

#[tokio::test]
async fn the_inbox_lists_what_waits_for_me() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let alice = app.user("alice", &["developer"]).await;
    app.user("eve", &["product_owner"]).await;
    let empty = app.get(&alice, "/api/v1/me/inbox").await.ok();
    assert_eq!(empty, json!({"manual_runs": [], "approvals": [], "criteria": [], "milestones": []}));
    let policies = json!({"train": {"levels": [level(&["alice"], 1)]}, "executive": {"levels": [level(&["eve"], 1)]}});
    let t = app.post(&rita, "/api/v1/trains", train_body("T", policies)).await.ok();
    let path = format!("/api/v1/trains/{}", t["id"].as_str().unwrap());
    app.post(&rita, &format!("{path}/gates/scoping/criteria"), json!({"title": "Scope signed off", "owner": "alice"}))
        .await
        .ok();
    app.post(&rita, &format!("{path}/gates/scoping/criteria"), json!({"title": "not mine", "owner": "rita"}))
        .await
        .ok();
    app.post(&rita, &format!("{path}/milestones"), json!({"title": "Kick-off", "due": "2020-01-01", "owner": "alice"}))
        .await
        .ok();
    app.post(&rita, &format!("{path}/submit"), json!({})).await.ok();
    let inbox = app.get(&alice, "/api/v1/me/inbox").await.ok();
    assert_eq!(inbox["approvals"].as_array().unwrap().len(), 1);
    assert_eq!(inbox["criteria"][0]["title"], "Scope signed off");
    assert_eq!(inbox["criteria"].as_array().unwrap().len(), 1);
    assert_eq!(inbox["milestones"][0]["title"], "Kick-off");
    assert_eq!(inbox["milestones"][0]["overdue"], true);
    // Deciding the approval takes it out of the inbox.
    let ap = inbox["approvals"][0]["id"].as_str().unwrap();
    app.post(&alice, &format!("/api/v1/approvals/{ap}/approve"), json!({})).await.ok();
    assert!(app.get(&alice, "/api/v1/me/inbox").await.ok()["approvals"].as_array().unwrap().is_empty());
}
