//! The administration pages' buttons and forms are the domain's available actions: for several users,
//! an environment's, a path's and the users' page offer exactly what `GET .../actions` allows them.

use serde_json::{Value, json};

use crate::common::{PASSWORD, Page, TestApp};

/// Whether `page` has a form posting to exactly `action`, and whether its button is enabled.
fn form(page: &Page, action: &str) -> Option<bool> {
    let at = page.body.find(&format!(r#"action="{action}""#))?;
    let rest = &page.body[at..];
    let form = &rest[..rest.find("</form>").unwrap_or(rest.len())];
    let button = &form[form.find("<button")?..];
    Some(!button[..button.find('>').unwrap_or(button.len())].contains(" disabled"))
}

/// The allowed actions of a list, as `name` or `name on part`.
fn allowed(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .expect("a list of actions")
        .iter()
        .filter(|a| a["allowed"] == true)
        .map(|a| match a["on"].as_str() {
            Some(on) => format!("{} on {on}", a["action"].as_str().unwrap_or_default()),
            None => a["action"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    out.sort();
    out
}

/// What the page offers, each as its action's name, from the forms each action posts to.
fn offered(page: &Page, forms: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> =
        forms.iter().filter(|(_, action)| form(page, action) == Some(true)).map(|(n, _)| n.clone()).collect();
    out.sort();
    out
}

async fn browser_of(app: &TestApp, who: &str) -> crate::common::Browser {
    let b = app.browser();
    let res = b.sign_in(who, PASSWORD).await;
    assert_eq!(res.status, 303, "{}", res.body);
    b
}

/// Checks that each user's page at `path` offers exactly what `api` allows them; returns what each is offered.
async fn agree(
    app: &TestApp,
    people: &[(&str, &String)],
    path: &str,
    api: &str,
    forms: &[(String, String)],
) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for (who, token) in people {
        let page = browser_of(app, who).await.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let on = offered(&page, forms);
        let names: Vec<&str> = forms.iter().map(|(n, _)| n.as_str()).collect();
        let mut listed = allowed(&app.get(token, api).await);
        listed.retain(|a| names.contains(&a.as_str()));
        assert_eq!(on, listed, "{who}'s page {path} offers what {api} allows:\n{}", page.body);
        all.push(on);
    }
    all
}

fn env_forms(event: &str) -> Vec<(String, String)> {
    let base = "/environments/staging";
    [
        ("take_offline", format!("{base}/take-offline")),
        ("bring_online", format!("{base}/bring-online")),
        ("decommission", format!("{base}/decommission")),
        ("edit", base.to_string()),
        ("plan_calendar", format!("{base}/events")),
        (&*format!("remove_event on {event}"), format!("{base}/events/{event}/remove")),
    ]
    .into_iter()
    .map(|(n, a)| (n.to_string(), a))
    .collect()
}

#[tokio::test]
async fn an_environments_forms_are_the_actions_the_domain_allows_each_user() {
    let app = TestApp::spawn().await;
    app.travel_to("2030-05-06");
    let erin = app.user("erin", &["release_engineer"]).await;
    let rita = app.user("rita", &["release_manager"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let people = [("erin", &erin), ("rita", &rita), ("dan", &dan)];
    app.post(&erin, "/api/v1/environments", json!({"name": "staging", "kind": "staging"})).await;
    let event = json!({"kind": "maintenance", "title": "Patching",
        "start": "2030-05-07T08:00:00Z", "end": "2030-05-07T10:00:00Z"});
    let env = app.post(&erin, "/api/v1/environments/staging/events", event).await;
    let ev = env["events"][0]["id"].as_str().expect("an event").to_string();
    let forms = env_forms(&ev);
    let (page, api) = ("/environments/staging", "/api/v1/environments/staging/actions");

    let remove = format!("remove_event on {ev}");
    let online = agree(&app, &people, page, api, &forms).await;
    assert_eq!(online[0], ["decommission", "edit", "plan_calendar", remove.as_str(), "take_offline"]);
    assert_eq!(online[1], ["plan_calendar", remove.as_str()], "a release manager plans the calendar only");
    assert!(online[2].is_empty(), "a developer changes no environment");

    app.post(&erin, "/api/v1/environments/staging/take-offline", json!({})).await;
    let offline = agree(&app, &people, page, api, &forms).await;
    assert_eq!(offline[0], ["bring_online", "decommission", "edit", "plan_calendar", remove.as_str()]);

    // Decommissioned: nothing is left to do, for anyone; planning is refused with the guard's words.
    app.post(&erin, "/api/v1/environments/staging/decommission", json!({})).await;
    let gone = agree(&app, &people, page, api, &forms).await;
    assert!(gone.iter().all(|o| o.is_empty()), "{gone:?}");
    let b = browser_of(&app, "rita").await;
    let csrf = b.get(page).await.csrf();
    let res = b
        .post(
            "/environments/staging/events",
            &[
                ("csrf", &csrf),
                ("kind", "blackout"),
                ("title", "Late"),
                ("start", "2030-05-08T08:00"),
                ("end", "2030-05-08T09:00"),
                ("train", ""),
            ],
        )
        .await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("staging is decommissioned"), "{}", res.body);
}

#[tokio::test]
async fn a_paths_forms_and_the_users_page_are_the_actions_the_domain_allows_each_user() {
    let app = TestApp::spawn().await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let people = [("erin", &erin), ("dan", &dan)];
    app.post(&erin, "/api/v1/environments", json!({"name": "test", "kind": "test"})).await;
    let p = app
        .post(&erin, "/api/v1/deployment-paths", json!({"name": "standard", "stages": [{"environment": "nowhere"}]}))
        .await;
    let id = p["id"].as_str().expect("a path id").to_string();
    let (page, api, base) =
        (format!("/paths/{id}"), format!("/api/v1/deployment-paths/{id}/actions"), format!("/paths/{id}"));
    let forms: Vec<(String, String)> = [
        ("activate", format!("{base}/activate")),
        ("return_to_draft", format!("{base}/return-to-draft")),
        ("retire", format!("{base}/retire")),
        ("edit", base.clone()),
    ]
    .into_iter()
    .map(|(n, a)| (n.to_string(), a))
    .collect();

    // Draft, with a stage on an environment that does not exist: activating waits for it, shown
    // disabled with why; editing and retiring are offered to whoever manages environments.
    let draft = agree(&app, &people, &page, &api, &forms).await;
    assert_eq!(draft[0], ["edit", "retire"]);
    assert!(draft[1].is_empty(), "a developer manages no path");
    let b = browser_of(&app, "erin").await;
    let shown = b.get(&page).await;
    assert_eq!(form(&shown, &format!("{base}/activate")), Some(false), "{}", shown.body);
    assert!(shown.body.contains("names environment nowhere, which does not exist"), "{}", shown.body);

    // Fixed and activated: no edit form, return to draft instead.
    let (status, v) = app
        .call(
            &erin,
            reqwest::Method::PATCH,
            &format!("/api/v1/deployment-paths/{id}"),
            Some(json!({"stages": [{"environment": "test"}]})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    app.post(&erin, &format!("/api/v1/deployment-paths/{id}/activate"), json!({})).await;
    let active = agree(&app, &people, &page, &api, &forms).await;
    assert_eq!(active[0], ["retire", "return_to_draft"]);
    assert!(b.get(&page).await.body.contains("return it to draft first"));

    // The users' page: only who manages users is offered the new user form, as the global actions say.
    let admin = app.browser();
    assert_eq!(admin.sign_in_with_token(&app.admin).await.status, 303);
    for (who, token) in [("erin", &erin), ("dan", &dan), ("admin", &app.admin)] {
        let b = if who == "admin" { &admin } else { &browser_of(&app, who).await };
        let page = b.get("/users").await;
        let listed = allowed(&app.get(token, "/api/v1/actions").await);
        let manage = listed.iter().any(|a| a == "manage_users");
        assert_eq!(form(&page, "/users").is_some(), manage, "{who}: {}", page.body);
        assert_eq!(page.body.contains(r#"href="/users""#), manage, "{who}: the navigation links the users page");
        assert_eq!(manage, who == "admin", "{listed:?}");
    }
}

#[tokio::test]
async fn a_users_token_forms_are_the_actions_the_domain_allows_each_user() {
    let app = TestApp::spawn().await;
    let dan = app.user("dan", &["developer"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let second = app.post(&dan, "/api/v1/tokens", json!({"label": "ci"})).await;
    let revoked = second["id"].as_str().expect("a token id").to_string();
    app.post(&dan, &format!("/api/v1/tokens/{revoked}/revoke"), json!({})).await;
    let tokens = app.get(&app.admin, "/api/v1/tokens?user=dan").await;
    let ids: Vec<String> = tokens["items"]
        .as_array()
        .expect("tokens")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), 2, "{tokens}");
    let mut forms: Vec<(String, String)> =
        ids.iter().map(|id| (format!("revoke_token on {id}"), format!("/tokens/{id}/revoke"))).collect();
    forms.push(("manage_tokens".into(), "/users/dan/tokens".into()));
    forms.push(("edit".into(), "/users/dan".into()));
    forms.push(("set_password".into(), "/users/dan/password".into()));
    let (page, api) = ("/users/dan", "/api/v1/users/dan/actions");

    let admin = app.browser();
    assert_eq!(admin.sign_in_with_token(&app.admin).await.status, 303);
    let active: Vec<&String> = ids.iter().filter(|id| **id != revoked).collect();
    for (who, token) in [("dan", &dan), ("erin", &erin), ("admin", &app.admin)] {
        let b = if who == "admin" { &admin } else { &browser_of(&app, who).await };
        let shown = b.get(page).await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        let on = offered(&shown, &forms);
        let names: Vec<&str> = forms.iter().map(|(n, _)| n.as_str()).collect();
        let mut listed = allowed(&app.get(token, api).await);
        listed.retain(|a| names.contains(&a.as_str()));
        assert_eq!(on, listed, "{who}'s page {page} offers what {api} allows:\n{}", shown.body);
        let revoke_active = format!("revoke_token on {}", active[0]);
        let revoke_revoked = format!("revoke_token on {revoked}");
        assert!(!on.contains(&revoke_revoked), "{who}: a revoked token is not revoked twice");
        match who {
            "dan" => assert_eq!(on, ["manage_tokens".to_string(), revoke_active]),
            "erin" => assert!(on.is_empty(), "someone else's tokens are not erin's: {on:?}"),
            _ => assert_eq!(on.len(), 4, "an admin edits dan and keeps his tokens: {on:?}"),
        }
    }
}
