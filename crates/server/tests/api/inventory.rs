//! What is deployed where, from deployments the engine really ran: a landing fills a cell, a failure
//! after it changes nothing, a second landing replaces it and makes history; filters and bad input.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, level, train_body};

async fn settled(app: &TestApp, token: &str, id: &str, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = app.get(token, &format!("/api/v1/deployments/{id}")).await.ok();
        if d["state"] == state {
            return;
        }
        assert!(Instant::now() < deadline, "deployment {id} never got {state}: {d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Company {
    erin: String,
    dan: String,
    viewer: String,
    release: String,
    path: String,
    dir: tempfile::TempDir,
}

async fn company(app: &TestApp) -> Company {
    let rita = app.user("rita", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let viewer = app.user("vic", &["viewer"]).await;
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
    app.post(&erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await.ok();
    let t = app
        .post(&rita, "/api/v1/trains", train_body("T", json!({"executive": {"levels": [level(&["eve"], 1)]}})))
        .await
        .ok();
    let rt = t["id"].as_str().unwrap().to_string();
    for (key, name) in [("PAY", "Payments"), ("WEB", "Web shop")] {
        app.post(&rita, "/api/v1/applications", json!({"key": key, "name": name})).await.ok();
    }
    let r = app
        .post(&rita, "/api/v1/application-releases", json!({"title": "PAY 1", "application": "PAY", "train": rt, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}}))
        .await
        .ok();
    let release = r["id"].as_str().unwrap().to_string();
    app.post(&rita, &format!("/api/v1/trains/{rt}/submit"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/trains/{rt}/start-construction"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/application-releases/{release}/begin-work"), json!({})).await.ok();
    Company { erin, dan, viewer, release, path, dir: crate::common::tasks_dir() }
}

/// A turnover of PAY carrying `pay@version`, with one task that fails while the file `fail` exists.
async fn turnover(app: &TestApp, c: &Company, title: &str, version: &str) -> String {
    let t = app
        .post(
            &c.dan,
            "/api/v1/turnovers",
            json!({"title": title, "release": c.release, "path": c.path, "artifacts": [{"name": "pay", "version": version}]}),
        )
        .await
        .ok();
    let to = t["id"].as_str().unwrap().to_string();
    let d = c.dir.path().display();
    let script = format!("test ! -e {d}/fail || {{ echo 'install failed' >&2; exit 3; }}; echo installed");
    let action = json!({"kind": "command", "program": "/bin/sh", "args": ["-c", script], "timeout_secs": 30});
    app.post(
        &c.dan,
        &format!("/api/v1/turnovers/{to}/tasks"),
        json!({"title": "Install", "sequence": 1, "action": action}),
    )
    .await
    .expect(201);
    to
}

async fn deploy(app: &TestApp, c: &Company, to: &str) -> String {
    let d = app.post(&c.erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.expect(201);
    d["id"].as_str().unwrap().to_string()
}

fn cell<'a>(grid: &'a Value, app: &str, env: &str) -> &'a Value {
    let row = grid["rows"].as_array().unwrap().iter().find(|r| r["application"] == app).expect("the row");
    &row["cells"].as_array().unwrap().iter().find(|c| c["environment"] == env).expect("the cell")["current"]
}

fn history_ids(v: &Value) -> Vec<String> {
    v["history"]["items"].as_array().unwrap().iter().map(|p| p["deployment"].as_str().unwrap().to_string()).collect()
}

async fn what_is_deployed_where(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let c = company(&app).await;
    let empty = app.get(&c.viewer, "/api/v1/inventory").await.ok();
    let envs: Vec<&str> =
        empty["environments"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(envs, ["test", "staging"], "columns by kind: test before staging");
    assert!(cell(&empty, "PAY", "test").is_null(), "nothing deployed yet: {empty}");

    // Build 1 lands in test.
    let first = turnover(&app, &c, "build 1", "1.0").await;
    let de1 = deploy(&app, &c, &first).await;
    settled(&app, &c.erin, &de1, "succeeded").await;
    let grid = app.get(&c.viewer, "/api/v1/inventory").await.ok();
    let now = cell(&grid, "PAY", "test");
    assert_eq!(now["deployment"], de1.as_str());
    assert_eq!(now["turnover"], first.as_str());
    assert_eq!(now["turnover_title"], "build 1");
    assert_eq!(now["artifacts"], json!([{"name": "pay", "version": "1.0"}]));
    assert_eq!((now["deployed_by"].as_str(), now["state"].as_str()), (Some("erin"), Some("succeeded")));
    assert!(now["landed_at"].is_string());
    assert!(cell(&grid, "PAY", "staging").is_null(), "not promoted yet");
    assert!(cell(&grid, "WEB", "test").is_null(), "WEB has deployed nothing");

    // Build 2 fails in test: what is there stays build 1.
    std::fs::write(c.dir.path().join("fail"), "").unwrap();
    let second = turnover(&app, &c, "build 2", "2.0").await;
    let de2 = deploy(&app, &c, &second).await;
    settled(&app, &c.erin, &de2, "failed").await;
    let grid = app.get(&c.viewer, "/api/v1/inventory").await.ok();
    assert_eq!(cell(&grid, "PAY", "test")["deployment"], de1.as_str(), "a failed deployment changes nothing");
    assert_eq!(cell(&grid, "PAY", "test")["artifacts"][0]["version"], "1.0");
    let h = app.get(&c.viewer, "/api/v1/inventory/PAY/test").await.ok();
    assert_eq!(history_ids(&h), [de1.as_str()], "the failure is not in the history");

    // Build 3 lands over build 1: a redeploy makes history.
    std::fs::remove_file(c.dir.path().join("fail")).unwrap();
    let third = turnover(&app, &c, "build 3", "3.0").await;
    let de3 = deploy(&app, &c, &third).await;
    settled(&app, &c.erin, &de3, "succeeded").await;
    let grid = app.get(&c.viewer, "/api/v1/inventory?application=PAY").await.ok();
    assert_eq!(grid["rows"].as_array().unwrap().len(), 1, "only PAY's row: {grid}");
    assert_eq!(cell(&grid, "PAY", "test")["deployment"], de3.as_str());
    let h = app.get(&c.viewer, "/api/v1/inventory/PAY/test").await.ok();
    assert_eq!(history_ids(&h), [de3.as_str(), de1.as_str()], "newest first");

    // Build 2, fixed and retried, lands after build 3: build 2 is what is there now, although its
    // deployment was scheduled first.
    app.post(&c.erin, &format!("/api/v1/deployments/{de2}/retry"), json!({})).await.ok();
    settled(&app, &c.erin, &de2, "succeeded").await;
    app.post(&c.erin, &format!("/api/v1/deployments/{de2}/validate"), json!({"passed": true})).await.ok();
    let grid = app.get(&c.viewer, "/api/v1/inventory?application=PAY").await.ok();
    let now = cell(&grid, "PAY", "test");
    assert_eq!((now["deployment"].as_str(), now["state"].as_str()), (Some(de2.as_str()), Some("validated")));
    assert_eq!(now["artifacts"][0]["version"], "2.0");
    let h = app.get(&c.viewer, "/api/v1/inventory/PAY/test").await.ok();
    assert_eq!(h["current"]["deployment"], de2.as_str());
    assert_eq!(history_ids(&h), [de3.as_str(), de2.as_str(), de1.as_str()], "newest deployment first");
    assert_eq!(h["history"]["items"][2]["artifacts"][0]["version"], "1.0");

    // Paged like every list.
    let p1 = app.get(&c.viewer, "/api/v1/inventory/PAY/test?limit=2").await.ok();
    assert_eq!(history_ids(&p1), [de3.as_str(), de2.as_str()]);
    let cursor = p1["history"]["next_cursor"].as_str().expect("a second page").to_string();
    let p2 = app.get(&c.viewer, &format!("/api/v1/inventory/PAY/test?limit=2&cursor={cursor}")).await.ok();
    assert_eq!(history_ids(&p2), [de1.as_str()]);
    assert!(p2["history"]["next_cursor"].is_null());
    assert_eq!(p2["current"]["deployment"], de2.as_str(), "what is there now, on every page");

    // Promoted: staging fills, test keeps build 2.
    let de4 = deploy(&app, &c, &second).await;
    settled(&app, &c.erin, &de4, "succeeded").await;
    let grid = app.get(&c.viewer, "/api/v1/inventory?environment=staging").await.ok();
    let envs: Vec<&str> =
        grid["environments"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(envs, ["staging"]);
    assert_eq!(cell(&grid, "PAY", "staging")["deployment"], de4.as_str());
    let test_now = app.get(&c.viewer, "/api/v1/inventory?environment=test").await.ok();
    assert_eq!(cell(&test_now, "PAY", "test")["deployment"], de2.as_str());
    let rows: Vec<&str> = grid["rows"].as_array().unwrap().iter().map(|r| r["application"].as_str().unwrap()).collect();
    assert_eq!(rows, ["PAY", "WEB"]);
    let page = app.get(&c.viewer, "/api/v1/inventory?limit=1").await.ok();
    assert_eq!(page["rows"].as_array().unwrap().len(), 1);
    let next = page["next_cursor"].as_str().expect("more rows").to_string();
    let page = app.get(&c.viewer, &format!("/api/v1/inventory?limit=1&cursor={next}")).await.ok();
    assert_eq!(page["rows"][0]["application"], "WEB");
}

#[tokio::test]
async fn the_inventory_shows_what_landed_and_not_what_failed_on_sqlite() {
    what_is_deployed_where(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_inventory_shows_what_landed_and_not_what_failed_on_postgres() {
    what_is_deployed_where(Backend::Postgres).await;
}

#[tokio::test]
async fn the_inventory_names_what_it_does_not_know() {
    let app = TestApp::spawn().await;
    let c = company(&app).await;
    let r = app.get(&c.viewer, "/api/v1/inventory?application=NOPE").await.expect(422);
    assert!(r.to_string().contains("no application 'NOPE'"), "{r}");
    let r = app.get(&c.viewer, "/api/v1/inventory?environment=mars").await.expect(422);
    assert!(r.to_string().contains("no environment 'mars'"), "{r}");
    let r = app.get(&c.viewer, "/api/v1/inventory/NOPE/test").await.expect(404);
    assert!(r.to_string().contains("NOPE"), "{r}");
    let r = app.get(&c.viewer, "/api/v1/inventory/PAY/mars").await.expect(404);
    assert!(r.to_string().contains("mars"), "{r}");
    let r = app.get(&c.viewer, "/api/v1/inventory?limit=0").await.expect(422);
    assert!(r.to_string().contains("limit"), "{r}");
    let r = app.get(&c.viewer, "/api/v1/inventory/PAY/test?cursor=yesterday").await.expect(422);
    assert!(r.to_string().contains("cursor"), "{r}");
    let r = app.get(&c.viewer, "/api/v1/inventory?app=PAY").await;
    assert!(r.status.is_client_error(), "an unknown parameter is refused: {}", r.body);
    assert!(r.body.to_string().contains("app"), "{}", r.body);
    app.call(None, reqwest::Method::GET, "/api/v1/inventory", None).await.expect(401);
}
