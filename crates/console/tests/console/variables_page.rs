//! The variables page: a release engineer sets (creates, then changes) and deletes a variable from the
//! browser; a developer sees the variables but neither the form nor the buttons.

use crate::common::{Browser, PASSWORD, Page, TestApp};

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
async fn an_engineer_sets_and_deletes_a_variable_and_a_developer_only_reads() {
    let app = TestApp::spawn().await;
    let erin = app.user("erin", &["release_engineer"]).await;
    app.user("dan", &["developer"]).await;
    app.post(&erin, "/api/v1/environments", serde_json::json!({"name": "prod", "kind": "production"})).await;
    let b = signed_in(&app, "erin").await;
    let page = b.get("/variables").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"action="/variables""#) && page.body.contains("environment:prod"), "{}", page.body);
    let csrf = page.csrf();
    for value in ["hello", "hi"] {
        let form = [("csrf", csrf.as_str()), ("name", "GREETING"), ("value", value), ("scope", "environment:prod")];
        redirected(&b.post("/variables", &form).await, "/variables");
    }
    let list = app.get(&erin, "/api/v1/variables?environment=prod").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!((items.len(), items[0]["value"].as_str()), (1, Some("hi")), "set twice: one variable, changed");
    let id = items[0]["id"].as_str().unwrap().to_string();
    let page = b.get("/variables").await;
    assert!(page.body.contains(&format!("/variables/{id}/delete")), "{}", page.body);

    let dan = signed_in(&app, "dan").await;
    let seen = dan.get("/variables").await;
    assert!(seen.body.contains("GREETING") && seen.body.contains("hi"), "{}", seen.body);
    assert!(!seen.body.contains(r#"action="/variables""#) && !seen.body.contains("/delete"), "{}", seen.body);

    redirected(&b.post(&format!("/variables/{id}/delete"), &[("csrf", &page.csrf())]).await, "/variables");
    let list = app.get(&erin, "/api/v1/variables").await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
}
