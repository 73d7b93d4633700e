//! Acting from the pages: approving from the dashboard, forged posts, and what a viewer sees.

use serde_json::json;

use crate::common::{PASSWORD, TestApp};

#[tokio::test]
async fn an_approver_approves_a_train_approval_from_the_dashboard() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let (train, approval) = app.train_awaiting(&rm, "eve").await;

    let browser = app.browser();
    browser.sign_in("eve", PASSWORD).await;
    let dash = browser.get("/").await;
    assert!(dash.body.contains(&format!(r#"action="/approvals/{approval}/approve""#)), "{}", dash.body);
    assert!(dash.body.contains(&format!(r#"href="/trains/{train}""#)));

    let res = browser.post(&format!("/approvals/{approval}/approve"), &[("csrf", &dash.csrf()), ("back", "/")]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/"), "{}", res.body);

    let a = app.get(&rm, &format!("/api/v1/approvals/{approval}")).await;
    assert_eq!(a["state"], "approved", "{a}");
    let events = app.events_of(&approval).await;
    assert!(events.iter().any(|e| e["action"] == "approve" && e["actor"] == "eve"), "{events:?}");
    let t = app.get(&rm, &format!("/api/v1/trains/{train}")).await;
    assert_eq!(t["state"], "scoping");

    // The train page shows the decision; the inbox is empty again.
    let page = browser.get(&format!("/trains/{train}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("eve approved"), "{}", page.body);
    assert!(browser.get("/").await.body.contains("Nothing waits for you."));
}

#[tokio::test]
async fn a_forged_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let (_, approval) = app.train_awaiting(&rm, "eve").await;
    let browser = app.browser();
    browser.sign_in("eve", PASSWORD).await;
    let before = app.event_count().await;

    let path = format!("/approvals/{approval}/approve");
    let missing = browser.post(&path, &[("back", "/")]).await;
    let wrong = browser.post(&path, &[("csrf", "0123456789abcdef"), ("back", "/")]).await;
    for res in [&missing, &wrong] {
        assert_eq!(res.status, 403);
        assert!(res.body.contains("Refused: the form could not be verified"), "{}", res.body);
    }
    // Without any session at all, too.
    let res = app.browser().post(&path, &[("back", "/")]).await;
    assert_eq!(res.status, 403);

    assert_eq!(app.event_count().await, before);
    assert_eq!(app.get(&rm, &format!("/api/v1/approvals/{approval}")).await["state"], "pending");
}

#[tokio::test]
async fn a_viewer_sees_the_pages_but_no_action_buttons() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    app.user("vic", &["viewer"]).await;
    let (train, _) = app.train_awaiting(&rm, "eve").await;
    app.post(&rm, &format!("/api/v1/trains/{train}/gates/scoping/criteria"), json!({"title": "Scope signed off"}))
        .await;

    let viewer = app.browser();
    viewer.sign_in("vic", PASSWORD).await;
    for path in ["/".to_string(), format!("/trains/{train}")] {
        let page = viewer.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.contains("Spring release"), "{path}: {}", page.body);
        assert!(!page.body.contains(r#"class="action""#), "{path} shows actions to a viewer:\n{}", page.body);
        assert!(!page.body.contains("/approve"), "{path}");
    }
    // The approver sees the same train page with the buttons.
    let eve = app.browser();
    eve.sign_in("eve", PASSWORD).await;
    assert!(eve.get(&format!("/trains/{train}")).await.body.contains(r#"class="action""#));
}

#[tokio::test]
async fn a_refused_action_shows_its_guards() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let (_, approval) = app.train_awaiting(&rm, "eve").await;
    // Rita requested the approval and is not listed in it: the service refuses her decision.
    let browser = app.browser();
    browser.sign_in("rita", PASSWORD).await;
    let dash = browser.get("/").await;
    let res = browser.post(&format!("/approvals/{approval}/approve"), &[("csrf", &dash.csrf())]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("What stands in the way"), "{}", res.body);
}

#[tokio::test]
async fn an_owner_meets_an_exit_criterion_with_evidence_and_a_manager_may_waive() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let (train, _) = app.train_awaiting(&rm, "eve").await;
    let criteria = format!("/api/v1/trains/{train}/gates/scoping/criteria");
    app.post(&rm, &criteria, json!({"title": "Scope signed off", "owner": "eve"})).await;
    let t = app.post(&rm, &criteria, json!({"title": "Budget approved"})).await;
    let ec = t["gates"]["scoping"]["criteria"][0]["id"].as_str().unwrap().to_string();
    let other = t["gates"]["scoping"]["criteria"][1]["id"].as_str().unwrap().to_string();

    let eve = app.browser();
    eve.sign_in("eve", PASSWORD).await;
    let page = eve.get(&format!("/trains/{train}")).await;
    let meet = format!("/trains/{train}/criteria/{ec}/meet");
    assert!(page.body.contains(&format!(r#"action="{meet}""#)), "{}", page.body);
    assert!(!page.body.contains("/waive"), "a product owner cannot waive");
    assert!(!page.body.contains(&format!("/criteria/{other}/meet")), "eve does not own {other}");

    // Evidence is required: the page says what to fix and nothing changes.
    let res = eve.post(&meet, &[("csrf", &page.csrf()), ("note", " ")]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    let res = eve.post(&meet, &[("csrf", &page.csrf()), ("note", "signed off in the review"), ("link", "")]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, format!("/trains/{train}#gates").as_str()), "{}", res.body);
    let t = app.get(&rm, &format!("/api/v1/trains/{train}")).await;
    assert_eq!(t["gates"]["scoping"]["criteria"][0]["state"], "met");
    assert_eq!(t["gates"]["scoping"]["criteria"][0]["evidence"]["note"], "signed off in the review");
    let events = app.events_of(&train).await;
    assert!(events.iter().any(|e| e["action"] == "meet_criterion" && e["actor"] == "eve"), "{events:?}");

    let rita = app.browser();
    rita.sign_in("rita", PASSWORD).await;
    let page = rita.get(&format!("/trains/{train}")).await;
    let waive = format!("/trains/{train}/criteria/{other}/waive");
    assert!(page.body.contains(&format!(r#"action="{waive}""#)), "{}", page.body);
    let res = rita.post(&waive, &[("csrf", &page.csrf()), ("reason", "not needed for a patch")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let t = app.get(&rm, &format!("/api/v1/trains/{train}")).await;
    assert_eq!(t["gates"]["scoping"]["criteria"][1]["state"], "waived");
}
