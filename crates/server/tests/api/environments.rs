//! Environments, their calendars (R13) and deployment paths.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, train_body};

fn at(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn environments_calendars_and_their_blocks() {
    let app = TestApp::spawn().await;
    let eng = app.user("erin", &["release_engineer"]).await;
    let rita = app.user("rita", &["release_manager"]).await;
    let viewer = app.user("val", &["viewer"]).await;
    app.user("test", &["viewer"]).await;

    // A user called "test" and an environment called "test" are different things.
    let e = app.post(&eng, "/api/v1/environments", json!({"name": "test", "kind": "test"})).await.expect(201);
    assert_eq!(
        (e["state"].as_str(), e["locked"].as_bool(), e["owner"].as_str()),
        (Some("online"), Some(false), Some("erin"))
    );
    let p = app.post(&eng, "/api/v1/environments", json!({"name": "prod-eu", "kind": "production"})).await.ok();
    assert_eq!(p["locked"], true, "production is locked by default");
    app.post(&eng, "/api/v1/environments", json!({"name": "test", "kind": "staging"})).await.expect(409);
    let r = app.post(&eng, "/api/v1/environments", json!({"name": "Prod EU", "kind": "production"})).await;
    assert_eq!(r.body["errors"][0]["field"], "name");
    app.post(&viewer, "/api/v1/environments", json!({"name": "dev", "kind": "development"})).await.expect(403);
    app.post(&rita, "/api/v1/environments", json!({"name": "dev", "kind": "development"})).await.expect(403);

    // Maintenance now: the environment is blocked, naming the event; overlapping maintenance is refused.
    let e = app
        .post(
            &eng,
            "/api/v1/environments/test/events",
            json!({"kind": "maintenance", "title": "DB upgrade", "start": at(-1), "end": at(1)}),
        )
        .await
        .expect(201);
    let ce = e["events"][0]["id"].as_str().unwrap().to_string();
    assert!(e["blocked"].as_str().unwrap().contains(&ce), "{}", e["blocked"]);
    let r = app
        .post(
            &eng,
            "/api/v1/environments/test/events",
            json!({"kind": "maintenance", "title": "patching", "start": at(0), "end": at(3)}),
        )
        .await;
    assert_eq!(r.guards(), vec!["maintenance_overlap"]);
    assert!(r.guard_text().contains(&ce) && r.guard_text().contains("DB upgrade"), "{}", r.guard_text());
    app.post(
        &rita,
        "/api/v1/environments/test/events",
        json!({"kind": "blackout", "title": "peak", "start": at(2), "end": at(5)}),
    )
    .await
    .ok();
    let r = app
        .post(
            &eng,
            "/api/v1/environments/test/events",
            json!({"kind": "blackout", "title": "x", "start": at(5), "end": at(4)}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["field"], "end");
    let r = app
        .post(
            &rita,
            "/api/v1/environments/test/events",
            json!({"kind": "reservation", "title": "x", "start": at(5), "end": at(6)}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["field"], "train_id");
    let r = app
        .post(
            &rita,
            "/api/v1/environments/test/events",
            json!({"kind": "reservation", "title": "x", "start": at(5), "end": at(6), "train_id": "RT-9"}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["field"], "train_id");
    let t = app.post(&rita, "/api/v1/trains", train_body("T", json!({}))).await.ok();
    let rt = t["id"].as_str().unwrap();
    app.post(
        &rita,
        "/api/v1/environments/test/events",
        json!({"kind": "reservation", "title": "T", "start": at(6), "end": at(30), "train_id": rt}),
    )
    .await
    .ok();

    let cal = app
        .get(&viewer, &format!("/api/v1/environments/test/calendar?from={}&to={}", at(-2).replace('+', "%2B"), at(10)))
        .await
        .ok();
    let kinds: Vec<&str> = cal["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["maintenance", "blackout", "reservation"]);
    let cal = app.get(&viewer, &format!("/api/v1/environments/test/calendar?from={}&to={}", at(3), at(4))).await.ok();
    assert_eq!(cal["items"].as_array().unwrap().len(), 1);
    app.get(&viewer, "/api/v1/environments/test/calendar?from=tomorrow").await.expect(422);

    // The maintenance ends (removed here); offline blocks too; decommissioned is final.
    let e = app.call(Some(&eng), Method::DELETE, &format!("/api/v1/environments/test/events/{ce}"), None).await.ok();
    assert!(e["blocked"].is_null(), "{}", e["blocked"]);
    let e = app.post(&eng, "/api/v1/environments/test/take-offline", json!({})).await.ok();
    assert_eq!(e["blocked"], "environment test is offline");
    app.post(&eng, "/api/v1/environments/test/take-offline", json!({})).await.expect(409);
    let e = app.post(&eng, "/api/v1/environments/test/bring-online", json!({"reason": "  "})).await.ok();
    assert!(e["state_reason"].is_null(), "a blank reason is no reason: {e}");
    // A reason stays on the environment, says why nothing deploys, and is in the audit log.
    let e = app
        .post(&eng, "/api/v1/environments/test/take-offline", json!({"reason": "disk replacement INC-12"}))
        .await
        .ok();
    assert_eq!(
        (e["state_reason"].as_str(), e["blocked"].as_str()),
        (Some("disk replacement INC-12"), Some("environment test is offline: disk replacement INC-12"))
    );
    let events = app.get(&eng, "/api/v1/audit/events?object=test&object_kind=environment&limit=500").await.ok();
    let offline: Vec<&Value> =
        events["items"].as_array().unwrap().iter().filter(|e| e["action"] == "take_offline").collect();
    assert_eq!(offline.last().map(|e| &e["data"]["reason"]), Some(&json!("disk replacement INC-12")), "{events}");
    app.post(&eng, "/api/v1/environments/test/take-offline", json!({"why": "typo"})).await.expect(422);
    let e = app.post(&eng, "/api/v1/environments/test/bring-online", json!({})).await.ok();
    assert!(e["state_reason"].is_null(), "brought online without a reason: {e}");
    app.post(&eng, "/api/v1/environments/test/decommission", json!({})).await.ok();
    let r = app.post(&eng, "/api/v1/environments/test/bring-online", json!({})).await;
    assert_eq!(r.guards(), vec!["wrong_state"]);
    let list = app.get(&viewer, "/api/v1/environments?kind=production").await.ok();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    app.get(&viewer, "/api/v1/environments?kind=space").await.expect(422);
}

#[tokio::test]
async fn deployment_paths_are_edited_in_draft_and_activated_over_usable_environments() {
    let app = TestApp::spawn().await;
    let eng = app.user("erin", &["release_engineer"]).await;
    for (name, kind) in [("test", "test"), ("staging", "staging"), ("old", "test")] {
        app.post(&eng, "/api/v1/environments", json!({"name": name, "kind": kind})).await.ok();
    }
    app.post(&eng, "/api/v1/environments/old/decommission", json!({})).await.ok();
    let r = app
        .post(
            &eng,
            "/api/v1/deployment-paths",
            json!({"name": "standard", "stages": [{"environment": "test"}, {"environment": "test"}]}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["field"], "stages[1].environment");
    let p = app
        .post(
            &eng,
            "/api/v1/deployment-paths",
            json!({"name": "standard", "release_types": ["major", "minor"], "stages": [
                {"environment": "test", "required": true},
                {"environment": "old", "required": false, "allow_redeploy": false}
            ]}),
        )
        .await
        .expect(201);
    assert_eq!(p["state"], "draft");
    assert_eq!(p["stages"][0]["allow_redeploy"], true, "stages allow redeploys unless told otherwise");
    let id = p["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/deployment-paths/{id}");
    let r = app.post(&eng, &format!("{path}/activate"), json!({})).await;
    assert_eq!(r.guards(), vec!["stage_environment_unusable"]);
    assert!(r.guard_text().contains("old") && r.guard_text().contains("decommissioned"), "{}", r.guard_text());
    let edited = app
        .patch(
            &eng,
            &path,
            json!({"stages": [{"environment": "test"}, {"environment": "staging", "freeze_tasks": true}]}),
            p["version"].as_i64().unwrap(),
        )
        .await
        .ok();
    assert_eq!(edited["stages"][1]["freeze_tasks"], true);
    let p = app.post(&eng, &format!("{path}/activate"), json!({})).await.ok();
    assert_eq!(p["state"], "active");
    let r = app.patch(&eng, &path, json!({"name": "renamed"}), p["version"].as_i64().unwrap()).await;
    assert_eq!(r.guards(), vec!["not_draft"]);
    app.post(&eng, &format!("{path}/return-to-draft"), json!({})).await.ok();
    app.post(&eng, "/api/v1/deployment-paths", json!({"name": "Standard"})).await.expect(409);
    let e = app.post(&eng, "/api/v1/deployment-paths", json!({"name": "empty"})).await.ok();
    let r =
        app.post(&eng, &format!("/api/v1/deployment-paths/{}/activate", e["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(r.guards(), vec!["no_stages"]);
    let p = app.post(&eng, &format!("{path}/retire"), json!({})).await.ok();
    assert_eq!(p["state"], "retired");
    let active = app.get(&eng, "/api/v1/deployment-paths?state=active").await.ok();
    assert!(active["items"].as_array().unwrap().is_empty());
}
