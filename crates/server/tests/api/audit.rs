//! The audit log: filters, and the hash chain catching an edit made directly in the database.

use serde_json::json;

use crate::common::{TestApp, train_body};

#[tokio::test]
async fn audit_filters_and_the_chain_catches_a_direct_edit() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let t = app.post(&rm, "/api/v1/trains", train_body("T", json!({}))).await.ok();
    let id = t["id"].as_str().unwrap().to_string();
    app.post(&rm, &format!("/api/v1/trains/{id}/milestones"), json!({"title": "m", "due": "2027-02-01"})).await.ok();

    let by_rita = app.get(&rm, "/api/v1/audit/events?actor=rita").await.ok();
    let actions: Vec<&str> =
        by_rita["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "add_milestone"]);
    let trains = app.get(&rm, "/api/v1/audit/events?object_kind=train").await.ok();
    assert_eq!(trains["items"].as_array().unwrap().len(), 2);
    let future = app.get(&rm, "/api/v1/audit/events?from=2999-01-01T00:00:00Z").await.ok();
    assert!(future["items"].as_array().unwrap().is_empty());
    let r = app.get(&rm, "/api/v1/audit/events?from=yesterday").await;
    assert_eq!(r.status, 422);
    let page = app.get(&rm, "/api/v1/audit/events?limit=2").await.ok();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next_cursor"].as_str().unwrap();
    let page2 = app.get(&rm, &format!("/api/v1/audit/events?limit=2&cursor={next}")).await.ok();
    assert_eq!(page2["items"][0]["seq"].as_i64().unwrap(), page["items"][1]["seq"].as_i64().unwrap() + 1);

    let v = app.get(&rm, "/api/v1/audit/verify").await.ok();
    assert_eq!(v["intact"], true);
    let total = v["events_checked"].as_u64().unwrap();
    assert!(total >= 6, "bootstrap, users, tokens, train: {total}");

    // Someone with database access rewrites history.
    let create_seq = by_rita["items"][0]["seq"].as_i64().unwrap();
    let conn = rusqlite::Connection::open(&app.db_path).unwrap();
    let n = conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = ?1", [create_seq]).unwrap();
    assert_eq!(n, 1);
    drop(conn);
    let v = app.get(&rm, "/api/v1/audit/verify").await.ok();
    assert_eq!(v["intact"], false);
    assert_eq!(v["first_broken_seq"].as_i64().unwrap(), create_seq);
    assert!(v["reason"].as_str().unwrap().contains("changed"), "{v}");
}
