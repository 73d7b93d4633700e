//! Turnovers and deployments from the browser: a developer creates a turnover of a release, adds its
//! tasks and links a work item; a release engineer deploys, validates and promotes it; a production-ready
//! turnover is assembled from it, ordered, delivered, accepted, scheduled and started early by the
//! train's manager. Every change is checked through the API and the audit log.

use serde_json::{Value, json};

use crate::common::{Browser, PASSWORD, Page, TestApp};
use crate::deploying::wait_for;

mod board;
mod tasks;

struct World {
    rita: String,
    erin: String,
    dan: String,
    dave: String,
    eve: String,
    train: String,
    release: String,
    path: String,
    /// A done work item of the release, and an open one.
    done_item: String,
    open_item: String,
}

/// Users rita (release manager, the train's), erin and ed (release engineers), dan (developer), dave
/// (developer, the development approver), eve (product owner, the executive approver), vic (viewer);
/// environments test, staging and prod (locked); a path test → staging; a train in construction with
/// release PAY 7 at work, with a done and an open work item.
async fn world(app: &TestApp) -> World {
    let rita = app.user("rita", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    app.user("ed", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    let dave = app.user("dave", &["developer"]).await;
    let eve = app.user("eve", &["product_owner"]).await;
    app.user("vic", &["viewer"]).await;
    for (name, kind) in [("test", "test"), ("staging", "staging"), ("prod", "production")] {
        app.post(&erin, "/api/v1/environments", json!({"name": name, "kind": kind})).await;
    }
    let stages = json!([{"environment": "test"}, {"environment": "staging"}]);
    let p = app.post(&erin, "/api/v1/deployment-paths", json!({"name": "standard", "stages": stages})).await;
    let path = p["id"].as_str().unwrap().to_string();
    app.post(&erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await;
    let level = |who: &str| json!({"levels": [{"approvers": [who], "required": 1}]});
    let body = json!({
        "title": "Spring release", "release_type": "major", "purpose": "Q1 release",
        "schedule": {
            "start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"
        },
        "approval_policies": {"executive": level("eve"), "development": level("dave")}
    });
    let train = app.post(&rita, "/api/v1/trains", body).await["id"].as_str().unwrap().to_string();
    app.post(&rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let body = json!({"title": "PAY 7", "application": "PAY", "train": train, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
    let release = app.post(&rita, "/api/v1/application-releases", body).await["id"].as_str().unwrap().to_string();
    app.post(&rita, &format!("/api/v1/trains/{train}/submit"), json!({})).await;
    app.post(&rita, &format!("/api/v1/trains/{train}/start-construction"), json!({})).await;
    app.post(&rita, &format!("/api/v1/application-releases/{release}/begin-work"), json!({})).await;
    let mut items = Vec::new();
    for (key, status) in [("PAY-1", "done"), ("PAY-2", "open")] {
        let body = json!({"key": key, "title": format!("Refunds {key}"), "kind": "business_request", "status": status});
        let w = app.post(&rita, &format!("/api/v1/application-releases/{release}/work-items"), body).await;
        items.push(w["id"].as_str().unwrap().to_string());
    }
    World { rita, erin, dan, dave, eve, train, release, path, done_item: items[0].clone(), open_item: items[1].clone() }
}

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    let res = b.sign_in(name, PASSWORD).await;
    assert_eq!(res.status, 303, "{name} signs in: {}", res.body);
    b
}

/// Posts a form built from owned pairs.
async fn post(b: &Browser, path: &str, form: &[(&str, String)]) -> Page {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(path, &form).await
}

#[track_caller]
fn redirected_to(res: &Page, to: &str) {
    assert_eq!((res.status.as_u16(), res.location()), (303, to), "{}", res.body);
}

fn has_event(events: &[Value], action: &str, actor: &str) -> bool {
    events.iter().any(|e| e["action"] == action && e["actor"] == actor)
}

/// The hidden `seq-…` fields of the proposed-order section: the order the page proposes.
fn proposed_fields(body: &str) -> Vec<(String, String)> {
    let start = body.find(r#"id="proposed-order""#).expect("a proposed-order section");
    let section = &body[start..start + body[start..].find("</section>").unwrap()];
    section
        .split(r#"<input type="hidden" name="seq-"#)
        .skip(1)
        .map(|rest| {
            let task = rest.split('"').next().unwrap().to_string();
            let value = rest.split(r#"value=""#).nth(1).unwrap().split('"').next().unwrap().to_string();
            (format!("seq-{task}"), value)
        })
        .collect()
}

/// A developer creates a turnover of a release from the form, adds an automated and a manual task,
/// links a work item; a release engineer deploys it into test, validates it from the board, promotes it
/// to staging, completes the manual run there and validates it.
async fn standard_flow(app: &TestApp, w: &World) -> String {
    let dan = signed_in(app, "dan").await;
    let page = dan.get(&format!("/turnovers/new?release={}", w.release)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [r#"action="/turnovers""#, &format!(r#"<option value="{}""#, w.path), "test → staging"] {
        assert!(page.body.contains(text), "no {text:?} in:\n{}", page.body);
    }
    let csrf = page.csrf();
    let res = post(
        &dan,
        "/turnovers",
        &[
            ("csrf", csrf.clone()),
            ("release", w.release.clone()),
            ("path", w.path.clone()),
            ("title", "PAY build 7".into()),
            ("developer", "dan".into()),
            ("description", "Refunds".into()),
            ("artifacts", "pay 7 sha256:ab12\npay-web 7 https://builds.example/pay-web-7.tgz".into()),
        ],
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let to = res.location().strip_prefix("/turnovers/").expect("sent to the turnover's page").to_string();
    let t = app.get(&w.erin, &format!("/api/v1/turnovers/{to}")).await;
    assert_eq!(
        (t["title"].as_str(), t["developer"].as_str(), t["state"].as_str()),
        (Some("PAY build 7"), Some("dan"), Some("draft"))
    );
    assert_eq!(t["artifacts"][0]["digest"], "sha256:ab12");
    assert_eq!(t["artifacts"][1]["link"], "https://builds.example/pay-web-7.tgz");
    assert!(has_event(&app.events_of(&to).await, "create", "dan"));

    // An automated task and a manual one (in staging only), from the add form.
    let tasks = format!("/turnovers/{to}/tasks");
    let res = post(
        &dan,
        &tasks,
        &[
            ("csrf", csrf.clone()),
            ("title", "Deploy app".into()),
            ("kind", "command".into()),
            ("program", "/bin/sh".into()),
            ("args", "-c\necho deployed to $RAILYARD_ENVIRONMENT".into()),
            ("timeout_secs", "30".into()),
            ("sequence", "1".into()),
            ("tier", "app".into()),
            ("retries", "0".into()),
        ],
    )
    .await;
    redirected_to(&res, &format!("/turnovers/{to}#tasks"));
    let res = post(
        &dan,
        &tasks,
        &[
            ("csrf", csrf.clone()),
            ("title", "Check the ledger".into()),
            ("kind", "manual".into()),
            ("owner", "rita".into()),
            ("sequence", "2".into()),
            ("tier", "database".into()),
            ("environments", "staging".into()),
        ],
    )
    .await;
    redirected_to(&res, &format!("/turnovers/{to}#tasks"));
    let t = app.get(&w.erin, &format!("/api/v1/turnovers/{to}")).await;
    assert_eq!(t["tasks"][0]["action"]["args"], json!(["-c", "echo deployed to $RAILYARD_ENVIRONMENT"]));
    assert_eq!(
        (t["tasks"][1]["owner"].as_str(), t["tasks"][1]["environments"].clone()),
        (Some("rita"), json!(["staging"]))
    );
    assert_eq!(app.events_of(&to).await.iter().filter(|e| e["action"] == "add_task" && e["actor"] == "dan").count(), 2);
    let page = dan.get(&format!("/turnovers/{to}")).await;
    for text in ["Deploy app", "runs <code>/bin/sh -c echo deployed", "manual, by rita", "Sequence 2"] {
        assert!(page.body.contains(text), "no {text:?} in:\n{}", page.body);
    }

    // Only the done work item is offered; linking it records dan.
    let offered = format!(r#"<option value="{}">"#, w.done_item);
    assert!(page.body.contains(&offered), "{}", page.body);
    assert!(!page.body.contains(&format!(r#"<option value="{}">"#, w.open_item)), "{}", page.body);
    let res = post(
        &dan,
        &format!("/turnovers/{to}/work-items"),
        &[("csrf", csrf.clone()), ("work_item", w.done_item.clone())],
    )
    .await;
    redirected_to(&res, &format!("/turnovers/{to}#work-items"));
    assert_eq!(app.get(&w.erin, &format!("/api/v1/turnovers/{to}")).await["work_items"], json!([w.done_item]));
    assert!(has_event(&app.events_of(&to).await, "link_work_items", "dan"));
    // An open one is refused by R7, with its guard.
    let res = post(
        &dan,
        &format!("/turnovers/{to}/work-items"),
        &[("csrf", csrf.clone()), ("work_item", w.open_item.clone())],
    )
    .await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("(work_item_not_done)"), "{}", res.body);

    // erin deploys it into the first stage; the engine runs the automated task.
    let erin = signed_in(app, "erin").await;
    let page = erin.get(&format!("/turnovers/{to}")).await;
    assert!(page.body.contains("Deploy to test (first stage)"), "{}", page.body);
    let ecsrf = page.csrf();
    let res = post(&erin, &format!("/turnovers/{to}/deploy"), &[("csrf", ecsrf.clone())]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let de1 = res.location().strip_prefix("/deployments/").unwrap().to_string();
    let d = wait_for(app, &w.erin, &de1, "succeeded", |d| d["state"] == "succeeded").await;
    assert_eq!(
        (d["environment"].as_str(), d["runs"].as_array().map(Vec::len)),
        (Some("test"), Some(1)),
        "the manual task is for staging only"
    );
    let log = erin.get(&format!("/deployments/{de1}/runs/R1/log")).await;
    assert!(log.body.contains("deployed to test"), "{}", log.body);

    // Validated from the board, back on the turnover's page; then promoted.
    let page = erin.get(&format!("/turnovers/{to}")).await;
    assert!(page.body.contains(&format!("Validate {de1}")), "{}", page.body);
    let back = format!("/turnovers/{to}");
    let res = post(
        &erin,
        &format!("/deployments/{de1}/validate"),
        &[
            ("csrf", ecsrf.clone()),
            ("back", back.clone()),
            ("outcome", "pass".into()),
            ("note", "smoke tests green".into()),
        ],
    )
    .await;
    redirected_to(&res, &back);
    let page = erin.get(&back).await;
    assert!(page.body.contains("Deploy to staging (promote from test)"), "{}", page.body);
    let res = post(&erin, &format!("/turnovers/{to}/deploy"), &[("csrf", ecsrf.clone())]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let de2 = res.location().strip_prefix("/deployments/").unwrap().to_string();
    let waiting = |d: &Value| d["runs"].as_array().is_some_and(|r| r.iter().any(|r| r["state"] == "waiting_for_owner"));
    let d = wait_for(app, &w.erin, &de2, "its manual run waiting", waiting).await;
    assert_eq!(d["environment"], "staging");
    let run = d["runs"].as_array().unwrap().iter().find(|r| r["state"] == "waiting_for_owner").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = post(
        &erin,
        &format!("/deployments/{de2}/runs/{run}/complete"),
        &[("csrf", ecsrf.clone()), ("outcome", "done".into())],
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.body);
    wait_for(app, &w.erin, &de2, "succeeded", |d| d["state"] == "succeeded").await;
    let res = post(
        &erin,
        &format!("/deployments/{de2}/validate"),
        &[("csrf", ecsrf.clone()), ("back", back.clone()), ("outcome", "pass".into())],
    )
    .await;
    redirected_to(&res, &back);
    let t = app.get(&w.erin, &format!("/api/v1/turnovers/{to}")).await;
    assert_eq!(t["state"], "completed", "validated in its last stage: {t}");
    for de in [&de1, &de2] {
        assert!(has_event(&app.events_of(de).await, "validate", "erin"), "{de}");
    }
    // Nothing more to deploy: the page offers no deploy, and a deploy is refused with its guard.
    let page = erin.get(&back).await;
    assert!(!page.body.contains(&format!(r#"action="/turnovers/{to}/deploy""#)), "{}", page.body);
    let res = post(&erin, &format!("/turnovers/{to}/deploy"), &[("csrf", ecsrf)]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("(wrong_state)") && res.body.contains("is completed"), "{}", res.body);
    to
}

#[tokio::test]
async fn a_turnover_goes_from_its_form_through_test_and_staging_to_a_production_ready_turnover_started_early() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let to = standard_flow(&app, &w).await;

    // Development approval and verification (over the API), then the turnover offers the production step.
    let r = app
        .post(&w.rita, &format!("/api/v1/application-releases/{}/request-development-approval", w.release), json!({}))
        .await;
    app.post(
        &w.dave,
        &format!("/api/v1/approvals/{}/approve", r["development_approval"]["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    app.post(&w.rita, &format!("/api/v1/trains/{}/start-verification", w.train), json!({})).await;

    // rita may send the release back to construction from the turnover page (the route is another page's).
    let rita = signed_in(&app, "rita").await;
    let page = rita.get(&format!("/turnovers/{to}")).await;
    let send_back = format!(r#"action="/releases/{}/send-back""#, w.release);
    assert!(page.body.contains(&send_back), "{}", page.body);
    assert!(
        page.body.contains(&format!(r#"<input type="hidden" name="back" value="/turnovers/{to}">"#)),
        "{}",
        page.body
    );

    let erin = signed_in(&app, "erin").await;
    let page = erin.get(&format!("/turnovers/{to}")).await;
    let link = format!("/turnovers/new-production?train={}&amp;from={to}", w.train);
    assert!(page.body.contains(&link), "no {link:?} in:\n{}", page.body);
    let page = erin.get(&format!("/turnovers/new-production?train={}&from={to}", w.train)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        &format!(r#"name="releases" value="{}" checked"#, w.release),
        r#"name="environments" value="prod" checked"#,
        &format!(r#"<option value="{to}" selected>"#),
    ] {
        assert!(page.body.contains(text), "no {text:?} in:\n{}", page.body);
    }
    assert!(!page.body.contains(r#"name="environments" value="test""#), "only locked environments: {}", page.body);
    let csrf = page.csrf();
    let res = post(
        &erin,
        "/production-turnovers",
        &[
            ("csrf", csrf.clone()),
            ("title", "Spring production".into()),
            ("releases", w.release.clone()),
            ("environments", "prod".into()),
            ("from", to.clone()),
            ("developer", "erin".into()),
        ],
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let pr = res.location().strip_prefix("/turnovers/").unwrap().to_string();
    let t = app.get(&w.erin, &format!("/api/v1/turnovers/{pr}")).await;
    assert_eq!((t["kind"].as_str(), t["from_turnover"].as_str()), (Some("production_ready"), Some(to.as_str())));
    assert_eq!(t["tasks"].as_array().map(Vec::len), Some(2), "{t}");
    assert!(has_event(&app.events_of(&pr).await, "create", "erin"));

    // The proposed order puts the database task first; applying it is one reorder by erin.
    let page = erin.get(&format!("/turnovers/{pr}")).await;
    assert!(page.body.contains("Apply this order"), "{}", page.body);
    let mut form = proposed_fields(&page.body);
    assert_eq!(form.len(), 2, "{}", page.body);
    form.push(("csrf".into(), csrf.clone()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = erin.post(&format!("/turnovers/{pr}/tasks/reorder"), &pairs).await;
    redirected_to(&res, &format!("/turnovers/{pr}#tasks"));
    let proposed = app.get(&w.erin, &format!("/api/v1/turnovers/{pr}/proposed-order")).await;
    let t = app.get(&w.erin, &format!("/api/v1/turnovers/{pr}")).await;
    for e in proposed["order"].as_array().unwrap() {
        let task = t["tasks"].as_array().unwrap().iter().find(|x| x["id"] == e["task"]).unwrap();
        assert_eq!(task["sequence"], e["sequence"], "{t}");
    }
    assert_eq!(t["tasks"][0]["title"], "Check the ledger", "database first: {t}");
    assert!(has_event(&app.events_of(&pr).await, "reorder_tasks", "erin"));
    assert!(erin.get(&format!("/turnovers/{pr}")).await.body.contains("The tasks are in this order."));

    // Delivered by erin, accepted by ed; accepted, it is frozen and shows no task or edit forms.
    let res = post(&erin, &format!("/turnovers/{pr}/deliver"), &[("csrf", csrf.clone())]).await;
    redirected_to(&res, &format!("/turnovers/{pr}"));
    let ed = signed_in(&app, "ed").await;
    let page = ed.get(&format!("/turnovers/{pr}")).await;
    let ed_csrf = page.csrf();
    let res = post(&ed, &format!("/turnovers/{pr}/accept"), &[("csrf", ed_csrf.clone())]).await;
    redirected_to(&res, &format!("/turnovers/{pr}"));
    assert!(has_event(&app.events_of(&pr).await, "accept", "ed"));
    let page = ed.get(&format!("/turnovers/{pr}")).await;
    assert!(page.body.contains("frozen"), "{}", page.body);
    for form in ["/tasks\"", "/tasks/reorder\"", "/edit\"", "Add a task", "/work-items\"", "Apply this order"] {
        assert!(!page.body.contains(form), "a frozen turnover shows no {form:?}:\n{}", page.body);
    }

    // Executive approval puts the train into deployment.
    let t = app.post(&w.rita, &format!("/api/v1/trains/{}/request-executive-approval", w.train), json!({})).await;
    app.post(
        &w.eve,
        &format!("/api/v1/approvals/{}/approve", t["executive_approval"]["id"].as_str().unwrap()),
        json!({}),
    )
    .await;

    // A schedule time that does not parse names the field; a good one schedules it.
    let res = post(
        &ed,
        &format!("/turnovers/{pr}/schedule"),
        &[("csrf", ed_csrf.clone()), ("environment", "prod".into()), ("at", "next tuesday".into())],
    )
    .await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("at: give a date and time"), "{}", res.body);
    let at = (chrono::Utc::now() + chrono::Duration::hours(3)).format("%Y-%m-%dT%H:%M").to_string();
    let res = post(
        &ed,
        &format!("/turnovers/{pr}/schedule"),
        &[("csrf", ed_csrf.clone()), ("environment", "prod".into()), ("at", at)],
    )
    .await;
    redirected_to(&res, &format!("/turnovers/{pr}"));
    let ds = app.get(&w.erin, &format!("/api/v1/deployments?turnover={pr}")).await;
    let de = ds["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(ds["items"][0]["state"], "scheduled");

    // Only the train's manager is offered an early start.
    let page = ed.get(&format!("/deployments/{de}")).await;
    assert!(!page.body.contains("/start\"") && page.body.contains("Only the train's manager (rita)"), "{}", page.body);
    let page = rita.get(&format!("/deployments/{de}")).await;
    assert!(
        page.body.contains(&format!(r#"action="/deployments/{de}/start""#)) && page.body.contains(r#"name="override""#),
        "{}",
        page.body
    );
    let rcsrf = page.csrf();
    // Without the override it is refused, naming the scheduled time.
    let res =
        post(&rita, &format!("/deployments/{de}/start"), &[("csrf", rcsrf.clone()), ("reason", "hotfix".into())]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("(before_scheduled_time)") && res.body.contains("is scheduled for"), "{}", res.body);
    let reason = "the payment provider moved its window";
    let res = post(
        &rita,
        &format!("/deployments/{de}/start"),
        &[("csrf", rcsrf), ("override", "yes".into()), ("reason", reason.into())],
    )
    .await;
    redirected_to(&res, &format!("/deployments/{de}"));
    let events = app.events_of(&de).await;
    assert!(
        events.iter().any(|e| e["action"] == "start_early" && e["actor"] == "rita" && e["data"]["reason"] == reason),
        "{events:?}"
    );
    let d = wait_for(&app, &w.erin, &de, "started", |d| d["state"] != "scheduled").await;
    assert_eq!(d["early_start"]["by"], "rita", "{d}");

    // A viewer sees every page, and no form but sign-out.
    let vic = signed_in(&app, "vic").await;
    for path in [format!("/turnovers/{to}"), format!("/turnovers/{pr}"), format!("/deployments/{de}")] {
        let page = vic.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.body.matches(r#"method="post""#).count(), 1, "only sign-out on {path}:\n{}", page.body);
    }
}
