//! A console session ends when the token that opened it is revoked, when the user's password is reset,
//! or when the user's roles change; other changes to the user leave it open.

use reqwest::Method;
use serde_json::json;

use crate::common::{Browser, PASSWORD, TestApp};

async fn signed_in(browser: &Browser) -> bool {
    let dash = browser.get("/").await;
    dash.status == 200 && dash.body.contains("<h1>Dashboard</h1>")
}

#[tokio::test]
async fn a_session_opened_with_a_token_ends_when_the_token_is_revoked() {
    let app = TestApp::spawn().await;
    let token = app.user("tom", &["release_engineer"]).await;
    let browser = app.browser();
    assert_eq!(browser.sign_in_with_token(&token).await.location(), "/");
    // A password session of the same user is not opened by that token and stays.
    let by_password = app.browser();
    assert_eq!(by_password.sign_in("tom", PASSWORD).await.location(), "/");
    assert!(signed_in(&browser).await && signed_in(&by_password).await);

    let tokens = app.get(&app.admin, "/api/v1/tokens?user=tom").await;
    let id = tokens["items"][0]["id"].as_str().unwrap().to_string();
    app.post(&app.admin, &format!("/api/v1/tokens/{id}/revoke"), json!({})).await;

    let after = browser.get("/").await;
    assert_eq!((after.status.as_u16(), after.location()), (303, "/sign-in"), "{}", after.body);
    assert!(signed_in(&by_password).await, "the password session ended too");
}

#[tokio::test]
async fn a_session_ends_when_the_password_is_reset() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    let browser = app.browser();
    assert_eq!(browser.sign_in("rita", PASSWORD).await.location(), "/");
    assert!(signed_in(&browser).await);

    let new = "a brand new passphrase";
    app.post(&app.admin, "/api/v1/users/rita/password", json!({"password": new})).await;
    let after = browser.get("/").await;
    assert_eq!((after.status.as_u16(), after.location()), (303, "/sign-in"), "{}", after.body);
    // A form posted with the old session is refused as not signed in.
    assert_eq!(browser.post("/sign-out", &[("csrf", "x")]).await.status, 403);
    assert_eq!(browser.sign_in("rita", new).await.location(), "/");
    assert!(signed_in(&browser).await);
}

#[tokio::test]
async fn a_session_ends_when_the_roles_change_and_survives_other_changes() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    let browser = app.browser();
    assert_eq!(browser.sign_in("rita", PASSWORD).await.location(), "/");

    let (status, body) =
        app.call(&app.admin, Method::PATCH, "/api/v1/users/rita", Some(json!({"display_name": "Rita R."}))).await;
    assert_eq!(status, 200, "{body}");
    assert!(signed_in(&browser).await, "a new display name ended the session");

    let (status, body) =
        app.call(&app.admin, Method::PATCH, "/api/v1/users/rita", Some(json!({"roles": ["viewer"]}))).await;
    assert_eq!(status, 200, "{body}");
    let after = browser.get("/").await;
    assert_eq!((after.status.as_u16(), after.location()), (303, "/sign-in"), "{}", after.body);
    assert_eq!(browser.sign_in("rita", PASSWORD).await.location(), "/");
    assert!(signed_in(&browser).await);
}
