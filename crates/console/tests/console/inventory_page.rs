//! The inventory page in Chromium on the demo company: each cell shows the versions of the deployment
//! that landed last there (worked out here from the deployments list, independently of the inventory's
//! own code), links to its turnover, deployment and history; a whole-page screenshot goes to
//! `target/screenshots/inventory.png`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::chrome::Chrome;
use crate::common::{PASSWORD, TestApp};

const LANDED: [&str; 3] = ["succeeded", "validated", "rejected"];

/// Every deployment into `env`, page after page, through the public API.
async fn deployments_into(app: &TestApp, env: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page =
            app.get(&app.admin, &format!("/api/v1/deployments?environment={env}&limit=500&cursor={cursor}")).await;
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return out,
        }
    }
}

/// Per application: the landed, non-rollback deployment into `env` that finished last, with the
/// artifacts its row shows (those not named after another application of the same turnover).
async fn expected_cells(app: &TestApp, env: &str) -> BTreeMap<String, (Value, Vec<String>)> {
    let mut apps_of: BTreeMap<String, String> = BTreeMap::new();
    let mut best: BTreeMap<String, (Value, Vec<String>)> = BTreeMap::new();
    for d in deployments_into(app, env).await {
        if !LANDED.contains(&d["state"].as_str().unwrap_or_default()) || d["rollback"] == true {
            continue;
        }
        let mut apps = Vec::new();
        for r in d["releases"].as_array().cloned().unwrap_or_default() {
            let r = r.as_str().unwrap_or_default().to_string();
            if !apps_of.contains_key(&r) {
                let rel = app.get(&app.admin, &format!("/api/v1/application-releases/{r}")).await;
                apps_of.insert(r.clone(), rel["application"].as_str().unwrap_or_default().to_string());
            }
            apps.push(apps_of[&r].clone());
        }
        for application in &apps {
            let shown: Vec<String> = d["artifacts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|a| {
                    let name = a.rsplit_once('@').map_or(*a, |(n, _)| n);
                    !apps.iter().any(|o| o != application && o.eq_ignore_ascii_case(name))
                })
                .map(str::to_string)
                .collect();
            let application = application.clone();
            let newer =
                best.get(&application).is_none_or(|(b, _)| d["finished_at"].as_str() >= b["finished_at"].as_str());
            if newer {
                best.insert(application, (d.clone(), shown));
            }
        }
    }
    best
}

#[tokio::test]
async fn the_inventory_page_shows_what_landed_last_in_each_cell_of_the_demo() {
    let (app, _people) = TestApp::spawn_demo().await;
    app.post(&app.admin, "/api/v1/users/erin/password", json!({"password": PASSWORD})).await;
    let chrome = Chrome::start().await;
    chrome.sign_in(&app.base, "erin").await;

    // The navigation leads to it.
    chrome.click(r#"nav a[href="/inventory"]"#).await;
    chrome.wait_for_text("What is deployed where").await;

    let envs = app.get(&app.admin, "/api/v1/environments?limit=500").await;
    let mut checked = 0;
    let mut a_cell = None;
    for env in envs["items"].as_array().cloned().unwrap_or_default() {
        let name = env["name"].as_str().unwrap_or_default().to_string();
        if env["state"] == "decommissioned" {
            continue;
        }
        for (application, (d, shown)) in expected_cells(&app, &name).await {
            let css = format!(r#"tr[data-application="{application}"] td[data-environment="{name}"]"#);
            let text = chrome
                .script(&format!("const c = document.querySelector('{css}'); return c ? c.innerText : null"))
                .await;
            let text = text.as_str().unwrap_or_else(|| panic!("no cell {application} × {name} on the page"));
            let id = d["id"].as_str().unwrap_or_default();
            assert!(text.contains(id), "{application} in {name} should show {id}: {text:?}");
            for a in &shown {
                let (artifact, version) = a.rsplit_once('@').unwrap_or_default();
                assert!(text.contains(&format!("{artifact} {version}")), "{application} in {name}: {a} in {text:?}");
            }
            if shown.is_empty() {
                assert!(text.contains("no artifacts listed"), "{application} in {name}: {text:?}");
            }
            let links = chrome
                .script(&format!("return [...document.querySelectorAll('{css} a')].map(a => a.getAttribute('href'))"))
                .await;
            let links: Vec<&str> = links.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            for want in [
                format!("/deployments/{id}"),
                format!("/turnovers/{}", d["turnover_id"].as_str().unwrap_or_default()),
                format!("/inventory/{application}/{name}"),
            ] {
                assert!(links.contains(&want.as_str()), "{application} in {name} links to {want}: {links:?}");
            }
            checked += 1;
            a_cell.get_or_insert((application.clone(), name.clone(), id.to_string()));
        }
    }
    assert!(checked >= 3, "the demo has deployments in several cells; checked {checked}");
    let path = chrome.full_page_screenshot("inventory").await;
    assert!(std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) > 20_000, "{} is too small", path.display());

    // A cell's history page: newest first, what is there now on top.
    let (application, env, id) = a_cell.expect("a cell with something in it");
    chrome.goto(&format!("{}/inventory/{application}/{env}", app.base)).await;
    let page = chrome.wait_for_text("There now").await;
    assert!(page.contains(&id), "the history page shows what is there now ({id})");
    chrome.full_page_screenshot("inventory-history").await;
}
