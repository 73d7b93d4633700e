//! The console in a real browser: headless Chromium signs in, approves from the dashboard, reads the
//! train's timeline; a viewer sees no action buttons; a forged cross-site form post is refused.
//! A release engineer starts a deployment from the turnover board and watches it finish live.
//! Screenshots of the dashboard, a train page with its timeline and a turnover board go to
//! `target/screenshots/`.

use serde_json::json;

use crate::chrome::Chrome;
use crate::common::TestApp;

/// A train awaiting eve's approval, with two releases (WEB depends on PAY) and a milestone.
async fn train_with_releases(app: &TestApp, rm: &str) -> (String, String) {
    let (train, approval) = app.train_awaiting(rm, "eve").await;
    let mut ids = Vec::new();
    for (key, start, end) in [("PAY", "2027-01-05", "2027-01-30"), ("WEB", "2027-02-01", "2027-02-11")] {
        app.post(rm, "/api/v1/applications", json!({"key": key, "name": key})).await;
        let body = json!({"title": format!("{key} 2"), "application": key, "train": train, "schedule": {"start": start, "end": end}});
        ids.push(app.post(rm, "/api/v1/application-releases", body).await["id"].as_str().unwrap().to_string());
    }
    app.post(rm, &format!("/api/v1/application-releases/{}/dependencies", ids[1]), json!({"depends_on": ids[0]})).await;
    app.post(rm, &format!("/api/v1/trains/{train}/milestones"), json!({"title": "Code freeze", "due": "2027-02-10"}))
        .await;
    (train, approval)
}

#[tokio::test]
async fn an_approver_signs_in_and_approves_a_train_in_chromium() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let (train, approval) = train_with_releases(&app, &rm).await;

    let chrome = Chrome::start().await;
    chrome.sign_in(&app.base, "eve").await;
    let dash = chrome.source().await;
    assert!(dash.contains("My inbox") && dash.contains(&approval), "{dash}");
    chrome.screenshot("dashboard").await;

    chrome.click(&format!(r#"form[action="/approvals/{approval}/approve"] button"#)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.get(&rm, &format!("/api/v1/approvals/{approval}")).await["state"] != "approved" {
        assert!(std::time::Instant::now() < deadline, "the approval was never approved");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.get(&rm, &format!("/api/v1/trains/{train}")).await["state"], "scoping");
    chrome.wait_for_text("Nothing waits for you.").await;

    chrome.goto(&format!("{}/trains/{train}", app.base)).await;
    let page = chrome.wait_for_text("eve approved").await;
    assert!(page.contains(r#"class="gantt""#), "{page}");
    assert_eq!(chrome.all("svg.gantt path[marker-end]").await.len(), 1, "one dependency arrow");
    chrome.screenshot("train-timeline").await;
}

#[tokio::test]
async fn a_viewer_sees_no_action_buttons_and_a_forged_post_is_refused_in_chromium() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    app.user("vic", &["viewer"]).await;
    let (train, approval) = train_with_releases(&app, &rm).await;

    let chrome = Chrome::start().await;
    chrome.sign_in(&app.base, "vic").await;
    for path in ["/".to_string(), format!("/trains/{train}")] {
        chrome.goto(&format!("{}{path}", app.base)).await;
        assert!(chrome.all("form.action, form.action button").await.is_empty(), "a viewer sees an action on {path}");
    }

    // Signed in as eve, a page elsewhere posts a form to the console without its CSRF token.
    drop(chrome);
    let chrome = Chrome::start().await;
    chrome.sign_in(&app.base, "eve").await;
    let before = app.event_count().await;
    let forged = format!(
        "data:text/html,<form method=post action='{}/approvals/{approval}/approve'><input name=back value=/></form><script>document.forms[0].submit()</script>",
        app.base
    );
    chrome.goto(&forged).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !chrome.url().await.starts_with(&app.base) || !chrome.loaded().await {
        assert!(std::time::Instant::now() < deadline, "the forged form never posted");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // SameSite=Strict keeps the session cookie off a cross-site post, and the token is missing anyway.
    let page = chrome.source().await;
    assert!(page.contains("Not signed in") || page.contains("Refused"), "{page}");
    assert_eq!(app.event_count().await, before);
    assert_eq!(app.get(&rm, &format!("/api/v1/approvals/{approval}")).await["state"], "pending");
}

#[tokio::test]
async fn a_release_engineer_starts_a_deployment_and_sees_it_finish_live_in_chromium() {
    let app = TestApp::spawn().await;
    let s = crate::deploying::setup(&app, false).await;

    let chrome = Chrome::start().await;
    chrome.sign_in(&app.base, "erin").await;
    let board = format!("{}/turnovers/{}", app.base, s.to);
    chrome.goto(&board).await;
    chrome.click(&format!(r#"form[action="/turnovers/{}/deploy"] button"#, s.to)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !chrome.url().await.contains("/deployments/") {
        assert!(std::time::Instant::now() < deadline, "never reached the deployment page");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // No reloading from the test: the page's meta refresh brings the progress in.
    let page = chrome.wait_for_text(r#"<p id="deployment-state"><span class="state">succeeded</span>"#).await;
    assert!(page.contains("Deploy web") && !page.contains(r#"http-equiv="refresh""#), "{page}");

    chrome.goto(&board).await;
    let page = chrome.wait_for_text(r#"aria-label="Stage 1: test""#).await;
    assert!(page.contains("succeeded"), "{page}");
    chrome.screenshot("turnover-board").await;
}

#[tokio::test]
async fn an_owner_meets_an_exit_criterion_in_chromium() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let (train, _) = train_with_releases(&app, &rm).await;
    let body = json!({"title": "Scope signed off", "owner": "eve"});
    let t = app.post(&rm, &format!("/api/v1/trains/{train}/gates/scoping/criteria"), body).await;
    let ec = t["gates"]["scoping"]["criteria"][0]["id"].as_str().unwrap().to_string();

    let chrome = Chrome::start().await;
    chrome.sign_in(&app.base, "eve").await;
    chrome.goto(&format!("{}/trains/{train}", app.base)).await;
    let form = format!(r#"form[action="/trains/{train}/criteria/{ec}/meet"]"#);
    chrome.type_into(&format!("{form} input[name=note]"), "signed by the steering board").await;
    chrome.click(&format!("{form} button")).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let t = app.get(&rm, &format!("/api/v1/trains/{train}")).await;
        let c = &t["gates"]["scoping"]["criteria"][0];
        if c["state"] == "met" {
            assert_eq!(c["evidence"]["note"], "signed by the steering board");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the criterion was never met: {c}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    chrome.wait_for_text("signed by the steering board").await;
}

#[tokio::test]
async fn the_owner_completes_a_manual_run_and_a_stale_deploy_shows_its_guards_in_chromium() {
    let app = TestApp::spawn().await;
    let s = crate::deploying::setup(&app, true).await;
    let chrome = Chrome::start().await;
    chrome.sign_in(&app.base, "erin").await;

    // A board loaded before someone else deployed: its button is stale, and pressing it shows why not.
    let board = format!("{}/turnovers/{}", app.base, s.to);
    chrome.goto(&board).await;
    let d = app.post(&s.erin, &format!("/api/v1/turnovers/{}/deploy", s.to), json!({})).await;
    let id = d["id"].as_str().unwrap().to_string();
    chrome.click(&format!(r#"form[action="/turnovers/{}/deploy"] button"#, s.to)).await;
    let refused = chrome.wait_for_text("The action was refused").await;
    assert!(refused.contains("(deployment_active)"), "{refused}");

    // The engine reaches the manual sign-off; rita, its owner, completes it from the deployment page.
    crate::deploying::wait_for(&app, &s.erin, &id, "the manual run", |d| {
        d["runs"].as_array().unwrap().iter().any(|r| r["state"] == "waiting_for_owner")
    })
    .await;
    drop(chrome);
    let chrome = Chrome::start().await;
    chrome.sign_in(&app.base, "rita").await;
    chrome.goto(&format!("{}/deployments/{id}", app.base)).await;
    let form = format!(r#"form[action="/deployments/{id}/runs/R4/complete"]"#);
    chrome.type_into(&format!("{form} input[name=note]"), "checked in staging").await;
    chrome.click(&format!("{form} button")).await;
    crate::deploying::wait_for(&app, &s.erin, &id, "success", |d| d["state"] == "succeeded").await;
    let d = app.get(&s.erin, &format!("/api/v1/deployments/{id}")).await;
    let run = d["runs"].as_array().unwrap().iter().find(|r| r["id"] == "R4").cloned().unwrap();
    assert_eq!((run["completed_by"].as_str(), run["note"].as_str()), (Some("rita"), Some("checked in staging")));
}
