//! The acceptance test of the seed flow (`seed/release-train-flow.txt`): one release train taken from its
//! creation to its closing as a release team would run it, through the public REST API of a real server
//! with the real engine running real processes, on SQLite and on PostgreSQL.
//!
//! One step function per step of the seed text, in its order and named after it. Each step asserts the
//! states it leaves behind and the audit events it adds, and every train stage (scoping, construction,
//! verification, executive approval, deployment) meets an action taken out of order, refused with its
//! guards and changing nothing.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, Reply, TestApp, level};

#[tokio::test]
async fn the_seed_flow_runs_from_creating_the_train_to_closing_it_on_sqlite() {
    seed_flow(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_seed_flow_runs_from_creating_the_train_to_closing_it_on_postgres() {
    seed_flow(Backend::Postgres).await;
}

async fn seed_flow(backend: Backend) {
    let mut f = release_elements(backend).await;

    // 1. Create the release train and send it for approval.
    create_the_train_and_send_it_for_approval(&mut f).await;
    set_type_manager_purpose_and_schedule(&mut f).await;
    define_the_three_approvals(&mut f).await;
    define_exit_criteria(&mut f).await;
    add_train_milestones(&mut f).await;
    verify_the_scoping_criteria(&mut f).await;

    // 2. Create application releases and associate them with the release train.
    create_application_releases(&mut f).await;
    set_their_schedules(&mut f).await;
    note_dependencies(&mut f).await;
    add_and_inherit_milestones(&mut f).await;
    associate_business_requests_and_development_tasks(&mut f).await;

    // 3. Complete construction on the application releases.
    construct(&mut f).await;
    monitor_status_on_the_timelines(&mut f).await;
    create_turnovers(&mut f).await;
    associate_completed_work_items(&mut f).await;
    add_deployment_tasks(&mut f).await;
    verify_the_development_gate(&mut f).await;
    send_for_development_approval(&mut f).await;

    // 4. Deploy and validate turnovers through the pre-production environments of the deployment path.
    deploy_and_validate_through_test_and_staging(&mut f).await;
    promote(&mut f).await;
    fix_and_redeploy_a_failed_validation(&mut f).await;
    send_one_release_back_to_construction_and_forward_again(&mut f).await;

    // 5. Verify and send the release train for executive approval.
    executive_approval(&mut f).await;

    // 6. Create production-ready turnovers.
    production_ready_turnovers(&mut f).await;

    // 7. Deliver production-ready turnovers to the release engineering team for acceptance.
    acceptance_by_release_engineering(&mut f).await;

    // 8. Initiate deployment so the turnovers are deployed to production on their scheduled date.
    scheduled_deployment_into_locked_production(&mut f).await;
    verification(&mut f).await;
    close_the_train(&mut f).await;
}

// ---------------------------------------------------------------------------------------------------------
// The release team, what it works on, and the helpers that read like what they do.
// ---------------------------------------------------------------------------------------------------------

/// Who is who in the flow.
const PEOPLE: [(&str, &str); 10] = [
    ("ralph", "release_manager"),  // creates the train, then hands it over
    ("rita", "release_manager"),   // the train's manager
    ("vera", "release_manager"),   // heads release management: approves the train
    ("eve", "product_owner"),      // the executive (a viewer could not decide)
    ("dave", "developer"),         // the tech lead: development approval
    ("dan", "developer"),          // builds the turnovers
    ("paula", "product_owner"),    // owns both application releases
    ("quinn", "release_engineer"), // QA: gate approvals, validation, smoke tests
    ("erin", "release_engineer"),  // environments, deployments, production-ready turnovers
    ("ed", "release_engineer"),    // release engineering: accepts production-ready turnovers
];

/// The state of the flow carried from step to step.
struct Flow {
    app: TestApp,
    tokens: HashMap<&'static str, String>,
    /// Audit events already seen, per object: each step looks only at what it added.
    seen: RefCell<HashMap<String, usize>>,
    /// Where the automation tasks write what they did, one file per environment.
    dir: tempfile::TempDir,
    path: String,
    train: String,
    criteria: HashMap<&'static str, String>,
    code_complete: String,
    /// The application releases: the ledger database, and the storefront that depends on it.
    db: String,
    web: String,
    work_items: HashMap<&'static str, String>,
    /// Their pre-production turnovers.
    to_db: String,
    to_web: String,
    /// The production-ready turnover spanning both.
    prod: String,
    prod_deployment: String,
}

impl Flow {
    fn token(&self, who: &str) -> &str {
        self.tokens.get(who).unwrap_or_else(|| panic!("nobody called {who}"))
    }

    async fn call(&self, who: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.app.call(Some(self.token(who)), method, path, body).await
    }

    async fn post(&self, who: &str, path: &str, body: Value) -> Reply {
        self.call(who, Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.app.get(self.token("rita"), path).await.ok()
    }

    async fn state(&self, path: &str) -> String {
        self.get(path).await["state"].as_str().unwrap_or_else(|| panic!("{path} has no state")).to_string()
    }

    /// A PATCH carrying the object's current version (If-Match).
    async fn patch(&self, who: &str, path: &str, versioned: &str, body: Value) -> Reply {
        let version = self.get(versioned).await["version"].as_i64().unwrap();
        self.app.call_with(Some(self.token(who)), Method::PATCH, path, Some(body), Some(version)).await
    }

    /// An action taken out of order: refused (409) with guards, and nothing recorded.
    async fn refused(&self, who: &str, path: &str, body: Value) -> Reply {
        let before = self.app.event_count().await;
        let r = self.post(who, path, body).await;
        assert_eq!(r.status, 409, "{path} by {who} should be refused: {}", r.body);
        assert!(!r.guards().is_empty(), "a refusal names its guards: {}", r.body);
        assert_eq!(self.app.event_count().await, before, "the refused {path} changed nothing");
        r
    }

    /// The audit events of an object since the last look: (action, actor).
    async fn events(&self, object: &str) -> Vec<(String, String)> {
        let v = self.get(&format!("/api/v1/audit/events?object={object}&limit=500")).await;
        let all: Vec<(String, String)> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["action"].as_str().unwrap().to_string(), e["actor"].as_str().unwrap().to_string()))
            .collect();
        let mut seen = self.seen.borrow_mut();
        let from = seen.insert(object.to_string(), all.len()).unwrap_or(0);
        all[from..].to_vec()
    }

    /// The actions of the new audit events of an object, each by whom.
    async fn expect_events(&self, object: &str, expected: &[(&str, &str)]) {
        let got = self.events(object).await;
        let want: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, want, "the audit events of {object}");
    }

    /// As [`Flow::expect_events`], where the engine adds events of its own between them.
    async fn expect_events_include(&self, object: &str, expected: &[(&str, &str)]) {
        let got = self.events(object).await;
        for (action, actor) in expected {
            assert!(
                got.iter().any(|(a, b)| a == action && b == actor),
                "{object}: no '{action}' by {actor} in {got:?}"
            );
        }
    }

    async fn wait_for(&self, path: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.get(path).await;
            if pred(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "{path} never got {what}: {v}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the automation tasks wrote in an environment, line by line.
    fn log(&self, environment: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join(format!("{environment}.log"))).unwrap_or_default();
        text.lines().map(str::to_string).collect()
    }

    /// A shell task that writes a line into the log of the environment it runs in.
    fn sh(&self, line: &str) -> Value {
        let script = format!("echo '{line}' >> {}/$RAILYARD_ENVIRONMENT.log", self.dir.path().display());
        json!({"kind": "command", "program": "/bin/sh", "args": ["-c", script], "timeout_secs": 30})
    }

    fn criterion(&self, name: &str) -> &str {
        &self.criteria[name]
    }

    /// Deploys a turnover into the next stage of its path (erin), lets the engine run its automation
    /// tasks, has the owner complete its manual task, and waits for success.
    async fn deploy_and_run(&self, turnover: &str, environment: &str, manual: &str, owner: &str) -> Value {
        let d = self.post("erin", &format!("/api/v1/turnovers/{turnover}/deploy"), json!({})).await.expect(201);
        assert_eq!(d["environment"], environment, "{d}");
        let path = format!("/api/v1/deployments/{}", id(&d));
        let d = self.wait_for(&path, "its manual run", |d| run(d, manual)["state"] == "waiting_for_owner").await;
        let r = run(&d, manual)["id"].as_str().unwrap().to_string();
        self.post(owner, &format!("{path}/runs/{r}/complete"), json!({"done": true, "note": "checked"})).await.ok();
        self.wait_for(&path, "success", |d| d["state"] == "succeeded").await
    }

    async fn verified(&self, release: &str) -> Value {
        self.get(&format!("/api/v1/application-releases/{release}/verification")).await
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

fn run<'a>(d: &'a Value, title: &str) -> &'a Value {
    d["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == title)
        .unwrap_or_else(|| panic!("no run {title} in {d}"))
}

fn titles(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|x| x["title"].as_str().unwrap()).collect()
}

fn at(secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap().with_timezone(&Utc)
}

/// The seed assumes that the release elements exist ("Creating Release Elements"): people,
/// environments from test to a locked production, an active deployment path, the applications.
async fn release_elements(backend: Backend) -> Flow {
    let app = TestApp::spawn_on(backend).await;
    let mut tokens = HashMap::new();
    for (name, role) in PEOPLE {
        tokens.insert(name, app.user(name, &[role]).await);
    }
    let erin = &tokens["erin"];
    for (name, kind) in [("test", "test"), ("staging", "staging"), ("prod", "production")] {
        let e = app.post(erin, "/api/v1/environments", json!({"name": name, "kind": kind})).await.expect(201);
        assert_eq!(e["locked"], kind == "production", "production is locked: {e}");
    }
    let stages = json!([{"environment": "test"}, {"environment": "staging", "allow_redeploy": true}]);
    let p = app.post(erin, "/api/v1/deployment-paths", json!({"name": "standard", "stages": stages})).await.ok();
    let path = id(&p);
    app.post(erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await.ok();
    for (key, name) in [("LEDGER", "Ledger database"), ("SHOP", "Storefront")] {
        app.post(&tokens["paula"], "/api/v1/applications", json!({"key": key, "name": name})).await.expect(201);
    }
    Flow {
        app,
        tokens,
        seen: RefCell::new(HashMap::new()),
        dir: tempfile::tempdir().unwrap(),
        path,
        train: String::new(),
        criteria: HashMap::new(),
        code_complete: String::new(),
        db: String::new(),
        web: String::new(),
        work_items: HashMap::new(),
        to_db: String::new(),
        to_web: String::new(),
        prod: String::new(),
        prod_deployment: String::new(),
    }
}

// ---------------------------------------------------------------------------------------------------------
// 1. The release train: created, set up, approved, scoped.
// ---------------------------------------------------------------------------------------------------------

/// Ralph creates the train as a draft and sends it for approval at once: with no approvals defined yet it
/// cannot be (every train needs an executive approval, R4), so it stays a draft until step 3 sends it again.
async fn create_the_train_and_send_it_for_approval(f: &mut Flow) {
    let provisional = json!({"start": "2027-01-11", "scoping_end": "2027-01-22", "construction_end": "2027-02-19",
        "verification_end": "2027-03-05", "production_date": "2027-03-13"});
    let t = f
        .post(
            "ralph",
            "/api/v1/trains",
            json!({"title": "Spring 2027", "release_type": "minor", "schedule": provisional}),
        )
        .await
        .expect(201);
    f.train = id(&t);
    assert_eq!((t["state"].as_str(), t["manager"].as_str()), (Some("draft"), Some("ralph")));
    let base = format!("/api/v1/trains/{}", f.train);

    // Scoping, out of order: construction cannot start from draft.
    let r = f.refused("ralph", &format!("{base}/start-construction"), json!({})).await;
    assert_eq!(r.guards(), ["wrong_state"]);
    assert!(r.guard_text().contains("draft"), "{}", r.guard_text());
    let r = f.refused("ralph", &format!("{base}/submit"), json!({})).await;
    assert_eq!(r.guards(), ["executive_policy_missing"]);
    assert_eq!(f.state(&base).await, "draft");
    f.expect_events(&f.train, &[("create", "ralph")]).await;
}

async fn set_type_manager_purpose_and_schedule(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    // Only the manager hands the train over.
    let r = f.patch("rita", &base, &base, json!({"manager": "rita"})).await;
    assert_eq!(r.guards(), ["not_train_manager"]);
    let schedule = json!({"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
        "verification_end": "2027-02-26", "production_date": "2027-03-06"});
    let t = f
        .patch(
            "ralph",
            &base,
            &base,
            json!({"release_type": "major", "manager": "rita", "engineers": ["erin", "ed"],
                "purpose": "Checkout in several currencies", "schedule": schedule}),
        )
        .await
        .ok();
    assert_eq!(
        (t["release_type"].as_str(), t["manager"].as_str(), t["purpose"].as_str()),
        (Some("major"), Some("rita"), Some("Checkout in several currencies"))
    );
    assert_eq!(t["engineers"], json!(["erin", "ed"]));
    assert_eq!(t["schedule"], schedule);
    f.expect_events(&f.train, &[("update", "ralph")]).await;
}

/// Train, development and executive approvals; the train approval is requested and completed.
async fn define_the_three_approvals(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let policies = json!({
        "train": {"levels": [level(&["vera"], 1)]},
        "development": {"levels": [level(&["dave"], 1)]},
        "executive": {"levels": [level(&["eve"], 1)]}
    });
    let t = f.patch("rita", &base, &base, json!({"approval_policies": policies})).await.ok();
    assert_eq!(t["approval_policies"]["executive"]["levels"][0]["approvers"], json!(["eve"]));

    let t = f.post("rita", &format!("{base}/submit"), json!({})).await.ok();
    assert_eq!(t["state"], "awaiting_train_approval");
    let ap = t["train_approval"]["id"].as_str().unwrap().to_string();
    let approval = format!("/api/v1/approvals/{ap}");
    // The requester does not decide her own request (R2).
    let r = f.refused("rita", &format!("{approval}/approve"), json!({})).await;
    assert!(r.guards().contains(&"own_request".to_string()), "{:?}", r.guards());
    let a = f.post("vera", &format!("{approval}/approve"), json!({"comment": "scope fits the quarter"})).await.ok();
    assert_eq!(a["state"], "approved");
    assert_eq!(f.state(&base).await, "scoping");
    f.expect_events(&f.train, &[("update", "rita"), ("submit", "rita"), ("train_approved", "vera")]).await;
    f.expect_events(&ap, &[("request", "rita"), ("approve", "vera"), ("approved", "vera")]).await;
}

/// An exit criterion for each stage gate; the scoping gate also needs approval to pass.
async fn define_exit_criteria(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let t = f.get(&base).await;
    let mut policies = t["approval_policies"].clone();
    policies["gate"] = json!({"levels": [level(&["quinn"], 1)]});
    f.patch("rita", &base, &base, json!({"approval_policies": policies})).await.ok();
    for (name, gate, body) in [
        ("scope", "scoping", json!({"title": "Scope agreed with the product owners", "owner": "paula"})),
        ("code", "construction", json!({"title": "Code frozen, unit tests green", "owner": "dan"})),
        (
            "regression",
            "verification",
            json!({"title": "Regression suite passed", "owner": "quinn", "environment": "staging"}),
        ),
    ] {
        let t = f.post("rita", &format!("{base}/gates/{gate}/criteria"), body.clone()).await.expect(201);
        let c = t["gates"][gate]["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"] == body["title"])
            .unwrap()
            .clone();
        assert_eq!(c["state"], "open");
        f.criteria.insert(name, id(&c));
    }
    let t = f.patch("rita", &format!("{base}/gates/scoping"), &base, json!({"approval_required": true})).await.ok();
    assert_eq!(t["gates"]["scoping"]["approval_required"], true);
    assert_eq!(t["gates"]["verification"]["criteria"][0]["environment"], "staging");
    f.expect_events(
        &f.train,
        &[
            ("update", "rita"),
            ("add_criterion", "rita"),
            ("add_criterion", "rita"),
            ("add_criterion", "rita"),
            ("update_gate", "rita"),
        ],
    )
    .await;
}

/// Milestones for all application releases: "Code complete" is inherited by each, the go/no-go is the
/// train's own.
async fn add_train_milestones(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let t = f
        .post(
            "rita",
            &format!("{base}/milestones"),
            json!({"title": "Code complete", "due": "2027-02-10", "owner": "dan", "inherit": true}),
        )
        .await
        .expect(201);
    f.code_complete = id(&t["milestones"][0]);
    let t = f
        .post("rita", &format!("{base}/milestones"), json!({"title": "Go/no-go", "due": "2027-03-01", "owner": "rita"}))
        .await
        .ok();
    assert_eq!(titles(&t["milestones"]), ["Code complete", "Go/no-go"]);
    assert_eq!(
        (t["milestones"][0]["inherit"].as_bool(), t["milestones"][1]["inherit"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(t["milestones"].as_array().unwrap().iter().all(|m| m["state"] == "open"));
    f.expect_events(&f.train, &[("add_milestone", "rita"), ("add_milestone", "rita")]).await;
}

/// The scoping criterion is met with evidence and the gate approved: the train moves to construction.
async fn verify_the_scoping_criteria(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let scope = f.criterion("scope").to_string();
    // Scoping, out of order: not before the gate is passed.
    let r = f.refused("rita", &format!("{base}/start-construction"), json!({})).await;
    assert_eq!(r.guards(), ["criterion_open", "gate_approval_missing"]);
    assert!(r.guard_text().contains(&scope) && r.guard_text().contains("owner: paula"), "{}", r.guard_text());
    assert_eq!(f.state(&base).await, "scoping");

    let evidence = json!({"evidence": {"note": "signed by both product owners", "link": "https://wiki/spring-scope"}});
    let t = f.post("paula", &format!("{base}/criteria/{scope}/meet"), evidence).await.ok();
    let c = &t["gates"]["scoping"]["criteria"][0];
    assert_eq!((c["state"].as_str(), c["evidence"]["link"].as_str()), (Some("met"), Some("https://wiki/spring-scope")));
    let t = f.post("rita", &format!("{base}/gates/scoping/request-approval"), json!({})).await.ok();
    let gap = t["gates"]["scoping"]["approval"]["id"].as_str().unwrap().to_string();
    let r = f.refused("rita", &format!("{base}/start-construction"), json!({})).await;
    assert_eq!(r.guards(), ["gate_approval_not_granted"]);
    f.post("quinn", &format!("/api/v1/approvals/{gap}/approve"), json!({})).await.ok();
    let t = f.post("rita", &format!("{base}/start-construction"), json!({})).await.ok();
    assert_eq!(t["state"], "construction");
    assert_eq!(t["gates"]["scoping"]["approval"]["state"], "approved");
    f.expect_events(
        &f.train,
        &[
            ("meet_criterion", "paula"),
            ("request_gate_approval", "rita"),
            ("gate_approval_decided", "quinn"),
            ("start_construction", "rita"),
        ],
    )
    .await;
    f.expect_events(&gap, &[("request", "rita"), ("approve", "quinn"), ("approved", "quinn")]).await;
}

// ---------------------------------------------------------------------------------------------------------
// 2. Application releases on the train.
// ---------------------------------------------------------------------------------------------------------

/// Paula proposes a release of each application to the train; rita accepts them.
async fn create_application_releases(f: &mut Flow) {
    let window = json!({"start": "2027-01-15", "end": "2027-02-12"});
    let mut ids = Vec::new();
    for (title, app) in [("Ledger 4.2", "LEDGER"), ("Storefront 7.1", "SHOP")] {
        let r = f
            .post(
                "paula",
                "/api/v1/application-releases",
                json!({"title": title, "application": app, "train": f.train, "schedule": window}),
            )
            .await
            .expect(201);
        assert_eq!(
            (r["application"].as_str(), r["state"].as_str(), r["membership"]["state"].as_str()),
            (Some(app), Some("planning"), Some("proposed"))
        );
        ids.push(id(&r));
    }
    (f.db, f.web) = (ids[0].clone(), ids[1].clone());
    // A product owner proposes; a release manager accepts.
    f.post("paula", &format!("/api/v1/application-releases/{}/accept", f.db), json!({})).await.expect(403);
    for r in [&f.db, &f.web] {
        let a = f.post("rita", &format!("/api/v1/application-releases/{r}/accept"), json!({})).await.ok();
        assert_eq!(
            (a["membership"]["state"].as_str(), a["membership"]["decided_by"].as_str()),
            (Some("accepted"), Some("rita"))
        );
    }
    let members = f.get(&format!("/api/v1/application-releases?train={}", f.train)).await;
    assert_eq!(members["items"].as_array().unwrap().len(), 2);
    for r in [&f.db, &f.web] {
        // The train is in construction: accepted releases inherit its milestones at once (step 10).
        f.expect_events(
            r,
            &[("create", "paula"), ("propose", "paula"), ("accept", "rita"), ("inherit_milestones", "rita")],
        )
        .await;
    }
}

async fn set_their_schedules(f: &mut Flow) {
    for (r, start, end) in [(&f.db, "2027-01-18", "2027-02-05"), (&f.web, "2027-01-25", "2027-02-12")] {
        let path = format!("/api/v1/application-releases/{r}");
        // Never outside the train's window.
        let bad = f.patch("paula", &path, &path, json!({"schedule": {"start": "2026-12-01", "end": end}})).await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert_eq!(bad.body["errors"][0]["field"], "schedule.start");
        let v = f.patch("paula", &path, &path, json!({"schedule": {"start": start, "end": end}})).await.ok();
        assert_eq!(v["schedule"], json!({"start": start, "end": end}));
        f.expect_events(r, &[("update", "paula")]).await;
    }
}

/// The storefront depends on the ledger: a cycle is refused, and the overlap is reported as a conflict.
async fn note_dependencies(f: &mut Flow) {
    let (db, web) = (f.db.clone(), f.web.clone());
    f.post("paula", &format!("/api/v1/application-releases/{web}/dependencies"), json!({"depends_on": db})).await.ok();
    let r = f
        .refused("paula", &format!("/api/v1/application-releases/{db}/dependencies"), json!({"depends_on": web}))
        .await;
    assert_eq!(r.guards(), ["dependency_cycle"]);
    assert!(r.guard_text().contains(&format!("{db} → {web} → {db}")), "{}", r.guard_text());
    // The storefront starts on 2027-01-25, before the ledger ends on 2027-02-05 (R5).
    let c = f.get(&format!("/api/v1/trains/{}/conflicts", f.train)).await;
    assert_eq!(c["items"].as_array().unwrap().len(), 1, "{c}");
    assert_eq!(
        (c["items"][0]["dependent"].as_str(), c["items"][0]["dependency"].as_str()),
        (Some(web.as_str()), Some(db.as_str()))
    );
    let o = f.get(&format!("/api/v1/trains/{}/order", f.train)).await;
    let order: Vec<&str> = o["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(order, [db.as_str(), web.as_str()]);
    f.expect_events(&web, &[("add_dependency", "paula")]).await;
    f.expect_events(&db, &[]).await;
}

/// Each release carries the train's common milestone and gets its own; moving the common one moves the
/// copies.
async fn add_and_inherit_milestones(f: &mut Flow) {
    for r in [&f.db, &f.web] {
        let v = f.get(&format!("/api/v1/application-releases/{r}")).await;
        assert_eq!(titles(&v["milestones"]), ["Code complete"], "only `inherit` milestones are copied");
        assert_eq!(v["milestones"][0]["inherited_from"], f.code_complete.as_str());
    }
    for (r, title, due) in [(&f.db, "Migration rehearsed", "2027-02-01"), (&f.web, "Checkout demo", "2027-02-08")] {
        let v = f
            .post("paula", &format!("/api/v1/application-releases/{r}/milestones"), json!({"title": title, "due": due}))
            .await
            .expect(201);
        assert_eq!(titles(&v["milestones"]), ["Code complete", title]);
    }
    let train = format!("/api/v1/trains/{}", f.train);
    f.patch("rita", &format!("{train}/milestones/{}", f.code_complete), &train, json!({"due": "2027-02-11"}))
        .await
        .ok();
    for r in [&f.db, &f.web] {
        assert_eq!(f.get(&format!("/api/v1/application-releases/{r}")).await["milestones"][0]["due"], "2027-02-11");
    }
    f.expect_events(&f.train, &[("edit_milestone", "rita")]).await;
    for r in [&f.db, &f.web] {
        f.expect_events(r, &[("add_milestone", "paula"), ("follow_milestone", "rita")]).await;
    }
}

/// Business requests and development tasks: the ledger's one by one, the storefront's imported.
async fn associate_business_requests_and_development_tasks(f: &mut Flow) {
    for (key, title, kind) in [
        ("LEDGER-1", "Balances in several currencies", "business_request"),
        ("LEDGER-2", "Currency column in the ledger", "development_task"),
    ] {
        let w = f
            .post(
                "paula",
                &format!("/api/v1/application-releases/{}/work-items", f.db),
                json!({"key": key, "title": title, "kind": kind}),
            )
            .await
            .expect(201);
        assert_eq!(w["status"], "open");
        f.work_items.insert(key, id(&w));
    }
    let items = json!([
        {"key": "SHOP-7", "title": "Checkout in euros", "kind": "business_request", "source": "jira"},
        {"key": "SHOP-8", "title": "Currency picker", "kind": "development_task", "source": "jira"},
        {"key": "SHOP-9", "title": "Price rounding per currency", "kind": "development_task", "source": "jira"}
    ]);
    let res = f
        .app
        .http
        .post(format!("{}/api/v1/application-releases/{}/work-items/import", f.app.base, f.web))
        .bearer_auth(f.token("paula"))
        .header("Content-Type", "application/json")
        .body(items.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["created"], 3);
    let list = f.get(&format!("/api/v1/application-releases/{}/work-items", f.web)).await;
    for w in list["items"].as_array().unwrap() {
        let key = ["SHOP-7", "SHOP-8", "SHOP-9"].into_iter().find(|k| w["key"] == *k).unwrap();
        f.work_items.insert(key, id(w));
    }
    // Construction, out of order: no turnover before work on the release has begun (R6).
    let spec = json!({"title": "too early", "release": f.db, "path": f.path});
    let r = f.refused("dan", "/api/v1/turnovers", spec).await;
    assert_eq!(r.guards(), ["release_not_begun"]);
    for key in ["LEDGER-1", "LEDGER-2"] {
        f.expect_events(&f.work_items[key], &[("create", "paula")]).await;
    }
    for key in ["SHOP-7", "SHOP-8", "SHOP-9"] {
        f.expect_events(&f.work_items[key], &[("import_create", "paula")]).await;
    }
    f.expect_events(&f.web, &[("import_work_items", "paula")]).await;
    f.expect_events(&f.db, &[]).await;
}

// ---------------------------------------------------------------------------------------------------------
// 3. Construction.
// ---------------------------------------------------------------------------------------------------------

/// Work begins on both releases, the work items get done (but one), and code is complete.
async fn construct(f: &mut Flow) {
    for r in [&f.db, &f.web] {
        let v = f.post("paula", &format!("/api/v1/application-releases/{r}/begin-work"), json!({})).await.ok();
        assert_eq!(v["state"], "construction");
    }
    for (key, status) in
        [("LEDGER-1", "done"), ("LEDGER-2", "done"), ("SHOP-7", "done"), ("SHOP-8", "done"), ("SHOP-9", "in_progress")]
    {
        let path = format!("/api/v1/work-items/{}", f.work_items[key]);
        let w = f.call("paula", Method::PATCH, &path, Some(json!({"status": status}))).await.ok();
        assert_eq!(w["status"], status);
        f.expect_events(&f.work_items[key], &[("update", "paula")]).await;
    }
    for r in [&f.db, &f.web] {
        let path = format!("/api/v1/application-releases/{r}/milestones/{}/complete", f.code_complete);
        let v = f.post("dan", &path, json!({})).await.ok();
        assert_eq!(v["milestones"][0]["state"], "completed");
        f.expect_events(r, &[("begin_work", "paula"), ("complete_milestone", "dan")]).await;
    }
}

/// The train's timeline and the application releases' bars, as a chart draws them.
async fn monitor_status_on_the_timelines(f: &mut Flow) {
    let tl = f.get(&format!("/api/v1/trains/{}/timeline", f.train)).await;
    assert_eq!(tl["state"], "construction");
    let stages = tl["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(names, ["scoping", "construction", "verification", "deployment"]);
    assert_eq!(
        (stages[1]["planned_start"].as_str(), stages[1]["planned_end"].as_str()),
        (Some("2027-01-15"), Some("2027-02-12"))
    );
    assert!(stages[0]["actual_start"].is_string() && stages[0]["actual_end"].is_string(), "{}", stages[0]);
    assert!(stages[1]["actual_start"].is_string() && stages[1]["actual_end"].is_null(), "{}", stages[1]);
    assert!(stages[2]["actual_start"].is_null() && stages[3]["actual_start"].is_null());
    assert!(tl["gates"][0]["passed_at"].is_string() && tl["gates"][1]["passed_at"].is_null(), "{}", tl["gates"]);
    assert_eq!(titles(&tl["milestones"]), ["Code complete", "Go/no-go"]);
    let bars = tl["releases"].as_array().unwrap();
    let bar = |r: &str| bars.iter().find(|b| b["id"] == r).unwrap_or_else(|| panic!("no bar of {r}")).clone();
    let (db, web) = (bar(&f.db), bar(&f.web));
    assert_eq!((db["planned_start"].as_str(), db["planned_end"].as_str()), (Some("2027-01-18"), Some("2027-02-05")));
    for b in [&db, &web] {
        assert_eq!(b["state"], "construction");
        assert!(b["actual_start"].is_string() && b["actual_end"].is_null(), "{b}");
        assert_eq!(b["milestones"][0]["state"], "completed", "{b}");
        assert_eq!(b["milestones"][1]["state"], "open", "{b}");
    }
    assert_eq!(web["depends_on"], json!([f.db]));
    // Looking changes nothing.
    f.expect_events(&f.train, &[]).await;
}

/// Dan packages each release's build as a turnover on the standard path.
async fn create_turnovers(f: &mut Flow) {
    let mut ids = Vec::new();
    for (r, title, artifact) in [
        (&f.db, "Ledger 4.2 build 318", json!({"name": "ledger-migrations", "version": "4.2.318"})),
        (
            &f.web,
            "Storefront 7.1 build 1207",
            json!({"name": "storefront", "version": "7.1.1207", "digest": "sha256:5e1f"}),
        ),
    ] {
        let t = f
            .post(
                "dan",
                "/api/v1/turnovers",
                json!({"title": title, "release": r, "path": f.path, "artifacts": [artifact]}),
            )
            .await
            .expect(201);
        assert_eq!(
            (t["state"].as_str(), t["kind"].as_str(), t["developer"].as_str()),
            (Some("draft"), Some("standard"), Some("dan"))
        );
        let envs: Vec<&str> =
            t["stages"].as_array().unwrap().iter().map(|s| s["environment"].as_str().unwrap()).collect();
        assert_eq!(envs, ["test", "staging"]);
        ids.push(id(&t));
    }
    (f.to_db, f.to_web) = (ids[0].clone(), ids[1].clone());
    for t in [&f.to_db, &f.to_web] {
        f.expect_events(t, &[("create", "dan")]).await;
    }
}

/// Only done work items of the turnover's own release are linked (R7).
async fn associate_completed_work_items(f: &mut Flow) {
    let w = |k: &str| f.work_items[k].clone();
    let r = f
        .refused(
            "dan",
            &format!("/api/v1/turnovers/{}/work-items", f.to_web),
            json!({"work_items": [w("SHOP-8"), w("SHOP-9")]}),
        )
        .await;
    assert_eq!(r.guards(), ["work_item_not_done"]);
    assert!(r.guard_text().contains("SHOP-9"), "{}", r.guard_text());
    let r = f
        .refused("dan", &format!("/api/v1/turnovers/{}/work-items", f.to_db), json!({"work_items": [w("SHOP-7")]}))
        .await;
    assert_eq!(r.guards(), ["work_item_elsewhere"]);
    assert!(r.guard_text().contains(&f.web), "{}", r.guard_text());
    for (t, keys) in [(&f.to_db, ["LEDGER-1", "LEDGER-2"]), (&f.to_web, ["SHOP-7", "SHOP-8"])] {
        let items: Vec<String> = keys.iter().map(|k| w(k)).collect();
        let v = f.post("dan", &format!("/api/v1/turnovers/{t}/work-items"), json!({"work_items": items})).await.ok();
        assert_eq!(v["work_items"], json!(items));
        f.expect_events(t, &[("link_work_items", "dan")]).await;
    }
}

/// Automation tasks (real processes) and manual tasks with their owners, in sequence.
async fn add_deployment_tasks(f: &mut Flow) {
    let tasks = [
        (
            &f.to_db,
            json!({"title": "Migrate ledger schema", "sequence": 1, "tier": "database", "action": f.sh("migrate ledger")}),
        ),
        (&f.to_db, json!({"title": "Check ledger balances", "sequence": 2, "owner": "paula"})),
        (
            &f.to_web,
            json!({"title": "Migrate shop schema", "sequence": 1, "tier": "database", "action": f.sh("migrate shop")}),
        ),
        (
            &f.to_web,
            json!({"title": "Deploy storefront", "sequence": 2, "tier": "web", "action": f.sh("deploy storefront")}),
        ),
        (&f.to_web, json!({"title": "Smoke-test checkout", "sequence": 3, "owner": "quinn"})),
    ];
    for (t, body) in tasks {
        f.post("dan", &format!("/api/v1/turnovers/{t}/tasks"), body).await.expect(201);
    }
    let db = f.get(&format!("/api/v1/turnovers/{}", f.to_db)).await;
    assert_eq!(titles(&db["tasks"]), ["Migrate ledger schema", "Check ledger balances"]);
    let web = f.get(&format!("/api/v1/turnovers/{}", f.to_web)).await;
    assert_eq!(titles(&web["tasks"]), ["Migrate shop schema", "Deploy storefront", "Smoke-test checkout"]);
    assert_eq!(web["tasks"][2]["owner"], "quinn");
    f.expect_events(&f.to_db, &[("add_task", "dan"), ("add_task", "dan")]).await;
    f.expect_events(&f.to_web, &[("add_task", "dan"), ("add_task", "dan"), ("add_task", "dan")]).await;
}

/// The development (construction) gate's criterion is met by its owner.
async fn verify_the_development_gate(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let code = f.criterion("code").to_string();
    // Construction, out of order: verification cannot start with the gate open and no release approved.
    let r = f.refused("rita", &format!("{base}/start-verification"), json!({})).await;
    assert_eq!(r.guards(), ["criterion_open", "release_not_development_approved", "release_not_development_approved"]);
    assert!(r.guard_text().contains(&f.db) && r.guard_text().contains(&f.web), "{}", r.guard_text());
    let t = f
        .post(
            "dan",
            &format!("{base}/criteria/{code}/meet"),
            json!({"evidence": {"note": "CI run 5121 green", "link": "https://ci/5121"}}),
        )
        .await
        .ok();
    assert_eq!(t["gates"]["construction"]["criteria"][0]["state"], "met");
    assert_eq!(f.state(&base).await, "construction");
    f.expect_events(&f.train, &[("meet_criterion", "dan")]).await;
}

/// Construction is complete: each release is development-approved, and the train moves to verification.
async fn send_for_development_approval(f: &mut Flow) {
    for r in [&f.db, &f.web] {
        let path = format!("/api/v1/application-releases/{r}");
        let v = f.post("paula", &format!("{path}/request-development-approval"), json!({})).await.ok();
        assert_eq!(v["state"], "awaiting_development_approval");
        let ap = v["development_approval"]["id"].as_str().unwrap().to_string();
        let r2 = f.refused("rita", &format!("/api/v1/approvals/{ap}/approve"), json!({})).await;
        assert_eq!(r2.guards(), ["not_an_approver"]);
        f.post("dave", &format!("/api/v1/approvals/{ap}/approve"), json!({"comment": "reviewed"})).await.ok();
        assert_eq!(f.state(&path).await, "verification");
        f.expect_events(r, &[("request_development_approval", "paula"), ("development_approved", "dave")]).await;
    }
    let t = f.post("rita", &format!("/api/v1/trains/{}/start-verification", f.train), json!({})).await.ok();
    assert_eq!(t["state"], "verification");
    f.expect_events(&f.train, &[("start_verification", "rita")]).await;
}

// ---------------------------------------------------------------------------------------------------------
// 4. Deploy and validate through the pre-production environments.
// ---------------------------------------------------------------------------------------------------------

/// Both turnovers into test: the engine runs the automation tasks, the owners complete the manual ones,
/// QA validates.
async fn deploy_and_validate_through_test_and_staging(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    // Verification, out of order: no executive approval before the gate is passed and the releases verified.
    let r = f.refused("rita", &format!("{base}/request-executive-approval"), json!({})).await;
    assert_eq!(r.guards(), ["criterion_open", "release_not_verified", "release_not_verified"]);
    let missing = format!("turnover {} has no validated deployment in test, staging", f.to_db);
    assert!(r.guard_text().contains(&missing), "{}", r.guard_text());
    // Developers do not deploy.
    f.post("dan", &format!("/api/v1/turnovers/{}/deploy", f.to_db), json!({})).await.expect(403);

    let d = f.post("erin", &format!("/api/v1/turnovers/{}/deploy", f.to_db), json!({})).await.expect(201);
    assert_eq!((d["environment"].as_str(), d["attempt"].as_u64()), (Some("test"), Some(1)));
    let db_test = format!("/api/v1/deployments/{}", id(&d));
    let d = f
        .wait_for(&db_test, "its manual run", |d| run(d, "Check ledger balances")["state"] == "waiting_for_owner")
        .await;
    assert_eq!(run(&d, "Migrate ledger schema")["state"], "succeeded");
    assert_eq!(f.log("test"), ["migrate ledger"]);
    let check = run(&d, "Check ledger balances");
    assert_eq!(check["owner"], "paula");
    let complete = format!("{db_test}/runs/{}/complete", check["id"].as_str().unwrap());
    let r = f.refused("dan", &complete, json!({"done": true})).await;
    assert_eq!(r.guards(), ["not_run_owner"]);
    f.post("paula", &complete, json!({"done": true, "note": "balances match"})).await.ok();
    let d = f.wait_for(&db_test, "success", |d| d["state"] == "succeeded").await;
    assert_eq!(run(&d, "Check ledger balances")["completed_by"], "paula");
    let r = f.refused("erin", &format!("/api/v1/turnovers/{}/deploy", f.to_db), json!({})).await;
    assert_eq!(r.guards(), ["awaiting_validation"]);
    f.post("quinn", &format!("{db_test}/validate"), json!({"passed": true})).await.ok();

    let d = f.deploy_and_run(&f.to_web, "test", "Smoke-test checkout", "quinn").await;
    assert_eq!(run(&d, "Deploy storefront")["state"], "succeeded");
    assert_eq!(f.log("test"), ["migrate ledger", "migrate shop", "deploy storefront"]);
    let web_test = format!("/api/v1/deployments/{}", id(&d));
    f.post("quinn", &format!("{web_test}/validate"), json!({"passed": true, "note": "checkout works"})).await.ok();

    for (t, r, dep) in [(&f.to_db, &f.db, &db_test), (&f.to_web, &f.web, &web_test)] {
        assert_eq!(f.state(&format!("/api/v1/turnovers/{t}")).await, "in_flight");
        assert_eq!(f.state(dep).await, "validated");
        let v = f.verified(r).await;
        assert_eq!((v["verified"].as_bool(), v["missing"].clone()), (Some(false), json!(["staging"])), "{v}");
        f.expect_events(t, &[("deploy", "erin")]).await;
    }
    let dep = db_test.rsplit('/').next().unwrap();
    f.expect_events_include(
        dep,
        &[
            ("start", "system"),
            ("start_group", "system"),
            ("finish_run", "system"),
            ("manual_run_ready", "system"),
            ("complete_run", "paula"),
            ("succeed", "system"),
            ("validate", "quinn"),
        ],
    )
    .await;
}

/// Validated in test, both turnovers are promoted to staging, the next stage of their path.
async fn promote(f: &mut Flow) {
    for (t, manual, owner) in
        [(&f.to_db, "Check ledger balances", "paula"), (&f.to_web, "Smoke-test checkout", "quinn")]
    {
        let d = f.deploy_and_run(t, "staging", manual, owner).await;
        assert_eq!(d["attempt"], 1);
        f.expect_events_include(
            &id(&d),
            &[("schedule", "erin"), ("start", "system"), ("complete_run", owner), ("succeed", "system")],
        )
        .await;
        // Still in flight: a promotion is a new deployment of the same turnover.
        assert_eq!(f.state(&format!("/api/v1/turnovers/{t}")).await, "in_flight");
        f.expect_events(t, &[]).await;
    }
    assert_eq!(f.log("staging"), ["migrate ledger", "migrate shop", "deploy storefront"]);
}

/// The ledger fails validation in staging; dan fixes its migration and it is redeployed and passes.
async fn fix_and_redeploy_a_failed_validation(f: &mut Flow) {
    let list = f.get(&format!("/api/v1/deployments?turnover={}&environment=staging", f.to_db)).await;
    let failed = id(&list["items"][0]);
    let path = format!("/api/v1/deployments/{failed}");
    f.post("quinn", &format!("{path}/validate"), json!({"passed": false})).await.expect(422);
    f.post("quinn", &format!("{path}/validate"), json!({"passed": false, "note": "balances off by a cent"})).await.ok();
    assert_eq!(f.state(&path).await, "rejected");
    assert_eq!(f.verified(&f.db).await["missing"], json!(["staging"]));

    let t = f.get(&format!("/api/v1/turnovers/{}", f.to_db)).await;
    let task = id(&t["tasks"][0]);
    let fixed = json!({"action": f.sh("migrate ledger, rounding fixed")});
    f.call("dan", Method::PATCH, &format!("/api/v1/turnovers/{}/tasks/{task}", f.to_db), Some(fixed)).await.ok();
    let d = f.deploy_and_run(&f.to_db, "staging", "Check ledger balances", "paula").await;
    assert_eq!(d["attempt"], 2, "redeployed into staging");
    assert_eq!(f.log("staging").last().unwrap(), "migrate ledger, rounding fixed");
    f.post("quinn", &format!("/api/v1/deployments/{}/validate", id(&d)), json!({"passed": true})).await.ok();
    assert_eq!(f.state(&format!("/api/v1/turnovers/{}", f.to_db)).await, "completed");
    let v = f.verified(&f.db).await;
    assert_eq!((v["verified"].as_bool(), v["turnover"].as_str()), (Some(true), Some(f.to_db.as_str())), "{v}");
    f.expect_events(&f.to_db, &[("edit_task", "dan"), ("complete", "quinn")]).await;
    f.expect_events_include(&failed, &[("validate", "quinn")]).await;
}

/// While the storefront awaits validation in staging, paula sends it back to construction (R10): its
/// turnover returns to draft and the train to construction. It then goes through construction again, is
/// development-approved, and its turnover goes through test and staging once more.
async fn send_one_release_back_to_construction_and_forward_again(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let (web, to_web) = (f.web.clone(), f.to_web.clone());
    let release = format!("/api/v1/application-releases/{web}");
    f.post("paula", &format!("{release}/send-back"), json!({})).await.expect(422);
    let v = f
        .post("paula", &format!("{release}/send-back"), json!({"reason": "checkout must show VAT per line"}))
        .await
        .ok();
    assert_eq!(v["state"], "construction");
    assert_eq!(f.state(&format!("/api/v1/turnovers/{to_web}")).await, "draft");
    assert_eq!(f.state(&base).await, "construction");
    assert_eq!(f.state(&format!("/api/v1/application-releases/{}", f.db)).await, "verification");
    // Construction again, out of order: no executive approval from construction, nor with the storefront
    // unverified (the regression criterion is still open, too).
    let r = f.refused("rita", &format!("{base}/request-executive-approval"), json!({})).await;
    assert_eq!(r.guards(), ["wrong_state", "criterion_open", "release_not_verified"]);
    assert!(r.guard_text().contains("is construction") && r.guard_text().contains(&web), "{}", r.guard_text());
    f.expect_events(&web, &[("send_back", "paula")]).await;
    f.expect_events(&to_web, &[("back_to_draft", "paula")]).await;
    f.expect_events(&f.train, &[("release_sent_back", "paula")]).await;

    // Forward again: the new work item is done and linked, the task changed, development approved.
    let w = f
        .post(
            "paula",
            &format!("{release}/work-items"),
            json!({"key": "SHOP-10", "title": "VAT per line", "kind": "development_task", "status": "done"}),
        )
        .await
        .expect(201);
    f.post("dan", &format!("/api/v1/turnovers/{to_web}/work-items"), json!({"work_items": [id(&w)]})).await.ok();
    let t = f.get(&format!("/api/v1/turnovers/{to_web}")).await;
    let deploy = id(&t["tasks"][1]);
    let body = json!({"action": f.sh("deploy storefront with VAT")});
    f.call("dan", Method::PATCH, &format!("/api/v1/turnovers/{to_web}/tasks/{deploy}"), Some(body)).await.ok();
    let v = f.post("paula", &format!("{release}/request-development-approval"), json!({})).await.ok();
    let ap = v["development_approval"]["id"].as_str().unwrap().to_string();
    f.post("dave", &format!("/api/v1/approvals/{ap}/approve"), json!({})).await.ok();
    assert_eq!(f.state(&release).await, "verification");
    f.post("rita", &format!("{base}/start-verification"), json!({})).await.ok();
    assert_eq!(f.state(&base).await, "verification");
    assert_eq!(f.verified(&web).await["verified"], false, "validated before it went back: that no longer counts");

    // Through test and staging again.
    let d = f.deploy_and_run(&to_web, "test", "Smoke-test checkout", "quinn").await;
    f.post("quinn", &format!("/api/v1/deployments/{}/validate", id(&d)), json!({"passed": true})).await.ok();
    let d = f.deploy_and_run(&to_web, "staging", "Smoke-test checkout", "quinn").await;
    f.post("quinn", &format!("/api/v1/deployments/{}/validate", id(&d)), json!({"passed": true})).await.ok();
    assert_eq!(f.log("staging").last().unwrap(), "deploy storefront with VAT");
    assert_eq!(f.state(&format!("/api/v1/turnovers/{to_web}")).await, "completed");
    assert_eq!(f.verified(&web).await["verified"], true);
    f.expect_events(&web, &[("request_development_approval", "paula"), ("development_approved", "dave")]).await;
    f.expect_events(
        &to_web,
        &[("link_work_items", "dan"), ("edit_task", "dan"), ("deploy", "erin"), ("complete", "quinn")],
    )
    .await;
    f.expect_events(&f.train, &[("start_verification", "rita")]).await;
}

// ---------------------------------------------------------------------------------------------------------
// 5. Executive approval.
// ---------------------------------------------------------------------------------------------------------

/// The verification gate is met; the executive first rejects back to verification, then approves.
async fn executive_approval(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let regression = f.criterion("regression").to_string();
    f.post(
        "quinn",
        &format!("{base}/criteria/{regression}/meet"),
        json!({"evidence": {"note": "412 passed in staging"}}),
    )
    .await
    .ok();
    let t = f.post("rita", &format!("{base}/request-executive-approval"), json!({})).await.ok();
    assert_eq!(t["state"], "awaiting_executive_approval");
    let first = t["executive_approval"]["id"].as_str().unwrap().to_string();
    // Executive approval, out of order: the train cannot close, and nobody but the executive decides.
    let r = f.refused("rita", &format!("{base}/close"), json!({})).await;
    assert_eq!(r.guards(), ["wrong_state"]);
    assert!(r.guard_text().contains("awaiting_executive_approval"), "{}", r.guard_text());
    let r = f.refused("dave", &format!("/api/v1/approvals/{first}/approve"), json!({})).await;
    assert_eq!(r.guards(), ["not_an_approver"]);

    f.post("eve", &format!("/api/v1/approvals/{first}/reject"), json!({"comment": "no"})).await.expect(422);
    f.post(
        "eve",
        &format!("/api/v1/approvals/{first}/reject"),
        json!({"comment": "wait for the payment provider's certificate", "return_to": "verification"}),
    )
    .await
    .ok();
    assert_eq!(f.state(&base).await, "verification");
    let t = f.post("rita", &format!("{base}/request-executive-approval"), json!({})).await.ok();
    let second = t["executive_approval"]["id"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    f.post("eve", &format!("/api/v1/approvals/{second}/approve"), json!({"comment": "certificate in place"}))
        .await
        .ok();
    assert_eq!(f.state(&base).await, "deployment");
    f.expect_events(
        &f.train,
        &[
            ("meet_criterion", "quinn"),
            ("request_executive_approval", "rita"),
            ("executive_rejected", "eve"),
            ("request_executive_approval", "rita"),
            ("executive_approved", "eve"),
        ],
    )
    .await;
    f.expect_events(&first, &[("request", "rita"), ("reject", "eve"), ("rejected", "eve")]).await;
    f.expect_events(&second, &[("request", "rita"), ("approve", "eve"), ("approved", "eve")]).await;
}

// ---------------------------------------------------------------------------------------------------------
// 6–8. Into production.
// ---------------------------------------------------------------------------------------------------------

/// One production-ready turnover spans both releases: made from the storefront's validated turnover, the
/// ledger's tasks copied in, and reordered as proposed, every database task first.
async fn production_ready_turnovers(f: &mut Flow) {
    let t = f
        .post(
            "erin",
            "/api/v1/production-turnovers",
            json!({"title": "Spring 2027 go-live", "releases": [f.db, f.web], "environments": ["prod"], "from": f.to_web}),
        )
        .await
        .expect(201);
    f.prod = id(&t);
    let base = format!("/api/v1/turnovers/{}", f.prod);
    assert_eq!((t["kind"].as_str(), t["state"].as_str()), (Some("production_ready"), Some("draft")));
    assert_eq!(titles(&t["tasks"]), ["Migrate shop schema", "Deploy storefront", "Smoke-test checkout"]);
    let t = f.post("erin", &format!("{base}/tasks/copy"), json!({"from": [f.to_db]})).await.ok();
    assert_eq!(t["tasks"].as_array().unwrap().len(), 5);

    let p = f.get(&format!("{base}/proposed-order")).await;
    let groups: Vec<&str> = p["groups"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert!(groups[0].starts_with("sequence 1: database tasks of") && groups[0].contains(&f.db), "{groups:?}");
    let t = f.post("erin", &format!("{base}/tasks/reorder"), json!({"order": p["order"]})).await.ok();
    assert_eq!(
        titles(&t["tasks"]),
        [
            "Migrate ledger schema",
            "Check ledger balances",
            "Migrate shop schema",
            "Deploy storefront",
            "Smoke-test checkout"
        ]
    );
    let sequences: Vec<u64> = t["tasks"].as_array().unwrap().iter().map(|k| k["sequence"].as_u64().unwrap()).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "one after the other: {sequences:?}");

    // Deployment, out of order: nothing goes into locked production by hand, nor is scheduled unaccepted.
    let r = f.refused("erin", &format!("{base}/deploy"), json!({})).await;
    assert!(r.guards().contains(&"production_ready".to_string()), "{:?}", r.guards());
    let r = f.refused("erin", &format!("{base}/schedule"), json!({"environment": "prod", "at": at(60)})).await;
    assert_eq!(r.guards(), ["not_accepted"]);
    f.expect_events(&f.prod, &[("create", "erin"), ("copy_tasks", "erin"), ("reorder_tasks", "erin")]).await;
}

/// Delivered to release engineering: its maker cannot accept it; ed rejects it once, then accepts it.
async fn acceptance_by_release_engineering(f: &mut Flow) {
    let base = format!("/api/v1/turnovers/{}", f.prod);
    assert_eq!(f.post("erin", &format!("{base}/deliver"), json!({})).await.ok()["state"], "delivered");
    let r = f.refused("erin", &format!("{base}/accept"), json!({})).await;
    assert_eq!(r.guards(), ["own_turnover"]);
    let t =
        f.post("ed", &format!("{base}/reject"), json!({"comment": "add the rollback of the migrations"})).await.ok();
    assert_eq!(
        (t["state"].as_str(), t["rejection"].as_str()),
        (Some("draft"), Some("add the rollback of the migrations"))
    );
    let rollback = json!({"title": "Roll back ledger schema", "sequence": 1, "tier": "database", "rollback": true,
        "release": f.db, "action": f.sh("roll back ledger")});
    f.post("erin", &format!("{base}/tasks"), rollback).await.expect(201);
    f.post("erin", &format!("{base}/deliver"), json!({})).await.ok();
    let t = f.post("ed", &format!("{base}/accept"), json!({})).await.ok();
    assert_eq!((t["state"].as_str(), t["accepted_by"].as_str()), (Some("accepted"), Some("ed")));
    // Accepted means frozen (R12).
    let task = id(&t["tasks"][0]);
    let r = f.call("erin", Method::PATCH, &format!("{base}/tasks/{task}"), Some(json!({"title": "changed"}))).await;
    assert_eq!(r.guards(), ["wrong_state", "frozen"]);
    f.expect_events(
        &f.prod,
        &[("deliver", "erin"), ("reject", "ed"), ("add_task", "erin"), ("deliver", "erin"), ("accept", "ed")],
    )
    .await;
}

/// Scheduled a couple of seconds ahead into the locked production environment, the engine starts it on
/// time; the automation tasks run database first, the manual ones wait for their owners.
async fn scheduled_deployment_into_locked_production(f: &mut Flow) {
    let base = format!("/api/v1/turnovers/{}", f.prod);
    let d = f.post("erin", &format!("{base}/schedule"), json!({"environment": "prod", "at": at(3)})).await.expect(201);
    assert_eq!(
        (d["state"].as_str(), d["trigger"].as_str(), d["environment"].as_str()),
        (Some("scheduled"), Some("scheduled"), Some("prod"))
    );
    f.prod_deployment = id(&d);
    let path = format!("/api/v1/deployments/{}", f.prod_deployment);
    // Deployment, out of order: not before its time without the manager's override (R11).
    let r = f.refused("erin", &format!("{path}/start"), json!({})).await;
    assert_eq!(r.guards(), ["before_scheduled_time"]);

    for (manual, owner) in [("Check ledger balances", "paula"), ("Smoke-test checkout", "quinn")] {
        let d = f.wait_for(&path, manual, |d| run(d, manual)["state"] == "waiting_for_owner").await;
        let r = run(&d, manual)["id"].as_str().unwrap().to_string();
        f.post(owner, &format!("{path}/runs/{r}/complete"), json!({"done": true, "note": "fine in prod"})).await.ok();
    }
    let d = f.wait_for(&path, "success", |d| d["state"] == "succeeded").await;
    assert!(time(&d["started_at"]) >= time(&d["scheduled_for"]), "never before its time: {d}");
    assert_eq!(f.log("prod"), ["migrate ledger, rounding fixed", "migrate shop", "deploy storefront with VAT"]);
    assert_eq!(f.state(&base).await, "deployed");
    f.expect_events(&f.prod, &[("deploying", "system"), ("deployed", "system")]).await;
    f.expect_events_include(
        &f.prod_deployment,
        &[
            ("schedule", "erin"),
            ("start", "system"),
            ("complete_run", "paula"),
            ("complete_run", "quinn"),
            ("succeed", "system"),
        ],
    )
    .await;
}

/// Verified in production: both releases are released.
async fn verification(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    // Deployment, out of order: the train does not close before its production turnover is verified (R14).
    let r = f.refused("rita", &format!("{base}/close"), json!({})).await;
    assert_eq!(r.guards(), ["turnover_open"]);
    assert!(r.guard_text().contains(&f.prod), "{}", r.guard_text());
    let t = f
        .post(
            "erin",
            &format!("/api/v1/turnovers/{}/verify", f.prod),
            json!({"passed": true, "note": "orders in euros flowing"}),
        )
        .await
        .ok();
    assert_eq!(t["state"], "verified");
    for r in [&f.db, &f.web] {
        assert_eq!(f.state(&format!("/api/v1/application-releases/{r}")).await, "released");
        f.expect_events(r, &[("released", "erin")]).await;
    }
    f.expect_events(&f.prod, &[("verified", "erin")]).await;
}

/// Rita closes the train; what rode on it closes with it, and the whole history is in the audit log.
async fn close_the_train(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let t = f.post("rita", &format!("{base}/close"), json!({})).await.ok();
    assert_eq!(t["state"], "closed");
    assert_eq!(f.state(&format!("/api/v1/turnovers/{}", f.prod)).await, "closed");
    for r in [&f.db, &f.web] {
        assert_eq!(f.state(&format!("/api/v1/application-releases/{r}")).await, "closed");
    }
    let tl = f.get(&format!("{base}/timeline")).await;
    assert!(
        tl["stages"].as_array().unwrap().iter().all(|s| s["actual_start"].is_string() && s["actual_end"].is_string()),
        "{tl}"
    );
    f.expect_events(&f.train, &[("close", "rita")]).await;
    let history: Vec<&str> = t["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(
        history,
        [
            "submit",
            "train_approved",
            "start_construction",
            "start_verification",
            "release_sent_back",
            "start_verification",
            "request_executive_approval",
            "executive_rejected",
            "request_executive_approval",
            "executive_approved",
            "close"
        ]
    );
    assert_eq!(f.get("/api/v1/audit/verify").await["intact"], true);
}
