//! Work items: one by one, and imports that are all or nothing and idempotent.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestApp;

const JIRA: &str = "\u{feff}Summary,Issue key,Issue id,Issue Type,Status,Sprint,Sprint,Labels\r\n\
Checkout pays with wallets,PAY-1,10001,Epic,In Progress,S1,S2,web\r\n\
\"Card form, with 3DS\",PAY-2,10002,Story,Done,S1,,\r\n\
Fix rounding,PAY-3,10003,Bug,Resolved,,,\r\n\
Refund API,PAY-4,10004,New Feature,To Do,,,\r\n";

async fn setup(app: &TestApp) -> (String, String) {
    let paula = app.user("paula", &["product_owner"]).await;
    app.post(&paula, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    let r = app
        .post(
            &paula,
            "/api/v1/application-releases",
            json!({"title": "PAY 1", "application": "PAY", "schedule": {"start": "2027-01-05", "end": "2027-02-01"}}),
        )
        .await
        .ok();
    (paula, r["id"].as_str().unwrap().to_string())
}

async fn import(app: &TestApp, token: &str, ar: &str, body: &[u8], content_type: &str) -> (u16, Value) {
    let res = app
        .http
        .post(format!("{}/api/v1/application-releases/{ar}/work-items/import", app.base))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_jira_export_imports_once_and_the_second_import_changes_nothing() {
    let app = TestApp::spawn().await;
    let (paula, ar) = setup(&app).await;
    let (s, r) = import(&app, &paula, &ar, JIRA.as_bytes(), "text/csv").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r, json!({"rows": 4, "created": 4, "updated": 0, "unchanged": 0}));
    let items = app.get(&paula, &format!("/api/v1/application-releases/{ar}/work-items")).await.ok();
    let got: Vec<(String, String, String)> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["key"].as_str().unwrap().into(),
                w["kind"].as_str().unwrap().into(),
                w["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("PAY-1", "business_request", "in_progress"),
        ("PAY-2", "development_task", "done"),
        ("PAY-3", "development_task", "done"),
        ("PAY-4", "business_request", "open"),
    ];
    assert_eq!(got, want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())));
    assert_eq!(items["items"][1]["title"], "Card form, with 3DS");
    assert_eq!(items["items"][0]["source"], "jira");

    let events = app.event_count().await;
    let (s, r) = import(&app, &paula, &ar, JIRA.as_bytes(), "text/csv").await;
    assert_eq!((s, r), (200, json!({"rows": 4, "created": 0, "updated": 0, "unchanged": 4})));
    assert_eq!(app.event_count().await, events, "an import that changes nothing records nothing");

    // A changed status updates just that item.
    let changed = JIRA.replace("Refund API,PAY-4,10004,New Feature,To Do", "Refund API,PAY-4,10004,New Feature,Done");
    let (_, r) = import(&app, &paula, &ar, changed.as_bytes(), "text/csv").await;
    assert_eq!(r, json!({"rows": 4, "created": 0, "updated": 1, "unchanged": 3}));
    let done = app.get(&paula, &format!("/api/v1/application-releases/{ar}/work-items?status=done")).await.ok();
    assert_eq!(done["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_bad_row_is_named_by_its_line_and_nothing_is_imported() {
    let app = TestApp::spawn().await;
    let (paula, ar) = setup(&app).await;
    let events = app.event_count().await;
    let bad = format!("{JIRA}Odd one,PAY-5,10005,Spike,Done,,,\r\nFine,PAY-6,10006,Task,Done,,,\r\n");
    let (s, r) = import(&app, &paula, &ar, bad.as_bytes(), "text/csv").await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(r["errors"][0]["field"], "line 6");
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("Spike"), "{r}");
    let (s, r) = import(&app, &paula, &ar, b"Issue key;Summary;Issue Type\nPAY-1;x;Story\n", "text/csv").await;
    assert_eq!(s, 422);
    assert!(r["detail"].as_str().unwrap().contains(';'), "{r}");
    let (s, r) = import(&app, &paula, &ar, b"Issue key,Issue Type\nPAY-1,Story\n", "text/csv").await;
    assert_eq!(s, 422);
    assert!(r["detail"].as_str().unwrap().contains("Summary"), "{r}");
    let (s, _) = import(&app, &paula, &ar, b"Issue key,Summary,Issue Type\nPAY-1,caf\xe9,Story\n", "text/csv").await;
    assert_eq!(s, 422);
    let items = app.get(&paula, &format!("/api/v1/application-releases/{ar}/work-items")).await.ok();
    assert!(items["items"].as_array().unwrap().is_empty(), "nothing half-imported");
    assert_eq!(app.event_count().await, events);

    // JSON works too, and one by one.
    let body = json!([{"key": "PAY-9", "title": "Audit trail", "kind": "business_request"}]);
    let (s, r) = import(&app, &paula, &ar, body.to_string().as_bytes(), "application/json").await;
    assert_eq!((s, r["created"].as_u64()), (200, Some(1)));
    let w = app
        .post(
            &paula,
            &format!("/api/v1/application-releases/{ar}/work-items"),
            json!({"key": "PAY-10", "title": "x", "kind": "development_task"}),
        )
        .await
        .expect(201);
    app.post(
        &paula,
        &format!("/api/v1/application-releases/{ar}/work-items"),
        json!({"key": "PAY-10", "title": "x", "kind": "development_task"}),
    )
    .await
    .expect(409);
    let id = w["id"].as_str().unwrap();
    let w = app
        .call_with(
            Some(&paula),
            Method::PATCH,
            &format!("/api/v1/work-items/{id}"),
            Some(json!({"status": "done"})),
            None,
        )
        .await
        .ok();
    assert_eq!(w["status"], "done");
    // Another product owner may not touch paula's release.
    let pete = app.user("pete", &["product_owner"]).await;
    let (s, r) = import(&app, &pete, &ar, JIRA.as_bytes(), "text/csv").await;
    assert_eq!((s, r["code"].as_str()), (403, Some("forbidden")), "another product owner's release: {r}");
    assert_eq!(r["guards"][0]["code"], "not_product_owner");
}
