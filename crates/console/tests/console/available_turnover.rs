//! A turnover's edit, cancel and work item forms, the board's buttons on its latest deployment, and a
//! deployment's manual run forms are the domain's available actions: for each user, the page offers
//! exactly what `GET .../actions` allows that user (a manager, an engineer, the developer, a product
//! owner), and the forms it offers work.

use serde_json::{Value, json};

use crate::common::{Browser, PASSWORD, Page, TestApp};

/// The actions among `names` whose forms on `page` post to `{base}/{action}` (`_` as `-`), enabled.
fn forms(page: &Page, base: &str, names: &[&str]) -> Vec<String> {
    let mut on: Vec<String> = names
        .iter()
        .filter(|n| {
            let form = format!(r#"action="{base}/{}""#, n.replace('_', "-"));
            page.body.match_indices(&form).any(|(at, _)| {
                let rest = &page.body[at..];
                let form = &rest[..rest.find("</form>").unwrap_or(rest.len())];
                form.find("<button").is_some_and(|b| !form[b..].split('>').next().unwrap_or("").contains(" disabled"))
            })
        })
        .map(|n| n.to_string())
        .collect();
    on.sort();
    on
}

/// The actions among `names` the list allows on the object itself (`on` absent), or on `on`.
fn allowed(list: &Value, names: &[&str], on: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|a| a["allowed"] == true && a["on"].as_str() == on)
        .filter_map(|a| a["action"].as_str().map(str::to_string))
        .filter(|a| names.contains(&a.as_str()))
        .collect();
    out.sort();
    out.dedup();
    out
}

struct User {
    name: &'static str,
    token: String,
    browser: Browser,
}

async fn users(app: &TestApp) -> Vec<User> {
    let mut out = Vec::new();
    for name in ["rita", "erin", "dan", "eve"] {
        let t = app.post(&app.admin, "/api/v1/tokens", json!({"label": "test", "user": name})).await;
        let browser = app.browser();
        browser.sign_in(name, PASSWORD).await;
        out.push(User { name, token: t["token"].as_str().unwrap_or_default().to_string(), browser });
    }
    out
}

/// The turnover's own forms, and those of the latest deployment on its board, for each user: the page's
/// enabled forms are the allowed actions of both lists. Returns each user's turnover forms.
async fn compare(app: &TestApp, users: &[User], to: &str, latest: Option<&str>) -> Vec<Vec<String>> {
    const TURNOVER: [&str; 6] = ["deploy", "deliver", "accept", "reject", "edit", "cancel"];
    const LATEST: [&str; 3] = ["validate", "retry", "abandon"];
    let path = format!("/turnovers/{to}");
    let mut out = Vec::new();
    for u in users {
        let page = u.browser.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let list = app.get(&u.token, &format!("/api/v1/turnovers/{to}/actions")).await;
        let on = forms(&page, &path, &TURNOVER);
        assert_eq!(on, allowed(&list, &TURNOVER, None), "{}'s turnover forms\n{}", u.name, page.body);
        // Linking a work item is an edit: its form stands with the edit form (when a done item exists).
        if !on.contains(&"edit".to_string()) {
            assert!(!page.body.contains(&format!(r#"action="{path}/work-items""#)), "{}", u.name);
        }
        if let Some(d) = latest {
            let base = format!("/deployments/{d}");
            let list = app.get(&u.token, &format!("/api/v1/deployments/{d}/actions")).await;
            // The board offers the latest deployment's buttons only beside a deploy verdict it may see.
            let board = forms(&page, &base, &LATEST);
            let expected = allowed(&list, &LATEST, None);
            assert!(board.iter().all(|b| expected.contains(b)), "{}: {board:?} not all in {expected:?}", u.name);
            if page.body.contains("Nothing to deploy now: ") || on.contains(&"deploy".to_string()) {
                assert_eq!(board, expected, "{}'s buttons on {d}\n{}", u.name, page.body);
            }
        }
        out.push(on);
    }
    out
}

#[tokio::test]
async fn a_turnovers_edit_and_cancel_forms_and_its_latest_deployments_buttons_are_the_domains_actions() {
    let app = TestApp::spawn().await;
    let s = crate::deploying::setup(&app, true).await;
    let users = users(&app).await;
    let path = format!("/turnovers/{}", s.to);

    // In draft: its developer, the engineer and the manager edit and cancel it; the product owner neither.
    let on = compare(&app, &users, &s.to, None).await;
    for (u, on) in users.iter().zip(&on) {
        let expected: &[&str] = match u.name {
            "erin" => &["cancel", "deploy", "edit"],
            "eve" => &[],
            _ => &["cancel", "edit"],
        };
        assert_eq!(on, expected, "{}", u.name);
    }
    // The developer's edit form works.
    let dan = &users[2].browser;
    let page = dan.get(&path).await;
    let version = page.input_value(&format!(r#"action="{path}/edit""#), "version");
    let res = dan
        .post(
            &format!("{path}/edit"),
            &[
                ("csrf", &page.csrf()),
                ("version", &version),
                ("title", "build 43"),
                ("developer", "dan"),
                ("description", ""),
                ("artifacts", "pay 43"),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(app.get(&s.erin, &format!("/api/v1/turnovers/{}", s.to)).await["title"], "build 43");

    // Deployed into test: the manual sign-off waits for rita, so the deployment runs and nobody cancels;
    // the page says why instead of offering the form.
    let erin = &users[1].browser;
    let res = erin.post(&format!("{path}/deploy"), &[("csrf", &erin.get(&path).await.csrf())]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let d = res.location().strip_prefix("/deployments/").expect("the deployment page").to_string();
    let waiting = |d: &Value| d["runs"].as_array().is_some_and(|r| r.iter().any(|r| r["state"] == "waiting_for_owner"));
    crate::deploying::wait_for(&app, &s.erin, &d, "a run waiting for its owner", waiting).await;
    let on = compare(&app, &users, &s.to, Some(&d)).await;
    assert!(on.iter().all(|o| !o.contains(&"cancel".to_string())), "{on:?}");
    let page = users[2].browser.get(&path).await;
    assert!(page.body.contains("let it finish or fail first"), "{}", page.body);

    // The deployment page: the manual run's forms for its owner and the engineer only.
    let run = manual_run(&app, &s.erin, &d).await;
    let action = format!("/deployments/{d}/runs/{run}/complete");
    for u in &users {
        let page = u.browser.get(&format!("/deployments/{d}")).await;
        let list = app.get(&u.token, &format!("/api/v1/deployments/{d}/actions")).await;
        let may = !allowed(&list, &["complete_run"], Some(&run)).is_empty();
        assert_eq!(page.body.contains(&format!(r#"action="{action}""#)), may, "{}\n{}", u.name, page.body);
        assert_eq!(may, matches!(u.name, "rita" | "erin"), "{}: {list}", u.name);
    }
    let rita = &users[0].browser;
    let page = rita.get(&format!("/deployments/{d}")).await;
    let res = rita.post(&action, &[("csrf", &page.csrf()), ("outcome", "done"), ("note", "")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    crate::deploying::wait_for(&app, &s.erin, &d, "succeeded", |d| d["state"] == "succeeded").await;

    // Succeeded: the board offers validating it to the engineer, as its own list does.
    compare(&app, &users, &s.to, Some(&d)).await;
    let page = erin.get(&path).await;
    assert!(page.body.contains(&format!(r#"action="/deployments/{d}/validate""#)), "{}", page.body);
    let res = erin
        .post(
            &format!("/deployments/{d}/validate"),
            &[("csrf", &page.csrf()), ("back", &path), ("outcome", "pass"), ("note", "")],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(app.get(&s.erin, &format!("/api/v1/deployments/{d}")).await["state"], "validated");
    compare(&app, &users, &s.to, Some(&d)).await;
}

/// The id of the deployment's manual run.
async fn manual_run(app: &TestApp, token: &str, d: &str) -> String {
    let dep = app.get(token, &format!("/api/v1/deployments/{d}")).await;
    let runs = dep["runs"].as_array().cloned().unwrap_or_default();
    let run = runs.iter().find(|r| r["owner"] == "rita").unwrap_or_else(|| panic!("no manual run in {dep}"));
    run["id"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn the_new_turnover_links_and_forms_follow_the_global_actions() {
    let app = TestApp::spawn().await;
    let s = crate::deploying::setup(&app, false).await;
    let users = users(&app).await;
    let t = app.get(&s.erin, &format!("/api/v1/turnovers/{}", s.to)).await;
    let (train, release) = (t["train_id"].as_str().unwrap_or_default(), t["releases"][0].as_str().unwrap_or_default());
    for u in &users {
        let global = app.get(&u.token, "/api/v1/actions").await;
        let creates = !allowed(&global, &["create_turnover"], None).is_empty();
        let list = u.browser.get(&format!("/turnovers?train={train}")).await;
        assert_eq!(list.body.contains("/turnovers/new-production?train="), creates, "{}\n{}", u.name, list.body);
        let new = u.browser.get(&format!("/turnovers/new?release={release}")).await;
        assert_eq!(new.body.contains(r#"action="/turnovers""#), creates, "{}\n{}", u.name, new.body);
        let new = u.browser.get(&format!("/turnovers/new-production?train={train}")).await;
        assert_eq!(new.body.contains(r#"action="/production-turnovers""#), creates, "{}\n{}", u.name, new.body);
        // A turnover on a train in construction is not yet the start of a production-ready one.
        let page = u.browser.get(&format!("/turnovers/{}", s.to)).await;
        assert!(!page.body.contains("Create a production-ready turnover from"), "{}", u.name);
    }
}

/// A validated pre-production turnover of DB 2 on a train in verification, and a production-ready
/// turnover of it into prod-eu, delivered by erin and accepted by ed: (pre, production) ids.
async fn production(app: &TestApp) -> (String, String) {
    let rita = app.user("rita", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let ed = app.user("ed", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let dave = app.user("dave", &["developer"]).await;
    app.user("eve", &["product_owner"]).await;
    app.post(&erin, "/api/v1/environments", json!({"name": "test", "kind": "test"})).await;
    app.post(&erin, "/api/v1/environments", json!({"name": "prod-eu", "kind": "production"})).await;
    let p =
        app.post(&erin, "/api/v1/deployment-paths", json!({"name": "pre", "stages": [{"environment": "test"}]})).await;
    let path = p["id"].as_str().unwrap_or_default().to_string();
    app.post(&erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await;
    let level = |who: &str| json!({"levels": [{"approvers": [who], "required": 1}]});
    let body = crate::common::spring_train(json!({"executive": level("eve"), "development": level("dave")}));
    let train = app.post(&rita, "/api/v1/trains", body).await["id"].as_str().unwrap_or_default().to_string();
    app.post(&rita, "/api/v1/applications", json!({"key": "DB", "name": "Database"})).await;
    let body = json!({"title": "DB 2", "application": "DB", "train": train, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
    let release =
        app.post(&rita, "/api/v1/application-releases", body).await["id"].as_str().unwrap_or_default().to_string();
    app.post(&rita, &format!("/api/v1/trains/{train}/submit"), json!({})).await;
    app.post(&rita, &format!("/api/v1/trains/{train}/start-construction"), json!({})).await;
    app.post(&rita, &format!("/api/v1/application-releases/{release}/begin-work"), json!({})).await;
    let body = json!({"title": "db build", "release": release, "path": path});
    let pre = app.post(&dan, "/api/v1/turnovers", body).await["id"].as_str().unwrap_or_default().to_string();
    let action = json!({"kind": "command", "program": "/bin/sh", "args": ["-c", "echo installed"], "timeout_secs": 30});
    let task = json!({"title": "db install", "sequence": 1, "tier": "database", "action": action});
    app.post(&dan, &format!("/api/v1/turnovers/{pre}/tasks"), task).await;
    let de = app.post(&erin, &format!("/api/v1/turnovers/{pre}/deploy"), json!({})).await["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    crate::deploying::wait_for(app, &erin, &de, "succeeded", |d| d["state"] == "succeeded").await;
    app.post(&erin, &format!("/api/v1/deployments/{de}/validate"), json!({"passed": true})).await;
    let dap = app
        .post(&rita, &format!("/api/v1/application-releases/{release}/request-development-approval"), json!({}))
        .await;
    let ap = dap["development_approval"]["id"].as_str().unwrap_or_default().to_string();
    app.post(&dave, &format!("/api/v1/approvals/{ap}/approve"), json!({})).await;
    app.post(&rita, &format!("/api/v1/trains/{train}/start-verification"), json!({})).await;
    let body = json!({"title": "Spring production", "releases": [release], "environments": ["prod-eu"], "from": pre});
    let to = app.post(&erin, "/api/v1/production-turnovers", body).await["id"].as_str().unwrap_or_default().to_string();
    app.post(&erin, &format!("/api/v1/turnovers/{to}/deliver"), json!({})).await;
    app.post(&ed, &format!("/api/v1/turnovers/{to}/accept"), json!({})).await;
    assert_eq!(app.get(&erin, &format!("/api/v1/turnovers/{to}")).await["state"], "accepted");
    (pre, to)
}

#[tokio::test]
async fn the_production_link_and_the_schedule_form_are_the_domains_actions() {
    let app = TestApp::spawn().await;
    let (pre, to) = production(&app).await;
    let users = users(&app).await;
    for u in &users {
        // The validated pre-production turnover, its train in verification: create_production.
        let list = app.get(&u.token, &format!("/api/v1/turnovers/{pre}/actions")).await;
        let may = !allowed(&list, &["create_production"], None).is_empty();
        let page = u.browser.get(&format!("/turnovers/{pre}")).await;
        assert_eq!(page.body.contains("Create a production-ready turnover from"), may, "{}\n{}", u.name, page.body);
        assert_eq!(may, u.name != "eve", "{}: {list}", u.name);
        // The accepted production-ready one: scheduling into prod-eu, and nothing yet to verify or roll back.
        let list = app.get(&u.token, &format!("/api/v1/turnovers/{to}/actions")).await;
        let page = u.browser.get(&format!("/turnovers/{to}")).await;
        let may = |action: &str| !allowed(&list, &[action], Some("prod-eu")).is_empty();
        for (action, route) in
            [("schedule_production", "schedule"), ("verify_production", "verify"), ("rollback", "rollback")]
        {
            let form = format!(r#"action="/turnovers/{to}/{route}""#);
            assert_eq!(page.body.contains(&form), may(action), "{}: {action}\n{}", u.name, page.body);
        }
        assert_eq!(may("schedule_production"), u.name == "erin", "only engineers deploy: {}: {list}", u.name);
    }
}
