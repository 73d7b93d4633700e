//! Signing in with a password or a token, wrong credentials, the session cookie, and signing out.

use serde_json::json;

use crate::common::{PASSWORD, TestApp};

#[tokio::test]
async fn a_password_opens_the_dashboard_with_a_strict_http_only_cookie() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    let browser = app.browser();

    let before = browser.get("/").await;
    assert_eq!((before.status.as_u16(), before.location()), (303, "/sign-in"));

    let res = browser.sign_in("rita", PASSWORD).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/"), "{}", res.body);
    let cookie = res
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("railyard_session="))
        .expect("a session cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/;", "Max-Age=43200"] {
        assert!(cookie.contains(part), "{part} missing from {cookie}");
    }

    let dash = browser.get("/").await;
    assert_eq!(dash.status, 200);
    assert!(dash.body.contains("<h1>Dashboard</h1>"), "{}", dash.body);
    assert!(dash.body.contains(
        "Signed in as <a href=\"/users/rita\" title=\"Your roles and API tokens\"><strong>rita</strong></a>"
    ));
    assert!(dash.body.contains("The line is running"));

    // The sign-in is in the audit log, by rita; the password is nowhere in the user's record or events.
    let events = app.get(&app.admin, "/api/v1/audit/events?actor=rita&object_kind=session").await;
    assert_eq!(events["items"][0]["action"], "sign_in");
    let user = app.get(&app.admin, "/api/v1/users/rita").await;
    assert_eq!(user["has_password"], true);
    assert!(!user.to_string().contains("argon2"), "{user}");
    let set = app.events_of("rita").await;
    assert!(set.iter().any(|e| e["action"] == "set_password" && e["actor"] == "admin"));
    assert!(!serde_json::to_string(&set).unwrap().contains(PASSWORD));
}

#[tokio::test]
async fn wrong_credentials_get_the_sign_in_page_again_without_saying_which_was_wrong() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    let browser = app.browser();

    let wrong_password = browser.sign_in("rita", "not the password at all").await;
    let unknown_user = browser.sign_in("nobody", PASSWORD).await;
    for res in [&wrong_password, &unknown_user] {
        assert_eq!(res.status, 401);
        assert!(res.body.contains("The user name or the password is wrong."), "{}", res.body);
        assert!(res.body.contains(r#"action="/sign-in""#));
    }
    let dash = browser.get("/").await;
    assert_eq!((dash.status.as_u16(), dash.location()), (303, "/sign-in"));

    // A bad token is refused the same way; a sign-in form without its own token is refused outright.
    let form = browser.get("/sign-in").await;
    let res = browser.post("/sign-in", &[("csrf", &form.csrf()), ("token", "ry_0000")]).await;
    assert_eq!(res.status, 401);
    let res = app.browser().post("/sign-in", &[("name", "rita"), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 403);
}

#[tokio::test]
async fn a_pasted_api_token_opens_a_session() {
    let app = TestApp::spawn().await;
    let token = app.user("tom", &["release_engineer"]).await;
    let browser = app.browser();
    let form = browser.get("/sign-in").await;
    let res = browser.post("/sign-in", &[("csrf", &form.csrf()), ("token", &token)]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/"), "{}", res.body);
    let dash = browser.get("/").await;
    assert!(
        dash.body.contains(
            "Signed in as <a href=\"/users/tom\" title=\"Your roles and API tokens\"><strong>tom</strong></a>"
        ),
        "{}",
        dash.body
    );
    let events = app.get(&app.admin, "/api/v1/audit/events?actor=tom&object_kind=session").await;
    assert_eq!(events["items"][0]["data"]["method"], "token");
}

#[tokio::test]
async fn signing_out_ends_the_session_and_its_cookie_no_longer_works() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    let browser = app.browser();
    let res = browser.sign_in("rita", PASSWORD).await;
    let secret = res
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("railyard_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let dash = browser.get("/").await;
    let res = browser.post("/sign-out", &[("csrf", &dash.csrf())]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/sign-in"));
    assert_eq!(browser.get("/").await.location(), "/sign-in");

    // The old cookie, presented again by hand, opens nothing.
    let replay = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = replay
        .get(format!("{}/", app.base))
        .header("cookie", format!("railyard_session={secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let events = app.get(&app.admin, "/api/v1/audit/events?actor=rita&object_kind=session").await;
    let actions: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["sign_in", "sign_out"]);
}

#[tokio::test]
async fn passwords_are_set_by_admins_only_and_need_twelve_characters() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let (status, body) = app
        .call(&app.admin, reqwest::Method::POST, "/api/v1/users/rita/password", Some(json!({"password": "short"})))
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) =
        app.call(&rm, reqwest::Method::POST, "/api/v1/users/rita/password", Some(json!({"password": PASSWORD}))).await;
    assert_eq!(status, 403);

    // A user created with a password gets both in one change; a short one leaves no user behind.
    let carol = |password: &str| json!({"name": "carol", "roles": ["developer"], "password": password});
    let (status, body) = app.call(&app.admin, reqwest::Method::POST, "/api/v1/users", Some(carol("short"))).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("a password needs at least 12 characters"), "{body}");
    assert_eq!(app.call(&app.admin, reqwest::Method::GET, "/api/v1/users/carol", None).await.0, 404);
    let (status, body) = app.call(&app.admin, reqwest::Method::POST, "/api/v1/users", Some(carol(PASSWORD))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["has_password"], true, "{body}");
    let events = app.events_of("carol").await;
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "set_password"]);
    assert!(!events.iter().any(|e| e.to_string().contains(PASSWORD)), "the password is never in the log: {events:?}");
    let browser = app.browser();
    browser.sign_in("carol", PASSWORD).await;
    assert_eq!(browser.get("/").await.status, 200);
}

#[tokio::test]
async fn a_session_expires_after_twelve_hours() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    let browser = app.browser();
    browser.sign_in("rita", PASSWORD).await;
    app.advance(chrono::Duration::hours(11) + chrono::Duration::minutes(59));
    assert_eq!(browser.get("/").await.status, 200);
    app.advance(chrono::Duration::minutes(2));
    assert_eq!(browser.get("/").await.location(), "/sign-in");
}
