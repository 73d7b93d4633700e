//! The secrets page: a release engineer sets (creates, then replaces) and deletes a secret from the
//! browser and never sees its value again; a developer sees the secrets' names but neither the form nor
//! the buttons.

use crate::common::{Browser, PASSWORD, Page, TestApp};

const VALUE: &str = "console-s3cr3t-Zq9";

#[track_caller]
fn redirected(res: &Page, to: &str) {
    assert_eq!((res.status.as_u16(), res.location()), (303, to), "{}", res.body);
}

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    redirected(&b.sign_in(name, PASSWORD).await, "/");
    b
}

#[tokio::test]
async fn an_engineer_sets_and_deletes_a_secret_and_nobody_sees_its_value() {
    let app = TestApp::spawn().await;
    let erin = app.user("erin", &["release_engineer"]).await;
    app.user("dan", &["developer"]).await;
    app.post(&erin, "/api/v1/environments", serde_json::json!({"name": "prod", "kind": "production"})).await;
    let b = signed_in(&app, "erin").await;
    let page = b.get("/secrets").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"action="/secrets""#) && page.body.contains(r#"type="password""#), "{}", page.body);
    let csrf = page.csrf();
    for value in ["first-value", VALUE] {
        let form = [("csrf", csrf.as_str()), ("name", "API_TOKEN"), ("value", value), ("scope", "environment:prod")];
        redirected(&b.post("/secrets", &form).await, "/secrets");
    }
    let list = app.get(&erin, "/api/v1/secrets?environment=prod").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!((items.len(), items[0]["version"].as_i64()), (1, Some(2)), "set twice: one secret, replaced");
    let id = items[0]["id"].as_str().unwrap().to_string();
    let page = b.get("/secrets").await;
    assert!(page.body.contains("API_TOKEN") && page.body.contains(&format!("/secrets/{id}/delete")), "{}", page.body);
    assert!(!page.body.contains(VALUE) && !page.body.contains("first-value"), "{}", page.body);
    let audit = b.get("/audit").await;
    assert!(!audit.body.contains(VALUE), "{}", audit.body);

    let dan = signed_in(&app, "dan").await;
    let seen = dan.get("/secrets").await;
    assert!(seen.body.contains("API_TOKEN") && !seen.body.contains(VALUE), "{}", seen.body);
    assert!(!seen.body.contains(r#"action="/secrets""#) && !seen.body.contains("/delete"), "{}", seen.body);

    redirected(&b.post(&format!("/secrets/{id}/delete"), &[("csrf", &page.csrf())]).await, "/secrets");
    let list = app.get(&erin, "/api/v1/secrets").await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
}
