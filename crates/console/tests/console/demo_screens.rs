//! The demo company in Chromium, as a reviewer should see it: the demo is loaded into a real server
//! through its API, rita (a release manager) signs in, and whole-page screenshots of the dashboard, the
//! train deploying tonight (its timeline), a turnover board, a deployment, the calendar and the audit log
//! go to `target/screenshots/demo-*.png`. Each page is checked to show the demo's data first, so a
//! screenshot of an empty or refused page cannot pass.

use serde_json::{Value, json};

use crate::chrome::Chrome;
use crate::common::{PASSWORD, TestApp};

/// The id of the first item of a list answer whose `field` is `value`.
fn find(list: &Value, field: &str, value: &str) -> String {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t[field] == value)
        .and_then(|t| t["id"].as_str())
        .unwrap_or_else(|| panic!("no item with {field} = {value} in {list}"))
        .to_string()
}

async fn shoot(chrome: &Chrome, url: &str, name: &str, must_show: &[&str]) {
    chrome.goto(url).await;
    // The navigation may still be landing when `goto` returns.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page = chrome.source().await;
        let missing: Vec<&&str> = must_show.iter().filter(|t| !page.contains(**t)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{url} does not show {missing:?}:\n{page}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let path = chrome.full_page_screenshot(name).await;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(size > 20_000, "{} is only {size} bytes", path.display());
}

#[tokio::test]
async fn the_demo_company_in_chromium_screenshots_of_every_main_page() {
    let app = TestApp::spawn().await;
    railyard_demo::load(&app.base, &app.admin).await.expect("the demo loads");
    app.post(&app.admin, "/api/v1/users/rita/password", json!({"password": PASSWORD})).await;

    let trains = app.get(&app.admin, "/api/v1/trains?limit=50").await;
    let tonight = find(&trains, "title", "2026.11 Autumn release");
    let verifying = find(&trains, "title", "2026.12 Winter patch");
    let turnovers = app.get(&app.admin, &format!("/api/v1/turnovers?train={verifying}&limit=50")).await;
    let failed_board = turnovers["items"][0]["id"].as_str().expect("a turnover of the winter patch").to_string();
    // The closed train's go-live.
    let deployments = app.get(&app.admin, "/api/v1/deployments?environment=prod-eu&state=validated").await;
    let deployment = deployments["items"][0]["id"].as_str().expect("a production deployment").to_string();
    // The month that holds the demo's blackout (six days from today).
    let blackout = (chrono::Utc::now() + chrono::Duration::days(6)).date_naive();

    let chrome = Chrome::start().await;
    chrome.goto(&format!("{}/sign-in", app.base)).await;
    chrome.type_into("input[name=name]", "rita").await;
    chrome.type_into("input[name=password]", PASSWORD).await;
    chrome.click(r#"form[action="/sign-in"] button"#).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while chrome.url().await != format!("{}/", app.base) {
        assert!(std::time::Instant::now() < deadline, "never reached the dashboard: {}", chrome.url().await);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let base = &app.base;
    shoot(&chrome, &format!("{base}/"), "demo-dashboard", &["2026.11 Autumn release", "2027.04 Spring release"]).await;
    shoot(&chrome, &format!("{base}/trains/{tonight}"), "demo-train-timeline", &[r#"class="gantt""#, "Go-live"]).await;
    shoot(&chrome, &format!("{base}/turnovers/{failed_board}"), "demo-turnover-board", &["staging", "rejected"]).await;
    shoot(&chrome, &format!("{base}/deployments/{deployment}"), "demo-deployment", &["validated", "prod-eu"]).await;
    shoot(
        &chrome,
        &format!("{base}/calendar?view=month&from={blackout}"),
        "demo-calendar-month",
        &["Black Friday freeze"],
    )
    .await;
    shoot(&chrome, &format!("{base}/audit"), "demo-audit", &["intact"]).await;
}
