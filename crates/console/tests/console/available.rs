//! The pages' buttons are the domain's available actions: for several users and states, a page's
//! enabled buttons are exactly the actions `GET .../actions` lists as allowed for that user, a disabled
//! one is refused there and shows its guards, and posting a listed one works.

use serde_json::{Value, json};

use crate::common::{PASSWORD, Page, TestApp};

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
            if button.contains(" disabled") { off.push(n.to_string()) } else { on.push(n.to_string()) }
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

/// Compares `user`'s page with the list of actions the API gives them; returns the enabled buttons.
async fn page_matches_list(
    app: &TestApp,
    user: &str,
    token: &str,
    page: &str,
    api: &str,
    base: &str,
    names: &[&str],
) -> Vec<String> {
    let browser = app.browser();
    browser.sign_in(user, PASSWORD).await;
    let page = browser.get(page).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (on, off) = buttons(&page, base, names);
    let (mut allowed, refused) = listed(&app.get(token, api).await);
    allowed.retain(|a| names.contains(&a.as_str()));
    let mut on_sorted = on.clone();
    on_sorted.sort();
    allowed.sort();
    assert_eq!(on_sorted, allowed, "{user}'s enabled buttons are the allowed actions\n{}", page.body);
    for d in &off {
        let (_, guards) =
            refused.iter().find(|(n, _)| n == d).unwrap_or_else(|| panic!("{user}: {d} is disabled but not refused"));
        assert!(!guards.is_empty(), "{d}");
        for g in guards {
            let shown = g.replace('\'', "&#39;");
            assert!(
                page.body.contains(g.as_str()) || page.body.contains(&shown),
                "{user}: {d} shows why: {g}\n{}",
                page.body
            );
        }
    }
    on
}

fn body(approval: bool) -> Value {
    let level = json!({"approvers": ["eve"], "required": 1});
    let mut policies = json!({"executive": {"levels": [level]}});
    if approval {
        policies["train"] = json!({"levels": [level]});
    }
    json!({
        "title": "Spring release", "release_type": "major", "purpose": "Q1",
        "schedule": {
            "start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"
        },
        "approval_policies": policies
    })
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
