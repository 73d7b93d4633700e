//! The release elements from the browser: users, environments and their calendar events, deployment
//! paths, and stopping the line; and what a viewer sees of them.

use serde_json::{Value, json};

use crate::common::{Browser, PASSWORD, Page, TestApp};

fn did(events: &[Value], action: &str, actor: &str) -> bool {
    events.iter().any(|e| e["action"] == action && e["actor"] == actor)
}

#[track_caller]
fn redirected(res: &Page, to: &str) {
    assert_eq!((res.status.as_u16(), res.location()), (303, to), "{}", res.body);
}

/// A form's fields as `Browser::post` takes them.
fn refs<'a>(pairs: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    redirected(&b.sign_in(name, PASSWORD).await, "/");
    b
}

#[tokio::test]
async fn an_admin_creates_a_user_with_a_password_who_then_signs_in() {
    let app = TestApp::spawn().await;
    let admin = app.browser();
    redirected(&admin.sign_in_with_token(&app.admin).await, "/");
    let dash = admin.get("/").await;
    assert!(dash.body.contains(r#"<a href="/users">Users</a>"#), "admins get the Users link");

    let page = admin.get("/users").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"action="/users""#), "{}", page.body);
    let form = |password: &str| {
        vec![
            ("csrf", page.csrf()),
            ("name", "carol".to_string()),
            ("display_name", "Carol Jones".to_string()),
            ("email", "carol@example.com".to_string()),
            ("roles", "release_engineer".to_string()),
            ("roles", "developer".to_string()),
            ("password", password.to_string()),
        ]
    };

    // A password the service would refuse names the field, and no user is left behind.
    let res = admin.post("/users", &refs(&form("short"))).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("password: a password needs at least 12 characters"), "{}", res.body);
    assert_eq!(app.call(&app.admin, reqwest::Method::GET, "/api/v1/users/carol", None).await.0, 404);

    redirected(&admin.post("/users", &refs(&form(PASSWORD))).await, "/users/carol");
    let u = app.get(&app.admin, "/api/v1/users/carol").await;
    assert_eq!(u["roles"], json!(["release_engineer", "developer"]), "{u}");
    assert_eq!((u["display_name"].as_str(), u["has_password"].as_bool()), (Some("Carol Jones"), Some(true)));
    let events = app.events_of("carol").await;
    assert!(did(&events, "create", "admin") && did(&events, "set_password", "admin"), "{events:?}");
    let list = admin.get("/users").await;
    assert!(list.body.contains(r#"href="/users/carol""#) && list.body.contains("release engineer, developer"));

    // Carol signs in with that password.
    let carol = signed_in(&app, "carol").await;
    let dash = carol.get("/").await;
    assert!(
        dash.body.contains(
            "Signed in as <a href=\"/users/carol\" title=\"Your roles and API tokens\"><strong>carol</strong></a>"
        ),
        "{}",
        dash.body
    );
    assert!(!dash.body.contains(r#"<a href="/users">Users</a>"#), "only admins get the Users link");

    // The admin issues carol a token, shown once, that works on the API.
    let page = admin.get("/users/carol").await;
    let res = admin.post("/users/carol/tokens", &[("csrf", &page.csrf()), ("label", "ci")]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let start = res.body.find("ry_").expect("the token is shown");
    let token: String = res.body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    assert_eq!(app.get(&token, "/api/v1/users/me").await["name"], "carol");
    assert!(!admin.get("/users/carol").await.body.contains(&token), "the token is never shown again");

    // Roles are edited with the version the form was drawn from; a stale form is refused.
    let page = admin.get("/users/carol").await;
    let version = page.input_value(r#"action="/users/carol""#, "version");
    let edit = |v: &str| {
        vec![
            ("csrf", page.csrf()),
            ("version", v.to_string()),
            ("display_name", "Carol Jones".into()),
            ("email", "carol@example.com".into()),
            ("roles", "viewer".into()),
            ("active", "yes".into()),
        ]
    };
    let fresh = edit(&version);
    redirected(&admin.post("/users/carol", &refs(&fresh)).await, "/users/carol");
    assert_eq!(app.get(&app.admin, "/api/v1/users/carol").await["roles"], json!(["viewer"]));
    let res = admin.post("/users/carol", &refs(&fresh)).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("reload it and try again"), "{}", res.body);
    assert!(admin.get("/users/carol").await.body.contains("viewer"));
}

#[tokio::test]
async fn an_engineer_creates_edits_takes_offline_and_plans_an_environment() {
    let app = TestApp::spawn().await;
    app.user("erin", &["release_engineer"]).await;
    let erin = signed_in(&app, "erin").await;

    let page = erin.get("/environments").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("No environments yet."));
    let form = [
        ("csrf", page.csrf()),
        ("name", "staging".into()),
        ("kind", "staging".into()),
        ("owner", "erin".into()),
        ("locked", "".into()),
        ("description", "pre-production".into()),
    ];
    redirected(&erin.post("/environments", &refs(&form)).await, "/environments/staging");
    let env = app.get(&app.admin, "/api/v1/environments/staging").await;
    assert_eq!(
        (env["kind"].as_str(), env["locked"].as_bool(), env["state"].as_str()),
        (Some("staging"), Some(false), Some("online"))
    );
    assert!(did(&app.events_of("staging").await, "create", "erin"));
    assert!(erin.get("/environments").await.body.contains(r#"href="/environments/staging""#));

    // Edit: the form carries the version; a stale copy is refused with a clear message.
    let page = erin.get("/environments/staging").await;
    assert!(page.body.contains(r#"href="/environments/staging/calendar""#), "{}", page.body);
    let version = page.input_value(r#"action="/environments/staging""#, "version");
    let edit = [
        ("csrf", page.csrf()),
        ("version", version),
        ("kind", "production".into()),
        ("owner", "erin".into()),
        ("locked", "yes".into()),
        ("description", "the real thing".into()),
    ];
    redirected(&erin.post("/environments/staging", &refs(&edit)).await, "/environments/staging");
    let env = app.get(&app.admin, "/api/v1/environments/staging").await;
    assert_eq!((env["kind"].as_str(), env["locked"].as_bool()), (Some("production"), Some(true)), "{env}");
    let stale = erin.post("/environments/staging", &refs(&edit)).await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(stale.body.contains("reload it and try again"), "{}", stale.body);
    assert!(erin.get("/environments/staging").await.body.contains("the real thing"));

    // Offline and back.
    let csrf = page.csrf();
    let offline = [("csrf", csrf.as_str()), ("reason", "rack move")];
    redirected(&erin.post("/environments/staging/take-offline", &offline).await, "/environments/staging");
    let env = app.get(&app.admin, "/api/v1/environments/staging").await;
    assert_eq!((env["state"].as_str(), env["state_reason"].as_str()), (Some("offline"), Some("rack move")), "{env}");
    let page = erin.get("/environments/staging").await;
    assert!(
        page.body.contains("environment staging is offline: rack move"),
        "the page says why nothing deploys: {}",
        page.body
    );
    assert!(page.body.contains(r#"action="/environments/staging/bring-online""#));
    assert!(!page.body.contains(r#"action="/environments/staging/take-offline""#));
    // Taking it offline twice is refused, naming the state.
    let res = erin.post("/environments/staging/take-offline", &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("What stands in the way") && res.body.contains("staging is offline"), "{}", res.body);
    redirected(&erin.post("/environments/staging/bring-online", &[("csrf", &csrf)]).await, "/environments/staging");
    assert_eq!(app.get(&app.admin, "/api/v1/environments/staging").await["state"], "online");
    let events = app.events_of("staging").await;
    for action in ["update", "take_offline", "bring_online"] {
        assert!(did(&events, action, "erin"), "{action}: {events:?}");
    }

    // A blackout, shown on the environment's calendar, then removed.
    let event = |start: &str| {
        [
            ("csrf", csrf.clone()),
            ("kind", "blackout".into()),
            ("title", "Trading peak".into()),
            ("start", start.to_string()),
            ("end", "2030-05-07T18:00".into()),
            ("train", "".into()),
        ]
    };
    let mut reservation = event("2030-05-06T08:00");
    reservation[1].1 = "reservation".into();
    let res = erin.post("/environments/staging/events", &refs(&reservation)).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("train_id: a reservation names the train"), "{}", res.body);
    let res = erin.post("/environments/staging/events", &refs(&event("next tuesday"))).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("start: give a date and time"), "the page names the field: {}", res.body);
    redirected(
        &erin.post("/environments/staging/events", &refs(&event("2030-05-06T08:00"))).await,
        "/environments/staging#events",
    );
    let env = app.get(&app.admin, "/api/v1/environments/staging").await;
    assert_eq!(env["events"].as_array().map(Vec::len), Some(1), "the bad form added nothing: {env}");
    let ev = &env["events"][0];
    assert_eq!((ev["kind"].as_str(), ev["start"].as_str()), (Some("blackout"), Some("2030-05-06T08:00:00Z")), "{ev}");
    let id = ev["id"].as_str().unwrap().to_string();
    let cal = erin.get("/environments/staging/calendar?view=week&from=2030-05-06").await;
    assert!(cal.body.contains("Trading peak") && cal.body.contains(&id), "{}", cal.body);
    assert!(cal.body.contains(r#"href="/environments/staging""#), "the calendar links back to the environment");
    let page = erin.get("/environments/staging").await;
    assert!(page.body.contains("Trading peak"));
    let remove = format!("/environments/staging/events/{id}/remove");
    assert!(page.body.contains(&format!(r#"action="{remove}""#)), "{}", page.body);
    redirected(&erin.post(&remove, &[("csrf", &csrf)]).await, "/environments/staging#events");
    assert_eq!(app.get(&app.admin, "/api/v1/environments/staging").await["events"], json!([]));
    assert!(!erin.get("/environments/staging/calendar?view=week&from=2030-05-06").await.body.contains("Trading peak"));
    let events = app.events_of("staging").await;
    assert!(did(&events, "add_event", "erin") && did(&events, "remove_event", "erin"), "{events:?}");
}

#[tokio::test]
async fn an_engineer_creates_a_path_from_two_environments_and_activates_it() {
    let app = TestApp::spawn().await;
    let token = app.user("erin", &["release_engineer"]).await;
    for (name, kind) in [("test", "test"), ("staging", "staging")] {
        app.post(&token, "/api/v1/environments", json!({"name": name, "kind": kind})).await;
    }
    let erin = signed_in(&app, "erin").await;
    let page = erin.get("/paths").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"<option value="staging">"#), "stages choose among the environments: {}", page.body);
    let form = [
        ("csrf", page.csrf()),
        ("name", "standard".into()),
        ("description", "".into()),
        ("release_types", "major".into()),
        ("release_types", "minor".into()),
        ("stage1_environment", "test".into()),
        ("stage1_required", "yes".into()),
        ("stage1_allow_redeploy", "yes".into()),
        ("stage2_environment", "staging".into()),
        ("stage2_required", "yes".into()),
        ("stage2_freeze_tasks", "yes".into()),
        ("stage3_environment", "".into()),
        ("stage3_required", "yes".into()),
    ];
    let res = erin.post("/paths", &refs(&form)).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let at = res.location().to_string();
    let id = at.strip_prefix("/paths/").expect("to the path's page").to_string();
    let p = app.get(&app.admin, &format!("/api/v1/deployment-paths/{id}")).await;
    assert_eq!(p["state"], "draft");
    assert_eq!(p["release_types"], json!(["major", "minor"]));
    let envs: Vec<&str> = p["stages"].as_array().unwrap().iter().map(|s| s["environment"].as_str().unwrap()).collect();
    assert_eq!(envs, vec!["test", "staging"], "{p}");
    assert_eq!(
        (p["stages"][0]["allow_redeploy"].as_bool(), p["stages"][1]["allow_redeploy"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(p["stages"][1]["freeze_tasks"], true);

    let page = erin.get(&at).await;
    assert!(page.body.contains(r#"action="/paths/"#) && page.body.contains("/activate"), "{}", page.body);
    redirected(&erin.post(&format!("{at}/activate"), &[("csrf", &page.csrf())]).await, &at);
    assert_eq!(app.get(&app.admin, &format!("/api/v1/deployment-paths/{id}")).await["state"], "active");
    let events = app.events_of(&id).await;
    assert!(did(&events, "create", "erin") && did(&events, "activate", "erin"), "{events:?}");
    let list = erin.get("/paths").await;
    assert!(list.body.contains(&format!(r#"href="/paths/{id}""#)) && list.body.contains("active"), "{}", list.body);
    let page = erin.get(&at).await;
    assert!(page.body.contains("return-to-draft") && !page.body.contains("/activate\""), "{}", page.body);

    // A path without stages cannot be activated: the refusal lists why.
    let empty = [("csrf", page.csrf()), ("name", "empty".into())];
    let res = erin.post("/paths", &refs(&empty)).await;
    let other = res.location().to_string();
    let res = erin.post(&format!("{other}/activate"), &[("csrf", &page.csrf())]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("What stands in the way") && res.body.contains("has no stages"), "{}", res.body);
}

#[tokio::test]
async fn a_manager_stops_the_line_for_everyone_and_resumes_it() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    app.user("vic", &["viewer"]).await;
    let rita = signed_in(&app, "rita").await;
    let vic = signed_in(&app, "vic").await;

    let dash = rita.get("/").await;
    assert!(dash.body.contains(r#"action="/line/halt""#), "{}", dash.body);
    let res = rita.post("/line/halt", &[("csrf", &dash.csrf()), ("reason", "  ")]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("reason: halt needs a reason"), "{}", res.body);
    redirected(&rita.post("/line/halt", &[("csrf", &dash.csrf()), ("reason", "payment outage")]).await, "/");

    let seen = vic.get("/").await;
    assert!(seen.body.contains("The line is stopped:") && seen.body.contains("payment outage"), "{}", seen.body);
    assert!(seen.body.contains("By rita"), "{}", seen.body);
    assert!(!seen.body.contains("/line/resume") && !seen.body.contains("/line/halt"), "a viewer gets no forms");
    assert_eq!(app.get(&app.admin, "/api/v1/line").await["halted"], true);

    let dash = rita.get("/").await;
    assert!(dash.body.contains(r#"action="/line/resume""#) && !dash.body.contains(r#"action="/line/halt""#));
    redirected(&rita.post("/line/resume", &[("csrf", &dash.csrf()), ("reason", "outage fixed")]).await, "/");
    assert!(vic.get("/").await.body.contains("The line is running"));
    assert_eq!(app.get(&app.admin, "/api/v1/line").await["halted"], false);
    let events = app.events_of("line").await;
    assert!(did(&events, "halt", "rita") && did(&events, "resume", "rita"), "{events:?}");
    // The viewer's own post is refused by the service, and changes nothing.
    let res = vic.post("/line/halt", &[("csrf", &seen.csrf()), ("reason", "curious")]).await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert_eq!(app.get(&app.admin, "/api/v1/line").await["halted"], false);
}

#[tokio::test]
async fn a_viewer_sees_the_release_elements_but_none_of_their_forms() {
    let app = TestApp::spawn().await;
    let erin = app.user("erin", &["release_engineer"]).await;
    app.user("vic", &["viewer"]).await;
    app.post(&erin, "/api/v1/environments", json!({"name": "staging", "kind": "staging"})).await;
    app.post(
        &erin,
        "/api/v1/environments/staging/events",
        json!({"kind": "maintenance", "title": "Patch night",
        "start": "2030-01-01T20:00:00Z", "end": "2030-01-01T23:00:00Z"}),
    )
    .await;
    let stages = json!([{"environment": "staging"}]);
    let p = app.post(&erin, "/api/v1/deployment-paths", json!({"name": "standard", "stages": stages})).await;
    let path = p["id"].as_str().unwrap().to_string();

    let vic = signed_in(&app, "vic").await;
    let pages = [
        "/environments".to_string(),
        "/environments/staging".into(),
        "/paths".into(),
        format!("/paths/{path}"),
        "/users".into(),
        "/users/erin".into(),
        "/".into(),
    ];
    let shown = ["staging", "Patch night", "standard", "standard", "erin", "release engineer", "The line is running"];
    for (path, what) in pages.iter().zip(shown) {
        let page = vic.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(page.body.contains(what), "{path} shows {what}: {}", page.body);
        // The only form a viewer gets is signing out.
        assert_eq!(page.body.matches("<form").count(), 1, "{path} shows forms to a viewer:\n{}", page.body);
        assert!(!page.body.contains(r#"<a href="/users">Users</a>"#), "{path}: the Users link is for admins");
    }
    // A viewer's post is refused by the service and creates nothing.
    let csrf = vic.get("/environments").await.csrf();
    let res = vic.post("/environments", &[("csrf", &csrf), ("name", "prod"), ("kind", "production")]).await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert_eq!(app.call(&erin, reqwest::Method::GET, "/api/v1/environments/prod", None).await.0, 404);

    // The engineer sees the forms on the same pages.
    let engineer = signed_in(&app, "erin").await;
    let page = engineer.get("/environments/staging").await;
    assert!(page.body.contains(r#"action="/environments/staging/events""#), "{}", page.body);
    assert!(engineer.get("/paths").await.body.contains(r#"action="/paths""#));
}

#[tokio::test]
async fn a_path_is_edited_in_draft_returned_to_draft_and_retired_and_an_environment_decommissioned() {
    let app = TestApp::spawn().await;
    let token = app.user("erin", &["release_engineer"]).await;
    for (name, kind) in [("test", "test"), ("staging", "staging"), ("uat", "test")] {
        app.post(&token, "/api/v1/environments", json!({"name": name, "kind": kind})).await;
    }
    let stages = json!([{"environment": "test"}]);
    let p = app.post(&token, "/api/v1/deployment-paths", json!({"name": "quick", "stages": stages})).await;
    let id = p["id"].as_str().unwrap().to_string();
    let at = format!("/paths/{id}");
    let erin = signed_in(&app, "erin").await;

    // The edit form starts from the path as it is: its name and its stage, ticked as stored.
    let page = erin.get(&at).await;
    assert!(page.body.contains(r#"value="quick""#), "{}", page.body);
    assert!(page.body.contains(r#"<option value="test" selected>"#), "{}", page.body);
    let version = page.input_value(&format!(r#"action="{at}""#), "version");
    let edit = [
        ("csrf", page.csrf()),
        ("version", version),
        ("name", "quick lane".into()),
        ("description", "".into()),
        ("stage1_environment", "uat".into()),
        ("stage1_required", "yes".into()),
        ("stage2_environment", "staging".into()),
    ];
    redirected(&erin.post(&at, &refs(&edit)).await, &at);
    let p = app.get(&app.admin, &format!("/api/v1/deployment-paths/{id}")).await;
    assert_eq!(p["name"], "quick lane");
    assert_eq!(p["stages"][0]["environment"], "uat");
    assert_eq!(
        (p["stages"][1]["environment"].as_str(), p["stages"][1]["required"].as_bool()),
        (Some("staging"), Some(false))
    );
    let stale = erin.post(&at, &refs(&edit)).await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(stale.body.contains("reload it and try again"), "{}", stale.body);

    let csrf = page.csrf();
    redirected(&erin.post(&format!("{at}/activate"), &[("csrf", &csrf)]).await, &at);
    let page = erin.get(&at).await;
    assert!(!page.body.contains(r#"name="version""#), "an active path has no edit form");
    assert!(page.body.contains("return it to draft first"), "{}", page.body);
    redirected(&erin.post(&format!("{at}/return-to-draft"), &[("csrf", &csrf)]).await, &at);
    assert_eq!(app.get(&app.admin, &format!("/api/v1/deployment-paths/{id}")).await["state"], "draft");
    redirected(&erin.post(&format!("{at}/retire"), &[("csrf", &csrf)]).await, &at);
    assert_eq!(app.get(&app.admin, &format!("/api/v1/deployment-paths/{id}")).await["state"], "retired");
    let page = erin.get(&at).await;
    assert!(!page.body.contains("/activate") && !page.body.contains("/retire"), "a retired path offers nothing");
    let events = app.events_of(&id).await;
    for action in ["update", "activate", "return_to_draft", "retire"] {
        assert!(did(&events, action, "erin"), "{action}: {events:?}");
    }

    // Decommissioning is final: the page then offers no lifecycle or calendar forms.
    redirected(
        &erin.post("/environments/uat/decommission", &[("csrf", &csrf), ("confirm", "yes")]).await,
        "/environments/uat",
    );
    assert_eq!(app.get(&app.admin, "/api/v1/environments/uat").await["state"], "decommissioned");
    assert!(did(&app.events_of("uat").await, "decommission", "erin"));
    let page = erin.get("/environments/uat").await;
    assert!(page.body.contains("decommissioned"), "{}", page.body);
    assert_eq!(page.body.matches("<form").count(), 1, "only sign-out is left:\n{}", page.body);
    let res = erin.post("/environments/uat/bring-online", &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("uat is decommissioned"), "{}", res.body);
}

#[tokio::test]
async fn an_admin_resets_a_password_revokes_a_token_and_deactivates_a_user() {
    let app = TestApp::spawn().await;
    let dan = app.user("dan", &["developer"]).await;
    let admin = app.browser();
    redirected(&admin.sign_in_with_token(&app.admin).await, "/");

    let page = admin.get("/users/dan").await;
    assert!(page.body.contains(r#"action="/users/dan/password""#), "{}", page.body);
    let res = admin.post("/users/dan/password", &[("csrf", &page.csrf()), ("password", "too short")]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("password: a password needs at least 12 characters"), "{}", res.body);
    let new = "a much longer new passphrase";
    redirected(
        &admin.post("/users/dan/password", &[("csrf", &page.csrf()), ("password", new)]).await,
        "/users/dan#password",
    );
    assert_eq!(app.browser().sign_in("dan", PASSWORD).await.status, 401, "the old password no longer works");
    redirected(&app.browser().sign_in("dan", new).await, "/");

    // dan's token (made by the test setup) is listed and revoked from his page.
    let tokens = app.get(&app.admin, "/api/v1/tokens?user=dan").await;
    let tk = tokens["items"][0]["id"].as_str().unwrap().to_string();
    let page = admin.get("/users/dan").await;
    let revoke = format!("/tokens/{tk}/revoke");
    assert!(page.body.contains(&format!(r#"action="{revoke}""#)), "{}", page.body);
    redirected(&admin.post(&revoke, &[("csrf", &page.csrf())]).await, "/users/dan#tokens");
    assert_eq!(app.call(&dan, reqwest::Method::GET, "/api/v1/users/me", None).await.0, 401);
    assert!(admin.get("/users/dan").await.body.contains("revoked"));

    // Deactivated: the box unticked; dan can no longer sign in.
    let page = admin.get("/users/dan").await;
    let version = page.input_value(r#"action="/users/dan""#, "version");
    let form = [
        ("csrf", page.csrf()),
        ("version", version),
        ("display_name", "Dan".into()),
        ("email", "".into()),
        ("roles", "developer".into()),
    ];
    redirected(&admin.post("/users/dan", &refs(&form)).await, "/users/dan");
    assert_eq!(app.get(&app.admin, "/api/v1/users/dan").await["active"], false);
    assert!(admin.get("/users").await.body.contains("deactivated"));
    assert_eq!(app.browser().sign_in("dan", new).await.status, 401);
    let events = app.events_of("dan").await;
    assert!(did(&events, "set_password", "admin") && did(&events, "update", "admin"), "{events:?}");
    assert!(did(&app.events_of(&tk).await, "revoke", "admin"));
}

#[tokio::test]
async fn everyone_keeps_their_own_api_tokens_and_only_theirs() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    app.user("erin", &["release_engineer"]).await;
    let browser = signed_in(&app, "rita").await;

    // The name in the header leads to her own page, which has her tokens and the form to issue one.
    let dash = browser.get("/").await;
    assert!(dash.body.contains(r#"href="/users/rita""#), "{}", dash.body);
    let page = browser.get("/users/rita").await;
    assert!(page.body.contains(r#"action="/users/rita/tokens""#), "{}", page.body);
    assert!(!page.body.contains(r#"action="/users/rita/password""#), "the password form is the admin's");
    let res = browser.post("/users/rita/tokens", &[("csrf", &page.csrf()), ("label", "laptop")]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body.contains("This is the only time the token is shown"), "{}", res.body);
    let token = res.body.split(r#"readonly value=""#).nth(1).and_then(|t| t.split('"').next()).unwrap();
    assert_eq!(app.get(token, "/api/v1/users/me").await["name"], "rita", "the new token works");
    let mine = app.get(&rita, "/api/v1/tokens").await;
    let laptop = mine["items"].as_array().unwrap().iter().find(|t| t["label"] == "laptop").cloned().unwrap();
    let id = laptop["id"].as_str().unwrap();
    let page = browser.get("/users/rita").await;
    let res = browser.post(&format!("/tokens/{id}/revoke"), &[("csrf", &page.csrf())]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/users/rita#tokens"), "{}", res.body);
    let events = app.events_of(id).await;
    assert!(events.iter().any(|e| e["action"] == "revoke" && e["actor"] == "rita"), "{events:?}");

    // Another user's page shows no tokens to her, and issuing one for them is refused.
    let page = browser.get("/users/erin").await;
    assert!(
        !page.body.contains(r#"id="tokens""#) && !page.body.contains(r#"action="/users/erin/tokens""#),
        "{}",
        page.body
    );
    let res = browser.post("/users/erin/tokens", &[("csrf", &page.csrf()), ("label", "sneaky")]).await;
    assert_eq!(res.status, 403, "{}", res.body);
}
