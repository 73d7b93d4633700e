//! Bad input gets a 4xx naming what was wrong, and changes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, level, train_body};

async fn raw(app: &TestApp, token: &str, method: Method, path: &str, body: &str) -> (u16, Value) {
    let res = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let v: Value = res.json().await.unwrap();
    if status >= 400 {
        assert_eq!(ct, "application/problem+json");
    }
    (status, v)
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    app.user("val", &["viewer"]).await;
    let t = app
        .post(&rm, "/api/v1/trains", train_body("T", json!({"executive": {"levels": [level(&["eve"], 1)]}})))
        .await
        .ok();
    let base = format!("/api/v1/trains/{}", t["id"].as_str().unwrap());
    let version = t["version"].as_i64().unwrap();
    let events = app.event_count().await;

    let (s, v) = raw(&app, &rm, Method::POST, "/api/v1/trains", "{\"title\": ").await;
    assert_eq!((s, v["code"].as_str().unwrap()), (400, "malformed_json"));

    let mut body = train_body("T2", json!({}));
    body["colour"] = json!("red");
    let (s, v) = raw(&app, &rm, Method::POST, "/api/v1/trains", &body.to_string()).await;
    assert_eq!(s, 422);
    assert!(v["detail"].as_str().unwrap().contains("colour"), "{v}");

    let mut body = train_body("T2", json!({}));
    body["release_type"] = json!(7);
    let (s, v) = raw(&app, &rm, Method::POST, "/api/v1/trains", &body.to_string()).await;
    assert_eq!(s, 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("release_type"), "{v}");

    let mut body = train_body("T2", json!({}));
    body["release_type"] = json!("huge");
    let (s, v) = raw(&app, &rm, Method::POST, "/api/v1/trains", &body.to_string()).await;
    assert_eq!(s, 422);
    assert!(v["detail"].as_str().unwrap().contains("huge"), "{v}");

    let mut body = train_body("T2", json!({}));
    body["schedule"]["construction_end"] = json!("2027-01-10");
    let r = app.post(&rm, "/api/v1/trains", body).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"][0]["field"], "schedule.construction_end", "{}", r.body);

    let r = app.post(&rm, "/api/v1/trains", train_body("T2", json!({"train": {"levels": [level(&["zed"], 1)]}}))).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"][0]["field"], "approval_policies.train");
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("zed"));

    let r =
        app.post(&rm, "/api/v1/trains", train_body("T2", json!({"executive": {"levels": [level(&["val"], 1)]}}))).await;
    assert_eq!(r.status, 422);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("val is only a viewer"), "{}", r.body);

    let r = app.post(&rm, "/api/v1/trains", train_body("T2", json!({"train": {"levels": [level(&["eve"], 2)]}}))).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"][0]["field"], "approval_policies.train.levels[0].required");

    // Wrong state, stale version, missing version, missing or wrong token.
    let r = app.post(&rm, &format!("{base}/close"), json!({})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "action_refused");
    assert!(r.guard_text().contains("is draft"), "{}", r.guard_text());
    let r = app.patch(&rm, &base, json!({"title": "new"}), version + 5).await;
    assert_eq!((r.status.as_u16(), r.body["code"].as_str().unwrap()), (409, "version_conflict"));
    let r = app.call(Some(&rm), Method::PATCH, &base, Some(json!({"title": "new"}))).await;
    assert_eq!((r.status.as_u16(), r.body["code"].as_str().unwrap()), (428, "version_required"));
    let r = app
        .call_with(Some(&rm), Method::PATCH, &base, Some(json!({"schedule": {"start": "2027-01-04"}})), Some(version))
        .await;
    assert_eq!(r.status, 422);
    let r = app.call(None, Method::GET, &base, None).await;
    assert_eq!((r.status.as_u16(), r.body["code"].as_str().unwrap()), (401, "unauthenticated"));
    let r = app.call(Some("ry_nope"), Method::GET, &base, None).await;
    assert_eq!(r.status, 401);
    let r = app.get(&rm, "/api/v1/trains?state=flying").await;
    assert_eq!(r.status, 422);
    assert!(r.body["detail"].as_str().unwrap().contains("flying"));
    let r = app.get(&rm, "/api/v1/trains?limit=0").await;
    assert_eq!(r.status, 422);
    let r = app.get(&rm, "/api/v1/trains/RT-999").await;
    assert_eq!((r.status.as_u16(), r.body["code"].as_str().unwrap()), (404, "not_found"));
    let r = app.post(&rm, &format!("{base}/gates/deploy/criteria"), json!({"title": "x"})).await;
    assert_eq!(r.status, 422);
    assert!(r.body["detail"].as_str().unwrap().contains("scoping, construction, verification"));

    // Nothing of the above changed the train or wrote an event.
    let after = app.get(&rm, &base).await.ok();
    assert_eq!(after["version"].as_i64().unwrap(), version);
    assert_eq!(after["title"], "T");
    assert_eq!(app.event_count().await, events);
    let list = app.get(&rm, "/api/v1/trains").await.ok();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn two_clients_updating_one_train_at_once_one_wins_on_sqlite() {
    one_update_wins(Backend::Sqlite).await;
}

#[tokio::test]
async fn two_clients_updating_one_train_at_once_one_wins_on_postgres() {
    one_update_wins(Backend::Postgres).await;
}

/// Two clients update one train at the same version: one wins, the other gets 409 and can retry.
async fn one_update_wins(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let rm = app.user("rita", &["release_manager"]).await;
    let rm2 = app.user("ralph", &["release_manager"]).await;
    let t = app.post(&rm, "/api/v1/trains", train_body("T", json!({}))).await.ok();
    let base = format!("/api/v1/trains/{}", t["id"].as_str().unwrap());
    let v = t["version"].as_i64().unwrap();
    let (a, b) = tokio::join!(
        app.patch(&rm, &base, json!({"title": "by rita"}), v),
        app.patch(&rm2, &base, json!({"purpose": "by ralph"}), v)
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let loser = if a.status == 409 { &a } else { &b };
    assert_eq!(loser.body["code"], "version_conflict");
    // The loser reloads and retries: both changes are kept.
    let now = app.get(&rm, &base).await.ok();
    let retry = if a.status == 409 { json!({"title": "by rita"}) } else { json!({"purpose": "by ralph"}) };
    let done = app.patch(&rm, &base, retry, now["version"].as_i64().unwrap()).await.ok();
    assert_eq!(done["title"], "by rita");
    assert_eq!(done["purpose"], "by ralph");
    assert_eq!(done["version"].as_i64().unwrap(), v + 2);
}

#[tokio::test]
async fn paging_through_trains_and_filters() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    for i in 0..7 {
        let mut b = train_body(&format!("T{i}"), json!({}));
        b["release_type"] = json!(if i % 2 == 0 { "minor" } else { "patch" });
        app.post(&rm, "/api/v1/trains", b).await.ok();
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.get(&rm, &format!("/api/v1/trains?limit=3&cursor={cursor}")).await.ok();
        seen.extend(page["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("T{i}")).collect::<Vec<_>>());
    let minor = app.get(&rm, "/api/v1/trains?release_type=minor").await.ok();
    assert_eq!(minor["items"].as_array().unwrap().len(), 4);
    let draft = app.get(&rm, "/api/v1/trains?state=draft,scoping").await.ok();
    assert_eq!(draft["items"].as_array().unwrap().len(), 7);
    let none = app.get(&rm, "/api/v1/trains?state=closed").await.ok();
    assert!(none["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let app = TestApp::spawn().await;
    let h = app.call(None, Method::GET, "/healthz", None).await.ok();
    assert_eq!(h["status"], "ok");
    let r = app.call(None, Method::GET, "/readyz", None).await.ok();
    assert_eq!(r["database"], "sqlite");
    let r = app.call(None, Method::GET, "/api/v1/nothing-here", None).await;
    assert_eq!((r.status.as_u16(), r.body["code"].as_str().unwrap()), (404, "not_found"));
}
