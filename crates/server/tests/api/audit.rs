//! The audit log: filters, and the hash chain catching an edit made directly in the database.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, level, train_body};

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

/// Plain SQL on the test server's database, as someone with database access would run it.
async fn sql(app: &TestApp, statement: &str) -> u64 {
    match &app.pg_url {
        Some(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client.execute(statement, &[]).await.unwrap()
        }
        None => {
            let conn = rusqlite::Connection::open(&app.db_path).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            conn.execute(statement, []).unwrap() as u64
        }
    }
}

/// A train with a milestone, submitted: a few changes to delete the newest of.
async fn some_changes(app: &TestApp, rm: &str) -> String {
    let policies = json!({"executive": {"levels": [level(&["admin"], 1)]}});
    let t = app.post(rm, "/api/v1/trains", train_body("T", policies)).await.ok();
    let id = t["id"].as_str().unwrap().to_string();
    app.post(rm, &format!("/api/v1/trains/{id}/milestones"), json!({"title": "m", "due": "2027-02-01"})).await.ok();
    app.post(rm, &format!("/api/v1/trains/{id}/milestones"), json!({"title": "n", "due": "2027-02-02"})).await.ok();
    app.post(rm, &format!("/api/v1/trains/{id}/submit"), json!({})).await.ok();
    id
}

async fn verify(app: &TestApp, token: &str, query: &str) -> Value {
    app.get(token, &format!("/api/v1/audit/verify{query}")).await.ok()
}

/// Deleting the newest three events: the stored head names them on both stores; on PostgreSQL, with
/// `chain_head` moved back to match, the records they wrote still tell, and so does a witnessed head.
async fn deleting_the_newest_events_is_reported(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let rm = app.user("rita", &["release_manager"]).await;
    let id = some_changes(&app, &rm).await;
    let before = verify(&app, &rm, "").await;
    assert_eq!(before["intact"], true, "{before}");
    let n = before["events_checked"].as_i64().unwrap();
    let kept = n - 3;
    // The head, witnessed before the deletion.
    let head = app.get(&rm, "/api/v1/audit/head").await.ok();
    assert_eq!(head["seq"].as_i64(), Some(n), "{head}");
    let witness = head["expect"].as_str().unwrap().to_string();
    assert_eq!(witness, format!("{n}:{}", head["hash"].as_str().unwrap()));
    let with = verify(&app, &rm, &format!("?expect={witness}")).await;
    assert_eq!((with["intact"].as_bool(), with["expected"]["seq"].as_i64()), (Some(true), Some(n)), "{with}");
    for bad in ["12", "x:abc", "-1:00", "3:nothex"] {
        let r = app.get(&rm, &format!("/api/v1/audit/verify?expect={bad}")).await;
        assert_eq!(r.status, 422, "expect={bad}: {}", r.body);
        assert!(r.body.to_string().contains("SEQ:HASH"), "the refusal says the form: {}", r.body);
    }

    sql(&app, &format!("DELETE FROM events WHERE seq > {kept}")).await;
    let after = verify(&app, &rm, "").await;
    println!("after deleting events {} to {n}: {after}", kept + 1);
    assert_eq!(after["intact"], false, "deleting the newest 3 events must be reported: {after}");
    assert_eq!(after["first_broken_seq"].as_i64(), Some(kept + 1), "{after}");
    let reason = after["reason"].as_str().unwrap();
    assert!(reason.contains(&format!("events {} to {n} are missing", kept + 1)), "{reason}");
    assert!(reason.contains(&format!("the stored chain head is event {n}")), "{reason}");
    assert_eq!(after["head"]["seq"].as_i64(), Some(n), "the stored head is shown: {after}");

    if app.pg_url.is_some() {
        // The chain_head row moved back to match the shortened log: the chain alone is consistent.
        let moved = sql(
            &app,
            &format!("UPDATE chain_head SET seq = {kept}, hash = (SELECT hash FROM events WHERE seq = {kept})"),
        )
        .await;
        assert_eq!(moved, 1);
        let after = verify(&app, &rm, "").await;
        println!("after also moving chain_head back to {kept}: {after}");
        assert_eq!(after["intact"], false, "the records written by the deleted events must be reported: {after}");
        assert_eq!(after["first_broken_seq"], Value::Null, "the chain itself is consistent now: {after}");
        let mismatch = &after["first_record_mismatch"];
        assert_eq!((mismatch["kind"].as_str(), mismatch["id"].as_str()), (Some("train"), Some(id.as_str())), "{after}");
        assert!(after["reason"].as_str().unwrap().contains(&format!("train {id}")), "{after}");
    }
    // The witnessed head is gone, whatever was done to the head row.
    let with = verify(&app, &rm, &format!("?expect={witness}")).await;
    assert_eq!(with["intact"], false, "{with}");
    let reason = with["reason"].as_str().unwrap();
    if app.pg_url.is_some() {
        assert_eq!(with["first_broken_seq"].as_i64(), Some(n), "{with}");
        assert!(reason.contains(&format!("the expected head, event {n}")), "{with}");
        assert!(reason.contains("is no longer in the log"), "{with}");
    } else {
        assert!(reason.contains(&format!("events {} to {n} are missing", kept + 1)), "{with}");
    }
}

#[tokio::test]
async fn deleting_the_newest_events_is_reported_on_sqlite() {
    deleting_the_newest_events_is_reported(Backend::Sqlite).await;
}

#[tokio::test]
async fn deleting_the_newest_events_is_reported_on_postgres() {
    deleting_the_newest_events_is_reported(Backend::Postgres).await;
}

/// A record changed in the database without an event is named: kind, id, what it says, what the log says.
#[tokio::test]
async fn a_record_edited_without_an_event_is_named() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let id = some_changes(&app, &rm).await;
    assert_eq!(verify(&app, &rm, "").await["intact"], true);

    // The purpose rewritten, version and time kept: only the content tells.
    let n = sql(
        &app,
        &format!(
            "UPDATE records SET doc = replace(doc, 'Q1 release', 'nothing to see') WHERE kind = 'train' AND id = '{id}'"
        ),
    )
    .await;
    assert_eq!(n, 1);
    let after = verify(&app, &rm, "").await;
    println!("after editing train {id}'s purpose: {after}");
    assert_eq!(after["intact"], false, "a record edited without an event must be reported: {after}");
    let m = &after["first_record_mismatch"];
    assert_eq!((m["kind"].as_str(), m["id"].as_str()), (Some("train"), Some(id.as_str())), "{after}");
    assert!(m["events"].as_str().unwrap().contains("edited without an event"), "{after}");
    assert!(after["reason"].as_str().unwrap().starts_with(&format!("train {id}: ")), "{after}");

    // And with the version moved on, as a careless edit would.
    sql(&app, &format!("UPDATE records SET version = version + 1 WHERE kind = 'train' AND id = '{id}'")).await;
    let after = verify(&app, &rm, "").await;
    let m = &after["first_record_mismatch"];
    assert!(m["record"].as_str().unwrap().contains("version 5"), "{after}");
    assert!(m["events"].as_str().unwrap().contains("left version 4"), "{after}");
}
