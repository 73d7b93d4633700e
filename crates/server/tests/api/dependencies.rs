//! Dependencies between application releases (R5): cycles refused with the cycle named; conflicts and
//! the dependency order of a train.

use serde_json::json;

use crate::common::{TestApp, train_body};

#[tokio::test]
async fn cycles_are_refused_naming_the_cycle_and_conflicts_and_order_are_reported() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    app.post(&rita, "/api/v1/applications", json!({"key": "DB", "name": "Database"})).await.ok();
    app.post(&rita, "/api/v1/applications", json!({"key": "API", "name": "API"})).await.ok();
    app.post(&rita, "/api/v1/applications", json!({"key": "WEB", "name": "Web"})).await.ok();
    let t = app.post(&rita, "/api/v1/trains", train_body("2027.1", json!({}))).await.ok();
    let rt = t["id"].as_str().unwrap().to_string();
    let mk = |title: &str, app_key: &str, start: &str, end: &str| json!({"title": title, "application": app_key, "train": rt, "schedule": {"start": start, "end": end}});
    let web = app.post(&rita, "/api/v1/application-releases", mk("web", "WEB", "2027-01-20", "2027-02-20")).await.ok()
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let api = app.post(&rita, "/api/v1/application-releases", mk("api", "API", "2027-01-10", "2027-02-01")).await.ok()
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let db =
        app.post(&rita, "/api/v1/application-releases", mk("db", "DB", "2027-01-05", "2027-01-25")).await.ok()["id"]
            .as_str()
            .unwrap()
            .to_string();
    let dep = |from: &str| format!("/api/v1/application-releases/{from}/dependencies");

    app.post(&rita, &dep(&web), json!({"depends_on": api})).await.ok();
    app.post(&rita, &dep(&api), json!({"depends_on": db})).await.ok();
    let r = app.post(&rita, &dep(&api), json!({"depends_on": db})).await;
    assert_eq!(r.guards(), vec!["already_depends"]);
    let r = app.post(&rita, &dep(&db), json!({"depends_on": web})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.guards(), vec!["dependency_cycle"]);
    assert!(r.guard_text().contains(&format!("{db} → {web} → {api} → {db}")), "{}", r.guard_text());
    let r = app.post(&rita, &dep(&db), json!({"depends_on": db})).await;
    assert!(r.guard_text().contains(&format!("{db} → {db}")), "{}", r.guard_text());
    let r = app.post(&rita, &dep(&db), json!({"depends_on": "AR-999"})).await;
    assert_eq!(r.status, 422);

    // web starts 2027-01-20 but api ends 2027-02-01; api starts 2027-01-10 but db ends 2027-01-25.
    let c = app.get(&rita, &format!("/api/v1/trains/{rt}/conflicts")).await.ok();
    assert!(c["next_cursor"].is_null());
    assert_eq!(
        c["items"],
        json!([
            {"dependent": web, "dependent_title": "web", "dependent_start": "2027-01-20",
             "dependency": api, "dependency_title": "api", "dependency_end": "2027-02-01"},
            {"dependent": api, "dependent_title": "api", "dependent_start": "2027-01-10",
             "dependency": db, "dependency_title": "db", "dependency_end": "2027-01-25"}
        ])
    );
    let o = app.get(&rita, &format!("/api/v1/trains/{rt}/order")).await.ok()["items"].clone();
    let ids: Vec<&str> = o.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [db.as_str(), api.as_str(), web.as_str()]);
    assert_eq!(o[2]["depends_on"], json!([api]));

    // Moving the schedules apart clears the conflicts; removing a dependency works.
    let r = app.get(&rita, &format!("/api/v1/application-releases/{web}")).await.ok();
    app.patch(
        &rita,
        &format!("/api/v1/application-releases/{web}"),
        json!({"schedule": {"start": "2027-02-02", "end": "2027-02-20"}}),
        r["version"].as_i64().unwrap(),
    )
    .await
    .ok();
    let c = app.get(&rita, &format!("/api/v1/trains/{rt}/conflicts")).await.ok();
    assert_eq!(c["items"].as_array().unwrap().len(), 1);
    app.call(Some(&rita), reqwest::Method::DELETE, &format!("{}/{db}", dep(&api)), None).await.ok();
    let c = app.get(&rita, &format!("/api/v1/trains/{rt}/conflicts")).await.ok();
    assert!(c["items"].as_array().unwrap().is_empty());
    // Now the former cycle is allowed.
    app.post(&rita, &dep(&db), json!({"depends_on": web})).await.ok();
}

#[tokio::test]
async fn the_timeline_shows_planned_and_actual_stages_gates_milestones_and_release_bars() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    app.post(&rita, "/api/v1/applications", json!({"key": "DB", "name": "Database"})).await.ok();
    app.post(&rita, "/api/v1/applications", json!({"key": "API", "name": "API"})).await.ok();
    let policies = json!({"executive": {"levels": [{"approvers": ["eve"], "required": 1}]}});
    let t = app.post(&rita, "/api/v1/trains", train_body("2027.1", policies)).await.ok();
    let rt = t["id"].as_str().unwrap().to_string();
    app.post(
        &rita,
        &format!("/api/v1/trains/{rt}/milestones"),
        json!({"title": "Code complete", "due": "2027-02-01", "inherit": true}),
    )
    .await
    .ok();
    let mk = |title: &str, key: &str| json!({"title": title, "application": key, "train": rt, "schedule": {"start": "2027-01-05", "end": "2027-02-01"}});
    let db =
        app.post(&rita, "/api/v1/application-releases", mk("db", "DB")).await.ok()["id"].as_str().unwrap().to_string();
    let api = app.post(&rita, "/api/v1/application-releases", mk("api", "API")).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(&rita, &format!("/api/v1/application-releases/{api}/dependencies"), json!({"depends_on": db})).await.ok();
    app.post(&rita, &format!("/api/v1/trains/{rt}/submit"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/trains/{rt}/start-construction"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/application-releases/{db}/begin-work"), json!({})).await.ok();

    let tl = app.get(&rita, &format!("/api/v1/trains/{rt}/timeline")).await.ok();
    assert_eq!(tl["state"], "construction");
    let stages = tl["stages"].as_array().unwrap();
    assert_eq!(
        stages.iter().map(|s| s["stage"].as_str().unwrap()).collect::<Vec<_>>(),
        ["scoping", "construction", "verification", "deployment"]
    );
    assert_eq!(
        (stages[0]["planned_start"].as_str(), stages[0]["planned_end"].as_str()),
        (Some("2027-01-04"), Some("2027-01-15"))
    );
    assert!(stages[0]["actual_start"].is_string() && stages[0]["actual_end"].is_string(), "{}", stages[0]);
    assert!(stages[1]["actual_start"].is_string() && stages[1]["actual_end"].is_null(), "{}", stages[1]);
    assert!(stages[2]["actual_start"].is_null());
    assert!(tl["gates"][0]["passed_at"].is_string() && tl["gates"][1]["passed_at"].is_null(), "{}", tl["gates"]);
    assert_eq!(tl["milestones"][0]["title"], "Code complete");
    let bars = tl["releases"].as_array().unwrap();
    let bar = |id: &str| bars.iter().find(|b| b["id"] == id).unwrap().clone();
    assert!(bar(&db)["actual_start"].is_string() && bar(&api)["actual_start"].is_null());
    assert_eq!(bar(&api)["depends_on"], json!([db]));
    assert_eq!(bar(&db)["milestones"][0]["title"], "Code complete", "inherited milestones show on the release bars");
    app.get(&rita, "/api/v1/trains/RT-404/timeline").await.expect(404);
}

/// The service keeps the application releases between requests (they are read again only when the audit
/// chain's head has moved): a dependency added through another server on the same database shows in this
/// one's conflicts at once.
#[tokio::test]
async fn a_dependency_added_through_another_server_shows_in_this_ones_conflicts() {
    let (a, b) = TestApp::pair_on_postgres().await;
    let rita = a.user("rita", &["release_manager"]).await;
    a.post(&rita, "/api/v1/applications", json!({"key": "DB", "name": "Database"})).await.ok();
    a.post(&rita, "/api/v1/applications", json!({"key": "API", "name": "API"})).await.ok();
    let t = a.post(&rita, "/api/v1/trains", train_body("2027.1", json!({}))).await.ok();
    let rt = t["id"].as_str().unwrap().to_string();
    let mk = |title: &str, key: &str, start: &str, end: &str| json!({"title": title, "application": key, "train": rt, "schedule": {"start": start, "end": end}});
    let db = a.post(&rita, "/api/v1/application-releases", mk("db", "DB", "2027-01-05", "2027-02-05")).await.ok();
    let api = a.post(&rita, "/api/v1/application-releases", mk("api", "API", "2027-01-20", "2027-02-20")).await.ok();
    let (db, api) = (db["id"].as_str().unwrap(), api["id"].as_str().unwrap());
    let conflicts = format!("/api/v1/trains/{rt}/conflicts");
    let none = a.get(&rita, &conflicts).await.ok();
    assert_eq!(none["items"], json!([]), "{none}");

    // Through the other server: the API release now depends on the database, which ends after it starts.
    b.post(&rita, &format!("/api/v1/application-releases/{api}/dependencies"), json!({"depends_on": db})).await.ok();
    let found = a.get(&rita, &conflicts).await.ok();
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!((items[0]["dependent"].as_str(), items[0]["dependency"].as_str()), (Some(api), Some(db)));
    // And the other way round: removed on the first server, gone on the second.
    let r = a
        .call(
            Some(&rita),
            reqwest::Method::DELETE,
            &format!("/api/v1/application-releases/{api}/dependencies/{db}"),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}: {}", r.status, r.body);
    assert_eq!(b.get(&rita, &conflicts).await.ok()["items"], json!([]));
}

/// Every dependency change takes one lock record, so many at once meet there: each retries from a fresh
/// read, spread out in time, and all of them land (none answers 409 for a conflict it did not cause).
#[tokio::test]
async fn many_dependencies_added_at_once_all_land() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let rita = app.user("rita", &["release_manager"]).await;
    app.post(&rita, "/api/v1/applications", json!({"key": "DB", "name": "Database"})).await.ok();
    let t = app.post(&rita, "/api/v1/trains", train_body("2027.1", json!({}))).await.ok();
    let rt = t["id"].as_str().unwrap().to_string();
    let mk = |title: &str| json!({"title": title, "application": "DB", "train": rt, "schedule": {"start": "2027-01-05", "end": "2027-01-25"}});
    let base =
        app.post(&rita, "/api/v1/application-releases", mk("base")).await.ok()["id"].as_str().unwrap().to_string();
    let mut dependents = Vec::new();
    for i in 0..24 {
        let r = app.post(&rita, "/api/v1/application-releases", mk(&format!("r{i}"))).await.ok();
        dependents.push(r["id"].as_str().unwrap().to_string());
    }
    let mut all = tokio::task::JoinSet::new();
    for d in dependents.clone() {
        let (app, rita, base) = (app.clone(), rita.clone(), base.clone());
        all.spawn(async move {
            let r = app
                .post(&rita, &format!("/api/v1/application-releases/{d}/dependencies"), json!({"depends_on": base}))
                .await;
            (d, r.status, r.body.to_string())
        });
    }
    let mut refused = Vec::new();
    while let Some(done) = all.join_next().await {
        let (d, status, body) = done.unwrap();
        if status != 200 && status != 201 {
            refused.push(format!("{d}: {status} {body}"));
        }
    }
    assert!(refused.is_empty(), "{} of 24 concurrent dependency changes failed: {refused:?}", refused.len());
    for d in &dependents {
        let r = app.get(&rita, &format!("/api/v1/application-releases/{d}")).await.ok();
        assert!(r.to_string().contains(&base), "{d} does not depend on {base}: {r}");
    }
}
