//! The demo company in Chromium, as a reviewer should see it: the demo (months of history) is loaded into
//! a new database as `railyard serve --demo` does, a real server opens over it, rita (a release manager)
//! signs in, and whole-page screenshots of the dashboard, the train deploying tonight and the train
//! closed last quarter (their Gantt timelines, the closed one's actual bars months long), a turnover
//! board, a deployment, this month's calendar (train milestones, production dates and environment
//! events side by side, each linking to its train or release) and the audit log go to
//! `target/screenshots/demo-*.png`. Each page is checked to show the demo's data first, so a
//! screenshot of an empty or refused page cannot pass. Then every main page, forms included, is checked
//! for what a keyboard or screen reader user and a phone need: every form control has a label, every
//! button says what it does, and at phone width nothing but a table's own scroller is wider than the
//! screen.

use chrono::Datelike as _;
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
        let page = chrome.loaded_source().await.unwrap_or_default();
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
    let (app, _people) = TestApp::spawn_demo().await;
    app.post(&app.admin, "/api/v1/users/rita/password", json!({"password": PASSWORD})).await;

    let trains = app.get(&app.admin, "/api/v1/trains?limit=50").await;
    let tonight = find(&trains, "title", "2026.11 Autumn release");
    let closed = find(&trains, "title", "2026.08 Summer release");
    let verifying = find(&trains, "title", "2026.12 Winter patch");
    let turnovers = app.get(&app.admin, &format!("/api/v1/turnovers?train={verifying}&limit=50")).await;
    let failed_board = turnovers["items"][0]["id"].as_str().expect("a turnover of the winter patch").to_string();
    // The closed train's go-live.
    let deployments = app.get(&app.admin, "/api/v1/deployments?environment=prod-eu&state=validated").await;
    let deployment = deployments["items"][0]["id"].as_str().expect("a production deployment").to_string();
    // The month that holds the demo's blackout (six days from today).
    let today = chrono::Utc::now().date_naive();
    let day = |days: i64| today + chrono::Duration::days(days);
    let blackout = day(6);

    let chrome = Chrome::start().await;
    chrome.sign_in(&app.base, "rita").await;

    let base = &app.base;
    shoot(&chrome, &format!("{base}/"), "demo-dashboard", &["2026.11 Autumn release", "2027.04 Spring release"]).await;
    shoot(&chrome, &format!("{base}/trains/{tonight}"), "demo-train-timeline", &[r#"class="gantt""#, "Go-live"]).await;
    // The train closed last quarter: construction ran from 170 to 140 days ago, drawn as an actual bar.
    let construction = format!("construction actual from {} to {}", day(-170), day(-140));
    shoot(&chrome, &format!("{base}/trains/{closed}"), "demo-gantt-closed-train", &[r#"class="gantt""#, &construction])
        .await;
    // This month: the Autumn train's production date and go-live (today), its production deployments
    // (tonight), and a maintenance night (yesterday's or in three days, whichever is this month).
    let maintenance = if day(-1).month() == today.month() { "Certificate rotation" } else { "Database upgrade" };
    shoot(
        &chrome,
        &format!("{base}/calendar?view=month&from={today}"),
        "demo-calendar-this-month",
        &["Production date of 2026.11 Autumn release", "Go-live", "production deployment", "into prod-eu", maintenance],
    )
    .await;
    let links = chrome.script(CALENDAR_LINKS).await;
    let hrefs = |kind: &str| -> Vec<String> {
        links[kind].as_array().into_iter().flatten().filter_map(|h| h.as_str().map(str::to_string)).collect()
    };
    assert!(hrefs("milestone").contains(&format!("/trains/{tonight}")), "{links}");
    assert!(hrefs("production-date").contains(&format!("/trains/{tonight}")), "{links}");
    let releases = app.get(&app.admin, &format!("/api/v1/application-releases?train={tonight}")).await;
    let first = releases["items"][0]["id"].as_str().expect("a release of tonight's train");
    assert!(hrefs("production-deployment").contains(&format!("/releases/{first}")), "{links}");
    // A release's production date leads to the release.
    chrome.goto(&format!("{base}/releases/{first}")).await;
    let page = chrome.loaded_source().await.unwrap_or_default();
    assert!(page.contains(first) && page.contains("CART"), "{page}");
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

    let releases = app.get(&app.admin, &format!("/api/v1/application-releases?train={tonight}")).await;
    let release = releases["items"][0]["id"].as_str().expect("a release of tonight's train").to_string();
    let pages = [
        "/".to_string(),
        format!("/trains/{tonight}"),
        format!("/trains/{verifying}"),
        "/trains".into(),
        "/trains/new".into(),
        format!("/releases/{release}"),
        format!("/releases/new?train={tonight}"),
        format!("/turnovers/{failed_board}"),
        format!("/turnovers/new?release={release}"),
        format!("/deployments/{deployment}"),
        "/calendar".into(),
        format!("/calendar?view=month&from={blackout}"),
        "/audit".into(),
        "/applications".into(),
        "/environments".into(),
        "/environments/staging".into(),
        "/paths".into(),
        "/turnovers".into(),
    ];
    for page in &pages {
        chrome.goto(&format!("{base}{page}")).await;
        let unlabelled = chrome.script(UNLABELLED).await;
        assert_eq!(unlabelled, json!([]), "{page}: form controls without a label, or buttons without text");
    }
    chrome.resize(400, 900).await;
    for page in &pages {
        chrome.goto(&format!("{base}{page}")).await;
        let wider = chrome.script(WIDER_THAN_THE_SCREEN).await;
        assert_eq!(wider, json!([]), "{page}: wider than a phone's screen at 400 px");
    }
    chrome.goto(&format!("{base}/")).await;
    chrome.full_page_screenshot("demo-dashboard-phone").await;
}

/// The links of the calendar's train and release entries, by kind.
const CALENDAR_LINKS: &str = r#"
const out = {};
for (const kind of ['milestone', 'production-date', 'production-deployment']) {
  out[kind] = [...document.querySelectorAll('li.mark.' + kind + ' a')].map(a => a.getAttribute('href'));
}
return out;"#;

/// Form controls a screen reader could not name, and buttons without words.
const UNLABELLED: &str = r#"
const bad = [];
for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) {
    bad.push(el.outerHTML.slice(0, 160));
  }
}
for (const b of document.querySelectorAll('button')) {
  if (!b.textContent.trim() && !b.getAttribute('aria-label')) bad.push(b.outerHTML.slice(0, 160));
}
return bad;"#;

/// Elements that stick out past the right edge of the screen, outside a table's own scroller.
const WIDER_THAN_THE_SCREEN: &str = r#"
const width = document.documentElement.clientWidth;
const bad = [];
for (const el of document.querySelectorAll('body *')) {
  if (el.closest('.table') || el.closest('svg')) continue;
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.right > width + 1) bad.push(el.tagName + ' ' + (el.className || '') + ' ' + Math.round(r.right) + ' > ' + width + ': ' + el.outerHTML.slice(0, 120));
}
return bad.slice(0, 10);"#;
