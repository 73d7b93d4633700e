//! Acting from the pages: approving from the dashboard, forged posts, and what a viewer sees.

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
