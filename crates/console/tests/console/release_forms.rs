//! Applications and application releases from the browser's forms: create, propose, accept, edit,
//! dependencies (a cycle refused), milestones, work items, the lifecycle, and what a viewer does not see.

use serde_json::{Value, json};

use crate::common::{Browser, PASSWORD, Page, TestApp};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A train in scoping (no train approval needed), managed by `manager`, whose development approvals go
/// to `approver`. Returns its id.
async fn train_in_scoping(app: &TestApp, manager: &str, approver: &str) -> String {
    let level = json!({"levels": [{"approvers": [approver], "required": 1}]});
    let body = json!({
        "title": "Spring release", "release_type": "major", "purpose": "Q1 release",
        "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"},
        "approval_policies": {"development": level, "executive": level}
    });
    let train = id(&app.post(manager, "/api/v1/trains", body).await);
    let t = app.post(manager, &format!("/api/v1/trains/{train}/submit"), json!({})).await;
    assert_eq!(t["state"], "scoping", "{t}");
    train
}

/// A release of `key` made over the API by `token` (on `train` when given).
async fn release_of(app: &TestApp, token: &str, key: &str, title: &str, train: Option<&str>) -> String {
    let mut body =
        json!({"title": title, "application": key, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
    if let Some(t) = train {
        body["train"] = json!(t);
    }
    id(&app.post(token, "/api/v1/application-releases", body).await)
}

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    let res = b.sign_in(name, PASSWORD).await;
    assert_eq!(res.status, 303, "{name} could not sign in: {}", res.body);
    b
}

#[track_caller]
fn redirected_to(res: &Page, to: &str) {
    assert_eq!((res.status.as_u16(), res.location()), (303, to), "{}", res.body);
}

/// Posts the release's edit form.
async fn edit(b: &Browser, at: &str, csrf: &str, title: &str, version: &str) -> Page {
    let fields = [
        ("csrf", csrf),
        ("title", title),
        ("product_owner", "eve"),
        ("release_type", "minor"),
        ("criticality", "critical"),
        ("start", "2027-01-06"),
        ("end", "2027-02-10"),
        ("allowed_paths", ""),
        ("version", version),
    ];
    b.post(&format!("{at}/edit"), &fields).await
}

async fn has_event(app: &TestApp, object: &str, action: &str, actor: &str) -> bool {
    app.events_of(object).await.iter().any(|e| e["action"] == action && e["actor"] == actor)
}

#[tokio::test]
async fn a_product_owner_creates_an_application_and_a_release_on_a_train_and_the_manager_accepts_it() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let train = train_in_scoping(&app, &rm, "rita").await;
    let eve = signed_in(&app, "eve").await;

    // The application, from the applications page.
    let page = eve.get("/applications").await;
    assert!(page.body.contains(r#"action="/applications""#), "{}", page.body);
    let csrf = page.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("key", "PAY"),
        ("name", "Payments"),
        ("owner", "eve"),
        ("description", "Card payments"),
    ];
    redirected_to(&eve.post("/applications", &fields).await, "/applications/PAY");
    let a = app.get(&rm, "/api/v1/applications/PAY").await;
    assert_eq!((a["name"].as_str(), a["owner"].as_str()), (Some("Payments"), Some("eve")), "{a}");
    assert!(has_event(&app, "PAY", "create", "eve").await);
    let page = eve.get("/applications").await;
    assert!(page.body.contains(r#"href="/applications/PAY""#) && page.body.contains("Payments"), "{}", page.body);

    // The train page links to the new-release form for this train, which comes with it chosen.
    let page = eve.get(&format!("/trains/{train}")).await;
    let new = format!("/releases/new?train={train}");
    assert!(page.body.contains(&format!(r#"href="{new}""#)), "{}", page.body);
    let page = eve.get(&format!("{new}&application=PAY")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&format!(r#"<option value="{train}" selected>"#)), "{}", page.body);
    assert!(page.body.contains(r#"<option value="PAY" selected>"#), "{}", page.body);

    let csrf = page.csrf();
    let res = eve
        .post(
            "/releases",
            &[
                ("csrf", &csrf),
                ("application", "PAY"),
                ("title", "PAY 2027.1"),
                ("product_owner", "eve"),
                ("release_type", ""),
                ("criticality", "high"),
                ("start", "2027-01-05"),
                ("end", "2027-02-05"),
                ("allowed_paths", ""),
                ("train", &train),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let release = res.location().strip_prefix("/releases/").expect("a release page").to_string();
    let r = app.get(&rm, &format!("/api/v1/application-releases/{release}")).await;
    assert_eq!(r["title"], "PAY 2027.1");
    assert_eq!(r["criticality"], "high");
    assert_eq!(r["release_type"], "major", "the train's type by default: {r}");
    assert_eq!(
        (r["membership"]["train_id"].as_str(), r["membership"]["state"].as_str()),
        (Some(&*train), Some("proposed"))
    );
    assert!(has_event(&app, &release, "create", "eve").await);
    assert!(has_event(&app, &release, "propose", "eve").await);

    // Eve sees the proposal but cannot decide it; Rita accepts it from the release page.
    let page = eve.get(&format!("/releases/{release}")).await;
    assert!(page.body.contains("proposed") && !page.body.contains("/accept"), "{}", page.body);
    let rita = signed_in(&app, "rita").await;
    let page = rita.get(&format!("/releases/{release}")).await;
    let accept = format!("/releases/{release}/accept");
    assert!(page.body.contains(&format!(r#"action="{accept}""#)), "{}", page.body);
    redirected_to(&rita.post(&accept, &[("csrf", &page.csrf())]).await, &format!("/releases/{release}"));
    let r = app.get(&rm, &format!("/api/v1/application-releases/{release}")).await;
    assert_eq!(r["membership"]["state"], "accepted", "{r}");
    assert!(has_event(&app, &release, "accept", "rita").await);
    let page = rita.get(&format!("/releases/{release}")).await;
    assert!(page.body.contains("accepted") && !page.body.contains(&accept), "{}", page.body);
    // The application's page lists it.
    let page = eve.get("/applications/PAY").await;
    assert!(page.body.contains(&format!(r#"href="/releases/{release}""#)), "{}", page.body);
}

#[tokio::test]
async fn a_dependency_is_added_and_one_closing_a_cycle_is_refused_with_its_guard() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let train = train_in_scoping(&app, &rm, "rita").await;
    for key in ["PAY", "WEB"] {
        app.post(&rm, "/api/v1/applications", json!({"key": key, "name": key})).await;
    }
    let pay = release_of(&app, &rm, "PAY", "PAY 1", Some(&train)).await;
    let web = release_of(&app, &rm, "WEB", "WEB 1", Some(&train)).await;
    let rita = signed_in(&app, "rita").await;

    let page = rita.get(&format!("/releases/{web}")).await;
    assert!(page.body.contains(&format!(r#"<option value="{pay}">"#)), "{}", page.body);
    let res =
        rita.post(&format!("/releases/{web}/dependencies"), &[("csrf", &page.csrf()), ("depends_on", &pay)]).await;
    redirected_to(&res, &format!("/releases/{web}#dependencies"));
    let r = app.get(&rm, &format!("/api/v1/application-releases/{web}")).await;
    assert_eq!(r["dependencies"], json!([pay]));
    assert!(has_event(&app, &web, "add_dependency", "rita").await);
    let page = rita.get(&format!("/releases/{web}")).await;
    assert!(page.body.contains(&format!(r#"action="/releases/{web}/dependencies/{pay}/remove""#)), "{}", page.body);

    // PAY depending on WEB would close the cycle: refused, and the page names it.
    let res =
        rita.post(&format!("/releases/{pay}/dependencies"), &[("csrf", &page.csrf()), ("depends_on", &web)]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("What stands in the way") && res.body.contains("dependency_cycle"), "{}", res.body);
    assert!(res.body.contains(&format!("would close the cycle {pay} → {web} → {pay}")), "{}", res.body);
    let r = app.get(&rm, &format!("/api/v1/application-releases/{pay}")).await;
    assert_eq!(r["dependencies"], json!([]));

    let res = rita.post(&format!("/releases/{web}/dependencies/{pay}/remove"), &[("csrf", &page.csrf())]).await;
    redirected_to(&res, &format!("/releases/{web}#dependencies"));
    let r = app.get(&rm, &format!("/api/v1/application-releases/{web}")).await;
    assert_eq!(r["dependencies"], json!([]));
    assert!(has_event(&app, &web, "remove_dependency", "rita").await);
}

#[tokio::test]
async fn a_product_owner_keeps_milestones_work_items_and_the_schedule_and_bad_input_names_the_field() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let po = app.user("eve", &["product_owner"]).await;
    app.post(&po, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let release = release_of(&app, &po, "PAY", "PAY 1", None).await;
    let eve = signed_in(&app, "eve").await;
    let at = format!("/releases/{release}");
    let page = eve.get(&at).await;
    let csrf = page.csrf();

    // A milestone, added and completed.
    let res = eve
        .post(
            &format!("{at}/milestones"),
            &[("csrf", &csrf), ("title", "Code freeze"), ("due", "2027-01-20"), ("owner", "")],
        )
        .await;
    redirected_to(&res, &format!("{at}#milestones"));
    let r = app.get(&rm, &format!("/api/v1/application-releases/{release}")).await;
    let ms = r["milestones"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        (r["milestones"][0]["title"].as_str(), r["milestones"][0]["due"].as_str()),
        (Some("Code freeze"), Some("2027-01-20"))
    );
    assert!(has_event(&app, &release, "add_milestone", "eve").await);
    let page = eve.get(&at).await;
    assert!(page.body.contains(&format!(r#"action="{at}/milestones/{ms}/complete""#)), "{}", page.body);
    redirected_to(
        &eve.post(&format!("{at}/milestones/{ms}/complete"), &[("csrf", &csrf)]).await,
        &format!("{at}#milestones"),
    );
    let r = app.get(&rm, &format!("/api/v1/application-releases/{release}")).await;
    assert_eq!(
        (r["milestones"][0]["state"].as_str(), r["milestones"][0]["decided_by"].as_str()),
        (Some("completed"), Some("eve"))
    );
    assert!(has_event(&app, &release, "complete_milestone", "eve").await);
    let page = eve.get(&at).await;
    assert!(
        page.body.contains("completed") && !page.body.contains(&format!("/milestones/{ms}/complete")),
        "{}",
        page.body
    );

    // A bad date names the field, and nothing is added.
    let res =
        eve.post(&format!("{at}/milestones"), &[("csrf", &csrf), ("title", "Go live"), ("due", "20/01/2027")]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("due: give a date as YYYY-MM-DD"), "{}", res.body);
    let r = app.get(&rm, &format!("/api/v1/application-releases/{release}")).await;
    assert_eq!(r["milestones"].as_array().map(Vec::len), Some(1));
    let res = eve
        .post(
            "/releases",
            &[
                ("csrf", &csrf),
                ("application", "PAY"),
                ("title", "PAY 2"),
                ("start", "next week"),
                ("end", "2027-02-05"),
            ],
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("schedule.start: give a date"), "{}", res.body);
    let list = app.get(&rm, "/api/v1/application-releases?application=PAY").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");

    // A work item by hand, then its status.
    let res = eve
        .post(
            &format!("{at}/work-items"),
            &[
                ("csrf", &csrf),
                ("kind", "business_request"),
                ("key", "PAY-142"),
                ("title", "Refunds in one day"),
                ("status", "open"),
                ("link", "https://tracker.example/PAY-142"),
                ("source", "jira"),
            ],
        )
        .await;
    redirected_to(&res, &format!("{at}#work-items"));
    let items = app.get(&rm, &format!("/api/v1/application-releases/{release}/work-items")).await;
    let item = &items["items"][0];
    assert_eq!(
        (item["key"].as_str(), item["kind"].as_str(), item["status"].as_str()),
        (Some("PAY-142"), Some("business_request"), Some("open"))
    );
    let wi = id(item);
    assert!(has_event(&app, &wi, "create", "eve").await);
    let page = eve.get(&at).await;
    assert!(page.body.contains("Refunds in one day"), "{}", page.body);
    let version = item["version"].to_string();
    let status = format!("{at}/work-items/{wi}/status");
    redirected_to(
        &eve.post(&status, &[("csrf", &csrf), ("status", "done"), ("version", &version)]).await,
        &format!("{at}#work-items"),
    );
    assert_eq!(app.get(&rm, &format!("/api/v1/work-items/{wi}")).await["status"], "done");
    assert!(has_event(&app, &wi, "update", "eve").await);
    // The same (now stale) form again is refused rather than overwriting.
    let res = eve.post(&status, &[("csrf", &csrf), ("status", "open"), ("version", &version)]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("reload it and try again"), "{}", res.body);
    assert_eq!(app.get(&rm, &format!("/api/v1/work-items/{wi}")).await["status"], "done");

    // The edit form carries the version; a stale one is refused.
    let page = eve.get(&at).await;
    let r = app.get(&rm, &format!("/api/v1/application-releases/{release}")).await;
    let version = r["version"].to_string();
    assert!(page.body.contains(&format!(r#"name="version" value="{version}""#)), "{}", page.body);
    redirected_to(&edit(&eve, &at, &csrf, "PAY 1 (refunds)", &version).await, &at);
    let r = app.get(&rm, &format!("/api/v1/application-releases/{release}")).await;
    assert_eq!(
        (r["title"].as_str(), r["criticality"].as_str(), r["schedule"]["end"].as_str()),
        (Some("PAY 1 (refunds)"), Some("critical"), Some("2027-02-10"))
    );
    assert!(has_event(&app, &release, "update", "eve").await);
    let res = edit(&eve, &at, &csrf, "PAY 1 (stale)", &version).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("reload it and try again"), "{}", res.body);
    assert_eq!(app.get(&rm, &format!("/api/v1/application-releases/{release}")).await["title"], "PAY 1 (refunds)");
}

#[tokio::test]
async fn a_release_goes_through_construction_and_is_sent_back_with_a_reason() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let po = app.user("eve", &["product_owner"]).await;
    let train = train_in_scoping(&app, &rm, "rita").await;
    app.post(&po, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let release = release_of(&app, &po, "PAY", "PAY 1", Some(&train)).await;
    app.post(&rm, &format!("/api/v1/application-releases/{release}/accept"), json!({})).await;
    let eve = signed_in(&app, "eve").await;
    let at = format!("/releases/{release}");

    // Before the train is in construction work cannot begin: no button, a hint instead.
    let page = eve.get(&at).await;
    assert!(!page.body.contains("/begin-work") && page.body.contains("is in construction"), "{}", page.body);
    app.post(&rm, &format!("/api/v1/trains/{train}/start-construction"), json!({})).await;
    let page = eve.get(&at).await;
    redirected_to(&eve.post(&format!("{at}/begin-work"), &[("csrf", &page.csrf())]).await, &at);
    assert!(has_event(&app, &release, "begin_work", "eve").await);
    let page = eve.get(&at).await;
    assert!(page.body.contains(&format!(r#"action="{at}/request-development-approval""#)), "{}", page.body);
    redirected_to(&eve.post(&format!("{at}/request-development-approval"), &[("csrf", &page.csrf())]).await, &at);
    let r = app.get(&rm, &format!("/api/v1/application-releases/{release}")).await;
    assert_eq!(r["state"], "awaiting_development_approval", "{r}");
    let approval = r["development_approval"]["id"].as_str().unwrap().to_string();
    let page = eve.get(&at).await;
    assert!(page.body.contains(&format!(r#"{approval} <span class="state">pending</span>"#)), "{}", page.body);
    app.post(&rm, &format!("/api/v1/approvals/{approval}/approve"), json!({})).await;
    assert_eq!(app.get(&rm, &format!("/api/v1/application-releases/{release}")).await["state"], "verification");

    // Sending back needs a reason; with one it returns to the page named in `back`.
    let page = eve.get(&at).await;
    assert!(page.body.contains(&format!(r#"action="{at}/send-back""#)), "{}", page.body);
    let send_back = format!("{at}/send-back");
    let res = eve.post(&send_back, &[("csrf", &page.csrf()), ("reason", " ")]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("reason: send_back needs a reason"), "{}", res.body);
    let back = format!("/trains/{train}");
    let res =
        eve.post(&send_back, &[("csrf", &page.csrf()), ("reason", "refund rounding is wrong"), ("back", &back)]).await;
    redirected_to(&res, &back);
    let r = app.get(&rm, &format!("/api/v1/application-releases/{release}")).await;
    assert_eq!(r["state"], "construction", "{r}");
    let events = app.events_of(&release).await;
    assert!(
        events.iter().any(|e| e["action"] == "send_back"
            && e["actor"] == "eve"
            && e["data"]["reason"] == "refund rounding is wrong"),
        "{events:?}"
    );
    let page = eve.get(&at).await;
    assert!(page.body.contains("construction") && !page.body.contains(&send_back), "{}", page.body);
}

#[tokio::test]
async fn a_viewer_sees_applications_and_releases_without_any_form() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("vic", &["viewer"]).await;
    let train = train_in_scoping(&app, &rm, "rita").await;
    app.post(&rm, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let release = release_of(&app, &rm, "PAY", "PAY 1", Some(&train)).await;
    app.post(
        &rm,
        &format!("/api/v1/application-releases/{release}/milestones"),
        json!({"title": "Code freeze", "due": "2027-01-20"}),
    )
    .await;

    let vic = signed_in(&app, "vic").await;
    for path in [
        "/applications".to_string(),
        "/applications/PAY".into(),
        format!("/releases/{release}"),
        format!("/trains/{train}"),
    ] {
        let page = vic.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.contains("PAY"), "{path}: {}", page.body);
        assert!(!page.body.contains(r#"class="action""#), "{path} shows a form to a viewer:\n{}", page.body);
        assert!(!page.body.contains("/releases/new"), "{path} offers a new release to a viewer");
    }
    assert!(vic.get(&format!("/releases/{release}")).await.body.contains("Code freeze"));
    assert_eq!(vic.get("/releases/new").await.status, 403);
    // A forged post with the viewer's own token is refused by the service, and changes nothing.
    let csrf = vic.get("/applications").await.csrf();
    let before = app.event_count().await;
    let res = vic.post(&format!("/releases/{release}/cancel"), &[("csrf", &csrf), ("reason", "no")]).await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert_eq!(app.event_count().await, before);

    // The release manager sees the forms on the same pages.
    let rita = signed_in(&app, "rita").await;
    for path in ["/applications".to_string(), "/applications/PAY".into(), format!("/releases/{release}")] {
        assert!(rita.get(&path).await.body.contains(r#"class="action""#), "{path}");
    }
}

#[tokio::test]
async fn an_application_is_changed_with_its_version_and_archived() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    app.post(&rm, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let eve = signed_in(&app, "eve").await;

    let page = eve.get("/applications/PAY").await;
    let version = app.get(&rm, "/api/v1/applications/PAY").await["version"].to_string();
    assert!(page.body.contains(&format!(r#"name="version" value="{version}""#)), "{}", page.body);
    let csrf = page.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "Payments hub"),
        ("owner", "eve"),
        ("description", "Cards"),
        ("version", &version),
    ];
    redirected_to(&eve.post("/applications/PAY/edit", &fields).await, "/applications/PAY");
    let a = app.get(&rm, "/api/v1/applications/PAY").await;
    assert_eq!((a["name"].as_str(), a["owner"].as_str()), (Some("Payments hub"), Some("eve")), "{a}");
    assert!(has_event(&app, "PAY", "update", "eve").await);
    // The same form again is stale: refused, nothing overwritten.
    let fields =
        [("csrf", csrf.as_str()), ("name", "Old name"), ("owner", "rita"), ("description", ""), ("version", &version)];
    let res = eve.post("/applications/PAY/edit", &fields).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("reload it and try again"), "{}", res.body);
    assert_eq!(app.get(&rm, "/api/v1/applications/PAY").await["name"], "Payments hub");
    // A bad key names the field.
    let fields = [("csrf", csrf.as_str()), ("key", "pay"), ("name", "Lower case")];
    let res = eve.post("/applications", &fields).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(
        res.body.contains("key: &#39;pay&#39; is not an application key") || res.body.contains("key: 'pay' is not"),
        "{}",
        res.body
    );

    redirected_to(&eve.post("/applications/PAY/archive", &[("csrf", &csrf)]).await, "/applications/PAY");
    assert_eq!(app.get(&rm, "/api/v1/applications/PAY").await["archived"], true);
    assert!(has_event(&app, "PAY", "archive", "eve").await);
    let page = eve.get("/applications/PAY").await;
    assert!(page.body.contains("archived") && !page.body.contains("/applications/PAY/archive"), "{}", page.body);
    assert!(!eve.get("/applications").await.body.contains(r#"href="/applications/PAY""#), "archived ones are hidden");
    assert!(eve.get("/applications?archived=true").await.body.contains(r#"href="/applications/PAY""#));
}

#[tokio::test]
async fn a_proposal_is_rejected_with_a_reason_then_proposed_again_removed_and_the_release_cancelled() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let po = app.user("eve", &["product_owner"]).await;
    let train = train_in_scoping(&app, &rm, "rita").await;
    app.post(&po, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let release = release_of(&app, &po, "PAY", "PAY 1", Some(&train)).await;
    let at = format!("/releases/{release}");
    let api = format!("/api/v1/application-releases/{release}");
    let rita = signed_in(&app, "rita").await;
    let eve = signed_in(&app, "eve").await;

    let page = rita.get(&at).await;
    let res = rita.post(&format!("{at}/reject"), &[("csrf", &page.csrf()), ("reason", "")]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("reason: rejecting a proposal needs a reason"), "{}", res.body);
    let res =
        rita.post(&format!("{at}/reject"), &[("csrf", &page.csrf()), ("reason", "too late for this train")]).await;
    redirected_to(&res, &at);
    let r = app.get(&rm, &api).await;
    assert_eq!(
        (r["membership"]["state"].as_str(), r["membership"]["reason"].as_str()),
        (Some("rejected"), Some("too late for this train"))
    );
    assert!(has_event(&app, &release, "reject", "rita").await);

    // Eve proposes it again from the page (a choice of the trains taking releases), then takes it off.
    let page = eve.get(&at).await;
    assert!(page.body.contains("too late for this train"), "{}", page.body);
    assert!(
        page.body.contains(&format!(r#"action="{at}/propose""#))
            && page.body.contains(&format!(r#"<option value="{train}">"#)),
        "{}",
        page.body
    );
    let res = eve.post(&format!("{at}/propose"), &[("csrf", &page.csrf()), ("train", "")]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("train: choose the train"), "{}", res.body);
    redirected_to(&eve.post(&format!("{at}/propose"), &[("csrf", &page.csrf()), ("train", &train)]).await, &at);
    assert_eq!(app.get(&rm, &api).await["membership"]["state"], "proposed");
    let page = eve.get(&at).await;
    redirected_to(&eve.post(&format!("{at}/remove"), &[("csrf", &page.csrf()), ("reason", "next train")]).await, &at);
    assert_eq!(app.get(&rm, &api).await["membership"]["state"], "removed");
    assert!(has_event(&app, &release, "remove", "eve").await);

    // Cancelling needs a reason; `back` that is not a path of this site is ignored.
    let page = eve.get(&at).await;
    let res = eve.post(&format!("{at}/cancel"), &[("csrf", &page.csrf()), ("reason", ""), ("back", "/")]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    let res = eve
        .post(
            &format!("{at}/cancel"),
            &[("csrf", &page.csrf()), ("reason", "merged into PAY 2"), ("back", "//evil.example/")],
        )
        .await;
    redirected_to(&res, &at);
    let r = app.get(&rm, &api).await;
    assert_eq!((r["state"].as_str(), r["cancel_reason"].as_str()), (Some("cancelled"), Some("merged into PAY 2")));
    assert!(has_event(&app, &release, "cancel", "eve").await);
    let page = eve.get(&at).await;
    assert!(page.body.contains("merged into PAY 2") && !page.body.contains(r#"class="action""#), "{}", page.body);
}

#[tokio::test]
async fn milestones_are_changed_marked_missed_and_removed_and_inherited_ones_say_so() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let po = app.user("eve", &["product_owner"]).await;
    app.user("dan", &["developer"]).await;
    let train = train_in_scoping(&app, &rm, "rita").await;
    app.post(
        &rm,
        &format!("/api/v1/trains/{train}/milestones"),
        json!({"title": "Release notes", "due": "2027-02-01", "inherit": true}),
    )
    .await;
    app.post(&po, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let release = release_of(&app, &po, "PAY", "PAY 1", Some(&train)).await;
    app.post(&rm, &format!("/api/v1/application-releases/{release}/accept"), json!({})).await;
    app.post(&rm, &format!("/api/v1/trains/{train}/start-construction"), json!({})).await;
    let at = format!("/releases/{release}");
    let api = format!("/api/v1/application-releases/{release}");
    let eve = signed_in(&app, "eve").await;

    let page = eve.get(&at).await;
    assert!(page.body.contains("Release notes") && page.body.contains("(inherited from the train"), "{}", page.body);
    let csrf = page.csrf();
    let res = eve
        .post(
            &format!("{at}/milestones"),
            &[("csrf", &csrf), ("title", "Load test"), ("due", "2027-01-25"), ("owner", "dan")],
        )
        .await;
    redirected_to(&res, &format!("{at}#milestones"));
    let r = app.get(&rm, &api).await;
    let ms = r["milestones"].as_array().unwrap();
    let added = ms.iter().find(|m| m["title"] == "Load test").unwrap();
    let (added_id, inherited_id) = (id(added), id(ms.iter().find(|m| m["title"] == "Release notes").unwrap()));
    assert_eq!(added["owner"], "dan");

    let here = format!("{at}/milestones/{added_id}");
    let res = eve
        .post(
            &format!("{here}/edit"),
            &[("csrf", &csrf), ("title", "Load test passed"), ("due", "2027-01-27"), ("owner", "rita")],
        )
        .await;
    redirected_to(&res, &format!("{at}#milestones"));
    let r = app.get(&rm, &api).await;
    let m = r["milestones"].as_array().unwrap().iter().find(|m| m["id"] == added_id.as_str()).cloned().unwrap();
    assert_eq!(
        (m["title"].as_str(), m["due"].as_str(), m["owner"].as_str()),
        (Some("Load test passed"), Some("2027-01-27"), Some("rita")),
        "{m}"
    );
    assert!(has_event(&app, &release, "edit_milestone", "eve").await);

    redirected_to(
        &eve.post(&format!("{at}/milestones/{inherited_id}/miss"), &[("csrf", &csrf)]).await,
        &format!("{at}#milestones"),
    );
    redirected_to(&eve.post(&format!("{here}/remove"), &[("csrf", &csrf)]).await, &format!("{at}#milestones"));
    let r = app.get(&rm, &api).await;
    let ms = r["milestones"].as_array().unwrap();
    assert_eq!(ms.len(), 1, "{r}");
    assert_eq!((ms[0]["id"].as_str(), ms[0]["state"].as_str()), (Some(inherited_id.as_str()), Some("missed")));
    assert!(has_event(&app, &release, "miss_milestone", "eve").await);
    assert!(has_event(&app, &release, "remove_milestone", "eve").await);
    let page = eve.get(&at).await;
    assert!(page.body.contains("missed") && !page.body.contains("Load test"), "{}", page.body);
}
