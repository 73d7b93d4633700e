//! The browser's protections: every console response carries a Content-Security-Policy, `nosniff` and a
//! same-origin referrer policy; pages use no inline styles (the style sheet is served from the console
//! itself); a form posted from another origin is refused, one without `Origin` falls back to the CSRF
//! token.

use reqwest::header::HeaderMap;

use crate::common::{Browser, PASSWORD, Page, TestApp};

#[track_caller]
fn protected(what: &str, headers: &HeaderMap) {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let csp = get("content-security-policy");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{what}: Content-Security-Policy is '{csp}'"
    );
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "same-origin", "{what}");
}

/// A form post as a browser on `origin` sends it (no redirects followed).
async fn post_from(browser: &Browser, origin: &str, path: &str, form: &[(&str, &str)]) -> Page {
    let res =
        browser.http.post(format!("{}{path}", browser.base)).header("origin", origin).form(form).send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    Page { status, headers, body: res.text().await.unwrap() }
}

#[tokio::test]
async fn every_console_response_carries_the_protection_headers_and_no_inline_style() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    let browser = app.browser();
    let redirect = browser.get("/").await;
    protected("the redirect to the sign-in page", &redirect.headers);
    let form = browser.get("/sign-in").await;
    protected("the sign-in page", &form.headers);
    let wrong = browser.sign_in("rita", "not the password at all").await;
    protected("a wrong password", &wrong.headers);
    let ok = browser.sign_in("rita", PASSWORD).await;
    protected("the sign-in", &ok.headers);
    let refused = browser.post("/sign-out", &[("csrf", "forged")]).await;
    assert_eq!(refused.status, 403);
    protected("a refused form", &refused.headers);
    for path in ["/", "/trains", "/trains/new", "/calendar", "/audit", "/users/rita"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        protected(path, &page.headers);
        assert!(!page.body.contains("<style") && !page.body.contains(" style="), "{path} has an inline style");
    }
    // The style sheet comes from the console itself, which the policy allows.
    let dash = browser.get("/").await;
    let marker = r#"<link rel="stylesheet" href=""#;
    let start = dash.body.find(marker).unwrap_or_else(|| panic!("no style sheet link:\n{}", dash.body)) + marker.len();
    let href = dash.body[start..].split('"').next().unwrap().to_string();
    assert!(href.starts_with('/'), "{href}");
    let css = browser.get(&href).await;
    assert_eq!(css.status, 200);
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(css.body.contains("header{"), "{}", css.body);
    protected("the style sheet", &css.headers);
}

#[tokio::test]
async fn a_post_from_another_origin_is_refused_and_one_without_origin_falls_back_to_the_csrf_token() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    let browser = app.browser();

    // Signing in from another site's page is refused, with its own token pair and all.
    let form = browser.get("/sign-in").await;
    let fields = [("csrf", form.csrf()), ("name", "rita".into()), ("password", PASSWORD.into())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = post_from(&browser, "https://evil.example", "/sign-in", &fields).await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert!(res.body.contains("Refused") && res.body.contains("https://evil.example"), "{}", res.body);
    protected("an origin refusal", &res.headers);
    assert_eq!(browser.get("/").await.location(), "/sign-in");

    // From the console's own origin it works.
    let res = post_from(&browser, &app.base, "/sign-in", &fields).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/"), "{}", res.body);

    // A signed-in action with the right CSRF token but a foreign Origin changes nothing.
    let dash = browser.get("/").await;
    let csrf = dash.csrf();
    let before = app.event_count().await;
    for origin in ["https://evil.example", "null", "http://127.0.0.1.evil.example"] {
        let res = post_from(&browser, origin, "/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(res.status, 403, "Origin {origin}: {}", res.body);
    }
    assert_eq!(app.event_count().await, before);
    assert_eq!(browser.get("/").await.status, 200, "still signed in");

    // Without Origin (an old browser), the CSRF token decides.
    assert_eq!(browser.post("/sign-out", &[("csrf", "forged")]).await.status, 403);
    let res = browser.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/sign-in"));
}

#[tokio::test]
async fn pages_keep_their_look_under_the_policy_and_forms_post_in_chromium() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let (train, _) = app.train_awaiting(&rm, "eve").await;
    let chrome = crate::chrome::Chrome::start().await;
    // Signing in posts a form (with the browser's own Origin): accepted.
    chrome.sign_in(&app.base, "rita").await;
    let style = |css: &str, property: &str| {
        format!("return getComputedStyle(document.querySelector('{css}')).getPropertyValue('{property}')")
    };
    assert_eq!(chrome.script(&style("header", "background-color")).await, "rgb(31, 58, 95)");
    chrome.goto(&format!("{}/trains/new", app.base)).await;
    chrome.wait_for_text("</form>").await;
    assert_eq!(chrome.script(&style(".fields-grid", "display")).await, "grid");
    chrome.goto(&format!("{}/trains/{train}", app.base)).await;
    chrome.wait_for_text("class=\"gantt\"").await;
    assert_eq!(chrome.script(&style("svg.gantt", "background-color")).await, "rgb(255, 255, 255)");
    chrome.screenshot("train-under-csp").await;
}
