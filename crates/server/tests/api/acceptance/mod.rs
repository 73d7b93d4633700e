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

mod delivery;
mod planning;

use delivery::*;
use planning::*;

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

    /// An action on someone else's object: refused (403 forbidden) with a guard naming who may, and
    /// nothing recorded.
    async fn denied(&self, who: &str, path: &str, body: Value) -> Reply {
        let before = self.app.event_count().await;
        let r = self.post(who, path, body).await;
        assert_eq!(r.status, 403, "{path} by {who} should be denied: {}", r.body);
        assert_eq!(r.body["code"], "forbidden", "{}", r.body);
        assert!(!r.guards().is_empty(), "a denial names who may: {}", r.body);
        assert_eq!(self.app.event_count().await, before, "the denied {path} changed nothing");
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
        dir: crate::common::tasks_dir(),
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
