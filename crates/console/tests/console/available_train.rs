//! The train page's plan and part forms are the domain's available actions: for several users and
//! states, each gate's, exit criterion's and milestone's forms, and the plan's links and forms, are
//! exactly those `GET /api/v1/trains/{id}/actions` lists as allowed for that user (by `on` for a part),
//! and posting a listed one works.

use serde_json::{Value, json};

use crate::common::{Browser, PASSWORD, TestApp};

/// Where an action of the train's list shows on its page: the start of the form's `action` or the
/// link's `href`, for a train `id` and the part `on` (none for the train itself). None: not on the page.
fn needle(id: &str, action: &str, on: Option<&str>) -> Option<String> {
    let t = format!("/trains/{id}");
    // A criterion's part is `gate/criterion`: its pages go by the criterion alone.
    let criterion = on.and_then(|p| p.split('/').nth(1)).unwrap_or_default();
    let part = on.unwrap_or_default();
    Some(match action {
        "edit" => format!(r#"href="{t}/edit""#),
        "copy" => format!(r#"action="{t}/copy""#),
        "add_milestone" => format!(r#"action="{t}/milestones""#),
        "add_release" => format!(r#"href="/releases/new?train={id}""#),
        "add_turnover" => format!(r#"href="/turnovers/new-production?train={id}""#),
        "edit_gate" => format!(r#"action="{t}/gates/{part}""#),
        "add_criterion" => format!(r#"action="{t}/gates/{part}/criteria""#),
        "request_gate_approval" => format!(r#"action="{t}/gates/{part}/request-approval""#),
        "meet_criterion" => format!(r#"action="{t}/criteria/{criterion}/meet""#),
        "waive_criterion" => format!(r#"action="{t}/criteria/{criterion}/waive""#),
        "reopen_criterion" => format!(r#"action="{t}/criteria/{criterion}/reopen""#),
        "edit_criterion" => format!(r#"href="{t}/criteria/{criterion}/edit""#),
        "remove_criterion" => format!(r#"action="{t}/criteria/{criterion}/remove""#),
        "complete_milestone" => format!(r#"action="{t}/milestones/{part}/complete""#),
        "miss_milestone" => format!(r#"action="{t}/milestones/{part}/miss""#),
        "edit_milestone" => format!(r#"href="{t}/milestones/{part}/edit""#),
        "remove_milestone" => format!(r#"action="{t}/milestones/{part}/remove""#),
        _ => return None,
    })
}

/// Compares the train page as `browser` (signed in as `user`) sees it with the train's actions for the
/// same user's `token`: every plan and part action shows on the page exactly when it is allowed.
/// Returns the allowed ones, as `action` or `action on part`.
async fn compare(app: &TestApp, browser: &Browser, user: &str, token: &str, id: &str) -> Vec<String> {
    let page = browser.get(&format!("/trains/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let list = app.get(token, &format!("/api/v1/trains/{id}/actions")).await;
    let mut allowed = Vec::new();
    let mut seen = 0;
    for a in list.as_array().expect("a list of actions") {
        let name = a["action"].as_str().expect("an action name");
        let on = a["on"].as_str();
        let Some(needle) = needle(id, name, on) else { continue };
        seen += 1;
        let shown = page.body.contains(&needle);
        assert_eq!(shown, a["allowed"] == true, "{user}: {name} on {on:?} ({needle}) listed as {a}\n{}", page.body);
        if shown {
            allowed.push(on.map_or_else(|| name.to_string(), |p| format!("{name} on {p}")));
        }
    }
    assert!(seen >= 17, "{user}: the list names the plan and the parts: {list}");
    allowed
}

fn body() -> Value {
    let level = json!({"approvers": ["eve"], "required": 1});
    let mut body = crate::common::spring_train(json!({"executive": {"levels": [level]}, "gate": {"levels": [level]}}));
    body["gate_approvals"] = json!(["scoping"]);
    body
}

#[tokio::test]
async fn a_trains_plan_and_part_forms_are_the_actions_the_domain_allows_each_user() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let ralph = app.user("ralph", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let eve = app.user("eve", &["product_owner"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let vic = app.user("vic", &["viewer"]).await;
    let people = [("rita", &rita), ("ralph", &ralph), ("erin", &erin), ("eve", &eve), ("dan", &dan), ("vic", &vic)];
    let mut browsers = Vec::new();
    for (name, _) in people {
        let b = app.browser();
        b.sign_in(name, PASSWORD).await;
        browsers.push(b);
    }

    let id = app.post(&rita, "/api/v1/trains", body()).await["id"].as_str().unwrap().to_string();
    let t = app
        .post(
            &rita,
            &format!("/api/v1/trains/{id}/gates/scoping/criteria"),
            json!({"title": "Scope signed off", "owner": "eve"}),
        )
        .await;
    let ec = t["gates"]["scoping"]["criteria"][0]["id"].as_str().unwrap().to_string();
    let t = app
        .post(
            &rita,
            &format!("/api/v1/trains/{id}/milestones"),
            json!({"title": "Freeze", "due": "2027-02-01", "owner": "dan"}),
        )
        .await;
    let ms = t["milestones"][0]["id"].as_str().unwrap().to_string();
    let check_all = || async {
        let mut out = Vec::new();
        for ((name, token), b) in people.iter().zip(&browsers) {
            out.push(compare(&app, b, name, token, &id).await);
        }
        out
    };

    // Draft: the manager plans; the owners decide their own parts; a viewer sees no form.
    let seen = check_all().await;
    let (rita_may, eve_may, dan_may, vic_may) = (&seen[0], &seen[3], &seen[4], &seen[5]);
    for wanted in ["edit", "copy", "add_milestone", "add_release", "edit_gate on scoping", "add_criterion on scoping"] {
        assert!(rita_may.contains(&wanted.to_string()), "rita may {wanted}: {rita_may:?}");
    }
    let meet = format!("meet_criterion on scoping/{ec}");
    assert!(eve_may.contains(&meet) && !eve_may.contains(&format!("waive_criterion on scoping/{ec}")), "{eve_may:?}");
    assert!(dan_may.contains(&format!("complete_milestone on {ms}")) && !dan_may.contains(&meet), "{dan_may:?}");
    assert!(vic_may.is_empty(), "a viewer changes nothing: {vic_may:?}");

    // The edit page: its manager field is a choice only for whom the list allows handing the train over;
    // those it refuses editing for their role get 403.
    for ((name, token), b) in people.iter().zip(&browsers) {
        let list = app.get(token, &format!("/api/v1/trains/{id}/actions")).await;
        let allowed = |action: &str| {
            list.as_array()
                .into_iter()
                .flatten()
                .any(|a| a["action"] == action && a["allowed"] == true && a["on"].is_null())
        };
        let page = b.get(&format!("/trains/{id}/edit")).await;
        if !allowed("edit") {
            assert_eq!(page.status, 403, "{name}: {}", page.body);
            continue;
        }
        assert_eq!(page.status, 200, "{name}: {}", page.body);
        assert_eq!(page.body.contains(r#"name="manager""#), allowed("hand_over"), "{name}: {list}\n{}", page.body);
    }

    // Scoping: the scoping gate's approval may be requested; the manager requests it from the page.
    app.post(&rita, &format!("/api/v1/trains/{id}/submit"), json!({})).await;
    let seen = check_all().await;
    assert!(seen[0].contains(&"request_gate_approval on scoping".to_string()), "{:?}", seen[0]);
    let rb = &browsers[0];
    let page = rb.get(&format!("/trains/{id}")).await;
    let res = rb.post(&format!("/trains/{id}/gates/scoping/request-approval"), &[("csrf", &page.csrf())]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let seen = check_all().await;
    assert!(
        !seen[0].iter().any(|a| a.starts_with("request_gate_approval") || a == "edit_gate on scoping"),
        "{:?}",
        seen[0]
    );

    // Eve meets her criterion with the page's form; then she may reopen it, and the list says so too.
    let eb = &browsers[3];
    let page = eb.get(&format!("/trains/{id}")).await;
    let res = eb.post(&format!("/trains/{id}/criteria/{ec}/meet"), &[("csrf", &page.csrf()), ("note", "signed")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let seen = check_all().await;
    assert!(
        seen[3].contains(&format!("reopen_criterion on scoping/{ec}")) && !seen[3].contains(&meet),
        "{:?}",
        seen[3]
    );

    // Dan completes his milestone; cancelled, the train keeps only its copy for the managers.
    let db = &browsers[4];
    let page = db.get(&format!("/trains/{id}")).await;
    let res = db.post(&format!("/trains/{id}/milestones/{ms}/complete"), &[("csrf", &page.csrf())]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    app.post(&rita, &format!("/api/v1/trains/{id}/cancel"), json!({"reason": "merged"})).await;
    let seen = check_all().await;
    assert_eq!(seen[0], ["copy"]);
    assert!(seen[2..].iter().all(|s| s.is_empty()), "{seen:?}");

    // A refused post is the service's refusal, shown by the page: nothing of the console's own.
    let page = eb.get(&format!("/trains/{id}")).await;
    let res = eb.post(&format!("/trains/{id}/criteria/{ec}/reopen"), &[("csrf", &page.csrf())]).await;
    assert!(res.status.is_client_error(), "{}: {}", res.status, res.body);
}
