//! The application release page, the environment calendar and the audit log, read by a viewer.

use serde_json::{Value, json};

use crate::chrome::Chrome;
use crate::common::{PASSWORD, TestApp};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A train in construction carrying PAY 1 (with work items and a turnover) and WEB 1 (which depends on
/// PAY 1). Returns (train, PAY 1, WEB 1, turnover).
pub async fn release_with_turnover(app: &TestApp) -> (String, String, String, String) {
    let rita = app.user("rita", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    app.user("eve", &["product_owner"]).await;
    for (name, kind) in [("test", "test"), ("staging", "staging")] {
        app.post(&erin, "/api/v1/environments", json!({"name": name, "kind": kind})).await;
    }
    let stages = json!([{"environment": "test"}, {"environment": "staging"}]);
    let path = id(&app.post(&erin, "/api/v1/deployment-paths", json!({"name": "standard", "stages": stages})).await);
    app.post(&erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await;
    let body = json!({
        "title": "Spring release", "release_type": "major", "purpose": "Q1 release",
        "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"},
        "approval_policies": {"executive": {"levels": [{"approvers": ["eve"], "required": 1}]}}
    });
    let train = id(&app.post(&rita, "/api/v1/trains", body).await);
    let mut ids = Vec::new();
    for key in ["PAY", "WEB"] {
        app.post(&rita, "/api/v1/applications", json!({"key": key, "name": key})).await;
        let body = json!({"title": format!("{key} 1"), "application": key, "train": train,
            "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
        ids.push(id(&app.post(&rita, "/api/v1/application-releases", body).await));
    }
    let (pay, web) = (ids[0].clone(), ids[1].clone());
    app.post(&rita, &format!("/api/v1/application-releases/{web}/dependencies"), json!({"depends_on": pay})).await;
    app.post(&rita, &format!("/api/v1/trains/{train}/submit"), json!({})).await;
    app.post(&rita, &format!("/api/v1/trains/{train}/start-construction"), json!({})).await;
    app.post(&rita, &format!("/api/v1/application-releases/{pay}/begin-work"), json!({})).await;
    let items = json!([
        {"key": "PAY-1", "title": "Refund <fast>", "kind": "development_task", "status": "done",
         "link": "https://tracker.example/PAY-1"},
        {"key": "PAY-2", "title": "Audit trail", "kind": "development_task"}
    ]);
    let res = app
        .api
        .post(format!("{}/api/v1/application-releases/{pay}/work-items/import", app.base))
        .bearer_auth(&rita)
        .header("Content-Type", "application/json")
        .body(items.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let spec = json!({"title": "PAY 1 build 42", "release": pay, "path": path,
        "artifacts": [{"name": "pay-api", "version": "1.4.2", "digest": "sha256:ab12"}]});
    let turnover = id(&app.post(&dan, "/api/v1/turnovers", spec).await);
    (train, pay, web, turnover)
}

#[tokio::test]
async fn the_release_page_shows_work_items_dependencies_turnovers_and_verification() {
    let app = TestApp::spawn().await;
    let (train, pay, web, turnover) = release_with_turnover(&app).await;
    app.user("vic", &["viewer"]).await;
    let browser = app.browser();
    browser.sign_in("vic", PASSWORD).await;

    let page = browser.get(&format!("/releases/{pay}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let b = &page.body;
    assert!(b.contains(&format!(r#"href="/trains/{train}""#)) && b.contains("accepted"), "{b}");
    assert!(b.contains("PAY-1") && b.contains("PAY-2") && b.contains("development_task"), "{b}");
    assert!(b.contains("Refund &lt;fast&gt;") && !b.contains("Refund <fast>"), "titles are escaped");
    assert!(b.contains(r#"href="https://tracker.example/PAY-1""#), "{b}");
    assert!(b.contains(&format!(r#"href="/turnovers/{turnover}""#)) && b.contains("PAY 1 build 42"), "{b}");
    assert!(b.contains("not verified") && b.contains("staging"), "{b}");
    assert!(b.contains(r#"href="/calendar""#) && b.contains(r#"href="/audit""#), "the header links the pages");

    let page = browser.get(&format!("/releases/{web}")).await;
    assert!(page.body.contains(&format!(r#"href="/releases/{pay}""#)), "{}", page.body);
    assert!(page.body.contains("No turnover was created yet."));

    let page = browser.get(&format!("/trains/{train}")).await;
    assert!(page.body.contains(&format!(r#"href="/releases/{web}""#)), "the train links its releases");
    assert_eq!(browser.get("/releases/AR-999").await.status, 404);
}

/// An environment `staging` with a blackout, a reservation that overlaps it and a maintenance window in
/// the week of Monday 2027-03-01.
async fn calendar_week(app: &TestApp) {
    let rita = app.user("rita", &["release_manager"]).await;
    let body = json!({
        "title": "Spring release", "release_type": "major",
        "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"}
    });
    let train = id(&app.post(&rita, "/api/v1/trains", body).await);
    for (name, kind) in [("staging", "staging"), ("prod", "production")] {
        app.post(&app.admin, "/api/v1/environments", json!({"name": name, "kind": kind})).await;
    }
    let events = [
        json!({"kind": "blackout", "title": "Trading peak", "start": "2027-03-02T00:00:00Z", "end": "2027-03-03T00:00:00Z"}),
        json!({"kind": "reservation", "title": "Reserved for the spring release", "start": "2027-03-02T12:00:00Z",
            "end": "2027-03-04T00:00:00Z", "train_id": train}),
        json!({"kind": "maintenance", "title": "Database upgrade", "start": "2027-03-05T02:00:00Z", "end": "2027-03-05T04:00:00Z"}),
    ];
    for e in events {
        app.post(&app.admin, "/api/v1/environments/staging/events", e).await;
    }
}

#[tokio::test]
async fn the_calendar_shows_events_by_day_and_marks_conflicts() {
    let app = TestApp::spawn().await;
    calendar_week(&app).await;
    app.user("vic", &["viewer"]).await;
    let browser = app.browser();
    browser.sign_in("vic", PASSWORD).await;

    let page = browser.get("/calendar?from=2027-03-03").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let b = &page.body;
    assert!(b.contains("Mon 2027-03-01") && b.contains("Sun 2027-03-07"), "the week holding the day: {b}");
    assert!(b.contains("Trading peak") && b.contains("Database upgrade") && b.contains("prod"), "{b}");
    assert!(b.contains(r#"class="entry reservation conflict""#), "the reservation overlaps the blackout: {b}");
    assert!(b.contains("overlaps blackout") && b.contains(r#"class="entry blackout""#), "{b}");
    assert!(b.contains("from=2027-02-22") && b.contains("from=2027-03-08"), "previous and next weeks: {b}");

    let page = browser.get("/environments/staging/calendar?view=month&from=2027-03-15").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("March 2027") && page.body.contains("Trading peak"), "{}", page.body);
    assert!(page.body.contains("from=2027-02-01") && page.body.contains("from=2027-04-01"), "{}", page.body);

    let page = browser.get("/calendar?from=2027-03-15").await;
    assert!(!page.body.contains("Trading peak"), "another week");

    for (path, param) in
        [("/calendar?view=year", "view"), ("/calendar?from=2027-13-01", "from"), ("/calendar?from=next", "from")]
    {
        let page = browser.get(path).await;
        assert_eq!(page.status, 400, "{path}");
        assert!(
            page.body.contains(&format!("<code>{param}</code>")) || page.body.contains(&format!("`{param}`")),
            "{}",
            page.body
        );
    }
    assert_eq!(browser.get("/environments/nowhere/calendar").await.status, 404);
}

#[tokio::test]
async fn the_audit_log_filters_by_object_pages_on_and_shows_the_chain_intact() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    app.user("vic", &["viewer"]).await;
    for i in 0..50 {
        app.post(&rita, "/api/v1/applications", json!({"key": format!("APP{i}"), "name": format!("App {i}")})).await;
    }
    let browser = app.browser();
    browser.sign_in("vic", PASSWORD).await;

    let page = browser.get("/audit?object=APP7").await;
    assert_eq!(page.status, 200, "{}", page.body);
    // Loading the page checks the chain head; a full verification runs when asked for.
    assert!(page.body.contains("Chain head: ") && page.body.contains("intact"), "{}", page.body);
    let verified = browser.get("/audit?object=APP7&verify=now").await;
    assert!(verified.body.contains("intact") && verified.body.contains("events checked"), "{}", verified.body);
    assert!(page.body.contains("APP7") && !page.body.contains("APP8"), "{}", page.body);
    assert!(page.body.contains(r#"value="APP7""#), "the filter is kept in the form");
    assert!(!page.body.contains(r#"rel="next""#));

    let page = browser.get("/audit").await;
    let next = page.body.split(r#"rel="next" href=""#).nth(1).and_then(|s| s.split('"').next()).expect("a next page");
    let next = next.replace("&amp;", "&");
    let later = browser.get(&next).await;
    assert_eq!(later.status, 200);
    assert!(later.body.contains("APP49"), "{}", later.body);

    let page = browser.get("/audit?actor=rita&from=2000-01-01&to=2999-12-31").await;
    assert!(page.body.contains("APP3"), "{}", page.body);
    let page = browser.get("/audit?actor=nobody").await;
    assert!(page.body.contains("No events match."));
    for (path, param) in [
        ("/audit?from=yesterday", "from"),
        ("/audit?to=2027-02-30", "to"),
        ("/audit?cursor=x", "cursor"),
        ("/audit?verify=later", "verify"),
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 400, "{path}");
        assert!(page.body.contains(&format!("`{param}`")), "{}", page.body);
    }
}

#[tokio::test]
async fn the_calendar_week_in_chromium() {
    let app = TestApp::spawn().await;
    calendar_week(&app).await;
    app.user("vic", &["viewer"]).await;
    let chrome = Chrome::start().await;
    chrome.sign_in(&app.base, "vic").await;
    chrome.goto(&format!("{}/calendar?view=week&from=2027-03-01", app.base)).await;
    assert_eq!(chrome.all("table.calendar.week li.conflict").await.len(), 2, "the reservation, on two days");
    assert!(chrome.source().await.contains("Trading peak"));
    chrome.screenshot("calendar-week").await;
}

#[tokio::test]
async fn a_release_manager_imports_work_items_from_the_release_page_and_a_viewer_sees_no_form() {
    let app = TestApp::spawn().await;
    let (_, pay, _, _) = release_with_turnover(&app).await;
    app.user("vic", &["viewer"]).await;
    let viewer = app.browser();
    viewer.sign_in("vic", PASSWORD).await;
    assert!(!viewer.get(&format!("/releases/{pay}")).await.body.contains("Import work items"));

    let browser = app.browser();
    browser.sign_in("rita", PASSWORD).await;
    let page = browser.get(&format!("/releases/{pay}")).await;
    assert!(page.body.contains("Import work items"), "{}", page.body);
    let csrf = page.csrf();
    let action = format!("/releases/{pay}/work-items/import");
    let rows = "key,title,kind,status\nPAY-3,Card tokens,development_task,open\n";
    let done = browser.post(&action, &[("csrf", &csrf), ("rows", rows)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), format!("/releases/{pay}#work-items"));
    assert!(browser.get(&format!("/releases/{pay}")).await.body.contains("Card tokens"));

    let bad = browser.post(&action, &[("csrf", &csrf), ("rows", "key,title,kind\nPAY-4,x,nonsense\n")]).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("line 2"), "{}", bad.body);
    assert_eq!(browser.post(&action, &[("rows", rows)]).await.status, 403, "no CSRF token");
}

#[tokio::test]
async fn the_dashboard_lists_overdue_milestones_of_trains_and_releases_with_links() {
    let app = TestApp::spawn().await;
    let (train, pay, _, _) = release_with_turnover(&app).await;
    let rosa = app.user("rosa", &["release_manager"]).await;
    let path = format!("/api/v1/trains/{train}/milestones");
    app.post(&rosa, &path, json!({"title": "Scope frozen", "due": "2027-01-10", "owner": "eve"})).await;
    let path = format!("/api/v1/application-releases/{pay}/milestones");
    app.post(&rosa, &path, json!({"title": "Refunds demo", "due": "2027-01-12"})).await;
    app.post(&rosa, &path, json!({"title": "Load test", "due": "2027-03-01"})).await;

    // Before the due dates (on the server's clock, which the test sets), nothing is overdue.
    app.travel_to("2027-01-05");
    let browser = app.browser();
    browser.sign_in("rosa", PASSWORD).await;
    let before = browser.get("/").await.body;
    assert!(before.contains("No milestone is overdue."), "{before}");

    // Past both due dates, the dashboard lists them, oldest first, each linked to its page; the
    // milestone due in March is not overdue yet.
    app.travel_to("2027-01-20");
    let browser = app.browser();
    browser.sign_in("rosa", PASSWORD).await;
    let dash = browser.get("/").await.body;
    let section = dash.split(r#"id="overdue""#).nth(1).unwrap().split("</section>").next().unwrap();
    let train_at = section.find(&format!(r#"href="/trains/{train}""#)).expect("the train's milestone");
    let release_at = section.find(&format!(r#"href="/releases/{pay}""#)).expect("the release's milestone");
    assert!(train_at < release_at, "oldest first: {section}");
    assert!(section.contains("Scope frozen") && section.contains("owner eve"), "{section}");
    assert!(section.contains("Refunds demo") && !section.contains("Load test"), "{section}");
}
