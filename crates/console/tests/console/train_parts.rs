//! The parts of a train from its page: the gates (whether they need a gate approval, requesting it,
//! overriding it) and their exit criteria, the milestones, and copying a train.

use serde_json::{Value, json};

use crate::common::TestApp;
use crate::train_forms::{draft_train, has_event, signed_in, train_of, value_of};

#[tokio::test]
async fn a_manager_sets_up_the_gates_and_their_criteria_and_overrides_a_gate_approval() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    app.user("erin", &["release_engineer"]).await;
    app.post(
        &app.user("ops", &["release_engineer"]).await,
        "/api/v1/environments",
        json!({"name": "staging", "kind": "staging"}),
    )
    .await;
    let gate_policy = json!({"levels": [{"approvers": ["eve"], "required": 1}], "override_allowed": true});
    let policies = json!({"executive": {"levels": [{"approvers": ["eve"], "required": 1}]}, "gate": gate_policy});
    let id = draft_train(&app, &rm, policies).await;
    let rita = signed_in(&app, "rita").await;
    let page = rita.get(&format!("/trains/{id}")).await;
    let csrf = page.csrf();

    // The scoping gate needs a gate approval from now on (the form carries the version).
    let version = app.get(&rm, &format!("/api/v1/trains/{id}")).await["version"].to_string();
    let res = rita
        .post(
            &format!("/trains/{id}/gates/scoping"),
            &[("csrf", &csrf), ("version", &version), ("approval_required", "on")],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    assert_eq!(t["gates"]["scoping"]["approval_required"], true);

    // A form loaded before that change is refused, and changes nothing.
    let res = rita.post(&format!("/trains/{id}/gates/scoping"), &[("csrf", &csrf), ("version", &version)]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("reload it and try again"), "{}", res.body);
    assert_eq!(app.get(&rm, &format!("/api/v1/trains/{id}")).await["gates"]["scoping"]["approval_required"], true);

    // Two criteria, one with an environment; one edited, one removed.
    let add = format!("/trains/{id}/gates/scoping/criteria");
    assert!(rita.get(&format!("/trains/{id}")).await.body.contains(r#"<option value="staging">staging</option>"#));
    for (title, owner, environment) in [("Load test", "erin", "staging"), ("Budget", "", "")] {
        let res =
            rita.post(&add, &[("csrf", &csrf), ("title", title), ("owner", owner), ("environment", environment)]).await;
        assert_eq!(
            (res.status.as_u16(), res.location()),
            (303, format!("/trains/{id}#gates").as_str()),
            "{}",
            res.body
        );
    }
    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    let load = t["gates"]["scoping"]["criteria"][0]["id"].as_str().unwrap().to_string();
    let budget = t["gates"]["scoping"]["criteria"][1]["id"].as_str().unwrap().to_string();
    assert_eq!(t["gates"]["scoping"]["criteria"][0]["environment"], "staging");
    let form = rita.get(&format!("/trains/{id}/criteria/{load}/edit")).await;
    assert_eq!(value_of(&form, "title"), "Load test");
    assert!(form.body.contains(r#"<option value="erin" selected>"#), "{}", form.body);
    let v = value_of(&form, "version");
    let res = rita
        .post(
            &format!("/trains/{id}/criteria/{load}"),
            &[("csrf", &csrf), ("version", &v), ("title", "Load test at 2x"), ("owner", "eve"), ("environment", "")],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let res = rita.post(&format!("/trains/{id}/criteria/{budget}/remove"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    let c = &t["gates"]["scoping"]["criteria"];
    assert_eq!(c.as_array().map(Vec::len), Some(1), "{c}");
    assert_eq!((c[0]["title"].as_str(), c[0]["owner"].as_str()), (Some("Load test at 2x"), Some("eve")));
    assert!(c[0]["environment"].is_null(), "{c}");
    let events = app.events_of(&id).await;
    assert!(has_event(&events, "edit_criterion", "rita") && has_event(&events, "remove_criterion", "rita"));

    // Met, then reopened.
    rita.post(&format!("/trains/{id}/criteria/{load}/meet"), &[("csrf", &csrf), ("note", "ran it")]).await;
    let page = rita.get(&format!("/trains/{id}")).await;
    let reopen = format!("/trains/{id}/criteria/{load}/reopen");
    assert!(page.body.contains(&format!(r#"action="{reopen}""#)), "{}", page.body);
    let res = rita.post(&reopen, &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(app.get(&rm, &format!("/api/v1/trains/{id}")).await["gates"]["scoping"]["criteria"][0]["state"], "open");
    assert!(has_event(&app.events_of(&id).await, "reopen_criterion", "rita"));

    // Submitted (no train approval: straight to scoping); the gate approval is requested, then overridden.
    let res = rita.post(&format!("/trains/{id}/submit"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let page = rita.get(&format!("/trains/{id}")).await;
    let request = format!("/trains/{id}/gates/scoping/request-approval");
    assert!(page.body.contains(&format!(r#"action="{request}""#)), "{}", page.body);
    let res = rita.post(&request, &[("csrf", &csrf)]).await;
    assert_eq!(
        (res.status.as_u16(), res.location()),
        (303, format!("/trains/{id}#approvals").as_str()),
        "{}",
        res.body
    );
    let approval = app.get(&rm, &format!("/api/v1/trains/{id}")).await["gates"]["scoping"]["approval"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let page = rita.get(&format!("/trains/{id}")).await;
    let over = format!("/approvals/{approval}/override");
    assert!(page.body.contains(&format!(r#"action="{over}""#)), "{}", page.body);
    let res = rita.post(&over, &[("csrf", &csrf), ("reason", "eve is away; signed on paper")]).await;
    assert_eq!(
        (res.status.as_u16(), res.location()),
        (303, format!("/trains/{id}#approvals").as_str()),
        "{}",
        res.body
    );
    let a = app.get(&rm, &format!("/api/v1/approvals/{approval}")).await;
    assert_eq!(
        (a["state"].as_str(), a["override_reason"].as_str()),
        (Some("overridden"), Some("eve is away; signed on paper"))
    );
    assert!(has_event(&app.events_of(&approval).await, "override", "rita"));
    assert!(rita.get(&format!("/trains/{id}")).await.body.contains("Overridden: eve is away; signed on paper"));
}

#[tokio::test]
async fn a_manager_keeps_the_milestones_and_copies_the_train() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    app.user("erin", &["release_engineer"]).await;
    let id = draft_train(&app, &rm, json!({"executive": {"levels": [{"approvers": ["eve"], "required": 1}]}})).await;
    let rita = signed_in(&app, "rita").await;
    let csrf = rita.get(&format!("/trains/{id}")).await.csrf();

    // Milestones: two added; one edited and completed, the other missed; a third added and removed.
    let ms = format!("/trains/{id}/milestones");
    for (title, due) in [("Kick-off", "2027-01-04"), ("Scope review", "2027-01-14"), ("Spare", "2027-01-20")] {
        let res = rita.post(&ms, &[("csrf", &csrf), ("title", title), ("due", due), ("owner", "eve")]).await;
        assert_eq!(res.status, 303, "{}", res.body);
    }
    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    let m: Vec<String> =
        t["milestones"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()).collect();
    let form = rita.get(&format!("{ms}/{}/edit", m[0])).await;
    assert_eq!(value_of(&form, "due"), "2027-01-04");
    assert!(form.body.contains("— nobody —"), "an owner can be cleared");
    let v = value_of(&form, "version");
    let res = rita
        .post(
            &format!("{ms}/{}", m[0]),
            &[
                ("csrf", &csrf),
                ("version", &v),
                ("title", "Kick-off meeting"),
                ("due", "2027-01-05"),
                ("owner", "erin"),
                ("inherit", "on"),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    // "Nobody" clears the second one's owner.
    let form = rita.get(&format!("{ms}/{}/edit", m[1])).await;
    let v = value_of(&form, "version");
    let fields =
        [("csrf", csrf.as_str()), ("version", &v), ("title", "Scope review"), ("due", "2027-01-14"), ("owner", "")];
    let res = rita.post(&format!("{ms}/{}", m[1]), &fields).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    assert!(t["milestones"][1]["owner"].is_null(), "{}", t["milestones"][1]);
    for (path, status) in [
        (format!("{ms}/{}/complete", m[0]), 303),
        (format!("{ms}/{}/miss", m[1]), 303),
        (format!("{ms}/{}/remove", m[2]), 303),
    ] {
        let res = rita.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(res.status, status, "{path}: {}", res.body);
    }
    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    let got: Vec<(Value, Value, Value, Value)> = t["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["title"].clone(), m["due"].clone(), m["owner"].clone(), m["state"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("Kick-off meeting"), json!("2027-01-05"), json!("erin"), json!("completed")),
            (json!("Scope review"), json!("2027-01-14"), Value::Null, json!("missed")),
        ]
    );
    let events = app.events_of(&id).await;
    for action in ["edit_milestone", "complete_milestone", "miss_milestone", "remove_milestone"] {
        assert!(has_event(&events, action, "rita"), "{action}: {events:?}");
    }

    // Copied to a new start date.
    let res = rita
        .post(&format!("/trains/{id}/copy"), &[("csrf", &csrf), ("title", "Autumn release"), ("start", "2027-09-06")])
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let copy = train_of(&res);
    assert_ne!(copy, id);
    let c = app.get(&rm, &format!("/api/v1/trains/{copy}")).await;
    assert_eq!(
        (c["title"].as_str(), c["copied_from"].as_str(), c["schedule"]["start"].as_str()),
        (Some("Autumn release"), Some(id.as_str()), Some("2027-09-06"))
    );
    assert_eq!((c["state"].as_str(), c["milestones"].as_array().map(Vec::len)), (Some("draft"), Some(2)));
    assert!(has_event(&app.events_of(&copy).await, "copy", "rita"));
    // The list shows the copy among the drafts, and the submitted original no longer.
    app.post(&rm, &format!("/api/v1/trains/{id}/submit"), json!({})).await;
    let list = rita.get("/trains?state=draft").await;
    assert!(
        list.body.contains(&format!(r#"href="/trains/{copy}""#))
            && !list.body.contains(&format!(r#"href="/trains/{id}""#)),
        "{}",
        list.body
    );
}
