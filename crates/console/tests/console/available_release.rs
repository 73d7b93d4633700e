//! The release page's and the application page's forms are the domain's available actions: for a
//! manager, the product owner, a developer and a viewer, the forms a page offers (change the release,
//! propose it, its work items, dependencies and milestones, a new turnover; change, archive or create a
//! release of the application) are exactly the actions `GET .../actions` allows that user, each on its
//! part where it has one.

use serde_json::{Value, json};

use crate::common::{PASSWORD, Page, TestApp};

/// Where each action of a release shows on its page: the form posting there (or the link; `|` separates
/// alternatives), for an action on the release itself (`{base}` is `/releases/{id}`).
const RELEASE_FORMS: [(&str, &str); 6] = [
    ("edit", r#"action="{base}/edit""#),
    ("propose", r#"action="{base}/propose""#),
    ("manage_work_items", r#"action="{base}/work-items""#),
    // With no release left to depend on, the page says so instead of an empty choice.
    ("add_dependency", r#"action="{base}/dependencies"|No other application release to depend on."#),
    ("add_milestone", r#"action="{base}/milestones""#),
    ("create_turnover", r#"href="/turnovers/new?release={id}""#),
];

/// The forms of an action on a part (`{on}`): a milestone, a dependency.
const PART_FORMS: [(&str, &str); 5] = [
    ("complete_milestone", r#"action="{base}/milestones/{on}/complete""#),
    ("miss_milestone", r#"action="{base}/milestones/{on}/miss""#),
    ("edit_milestone", r#"action="{base}/milestones/{on}/edit""#),
    ("remove_milestone", r#"action="{base}/milestones/{on}/remove""#),
    ("remove_dependency", r#"action="{base}/dependencies/{on}/remove""#),
];

/// The application's actions and their forms or links (`{base}` is `/applications/{key}`).
const APPLICATION_FORMS: [(&str, &str); 3] = [
    ("edit", r#"action="{base}/edit""#),
    ("archive", r#"action="{base}/archive""#),
    ("create_release", r#"href="/releases/new?application={id}""#),
];

fn fill(pattern: &str, base: &str, id: &str, on: &str) -> String {
    pattern.replace("{base}", base).replace("{id}", id).replace("{on}", on)
}

/// The (action, part) pairs the page offers, of those the list names.
fn offered(page: &Page, list: &Value, base: &str, id: &str, forms: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for a in list.as_array().cloned().unwrap_or_default() {
        let (name, on) = (a["action"].as_str().unwrap_or_default(), a["on"].as_str());
        let forms = if on.is_some() { &PART_FORMS[..] } else { forms };
        if let Some((_, pattern)) = forms.iter().find(|(n, _)| *n == name) {
            let key = format!("{name}{}", on.map(|o| format!(" on {o}")).unwrap_or_default());
            let shown = pattern.split('|').any(|p| page.body.contains(&fill(p, base, id, on.unwrap_or_default())));
            if shown && !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out.sort();
    out
}

/// The (action, part) pairs the list allows, of those with a form.
fn allowed(list: &Value, forms: &[(&str, &str)]) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|a| a["allowed"] == true)
        .filter_map(|a| {
            let (name, on) = (a["action"].as_str().unwrap_or_default(), a["on"].as_str());
            let known = if on.is_some() { &PART_FORMS[..] } else { forms };
            known
                .iter()
                .any(|(n, _)| *n == name)
                .then(|| format!("{name}{}", on.map(|o| format!(" on {o}")).unwrap_or_default()))
        })
        .collect();
    out.sort();
    out
}

/// Signs `user` in, and checks the page at `base` offers exactly what `GET {api}` allows them; returns it.
async fn compare(
    app: &TestApp,
    user: &str,
    token: &str,
    base: &str,
    id: &str,
    api: &str,
    forms: &[(&str, &str)],
) -> Vec<String> {
    let browser = app.browser();
    browser.sign_in(user, PASSWORD).await;
    let page = browser.get(base).await;
    assert_eq!(page.status, 200, "{user}: {}", page.body);
    let list = app.get(token, api).await;
    let on = offered(&page, &list, base, id, forms);
    assert_eq!(on, allowed(&list, forms), "{user}'s forms on {base} are the allowed actions\n{list}\n{}", page.body);
    on
}

fn train_body() -> Value {
    crate::common::spring_train(json!({"executive": {"levels": [{"approvers": ["eve"], "required": 1}]}}))
}

#[tokio::test]
async fn a_releases_forms_are_the_actions_the_domain_allows_each_user() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let eve = app.user("eve", &["product_owner"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let vic = app.user("vic", &["viewer"]).await;
    let people = [("rita", &rita), ("eve", &eve), ("dan", &dan), ("vic", &vic)];
    let train = app.post(&rita, "/api/v1/trains", train_body()).await["id"].as_str().unwrap().to_string();
    app.post(&rita, &format!("/api/v1/trains/{train}/submit"), json!({})).await;
    app.post(&eve, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let spec = |title: &str| json!({"title": title, "application": "PAY", "train": train, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
    let id = app.post(&eve, "/api/v1/application-releases", spec("PAY 1")).await["id"].as_str().unwrap().to_string();
    let other = app.post(&eve, "/api/v1/application-releases", spec("PAY 2")).await["id"].as_str().unwrap().to_string();
    let (base, api) = (format!("/releases/{id}"), format!("/api/v1/application-releases/{id}/actions"));
    let all = async || {
        let mut out = Vec::new();
        for (who, token) in people {
            out.push(compare(&app, who, token, &base, &id, &api, &RELEASE_FORMS).await);
        }
        out
    };

    // Proposed by eve: she and rita change it; nobody proposes it again; only who may, sees a form.
    let on = all().await;
    assert!(on[0].contains(&"edit".to_string()) && on[1].contains(&"edit".to_string()), "{on:?}");
    assert!(on.iter().all(|o| !o.contains(&"propose".to_string())), "{on:?}");
    assert!(on[2].is_empty() && on[3].is_empty(), "a developer and a viewer change nothing here: {on:?}");

    // Accepted, a milestone of dan's and a dependency: each has its own forms, for whom the list says.
    app.post(&rita, &format!("/api/v1/application-releases/{id}/accept"), json!({})).await;
    app.post(&rita, &format!("/api/v1/application-releases/{other}/accept"), json!({})).await;
    let m = app
        .post(
            &eve,
            &format!("/api/v1/application-releases/{id}/milestones"),
            json!({"title": "Freeze", "due": "2027-01-20", "owner": "dan"}),
        )
        .await;
    let ms = m["milestones"][0]["id"].as_str().unwrap().to_string();
    app.post(&eve, &format!("/api/v1/application-releases/{id}/dependencies"), json!({"depends_on": other})).await;
    let on = all().await;
    assert!(on[2].contains(&format!("complete_milestone on {ms}")), "dan decides his milestone: {on:?}");
    assert!(!on[2].contains(&format!("edit_milestone on {ms}")), "but does not change it: {on:?}");
    assert!(on[1].contains(&format!("remove_dependency on {other}")), "{on:?}");
    assert!(on[3].is_empty(), "{on:?}");

    // Construction, work begun: a turnover of it may be created by the developer and the manager.
    app.post(&rita, &format!("/api/v1/trains/{train}/start-construction"), json!({})).await;
    app.post(&eve, &format!("/api/v1/application-releases/{id}/begin-work"), json!({})).await;
    let on = all().await;
    assert!(on[2].contains(&"create_turnover".to_string()) && on[0].contains(&"create_turnover".to_string()), "{on:?}");
    assert!(!on[1].contains(&"create_turnover".to_string()), "a product owner creates no turnover: {on:?}");

    // Pressing a listed form works: dan completes his milestone; it is offered to nobody afterwards.
    let dan_b = app.browser();
    dan_b.sign_in("dan", PASSWORD).await;
    let csrf = dan_b.get(&base).await.csrf();
    let res = dan_b.post(&format!("{base}/milestones/{ms}/complete"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let on = all().await;
    assert!(on.iter().all(|o| !o.contains(&format!("complete_milestone on {ms}"))), "{on:?}");

    // Cancelled: nothing is left to do on it, for anyone.
    app.post(&eve, &format!("/api/v1/application-releases/{id}/cancel"), json!({"reason": "replanned"})).await;
    let on = all().await;
    assert!(on.iter().all(Vec::is_empty), "{on:?}");
}

#[tokio::test]
async fn an_applications_forms_are_the_actions_the_domain_allows_each_user() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let eve = app.user("eve", &["product_owner"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let vic = app.user("vic", &["viewer"]).await;
    app.post(&eve, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let (base, api) = ("/applications/PAY", "/api/v1/applications/PAY/actions");
    let mut on = Vec::new();
    for (who, token) in [("rita", &rita), ("eve", &eve), ("dan", &dan), ("vic", &vic)] {
        on.push(compare(&app, who, token, base, "PAY", api, &APPLICATION_FORMS).await);
    }
    assert_eq!(on[1], ["archive", "create_release", "edit"], "{on:?}");
    assert!(on[2].is_empty() && on[3].is_empty(), "{on:?}");

    // The list of applications offers a new one to whom the global actions allow it.
    for (who, may) in [("rita", true), ("dan", false), ("vic", false)] {
        let b = app.browser();
        b.sign_in(who, PASSWORD).await;
        let page = b.get("/applications").await;
        assert_eq!(page.body.contains(r#"action="/applications""#), may, "{who}\n{}", page.body);
    }

    // Archived: nothing is left to do on it, for anyone.
    let b = app.browser();
    b.sign_in("eve", PASSWORD).await;
    let csrf = b.get(base).await.csrf();
    let res = b.post(&format!("{base}/archive"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    for (who, token) in [("rita", &rita), ("eve", &eve), ("dan", &dan), ("vic", &vic)] {
        assert!(compare(&app, who, token, base, "PAY", api, &APPLICATION_FORMS).await.is_empty(), "{who}");
    }
}
