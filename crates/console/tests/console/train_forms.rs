//! Planning and driving a release train from the browser: the train list, the new and edit forms, the
//! lifecycle buttons, gates and exit criteria, milestones, copying, and overriding an approval.

use serde_json::{Value, json};

use crate::common::{Browser, PASSWORD, Page, TestApp};

pub(crate) const DATES: [(&str, &str); 5] = [
    ("start", "2027-01-04"),
    ("scoping_end", "2027-01-15"),
    ("construction_end", "2027-02-12"),
    ("verification_end", "2027-02-26"),
    ("production_date", "2027-03-06"),
];

/// The value of the first input named `name` in a page.
#[track_caller]
pub(crate) fn value_of(page: &Page, name: &str) -> String {
    let marker = format!(r#"name="{name}""#);
    let at = page.body.find(&marker).unwrap_or_else(|| panic!("no field {name} in:\n{}", page.body));
    let tag = page.body[at..].split('>').next().unwrap();
    let value = tag.split(r#"value=""#).nth(1).unwrap_or_else(|| panic!("field {name} has no value: {tag}"));
    value.split('"').next().unwrap().to_string()
}

/// The train id of a redirect to a train page.
pub(crate) fn train_of(res: &Page) -> String {
    res.location().trim_start_matches("/trains/").split('#').next().unwrap().to_string()
}

pub(crate) async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    let res = b.sign_in(name, PASSWORD).await;
    assert_eq!(res.status, 303, "{name} could not sign in: {}", res.body);
    b
}

/// A draft train made over the API by `manager`, with the given approval policies.
pub(crate) async fn draft_train(app: &TestApp, manager: &str, policies: Value) -> String {
    let body = json!({
        "title": "Spring release", "release_type": "major", "purpose": "Q1 release",
        "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"},
        "approval_policies": policies
    });
    app.post(manager, "/api/v1/trains", body).await["id"].as_str().unwrap().to_string()
}

pub(crate) fn has_event(events: &[Value], action: &str, actor: &str) -> bool {
    events.iter().any(|e| e["action"] == action && e["actor"] == actor)
}

#[tokio::test]
async fn a_release_manager_plans_a_train_in_the_browser_and_takes_it_into_construction() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let eve = app.user("eve", &["product_owner"]).await;
    app.user("ed", &["product_owner"]).await;
    let rita = signed_in(&app, "rita").await;

    // From the list to the form.
    let list = rita.get("/trains").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains(r#"href="/trains/new""#), "{}", list.body);
    let form = rita.get("/trains/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body.contains(r#"<select name="manager">"#) && form.body.contains(r#"<option value="rita" selected>"#)
    );
    assert!(form.body.contains(r#"name="executive_approvers""#) && form.body.contains(r#"name="scoping_end""#));

    let csrf = form.csrf();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("title", "Summer release"),
        ("release_type", "minor"),
        ("purpose", "Q2 features"),
        ("manager", "rita"),
        ("train_approvers", "eve"),
        ("train_required", "1"),
        ("development_approvers", "eve, ed"),
        ("development_required", "1"),
        ("executive_approvers", "ed"),
        ("executive_approvers_2", "eve"),
        ("executive_override", "on"),
        ("verification_gate_approval", "on"),
    ];
    fields.extend(DATES);
    let res = rita.post("/trains", &fields).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let id = train_of(&res);
    assert_eq!(res.location(), format!("/trains/{id}"));

    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    assert_eq!(
        (t["title"].as_str(), t["release_type"].as_str(), t["state"].as_str()),
        (Some("Summer release"), Some("minor"), Some("draft"))
    );
    assert_eq!(t["manager"], "rita");
    assert_eq!(t["schedule"]["construction_end"], "2027-02-12");
    let p = &t["approval_policies"];
    assert_eq!(p["train"]["levels"], json!([{"approvers": ["eve"], "required": 1}]), "{p}");
    assert_eq!(p["development"]["levels"][0]["approvers"], json!(["eve", "ed"]));
    assert_eq!(p["executive"]["levels"][1], json!({"approvers": ["eve"], "required": 1}));
    assert_eq!(p["executive"]["override_allowed"], true);
    assert!(p["gate"].is_null(), "{p}");
    assert_eq!(t["gates"]["verification"]["approval_required"], true);
    assert_eq!(t["gates"]["scoping"]["approval_required"], false);
    let events = app.events_of(&id).await;
    // One event: the gate settings are part of the creation.
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(has_event(&events, "create", "rita"), "{events:?}");
    assert_eq!(events[0]["data"]["gate_approvals"], json!(["verification"]), "{events:?}");

    // A scoping exit criterion and a milestone, from the train page.
    let page = rita.get(&format!("/trains/{id}")).await;
    assert!(page.body.contains("Summer release") && page.body.contains("Submit for train approval"), "{}", page.body);
    let add = format!("/trains/{id}/gates/scoping/criteria");
    assert!(page.body.contains(&format!(r#"action="{add}""#)), "{}", page.body);
    let res =
        rita.post(&add, &[("csrf", &csrf), ("title", "Scope signed off"), ("owner", "eve"), ("environment", "")]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, format!("/trains/{id}#gates").as_str()), "{}", res.body);
    let milestone =
        [("csrf", csrf.as_str()), ("title", "Code freeze"), ("due", "2027-02-10"), ("owner", "eve"), ("inherit", "on")];
    let res = rita.post(&format!("/trains/{id}/milestones"), &milestone).await;
    assert_eq!(
        (res.status.as_u16(), res.location()),
        (303, format!("/trains/{id}#milestones").as_str()),
        "{}",
        res.body
    );
    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    let ec = t["gates"]["scoping"]["criteria"][0].clone();
    assert_eq!(
        (ec["title"].as_str(), ec["owner"].as_str(), ec["state"].as_str()),
        (Some("Scope signed off"), Some("eve"), Some("open"))
    );
    let ec = ec["id"].as_str().unwrap().to_string();
    let ms = &t["milestones"][0];
    assert_eq!(
        (ms["title"].as_str(), ms["due"].as_str(), ms["inherit"].as_bool()),
        (Some("Code freeze"), Some("2027-02-10"), Some(true))
    );
    let events = app.events_of(&id).await;
    assert!(has_event(&events, "add_criterion", "rita") && has_event(&events, "add_milestone", "rita"), "{events:?}");
    let page = rita.get(&format!("/trains/{id}")).await;
    assert!(page.body.contains("Scope signed off") && page.body.contains("Code freeze (inherited by the releases)"));

    // Submitted for train approval; approved (over the API).
    let res = rita.post(&format!("/trains/{id}/submit"), &[("csrf", &csrf)]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, format!("/trains/{id}").as_str()), "{}", res.body);
    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    assert_eq!(t["state"], "awaiting_train_approval");
    assert!(has_event(&app.events_of(&id).await, "submit", "rita"));
    let approval = t["train_approval"]["id"].as_str().unwrap().to_string();
    app.post(&eve, &format!("/api/v1/approvals/{approval}/approve"), json!({})).await;

    // Starting construction is refused while the scoping criterion is open; the page names it.
    let page = rita.get(&format!("/trains/{id}")).await;
    let start = format!("/trains/{id}/start-construction");
    assert!(page.body.contains(&format!(r#"action="{start}""#)), "{}", page.body);
    let res = rita.post(&start, &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("What stands in the way"), "{}", res.body);
    assert!(
        res.body.contains(&format!("exit criterion {ec} &#39;Scope signed off&#39;"))
            || res.body.contains(&format!("exit criterion {ec} 'Scope signed off'")),
        "{}",
        res.body
    );
    assert!(res.body.contains("owner: eve") && res.body.contains("criterion_open"), "{}", res.body);
    assert_eq!(app.get(&rm, &format!("/api/v1/trains/{id}")).await["state"], "scoping");

    // Once the criterion is met, it starts.
    let res = rita.post(&format!("/trains/{id}/criteria/{ec}/meet"), &[("csrf", &csrf), ("note", "signed off")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let res = rita.post(&start, &[("csrf", &csrf)]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, format!("/trains/{id}").as_str()), "{}", res.body);
    assert_eq!(app.get(&rm, &format!("/api/v1/trains/{id}")).await["state"], "construction");
    assert!(has_event(&app.events_of(&id).await, "start_construction", "rita"));
    let page = rita.get(&format!("/trains/{id}")).await;
    assert!(page.body.contains("Start verification"), "{}", page.body);

    // Cancelling needs a reason; with one, the train is cancelled and the page says why.
    let cancel = format!("/trains/{id}/cancel");
    let res = rita.post(&cancel, &[("csrf", &csrf), ("reason", " ")]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("reason: cancelling a train needs a reason"), "{}", res.body);
    let res = rita.post(&cancel, &[("csrf", &csrf), ("reason", "Merged into the autumn train")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    assert_eq!(
        (t["state"].as_str(), t["cancel_reason"].as_str()),
        (Some("cancelled"), Some("Merged into the autumn train"))
    );
    let events = app.events_of(&id).await;
    assert!(
        events.iter().any(|e| e["action"] == "cancel"
            && e["actor"] == "rita"
            && e["data"]["reason"] == "Merged into the autumn train"),
        "{events:?}"
    );
    let page = rita.get(&format!("/trains/{id}")).await;
    assert!(page.body.contains("Reason: Merged into the autumn train"), "{}", page.body);
    assert!(!page.body.contains(&format!(r#"action="{cancel}""#)), "a cancelled train offers no cancel");
}

#[tokio::test]
async fn a_stale_edit_form_is_refused_and_a_fresh_one_saves() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let id = draft_train(&app, &rm, json!({"executive": {"levels": [{"approvers": ["eve"], "required": 1}]}})).await;
    let rita = signed_in(&app, "rita").await;

    let page = rita.get(&format!("/trains/{id}")).await;
    assert!(page.body.contains(&format!(r#"href="/trains/{id}/edit""#)), "{}", page.body);
    let form = rita.get(&format!("/trains/{id}/edit")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    // Pre-filled with the train as it is.
    assert_eq!(value_of(&form, "title"), "Spring release");
    assert_eq!(value_of(&form, "scoping_end"), "2027-01-15");
    assert_eq!(value_of(&form, "executive_approvers"), "eve");
    assert!(form.body.contains(r#"<option value="major" selected>"#));
    let stale = value_of(&form, "version");

    // Meanwhile someone changes the train.
    app.post(&rm, &format!("/api/v1/trains/{id}/milestones"), json!({"title": "Kick-off", "due": "2027-01-05"})).await;

    let csrf = form.csrf();
    let post = |version: String, title: &'static str| {
        let mut f: Vec<(&str, String)> = vec![
            ("csrf", csrf.clone()),
            ("version", version),
            ("title", title.into()),
            ("release_type", "minor".into()),
            ("purpose", "Q1 release".into()),
            ("manager", "rita".into()),
            ("executive_approvers", "eve".into()),
            ("executive_required", "1".into()),
        ];
        f.extend(DATES.iter().map(|(k, v)| (*k, v.to_string())));
        f.retain(|(k, _)| *k != "scoping_end");
        f.push(("scoping_end", "2027-01-20".into()));
        f
    };
    let fields = post(stale, "Spring release, renamed");
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = rita.post(&format!("/trains/{id}"), &refs).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("reload it and try again"), "{}", res.body);
    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    assert_eq!(
        (t["title"].as_str(), t["schedule"]["scoping_end"].as_str()),
        (Some("Spring release"), Some("2027-01-15"))
    );

    // Reloaded, the form carries the new version and saves.
    let form = rita.get(&format!("/trains/{id}/edit")).await;
    let fields = post(value_of(&form, "version"), "Spring release, renamed");
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = rita.post(&format!("/trains/{id}"), &refs).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, format!("/trains/{id}").as_str()), "{}", res.body);
    let t = app.get(&rm, &format!("/api/v1/trains/{id}")).await;
    assert_eq!(t["title"], "Spring release, renamed");
    assert_eq!(
        (t["release_type"].as_str(), t["schedule"]["scoping_end"].as_str()),
        (Some("minor"), Some("2027-01-20"))
    );
    assert!(has_event(&app.events_of(&id).await, "update", "rita"));
    let page = rita.get(&format!("/trains/{id}")).await;
    assert!(
        page.body.contains("Spring release, renamed") && page.body.contains("scoping ends 2027-01-20"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_bad_field_gives_a_page_naming_it_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let rita = signed_in(&app, "rita").await;
    let csrf = rita.get("/trains/new").await.csrf();
    let before = app.event_count().await;

    let mut fields = vec![("csrf", csrf.as_str()), ("title", "Summer release"), ("release_type", "minor")];
    fields.extend(DATES.iter().map(|(k, v)| if *k == "scoping_end" { (*k, "15/01/2027") } else { (*k, *v) }));
    let res = rita.post("/trains", &fields).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("scoping_end: give a date as YYYY-MM-DD"), "{}", res.body);

    let mut fields = vec![("csrf", csrf.as_str()), ("title", "Summer release"), ("release_type", "minor")];
    fields.extend(DATES);
    fields.extend([("train_approvers", "eve"), ("train_required", "two")]);
    let res = rita.post("/trains", &fields).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("train_required: `two` is not a whole number"), "{}", res.body);

    // Dates out of order are named by the service.
    let mut fields = vec![("csrf", csrf.as_str()), ("title", "Summer release"), ("release_type", "minor")];
    fields.extend(DATES.iter().map(|(k, v)| if *k == "production_date" { (*k, "2026-12-01") } else { (*k, *v) }));
    let res = rita.post("/trains", &fields).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("schedule.production_date"), "{}", res.body);
    assert_eq!(app.event_count().await, before, "nothing was recorded");
    assert_eq!(app.get(&rm, "/api/v1/trains").await["items"], json!([]));

    // A milestone's due date, too.
    let id = draft_train(&app, &rm, json!({})).await;
    let res = rita
        .post(&format!("/trains/{id}/milestones"), &[("csrf", &csrf), ("title", "Freeze"), ("due", "next week")])
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("due: give a date"), "{}", res.body);
    assert_eq!(app.get(&rm, &format!("/api/v1/trains/{id}")).await["milestones"], json!([]));

    // The list's state filter.
    let res = rita.get("/trains?state=sleeping").await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.contains("state") && res.body.contains("sleeping"), "{}", res.body);
}

#[tokio::test]
async fn a_viewer_sees_no_planning_forms_and_an_owner_only_their_own() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    app.user("vic", &["viewer"]).await;
    let policies = json!({"train": {"levels": [{"approvers": ["eve"], "required": 1}], "override_allowed": true},
        "executive": {"levels": [{"approvers": ["eve"], "required": 1}]}});
    let id = draft_train(&app, &rm, policies).await;
    let t = app
        .post(
            &rm,
            &format!("/api/v1/trains/{id}/gates/scoping/criteria"),
            json!({"title": "Scope signed off", "owner": "eve"}),
        )
        .await;
    let ec = t["gates"]["scoping"]["criteria"][0]["id"].as_str().unwrap().to_string();
    app.post(&rm, &format!("/api/v1/trains/{id}/criteria/{ec}/meet"), json!({"evidence": {"note": "ok"}})).await;
    app.post(
        &rm,
        &format!("/api/v1/trains/{id}/milestones"),
        json!({"title": "Freeze", "due": "2027-02-01", "owner": "eve"}),
    )
    .await;
    let t = app.post(&rm, &format!("/api/v1/trains/{id}/submit"), json!({})).await;
    let approval = t["train_approval"]["id"].as_str().unwrap().to_string();

    // The manager sees every form.
    let rita = signed_in(&app, "rita").await;
    let page = rita.get(&format!("/trains/{id}")).await;
    for needle in [
        "/edit\"",
        "/cancel\"",
        "/copy\"",
        "/remove\"",
        "/reopen\"",
        "/milestones\"",
        "/gates/scoping/criteria\"",
        &format!("/approvals/{approval}/override\""),
    ] {
        assert!(page.body.contains(needle), "rita misses {needle}:\n{}", page.body);
    }

    let vic = signed_in(&app, "vic").await;
    let list = vic.get("/trains").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains(&format!(r#"href="/trains/{id}""#)) && !list.body.contains("/trains/new"),
        "{}",
        list.body
    );
    let page = vic.get(&format!("/trains/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Scope signed off") && page.body.contains("Freeze"));
    // Only the header's sign-out form posts anything.
    assert_eq!(page.body.matches(r#"method="post""#).count(), 1, "{}", page.body);
    assert!(
        !page.body.contains("/edit") && !page.body.contains("Copy this train") && !page.body.contains("Next steps")
    );
    for path in ["/trains/new".to_string(), format!("/trains/{id}/edit")] {
        let res = vic.get(&path).await;
        assert_eq!(res.status, 403, "{path}: {}", res.body);
    }
    // A forged post is refused by the service, and changes nothing.
    let res = vic.post(&format!("/trains/{id}/cancel"), &[("csrf", &page.csrf()), ("reason", "why not")]).await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert_eq!(app.get(&rm, &format!("/api/v1/trains/{id}")).await["state"], "awaiting_train_approval");

    // The product owner may complete the milestone and reopen the criterion she owns, nothing else.
    let eve = signed_in(&app, "eve").await;
    let page = eve.get(&format!("/trains/{id}")).await;
    assert!(page.body.contains(&format!("/trains/{id}/criteria/{ec}/reopen")), "{}", page.body);
    assert!(page.body.contains("/complete\"") && page.body.contains("/miss\""), "{}", page.body);
    for absent in ["/edit", "/remove", "/cancel", "/copy", "/override", "/gates/scoping/criteria"] {
        assert!(!page.body.contains(absent), "eve sees {absent}:\n{}", page.body);
    }
}
