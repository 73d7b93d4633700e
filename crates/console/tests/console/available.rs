//! The pages' buttons are the domain's available actions: for several users and states, a page's
//! enabled buttons are exactly the actions `GET .../actions` lists as allowed for that user, a disabled
//! one is refused there and shows its guards, and posting a listed one works.

use serde_json::{Value, json};

use crate::common::{Browser, PASSWORD, Page, TestApp};

/// An application release's actions on its page, as the domain names them.
const RELEASE: [&str; 7] =
    ["accept", "reject", "begin_work", "request_development_approval", "send_back", "remove", "cancel"];

/// The train lifecycle actions, as the domain names them.
const TRAIN: [&str; 6] =
    ["submit", "start_construction", "start_verification", "request_executive_approval", "close", "cancel"];

/// The buttons of `page` posting to `{base}/{action}` for each of `names` (`_` as `-` in the path):
/// (enabled, disabled) action names.
fn buttons(page: &Page, base: &str, names: &[&str]) -> (Vec<String>, Vec<String>) {
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for n in names {
        let form = format!(r#"action="{base}/{}""#, n.replace('_', "-"));
        for (at, _) in page.body.match_indices(&form) {
            let rest = &page.body[at..];
            let form = &rest[..rest.find("</form>").unwrap_or(rest.len())];
            let button = &form[form.find("<button").expect("a form without a button")..];
            let button = &button[..button.find('>').unwrap_or(button.len())];
            let into = if button.contains(" disabled") { &mut off } else { &mut on };
            if !into.contains(&n.to_string()) {
                into.push(n.to_string());
            }
        }
    }
    (on, off)
}

/// The names of the actions the list allows, and the refused ones with their guard messages.
fn listed(actions: &Value) -> (Vec<String>, Vec<(String, Vec<String>)>) {
    let items = actions.as_array().cloned().unwrap_or_default();
    let name = |a: &Value| a["action"].as_str().unwrap_or_default().to_string();
    let allowed = items.iter().filter(|a| a["allowed"] == true).map(name).collect();
    let refused = items
        .iter()
        .filter(|a| a["allowed"] == false)
        .map(|a| {
            let guards = a["guards"].as_array().cloned().unwrap_or_default();
            (name(a), guards.iter().map(|g| g["message"].as_str().unwrap_or_default().to_string()).collect())
        })
        .collect();
    (allowed, refused)
}

/// Compares the page at `path`, as `browser` (signed in as `user`) sees it, with the list of actions
/// `GET {api}` gives the same user's `token`: its enabled buttons are the allowed actions among `names`,
/// and each disabled one is refused there and shows every guard. Returns the enabled buttons.
async fn compare(
    app: &TestApp,
    browser: &Browser,
    user: &str,
    token: &str,
    path: &str,
    api: &str,
    names: &[&str],
) -> Vec<String> {
    compare_at(app, browser, user, token, path, path, api, names).await
}

/// As [`compare`], for the buttons posting to `{base}/{action}` on the page at `path`.
#[allow(clippy::too_many_arguments)]
async fn compare_at(
    app: &TestApp,
    browser: &Browser,
    user: &str,
    token: &str,
    path: &str,
    base: &str,
    api: &str,
    names: &[&str],
) -> Vec<String> {
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (on, off) = buttons(&page, base, names);
    let (mut allowed, refused) = listed(&app.get(token, api).await);
    allowed.retain(|a| names.contains(&a.as_str()));
    let mut on_sorted = on.clone();
    on_sorted.sort();
    allowed.sort();
    assert_eq!(on_sorted, allowed, "{user}'s enabled buttons on {path} are the allowed actions\n{}", page.body);
    for d in &off {
        let (_, guards) =
            refused.iter().find(|(n, _)| n == d).unwrap_or_else(|| panic!("{user}: {d} is disabled but not refused"));
        assert!(!guards.is_empty(), "{d}");
        for g in guards {
            let shown = g.replace('&', "&amp;").replace('\'', "&#39;").replace('"', "&quot;");
            assert!(
                page.body.contains(g.as_str()) || page.body.contains(&shown),
                "{user}: {d} shows why: {g}\n{}",
                page.body
            );
        }
    }
    on
}

async fn page_matches_list(
    app: &TestApp,
    user: &str,
    token: &str,
    page: &str,
    api: &str,
    base: &str,
    names: &[&str],
) -> Vec<String> {
    assert_eq!(page, base);
    let browser = app.browser();
    browser.sign_in(user, PASSWORD).await;
    compare(app, &browser, user, token, page, api, names).await
}

fn body(approval: bool) -> Value {
    let level = json!({"approvers": ["eve"], "required": 1});
    let mut policies = json!({"executive": {"levels": [level]}});
    if approval {
        policies["train"] = json!({"levels": [level]});
    }
    crate::common::spring_train(policies)
}

#[tokio::test]
async fn a_trains_buttons_are_the_actions_the_domain_allows_each_user() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let rex = app.user("rex", &["release_engineer"]).await;
    let eve = app.user("eve", &["product_owner"]).await;
    let vic = app.user("vic", &["viewer"]).await;
    let people = [("rita", &rita), ("rex", &rex), ("eve", &eve), ("vic", &vic)];

    let id = app.post(&rita, "/api/v1/trains", body(false)).await["id"].as_str().unwrap().to_string();
    let (page, api, base) = (format!("/trains/{id}"), format!("/api/v1/trains/{id}/actions"), format!("/trains/{id}"));
    let check = |who: &'static str, token: String| {
        let (app, page, api, base) = (&app, page.clone(), api.clone(), base.clone());
        async move { page_matches_list(app, who, &token, &page, &api, &base, &TRAIN).await }
    };

    // Draft: the manager may submit and cancel; a viewer sees no lifecycle button at all.
    for (who, token) in people {
        check(who, token.clone()).await;
    }
    assert_eq!(check("rita", rita.clone()).await, ["submit", "cancel"]);
    assert!(check("vic", vic.clone()).await.is_empty());

    // Posting a listed button works: the train is in scoping.
    let browser = app.browser();
    browser.sign_in("rita", PASSWORD).await;
    let csrf = browser.get(&page).await.csrf();
    let res = browser.post(&format!("{base}/submit"), &[("csrf", &csrf)]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, page.as_str()), "{}", res.body);
    assert_eq!(app.get(&rita, &format!("/api/v1/trains/{id}")).await["state"], "scoping");

    // Scoping with an open exit criterion: starting construction is refused; the page shows it
    // disabled with the criterion as the reason, and for no user as a button that could be pressed.
    let c = app
        .post(
            &rita,
            &format!("/api/v1/trains/{id}/gates/scoping/criteria"),
            json!({"title": "Scope signed off", "owner": "eve"}),
        )
        .await;
    for (who, token) in people {
        let on = check(who, token.clone()).await;
        assert!(!on.contains(&"start_construction".to_string()), "{who}: {on:?}");
    }
    let p = browser.get(&page).await;
    assert!(p.body.contains("Scope signed off") && p.body.contains("disabled"), "{}", p.body);
    assert_eq!(buttons(&p, &base, &TRAIN), (vec!["cancel".to_string()], vec!["start_construction".to_string()]));

    // Once met, it is a button, and pressing it starts construction.
    let crit = c["gates"]["scoping"]["criteria"][0]["id"].as_str().unwrap().to_string();
    app.post(&eve, &format!("/api/v1/trains/{id}/criteria/{crit}/meet"), json!({"evidence": {"note": "signed off"}}))
        .await;
    for (who, token) in people {
        check(who, token.clone()).await;
    }
    assert_eq!(check("rita", rita.clone()).await, ["start_construction", "cancel"]);
    let res = browser.post(&format!("{base}/start-construction"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(app.get(&rita, &format!("/api/v1/trains/{id}")).await["state"], "construction");

    // Construction: as the list says, for everyone; cancelled, nothing is left to press.
    for (who, token) in people {
        check(who, token.clone()).await;
    }
    let res = browser.post(&format!("{base}/cancel"), &[("csrf", &csrf), ("reason", "merged")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    for (who, token) in people {
        assert!(check(who, token.clone()).await.is_empty(), "{who}");
    }
}

/// The items of a list of the API.
async fn items(app: &TestApp, path: &str) -> Vec<Value> {
    app.get(&app.admin, path).await["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_releases_buttons_are_the_actions_the_domain_allows_each_user_in_the_demo() {
    let (app, people) = TestApp::spawn_demo().await;
    let mut users = vec![("admin".to_string(), app.admin.clone())];
    users.extend(people.iter().map(|p| (p.name.clone(), p.token.clone())));
    let mut browsers = Vec::new();
    for (name, token) in &users {
        let b = app.browser();
        assert_eq!(b.sign_in_with_token(token).await.status, 303, "{name}");
        browsers.push(b);
    }
    let trains = items(&app, "/api/v1/trains?limit=200").await;
    let train_state =
        |id: &str| trains.iter().find(|t| t["id"] == id).map(|t| t["state"].as_str().unwrap_or_default().to_string());
    let releases = items(&app, "/api/v1/application-releases?limit=200").await;
    assert!(releases.len() >= 4, "the demo has releases: {releases:?}");

    // Every release, as everyone sees it; one per state is enough for those beyond the first dozen.
    let mut states = std::collections::BTreeSet::new();
    let mut in_deployment = Vec::new();
    for (i, r) in releases.iter().enumerate() {
        let id = r["id"].as_str().unwrap_or_default();
        let state = r["state"].as_str().unwrap_or_default();
        let train = r["membership"]["train_id"].as_str().and_then(train_state);
        if matches!(state, "verification" | "awaiting_development_approval") && train.as_deref() == Some("deployment") {
            in_deployment.push(id.to_string());
        }
        if i >= 12 && !states.insert(state.to_string()) {
            continue;
        }
        states.insert(state.to_string());
        let (path, api) = (format!("/releases/{id}"), format!("/api/v1/application-releases/{id}/actions"));
        for ((name, token), b) in users.iter().zip(&browsers) {
            compare(&app, b, name, token, &path, &api, &RELEASE).await;
        }
    }

    // A release whose train is in deployment cannot be sent back: the domain says so and no page offers it.
    assert!(!in_deployment.is_empty(), "the demo has a release in verification on a train in deployment");
    for id in &in_deployment {
        let path = format!("/releases/{id}");
        for ((name, token), b) in users.iter().zip(&browsers) {
            let actions = app.get(token, &format!("/api/v1/application-releases/{id}/actions")).await;
            let send_back = actions.as_array().and_then(|a| a.iter().find(|x| x["action"] == "send_back")).cloned();
            assert_eq!(send_back.as_ref().map(|s| s["allowed"].clone()), Some(json!(false)), "{name}: {actions}");
            let page = b.get(&path).await;
            assert!(
                !page.body.contains(&format!(r#"action="{path}/send-back""#)),
                "{name} is offered send back\n{}",
                page.body
            );
            assert!(!page.body.contains("Send back to construction"), "{name}\n{}", page.body);
        }
        // And posting it anyway is refused with that guard.
        let b = &browsers[0];
        let csrf = b.get(&path).await.csrf();
        let res = b.post(&format!("{path}/send-back"), &[("csrf", &csrf), ("reason", "again")]).await;
        assert_eq!(res.status, 409, "{}", res.body);
        assert!(res.body.contains("train_in_deployment"), "{}", res.body);
    }
}

#[tokio::test]
async fn a_release_is_accepted_and_begun_with_the_buttons_the_domain_lists() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let eve = app.user("eve", &["product_owner"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let people = [("rita", &rita), ("eve", &eve), ("dan", &dan)];
    let train = app.post(&rita, "/api/v1/trains", body(false)).await["id"].as_str().unwrap().to_string();
    app.post(&rita, &format!("/api/v1/trains/{train}/submit"), json!({})).await;
    app.post(&eve, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let spec = json!({"title": "PAY 1", "application": "PAY", "train": train, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
    let id = app.post(&eve, "/api/v1/application-releases", spec).await["id"].as_str().unwrap().to_string();
    let (path, api) = (format!("/releases/{id}"), format!("/api/v1/application-releases/{id}/actions"));
    let mut browsers = Vec::new();
    for (who, _) in people {
        let b = app.browser();
        b.sign_in(who, PASSWORD).await;
        browsers.push(b);
    }
    let check = async |i: usize| compare(&app, &browsers[i], people[i].0, people[i].1, &path, &api, &RELEASE).await;

    // Proposed by eve: rita may accept or reject it; eve may not decide her own proposal.
    assert_eq!(check(0).await, ["accept", "reject", "remove", "cancel"]);
    let on = check(1).await;
    assert!(!on.contains(&"accept".to_string()) && on.contains(&"cancel".to_string()), "{on:?}");
    assert!(check(2).await.is_empty());
    let csrf = browsers[0].get(&path).await.csrf();
    let res = browsers[0].post(&format!("{path}/accept"), &[("csrf", &csrf)]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, path.as_str()), "{}", res.body);

    // Accepted on a train in scoping: work cannot begin yet, and the page says why instead of a button.
    for i in 0..3 {
        check(i).await;
    }
    let page = browsers[1].get(&path).await;
    assert!(
        !page.body.contains("/begin-work") && page.body.contains("work begins once the train is in construction"),
        "{}",
        page.body
    );

    // In construction: begin work is a button, and pressing it works.
    app.post(&rita, &format!("/api/v1/trains/{train}/start-construction"), json!({})).await;
    for i in 0..3 {
        check(i).await;
    }
    assert!(check(1).await.contains(&"begin_work".to_string()));
    let csrf = browsers[1].get(&path).await.csrf();
    let res = browsers[1].post(&format!("{path}/begin-work"), &[("csrf", &csrf)]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, path.as_str()), "{}", res.body);
    assert_eq!(app.get(&rita, &format!("/api/v1/application-releases/{id}")).await["state"], "construction");
    for i in 0..3 {
        check(i).await;
    }
}

/// A turnover's actions on its page, as the domain names them (cancel is an edit form of its own).
const TURNOVER: [&str; 4] = ["deploy", "deliver", "accept", "reject"];

#[tokio::test]
async fn a_turnovers_buttons_are_the_actions_the_domain_allows_each_user() {
    let app = TestApp::spawn().await;
    let s = crate::deploying::setup(&app, true).await;
    let (path, api) = (format!("/turnovers/{}", s.to), format!("/api/v1/turnovers/{}/actions", s.to));
    let mut users = Vec::new();
    for who in ["rita", "erin", "dan", "eve"] {
        let t = app.post(&app.admin, "/api/v1/tokens", json!({"label": "test", "user": who})).await;
        let b = app.browser();
        b.sign_in(who, PASSWORD).await;
        users.push((who, t["token"].as_str().unwrap_or_default().to_string(), b));
    }
    let all = async || {
        let mut on = Vec::new();
        for (who, token, b) in &users {
            on.push(compare(&app, b, who, token, &path, &api, &TURNOVER).await);
        }
        on
    };

    // In draft on a train in construction: the release engineer may deploy it into its first stage.
    let on = all().await;
    assert!(on[1].contains(&"deploy".to_string()), "{on:?}");
    assert!(on[3].is_empty(), "{on:?}");
    let erin = &users[1].2;
    let res = erin.post(&format!("{path}/deploy"), &[("csrf", &erin.get(&path).await.csrf())]).await;
    assert_eq!(res.status, 303, "{}", res.body);

    // Deploying (the manual sign-off keeps it active): deploying again is refused, and no page offers it;
    // the release engineer sees why.
    let on = all().await;
    assert!(on.iter().all(|o| !o.contains(&"deploy".to_string())), "{on:?}");
    let page = erin.get(&path).await;
    assert!(page.body.contains("Nothing to deploy now: "), "{}", page.body);
}

/// A deployment's actions on its page, as the domain names them (starting early has a form of its own).
const DEPLOYMENT: [&str; 3] = ["validate", "retry", "abandon"];

#[tokio::test]
async fn a_deployments_buttons_are_the_actions_the_domain_allows_each_user() {
    let app = TestApp::spawn().await;
    let s = crate::deploying::setup(&app, false).await;
    let mut users = Vec::new();
    for who in ["rita", "erin", "dan", "eve"] {
        let t = app.post(&app.admin, "/api/v1/tokens", json!({"label": "test", "user": who})).await;
        let b = app.browser();
        b.sign_in(who, PASSWORD).await;
        users.push((who, t["token"].as_str().unwrap_or_default().to_string(), b));
    }
    let erin = &users[1].2;
    let turnover = format!("/turnovers/{}", s.to);
    let res = erin.post(&format!("{turnover}/deploy"), &[("csrf", &erin.get(&turnover).await.csrf())]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let path = res.location().to_string();
    let id = path.strip_prefix("/deployments/").expect("sent to the deployment page").to_string();
    let api = format!("/api/v1/deployments/{id}/actions");
    crate::deploying::wait_for(&app, &s.erin, &id, "succeeded", |d| d["state"] == "succeeded").await;

    // Succeeded: those the domain lets validate it see the form, and no one else.
    let mut on = Vec::new();
    for (who, token, b) in &users {
        on.push(compare(&app, b, who, token, &path, &api, &DEPLOYMENT).await);
    }
    assert_eq!(on[1], ["validate"], "{on:?}");
    assert!(on[2].is_empty() && on[3].is_empty(), "{on:?}");
    let res =
        erin.post(&format!("{path}/validate"), &[("csrf", &erin.get(&path).await.csrf()), ("outcome", "pass")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(app.get(&s.erin, &format!("/api/v1/deployments/{id}")).await["state"], "validated");

    // Validated: nothing is left to do on it, for anyone.
    for (who, token, b) in &users {
        assert!(compare(&app, b, who, token, &path, &api, &DEPLOYMENT).await.is_empty(), "{who}");
    }
}

#[tokio::test]
async fn a_trains_approval_forms_are_the_actions_the_domain_allows_each_user() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let eve = app.user("eve", &["product_owner"]).await;
    let ed = app.user("ed", &["product_owner"]).await;
    let vic = app.user("vic", &["viewer"]).await;
    let (train, approval) = app.train_awaiting(&rita, "eve").await;
    let (path, base, api) =
        (format!("/trains/{train}"), format!("/approvals/{approval}"), format!("/api/v1/approvals/{approval}/actions"));
    let mut on = Vec::new();
    let mut browsers = Vec::new();
    for (who, token) in [("rita", &rita), ("eve", &eve), ("ed", &ed), ("vic", &vic)] {
        let b = app.browser();
        b.sign_in(who, PASSWORD).await;
        on.push(compare_at(&app, &b, who, token, &path, &base, &api, &["approve", "reject", "override"]).await);
        browsers.push(b);
    }
    // Only eve, its approver, may decide it; ed, not an approver, and the viewer may not.
    assert_eq!(on[1], ["approve", "reject"], "{on:?}");
    assert!(on[2].is_empty() && on[3].is_empty(), "{on:?}");
    let eve_b = &browsers[1];
    let csrf = eve_b.get(&path).await.csrf();
    let res = eve_b.post(&format!("{base}/approve"), &[("csrf", &csrf), ("back", &path)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(app.get(&rita, &format!("/api/v1/trains/{train}")).await["state"], "scoping");
    // Decided: no one is offered to decide or override it again.
    for (i, (who, token)) in [("rita", &rita), ("eve", &eve), ("ed", &ed), ("vic", &vic)].into_iter().enumerate() {
        let on =
            compare_at(&app, &browsers[i], who, token, &path, &base, &api, &["approve", "reject", "override"]).await;
        assert!(on.is_empty(), "{who}: {on:?}");
    }
}
