//! Issue 7, "a release manager can run the whole flow of the seed from the browser": the seed flow
//! (`seed/release-train-flow.txt`) from the release elements to closing the train, every change made by a
//! person signed in to the console posting a form of a page they opened first. The REST API only reads
//! what the forms left behind.
//!
//! One step function per step of the seed, in its order, as the API's acceptance test has them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Browser, PASSWORD, Page, TestApp};

mod delivery;
mod planning;

use delivery::*;
use planning::*;

/// Who is who: (name, role, display name).
const PEOPLE: [(&str, &str, &str); 10] = [
    ("rita", "release_manager", "Rita, the train's manager"),
    ("vera", "release_manager", "Vera, head of release management"),
    ("erin", "release_engineer", "Erin, deploys"),
    ("quinn", "release_engineer", "Quinn, QA"),
    ("ed", "release_engineer", "Ed, release engineering"),
    ("paula", "product_owner", "Paula, owns the releases"),
    ("eve", "product_owner", "Eve, the executive"),
    ("dan", "developer", "Dan, builds the turnovers"),
    ("dave", "developer", "Dave, the tech lead"),
    ("vic", "viewer", "Vic, looks on"),
];

/// The train's window.
const DATES: [(&str, &str); 5] = [
    ("start", "2027-01-11"),
    ("scoping_end", "2027-01-22"),
    ("construction_end", "2027-02-19"),
    ("verification_end", "2027-03-05"),
    ("production_date", "2027-03-13"),
];

struct Flow {
    app: TestApp,
    people: HashMap<&'static str, Browser>,
    /// Where the automation tasks write what they did, one file per environment.
    dir: tempfile::TempDir,
    path: String,
    train: String,
    criteria: HashMap<&'static str, String>,
    /// The application releases: the ledger, the storefront (depends on the ledger), notifications.
    db: String,
    web: String,
    notify: String,
    work_items: HashMap<&'static str, String>,
    /// Their pre-production turnovers.
    to_db: String,
    to_web: String,
    to_notify: String,
    /// The production-ready turnover spanning all three, and its deployment.
    prod: String,
    prod_deployment: String,
}

#[tokio::test]
async fn the_seed_flow_runs_from_the_browser_from_creating_the_train_to_closing_it() {
    let started = Instant::now();
    let mut f = release_elements().await;
    // 1. Create the release train and send it for approval.
    create_the_train_and_send_it_for_approval(&mut f).await;
    verify_the_scoping_criteria(&mut f).await;
    // 2. Create application releases and associate them with the release train.
    create_application_releases(&mut f).await;
    // 3. Complete construction on the application releases.
    complete_construction(&mut f).await;
    create_turnovers_with_work_items_and_tasks(&mut f).await;
    send_for_development_approval(&mut f).await;
    // 4. Deploy and validate turnovers through the pre-production environments.
    deploy_and_validate_through_test_and_staging(&mut f).await;
    send_one_release_back_to_construction_and_forward_again(&mut f).await;
    start_verification(&mut f).await;
    // 5. Verify and send the release train for executive approval.
    executive_approval(&mut f).await;
    // 6. Create production-ready turnovers.
    production_ready_turnover(&mut f).await;
    // 7. Deliver production-ready turnovers to the release engineering team for acceptance.
    acceptance_by_release_engineering(&mut f).await;
    // 8. Initiate deployment; verify; close the train.
    deployment_into_locked_production(&mut f).await;
    verify_and_close_the_train(&mut f).await;
    eprintln!("the seed flow ran from the browser in {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------------------
// What a person does in a browser.
// ---------------------------------------------------------------------------------------------------------

/// Opens `page` as a person would, checks the form posting to `action` is on it, and posts it with the
/// page's CSRF token and `fields`: the answer must be a redirect (303).
async fn submit(b: &Browser, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    let p = open(b, page, action).await;
    send(b, &p, action, fields).await
}

/// Opens `page` and checks the form posting to `action` is on it.
async fn open(b: &Browser, page: &str, action: &str) -> Page {
    let p = b.get(page).await;
    assert_eq!(p.status, 200, "GET {page}: {}", p.body);
    assert!(p.body.contains(&format!(r#"action="{action}""#)), "no form posting to {action} on {page}:\n{}", p.body);
    p
}

/// Posts the form of an opened page.
async fn send(b: &Browser, p: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
    let csrf = p.csrf();
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let res = b.post(action, &form).await;
    assert_eq!(res.status, 303, "POST {action} {fields:?}:\n{}", res.body);
    res
}

/// The text between `from` (after it) and the next `to` in `text`, the first time.
fn between<'a>(text: &'a str, from: &str, to: &str) -> Option<&'a str> {
    let start = text.find(from)? + from.len();
    let len = text[start..].find(to)?;
    Some(&text[start..start + len])
}

/// The state badge a deployment page shows.
fn deployment_state(p: &Page) -> String {
    let head = between(&p.body, r#"id="deployment-state""#, "</p>").unwrap_or_default();
    between(head, r#"">"#, "</span>").unwrap_or_default().to_string()
}

/// The id of the manual run this person may complete on a deployment page, if any.
fn completable_run(p: &Page, deployment: &str) -> Option<String> {
    between(&p.body, &format!(r#"action="/deployments/{deployment}/runs/"#), "/complete\"").map(str::to_string)
}

impl Flow {
    fn as_(&self, who: &str) -> &Browser {
        self.people.get(who).unwrap_or_else(|| panic!("nobody called {who}"))
    }

    async fn api(&self, path: &str) -> Value {
        self.app.get(&self.app.admin, path).await
    }

    async fn state(&self, path: &str) -> String {
        let v = self.api(path).await;
        v["state"].as_str().unwrap_or_else(|| panic!("{path} has no state: {v}")).to_string()
    }

    async fn train_state(&self) -> String {
        self.state(&format!("/api/v1/trains/{}", self.train)).await
    }

    async fn release_state(&self, r: &str) -> String {
        self.state(&format!("/api/v1/application-releases/{r}")).await
    }

    async fn turnover_state(&self, t: &str) -> String {
        self.state(&format!("/api/v1/turnovers/{t}")).await
    }

    /// Asserts the audit log of `object` has `action` by `actor`.
    async fn assert_did(&self, object: &str, action: &str, actor: &str) {
        let events = self.app.events_of(object).await;
        let got: Vec<String> = events.iter().map(|e| format!("{} by {}", e["action"], e["actor"])).collect();
        assert!(
            events.iter().any(|e| e["action"] == action && e["actor"] == actor),
            "{object}: no {action} by {actor} in {got:?}"
        );
    }

    /// Polls a deployment's page, as its meta refresh would, until `pred` holds.
    async fn watch(&self, who: &str, deployment: &str, what: &str, pred: impl Fn(&Page) -> bool) -> Page {
        let deadline = Instant::now() + Duration::from_secs(30);
        let path = format!("/deployments/{deployment}");
        loop {
            let p = self.as_(who).get(&path).await;
            assert_eq!(p.status, 200, "{}", p.body);
            if pred(&p) {
                return p;
            }
            assert!(Instant::now() < deadline, "{path} never showed {what}:\n{}", p.body);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the deployment page shows it settled in `state`: no more reloading itself.
    async fn settled(&self, who: &str, deployment: &str, state: &str) -> Page {
        let p = self.watch(who, deployment, state, |p| deployment_state(p) == state).await;
        assert!(!p.body.contains(r#"http-equiv="refresh""#), "a settled deployment's page stays still");
        p
    }

    /// Deploys (or promotes) a turnover from its page as erin; has the manual run, if any, completed by its
    /// owner from the deployment page; waits until the page shows it succeeded.
    async fn deploy_and_run(&self, turnover: &str, environment: &str, manual: Option<&str>) -> String {
        let res =
            submit(self.as_("erin"), &format!("/turnovers/{turnover}"), &format!("/turnovers/{turnover}/deploy"), &[])
                .await;
        let d = res.location().strip_prefix("/deployments/").expect("to the deployment's page").to_string();
        let v = self.api(&format!("/api/v1/deployments/{d}")).await;
        assert_eq!(v["environment"], environment, "{v}");
        let live = self.as_("erin").get(&format!("/deployments/{d}")).await;
        if deployment_state(&live) != "succeeded" {
            assert!(live.body.contains(r#"http-equiv="refresh""#), "a running deployment reloads itself");
        }
        if let Some(owner) = manual {
            self.complete_manual_run(owner, &d).await;
        }
        self.settled("erin", &d, "succeeded").await;
        d
    }

    /// As [`Flow::deploy_and_run`], then quinn validates it on the deployment page.
    async fn deploy_and_validate(&self, turnover: &str, environment: &str, manual: Option<&str>) -> String {
        let d = self.deploy_and_run(turnover, environment, manual).await;
        let page = format!("/deployments/{d}");
        submit(
            self.as_("quinn"),
            &page,
            &format!("{page}/validate"),
            &[("outcome", "pass"), ("note", &format!("checked in {environment}"))],
        )
        .await;
        assert_eq!(self.state(&format!("/api/v1/deployments/{d}")).await, "validated");
        assert_eq!(deployment_state(&self.as_("quinn").get(&page).await), "validated");
        d
    }

    /// The owner waits on the deployment page for their manual run, then marks it done there.
    async fn complete_manual_run(&self, owner: &str, d: &str) {
        let p = self.watch(owner, d, "the owner's manual run", |p| completable_run(p, d).is_some()).await;
        let run = completable_run(&p, d).unwrap_or_default();
        // Their dashboard's inbox lists it, linking to this page.
        let inbox = self.as_(owner).get("/").await;
        assert!(inbox.body.contains(&format!(r#"href="/deployments/{d}""#)), "{owner}'s inbox:\n{}", inbox.body);
        let action = format!("/deployments/{d}/runs/{run}/complete");
        let res = send(self.as_(owner), &p, &action, &[("outcome", "done"), ("note", "checked by hand")]).await;
        assert_eq!(res.location(), format!("/deployments/{d}"));
        self.assert_did(d, "complete_run", owner).await;
    }

    /// What the automation tasks wrote in an environment, line by line.
    fn log(&self, environment: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join(format!("{environment}.log"))).unwrap_or_default();
        text.lines().map(str::to_string).collect()
    }

    /// The arguments of a `/bin/sh -c` task writing `line` into its environment's log, one per line.
    fn sh_args(&self, line: &str) -> String {
        format!("-c\necho '{line}' >> {}/$RAILYARD_ENVIRONMENT.log", self.dir.path().display())
    }

    /// Adds an automated `/bin/sh -c 'echo …'` task from the turnover page, as dan.
    async fn add_command_task(&self, turnover: &str, title: &str, sequence: &str, tier: &str, line: &str) {
        let args = self.sh_args(line);
        let page = format!("/turnovers/{turnover}");
        let fields = [
            ("title", title),
            ("kind", "command"),
            ("program", "/bin/sh"),
            ("args", args.as_str()),
            ("timeout_secs", "30"),
            ("owner", ""),
            ("sequence", sequence),
            ("tier", tier),
            ("retries", "0"),
        ];
        let res = submit(self.as_("dan"), &page, &format!("{page}/tasks"), &fields).await;
        assert_eq!(res.location(), format!("{page}#tasks"));
    }
}

// ---------------------------------------------------------------------------------------------------------
// The release elements ("Creating Release Elements"): people, environments, a path, applications.
// ---------------------------------------------------------------------------------------------------------

async fn release_elements() -> Flow {
    let app = TestApp::spawn().await;
    // The bootstrap admin signs in with their token and creates everyone from /users.
    let admin = app.browser();
    let res = admin.sign_in_with_token(&app.admin).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/"), "{}", res.body);
    assert!(admin.get("/").await.body.contains(r#"href="/users""#), "the dashboard links to the users");
    for (name, role, display) in PEOPLE {
        let email = format!("{name}@example.com");
        let fields = [
            ("name", name),
            ("display_name", display),
            ("email", email.as_str()),
            ("roles", role),
            ("password", PASSWORD),
        ];
        let res = submit(&admin, "/users", "/users", &fields).await;
        assert_eq!(res.location(), format!("/users/{name}"));
        let u = app.get(&app.admin, &format!("/api/v1/users/{name}")).await;
        assert_eq!((u["roles"][0].as_str(), u["has_password"].as_bool()), (Some(role), Some(true)), "{u}");
    }
    let mut people = HashMap::new();
    for (name, _, _) in PEOPLE {
        let b = app.browser();
        let res = b.sign_in(name, PASSWORD).await;
        assert_eq!((res.status.as_u16(), res.location()), (303, "/"), "{name}: {}", res.body);
        people.insert(name, b);
    }
    let mut f = Flow {
        app,
        people,
        dir: crate::common::tasks_dir(),
        path: String::new(),
        train: String::new(),
        criteria: HashMap::new(),
        db: String::new(),
        web: String::new(),
        notify: String::new(),
        work_items: HashMap::new(),
        to_db: String::new(),
        to_web: String::new(),
        to_notify: String::new(),
        prod: String::new(),
        prod_deployment: String::new(),
    };
    for (name, _, _) in PEOPLE {
        f.assert_did(name, "create", "admin").await;
        f.assert_did(name, "set_password", "admin").await;
    }

    // Erin: test and staging, and a locked production.
    let erin = f.as_("erin");
    for (name, kind, locked) in [("test", "test", ""), ("staging", "staging", ""), ("prod", "production", "yes")] {
        let fields = [
            ("name", name),
            ("kind", kind),
            ("owner", "erin"),
            ("locked", locked),
            ("description", "created from the console"),
        ];
        let res = submit(erin, "/environments", "/environments", &fields).await;
        assert_eq!(res.location(), format!("/environments/{name}"));
        let e = f.api(&format!("/api/v1/environments/{name}")).await;
        assert_eq!((e["kind"].as_str(), e["locked"].as_bool()), (Some(kind), Some(name == "prod")), "{e}");
    }
    // The path test → staging, activated.
    let fields = [
        ("name", "standard"),
        ("description", "test, then staging"),
        ("stage1_environment", "test"),
        ("stage1_required", "yes"),
        ("stage1_allow_redeploy", "yes"),
        ("stage2_environment", "staging"),
        ("stage2_required", "yes"),
        ("stage2_allow_redeploy", "yes"),
        ("stage3_environment", ""),
    ];
    let res = submit(erin, "/paths", "/paths", &fields).await;
    let at = res.location().to_string();
    f.path = at.strip_prefix("/paths/").expect("to the path's page").to_string();
    submit(f.as_("erin"), &at, &format!("{at}/activate"), &[]).await;
    let p = f.api(&format!("/api/v1/deployment-paths/{}", f.path)).await;
    let envs: Vec<&str> = p["stages"].as_array().unwrap().iter().map(|s| s["environment"].as_str().unwrap()).collect();
    assert_eq!((p["state"].as_str(), envs), (Some("active"), vec!["test", "staging"]), "{p}");
    f.assert_did(&f.path, "activate", "erin").await;

    // Paula: the applications.
    for (key, name) in [("LEDGER", "Ledger database"), ("SHOP", "Storefront"), ("NOTIFY", "Notifications")] {
        let fields = [("key", key), ("name", name), ("owner", "paula"), ("description", "")];
        let res = submit(f.as_("paula"), "/applications", "/applications", &fields).await;
        assert_eq!(res.location(), format!("/applications/{key}"));
        f.assert_did(key, "create", "paula").await;
    }
    f
}
