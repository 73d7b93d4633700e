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
        dir: tempfile::tempdir().unwrap(),
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

// ---------------------------------------------------------------------------------------------------------
// 1. The release train: created with its type, manager, purpose, schedule and approvals; exit criteria
//    and a milestone inherited by the releases; submitted and approved; scoping verified.
// ---------------------------------------------------------------------------------------------------------

async fn create_the_train_and_send_it_for_approval(f: &mut Flow) {
    assert!(f.as_("rita").get("/trains").await.body.contains(r#"href="/trains/new""#), "the list links to a new train");
    let mut fields = vec![
        ("title", "Spring 2027"),
        ("release_type", "minor"),
        ("purpose", "Multi-currency checkout"),
        ("manager", "rita"),
        ("engineers", "erin, quinn"),
        ("train_approvers", "vera"),
        ("train_required", "1"),
        ("development_approvers", "dave"),
        ("development_required", "1"),
        ("executive_approvers", "eve"),
        ("executive_required", "1"),
        ("gate_approvers", "quinn"),
        ("gate_required", "1"),
        ("scoping_gate_approval", "on"),
    ];
    fields.extend(DATES);
    let res = submit(f.as_("rita"), "/trains/new", "/trains", &fields).await;
    f.train = res.location().strip_prefix("/trains/").expect("to the train's page").to_string();
    let base = format!("/trains/{}", f.train);
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(
        (t["state"].as_str(), t["manager"].as_str(), t["release_type"].as_str(), t["purpose"].as_str()),
        (Some("draft"), Some("rita"), Some("minor"), Some("Multi-currency checkout"))
    );
    assert_eq!(t["schedule"]["production_date"], "2027-03-13");
    for (kind, who) in [("train", "vera"), ("development", "dave"), ("executive", "eve")] {
        assert_eq!(t["approval_policies"][kind]["levels"][0]["approvers"][0], who, "{t}");
    }

    // An exit criterion on each gate: scope (paula), code (dan), regression in staging (quinn).
    for (key, gate, title, owner, environment) in [
        ("scope", "scoping", "Scope signed off", "paula", ""),
        ("code", "construction", "CI green on the release branches", "dan", ""),
        ("regression", "verification", "Regression suite passes", "quinn", "staging"),
    ] {
        let fields = [("title", title), ("owner", owner), ("environment", environment)];
        let res = submit(f.as_("rita"), &base, &format!("{base}/gates/{gate}/criteria"), &fields).await;
        assert_eq!(res.location(), format!("{base}#gates"));
        let t = f.api(&format!("/api/v1{base}")).await;
        let c = &t["gates"][gate]["criteria"][0];
        assert_eq!((c["title"].as_str(), c["owner"].as_str()), (Some(title), Some(owner)), "{t}");
        f.criteria.insert(key, c["id"].as_str().unwrap().to_string());
    }
    // A milestone every release inherits.
    let fields = [("title", "Code complete"), ("due", "2027-02-10"), ("owner", "dan"), ("inherit", "on")];
    submit(f.as_("rita"), &base, &format!("{base}/milestones"), &fields).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(
        (t["milestones"][0]["title"].as_str(), t["milestones"][0]["inherit"].as_bool()),
        (Some("Code complete"), Some(true))
    );

    // Submitted; vera approves from her dashboard.
    submit(f.as_("rita"), &base, &format!("{base}/submit"), &[]).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(t["state"], "awaiting_train_approval");
    let approval = t["train_approval"]["id"].as_str().unwrap().to_string();
    let res = submit(
        f.as_("vera"),
        "/",
        &format!("/approvals/{approval}/approve"),
        &[("back", "/"), ("comment", "scope and dates are fine")],
    )
    .await;
    assert_eq!(res.location(), "/");
    assert_eq!(f.train_state().await, "scoping");
    f.assert_did(&approval, "approve", "vera").await;
    for action in ["create", "add_criterion", "add_milestone", "submit"] {
        f.assert_did(&f.train, action, "rita").await;
    }
}

async fn verify_the_scoping_criteria(f: &mut Flow) {
    let base = format!("/trains/{}", f.train);
    let scope = f.criteria["scope"].clone();
    let fields = [("note", "signed by both product owners"), ("link", "https://wiki.example/spring-scope")];
    submit(f.as_("paula"), &base, &format!("{base}/criteria/{scope}/meet"), &fields).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    let c = &t["gates"]["scoping"]["criteria"][0];
    assert_eq!(
        (c["state"].as_str(), c["evidence"]["link"].as_str()),
        (Some("met"), Some("https://wiki.example/spring-scope"))
    );
    f.assert_did(&f.train, "meet_criterion", "paula").await;
    // The scoping gate needs a gate approval: rita requests it, quinn gives it on the train page.
    assert_eq!(t["gates"]["scoping"]["approval_required"], true);
    let res = submit(f.as_("rita"), &base, &format!("{base}/gates/scoping/request-approval"), &[]).await;
    assert_eq!(res.location(), format!("{base}#approvals"));
    let t = f.api(&format!("/api/v1{base}")).await;
    let gap = t["gates"]["scoping"]["approval"]["id"].as_str().unwrap().to_string();
    let fields = [("back", base.as_str()), ("comment", "scope is clear")];
    submit(f.as_("quinn"), &base, &format!("/approvals/{gap}/approve"), &fields).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(t["gates"]["scoping"]["approval"]["state"], "approved", "{t}");
    f.assert_did(&gap, "approve", "quinn").await;
    f.assert_did(&f.train, "request_gate_approval", "rita").await;
}

// ---------------------------------------------------------------------------------------------------------
// 2. Application releases: one for each application, on the train, with a dependency, milestones and
//    work items.
// ---------------------------------------------------------------------------------------------------------

async fn create_application_releases(f: &mut Flow) {
    let train_page = format!("/trains/{}", f.train);
    let new = format!("/releases/new?train={}", f.train);
    assert!(f.as_("paula").get(&train_page).await.body.contains(&format!(r#"href="{new}""#)));
    // Paula proposes the ledger and the storefront; rita creates notifications (accepted at once).
    let mut ids = Vec::new();
    for (who, app, title, start, end) in [
        ("paula", "LEDGER", "Ledger 4.2", "2027-01-18", "2027-02-01"),
        ("paula", "SHOP", "Storefront 7.1", "2027-02-02", "2027-02-12"),
        ("rita", "NOTIFY", "Notifications 2.0", "2027-01-18", "2027-02-12"),
    ] {
        let fields = [
            ("application", app),
            ("title", title),
            ("product_owner", "paula"),
            ("release_type", ""),
            ("criticality", "high"),
            ("start", start),
            ("end", end),
            ("allowed_paths", ""),
            ("train", f.train.as_str()),
        ];
        let res = submit(f.as_(who), &new, "/releases", &fields).await;
        let id = res.location().strip_prefix("/releases/").expect("to the release's page").to_string();
        let r = f.api(&format!("/api/v1/application-releases/{id}")).await;
        let membership = if who == "rita" { "accepted" } else { "proposed" };
        assert_eq!(
            (r["application"].as_str(), r["state"].as_str(), r["membership"]["state"].as_str()),
            (Some(app), Some("planning"), Some(membership)),
            "{r}"
        );
        ids.push(id);
    }
    (f.db, f.web, f.notify) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    for r in [&f.db, &f.web] {
        let page = format!("/releases/{r}");
        submit(f.as_("rita"), &page, &format!("{page}/accept"), &[]).await;
        let v = f.api(&format!("/api/v1/application-releases/{r}")).await;
        assert_eq!(
            (v["membership"]["state"].as_str(), v["membership"]["decided_by"].as_str()),
            (Some("accepted"), Some("rita"))
        );
        f.assert_did(r, "accept", "rita").await;
    }

    // The storefront depends on the ledger.
    let web_page = format!("/releases/{}", f.web);
    submit(f.as_("paula"), &web_page, &format!("{web_page}/dependencies"), &[("depends_on", f.db.as_str())]).await;
    let v = f.api(&format!("/api/v1/application-releases/{}", f.web)).await;
    assert_eq!(v["dependencies"][0].as_str(), Some(f.db.as_str()), "{v}");

    // A milestone and work items of each.
    for (r, milestone, due, items) in [
        (
            f.db.clone(),
            "Migration rehearsed",
            "2027-01-28",
            vec![
                ("LEDGER-1", "business_request", "Balances in several currencies"),
                ("LEDGER-2", "development_task", "Currency column"),
            ],
        ),
        (
            f.web.clone(),
            "Checkout demo",
            "2027-02-08",
            vec![
                ("SHOP-1", "business_request", "Checkout in euros"),
                ("SHOP-2", "development_task", "Currency picker"),
            ],
        ),
        (
            f.notify.clone(),
            "Templates translated",
            "2027-02-05",
            vec![("NOTIFY-1", "development_task", "Receipts per currency")],
        ),
    ] {
        let page = format!("/releases/{r}");
        let paula = f.as_("paula");
        submit(paula, &page, &format!("{page}/milestones"), &[("title", milestone), ("due", due), ("owner", "")]).await;
        for (key, kind, title) in items {
            let fields =
                [("kind", kind), ("key", key), ("title", title), ("status", "open"), ("link", ""), ("source", "jira")];
            let res = submit(paula, &page, &format!("{page}/work-items"), &fields).await;
            assert_eq!(res.location(), format!("{page}#work-items"));
        }
        let v = f.api(&format!("/api/v1/application-releases/{r}")).await;
        assert!(v["milestones"].as_array().unwrap().iter().any(|m| m["title"] == milestone), "{v}");
        let list = f.api(&format!("/api/v1/application-releases/{r}/work-items")).await;
        for w in list["items"].as_array().unwrap() {
            let key = WORK_ITEMS.iter().find(|k| w["key"] == **k).copied().unwrap_or_else(|| panic!("{w}"));
            f.work_items.insert(key, w["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(f.work_items.len(), 5);
    // The viewer sees the train and its releases, and no form but the header's sign-out.
    for page in [train_page.clone(), format!("/releases/{}", f.web)] {
        let p = f.as_("vic").get(&page).await;
        assert_eq!(p.status, 200, "{}", p.body);
        assert!(p.body.contains("Storefront 7.1"), "{}", p.body);
        assert_eq!(p.body.matches(r#"method="post""#).count(), 1, "vic on {page}:\n{}", p.body);
    }
    let members = f.api(&format!("/api/v1/application-releases?train={}", f.train)).await;
    assert_eq!(members["items"].as_array().unwrap().len(), 3);
}

/// The work items' keys, the ones created above and the one added after the storefront went back.
const WORK_ITEMS: [&str; 6] = ["LEDGER-1", "LEDGER-2", "SHOP-1", "SHOP-2", "NOTIFY-1", "SHOP-3"];

// ---------------------------------------------------------------------------------------------------------
// 3. Construction: started, work begun and done, turnovers with work items and tasks, the development
//    gate verified, development approval.
// ---------------------------------------------------------------------------------------------------------

async fn complete_construction(f: &mut Flow) {
    let base = format!("/trains/{}", f.train);
    submit(f.as_("rita"), &base, &format!("{base}/start-construction"), &[]).await;
    assert_eq!(f.train_state().await, "construction");
    f.assert_did(&f.train, "start_construction", "rita").await;
    for r in [f.db.clone(), f.web.clone(), f.notify.clone()] {
        // The train's common milestone was inherited.
        let v = f.api(&format!("/api/v1/application-releases/{r}")).await;
        assert!(
            v["milestones"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["title"] == "Code complete" && m["inherited_from"].is_string()),
            "{v}"
        );
        let page = format!("/releases/{r}");
        submit(f.as_("paula"), &page, &format!("{page}/begin-work"), &[]).await;
        assert_eq!(f.release_state(&r).await, "construction");
        f.assert_did(&r, "begin_work", "paula").await;
    }
    // The work gets done: paula sets each work item's status on the release page.
    for (key, r) in
        [("LEDGER-1", &f.db), ("LEDGER-2", &f.db), ("SHOP-1", &f.web), ("SHOP-2", &f.web), ("NOTIFY-1", &f.notify)]
    {
        let page = format!("/releases/{r}");
        let action = format!("{page}/work-items/{}/status", f.work_items[key]);
        let p = open(f.as_("paula"), &page, &action).await;
        let version = p.input_value(&format!(r#"action="{action}""#), "version");
        send(f.as_("paula"), &p, &action, &[("version", &version), ("status", "done")]).await;
        assert_eq!(f.api(&format!("/api/v1/work-items/{}", f.work_items[key])).await["status"], "done");
    }
    // Dan completes the inherited milestone he owns, on the ledger's page.
    let page = format!("/releases/{}", f.db);
    let v = f.api(&format!("/api/v1/application-releases/{}", f.db)).await;
    let code = v["milestones"].as_array().unwrap().iter().find(|m| m["title"] == "Code complete").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    submit(f.as_("dan"), &page, &format!("{page}/milestones/{code}/complete"), &[]).await;
    let v = f.api(&format!("/api/v1/application-releases/{}", f.db)).await;
    assert!(v["milestones"].as_array().unwrap().iter().any(|m| m["id"] == code.as_str() && m["state"] == "completed"));
    f.assert_did(&f.db, "complete_milestone", "dan").await;
}

async fn create_turnovers_with_work_items_and_tasks(f: &mut Flow) {
    let mut ids = Vec::new();
    for (r, title, artifacts) in [
        (&f.db, "Ledger 4.2 build 318", "ledger-migrations 4.2.318"),
        (&f.web, "Storefront 7.1 build 1207", "storefront 7.1.1207 sha256:5e1f"),
        (&f.notify, "Notifications 2.0 build 77", "notify 2.0.77"),
    ] {
        let release_page = format!("/releases/{r}");
        let new = format!("/turnovers/new?release={r}");
        let p = f.as_("dan").get(&release_page).await;
        assert!(p.body.contains(&format!(r#"href="{new}""#)), "the release page links to a new turnover");
        let fields = [
            ("release", r.as_str()),
            ("title", title),
            ("path", f.path.as_str()),
            ("developer", "dan"),
            ("description", ""),
            ("artifacts", artifacts),
        ];
        let res = submit(f.as_("dan"), &new, "/turnovers", &fields).await;
        let id = res.location().strip_prefix("/turnovers/").expect("to the turnover's page").to_string();
        let t = f.api(&format!("/api/v1/turnovers/{id}")).await;
        assert_eq!((t["state"].as_str(), t["developer"].as_str()), (Some("draft"), Some("dan")), "{t}");
        ids.push(id);
    }
    (f.to_db, f.to_web, f.to_notify) = (ids[0].clone(), ids[1].clone(), ids[2].clone());

    // The done work items each delivers.
    for (t, keys) in [
        (&f.to_db, vec!["LEDGER-1", "LEDGER-2"]),
        (&f.to_web, vec!["SHOP-1", "SHOP-2"]),
        (&f.to_notify, vec!["NOTIFY-1"]),
    ] {
        let page = format!("/turnovers/{t}");
        for key in &keys {
            let res =
                submit(f.as_("dan"), &page, &format!("{page}/work-items"), &[("work_item", &f.work_items[key])]).await;
            assert_eq!(res.location(), format!("{page}#work-items"));
        }
        let v = f.api(&format!("/api/v1/turnovers/{t}")).await;
        let want: Vec<&str> = keys.iter().map(|k| f.work_items[k].as_str()).collect();
        let got: Vec<&str> = v["work_items"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
        assert_eq!(got, want);
    }

    // The deployment tasks: automated echo tasks, and one manual task owned by paula.
    f.add_command_task(&f.to_db, "Migrate ledger schema", "1", "database", "migrate ledger").await;
    let page = format!("/turnovers/{}", f.to_db);
    let fields = [
        ("title", "Check ledger balances"),
        ("kind", "manual"),
        ("owner", "paula"),
        ("sequence", "2"),
        ("tier", "database"),
        ("retries", "0"),
    ];
    submit(f.as_("dan"), &page, &format!("{page}/tasks"), &fields).await;
    f.add_command_task(&f.to_web, "Migrate shop schema", "1", "database", "migrate shop").await;
    f.add_command_task(&f.to_web, "Deploy storefront", "2", "web", "deploy storefront").await;
    f.add_command_task(&f.to_notify, "Deploy notifications", "1", "app", "deploy notifications").await;
    let titles = |v: &Value| -> Vec<String> {
        v["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap().to_string()).collect()
    };
    let db = f.api(&format!("/api/v1/turnovers/{}", f.to_db)).await;
    assert_eq!(titles(&db), ["Migrate ledger schema", "Check ledger balances"]);
    assert_eq!(db["tasks"][1]["owner"], "paula");
    assert_eq!(
        titles(&f.api(&format!("/api/v1/turnovers/{}", f.to_web)).await),
        ["Migrate shop schema", "Deploy storefront"]
    );
    for t in [&f.to_db, &f.to_web, &f.to_notify] {
        f.assert_did(t, "create", "dan").await;
        f.assert_did(t, "link_work_items", "dan").await;
        f.assert_did(t, "add_task", "dan").await;
    }

    // The development gate's criterion, met by dan.
    let base = format!("/trains/{}", f.train);
    let code = f.criteria["code"].clone();
    submit(
        f.as_("dan"),
        &base,
        &format!("{base}/criteria/{code}/meet"),
        &[("note", "CI run 5121 green"), ("link", "")],
    )
    .await;
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(t["gates"]["construction"]["criteria"][0]["state"], "met");
}

/// Paula requests development approval on each release's page; dave approves from his dashboard.
async fn send_for_development_approval(f: &mut Flow) {
    for r in [f.db.clone(), f.web.clone(), f.notify.clone()] {
        development_approval(f, &r, "/").await;
    }
}

async fn development_approval(f: &Flow, r: &str, from: &str) {
    let page = format!("/releases/{r}");
    submit(f.as_("paula"), &page, &format!("{page}/request-development-approval"), &[]).await;
    let v = f.api(&format!("/api/v1/application-releases/{r}")).await;
    assert_eq!(v["state"], "awaiting_development_approval");
    let ap = v["development_approval"]["id"].as_str().unwrap().to_string();
    let res =
        submit(f.as_("dave"), from, &format!("/approvals/{ap}/approve"), &[("back", from), ("comment", "reviewed")])
            .await;
    assert_eq!(res.location(), from);
    assert_eq!(f.release_state(r).await, "verification");
    f.assert_did(r, "request_development_approval", "paula").await;
    f.assert_did(r, "development_approved", "dave").await;
    f.assert_did(&ap, "approve", "dave").await;
}

// ---------------------------------------------------------------------------------------------------------
// 4. Through test and staging: deploy, validate, promote; the manual run done by its owner; one release
//    sent back to construction and brought forward again; verification starts.
// ---------------------------------------------------------------------------------------------------------

async fn deploy_and_validate_through_test_and_staging(f: &mut Flow) {
    for (t, manual) in [(f.to_db.clone(), Some("paula")), (f.to_web.clone(), None), (f.to_notify.clone(), None)] {
        let d = f.deploy_and_validate(&t, "test", manual).await;
        f.assert_did(&d, "validate", "quinn").await;
        f.assert_did(&t, "deploy", "erin").await;
        assert_eq!(f.turnover_state(&t).await, "in_flight");
    }
    assert_eq!(f.log("test"), ["migrate ledger", "migrate shop", "deploy storefront", "deploy notifications"]);
    // Promoted: the turnover page offers the next stage.
    let p = f.as_("erin").get(&format!("/turnovers/{}", f.to_db)).await;
    assert!(p.body.contains("Deploy to staging (promote from test)"), "{}", p.body);
    f.deploy_and_validate(&f.to_notify, "staging", None).await;
    assert_eq!(f.turnover_state(&f.to_notify).await, "completed");

    // The ledger fails validation in staging (from its turnover's page); dan fixes its migration task and
    // it is redeployed, and passes.
    let to_db = f.to_db.clone();
    let page = format!("/turnovers/{to_db}");
    let failed = f.deploy_and_run(&to_db, "staging", Some("paula")).await;
    let fields = [("back", page.as_str()), ("outcome", "fail"), ("note", "balances off by a cent")];
    let res = submit(f.as_("quinn"), &page, &format!("/deployments/{failed}/validate"), &fields).await;
    assert_eq!(res.location(), page, "back to the turnover's page");
    assert_eq!(f.state(&format!("/api/v1/deployments/{failed}")).await, "rejected");
    let t = f.api(&format!("/api/v1/turnovers/{to_db}")).await;
    let task = t["tasks"][0]["id"].as_str().unwrap().to_string();
    let args = f.sh_args("migrate ledger, rounding fixed");
    let fields = [
        ("title", "Migrate ledger schema"),
        ("kind", "command"),
        ("program", "/bin/sh"),
        ("args", args.as_str()),
        ("timeout_secs", "30"),
        ("owner", ""),
        ("sequence", "1"),
        ("tier", "database"),
        ("retries", "0"),
    ];
    submit(f.as_("dan"), &page, &format!("{page}/tasks/{task}/edit"), &fields).await;
    let p = f.as_("erin").get(&page).await;
    assert!(p.body.contains("Deploy to staging again (attempt 2)"), "{}", p.body);
    let d = f.deploy_and_validate(&to_db, "staging", Some("paula")).await;
    assert_eq!(f.api(&format!("/api/v1/deployments/{d}")).await["attempt"], 2);
    assert_eq!(f.log("staging").last().map(String::as_str), Some("migrate ledger, rounding fixed"));
    assert_eq!(f.turnover_state(&to_db).await, "completed");
    f.assert_did(&failed, "validate", "quinn").await;
    for r in [&f.db, &f.notify] {
        assert_eq!(f.api(&format!("/api/v1/application-releases/{r}/verification")).await["verified"], true);
    }
}

/// The storefront, validated in test only, goes back to construction from its turnover's page (R10):
/// its turnover returns to draft. It gets one more work item and a changed task, is development-approved
/// again (from the train page this time), and goes through test and staging.
async fn send_one_release_back_to_construction_and_forward_again(f: &mut Flow) {
    let (web, to_web) = (f.web.clone(), f.to_web.clone());
    let page = format!("/turnovers/{to_web}");
    let fields = [("back", page.as_str()), ("reason", "checkout must show VAT per line")];
    let res = submit(f.as_("paula"), &page, &format!("/releases/{web}/send-back"), &fields).await;
    assert_eq!(res.location(), page, "back to the turnover's page");
    assert_eq!(f.release_state(&web).await, "construction");
    assert_eq!(f.turnover_state(&to_web).await, "draft");
    f.assert_did(&web, "send_back", "paula").await;
    f.assert_did(&to_web, "back_to_draft", "paula").await;

    // Forward again: a new work item, done, linked; the deploy task changed.
    let release_page = format!("/releases/{web}");
    let fields = [
        ("kind", "development_task"),
        ("key", "SHOP-3"),
        ("title", "VAT per line"),
        ("status", "done"),
        ("link", ""),
        ("source", ""),
    ];
    submit(f.as_("paula"), &release_page, &format!("{release_page}/work-items"), &fields).await;
    let list = f.api(&format!("/api/v1/application-releases/{web}/work-items")).await;
    let item = list["items"].as_array().unwrap().iter().find(|w| w["key"] == "SHOP-3").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    submit(f.as_("dan"), &page, &format!("{page}/work-items"), &[("work_item", &item)]).await;
    let t = f.api(&format!("/api/v1/turnovers/{to_web}")).await;
    let task = t["tasks"].as_array().unwrap().iter().find(|x| x["title"] == "Deploy storefront").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let args = f.sh_args("deploy storefront with VAT");
    let fields = [
        ("title", "Deploy storefront"),
        ("kind", "command"),
        ("program", "/bin/sh"),
        ("args", args.as_str()),
        ("timeout_secs", "30"),
        ("owner", ""),
        ("sequence", "2"),
        ("tier", "web"),
        ("retries", "0"),
    ];
    submit(f.as_("dan"), &page, &format!("{page}/tasks/{task}/edit"), &fields).await;
    f.assert_did(&to_web, "edit_task", "dan").await;
    development_approval(f, &web, &format!("/trains/{}", f.train)).await;

    for env in ["test", "staging"] {
        f.deploy_and_validate(&to_web, env, None).await;
    }
    assert_eq!(f.log("staging").last().map(String::as_str), Some("deploy storefront with VAT"));
    assert_eq!(f.turnover_state(&to_web).await, "completed");
    assert_eq!(f.api(&format!("/api/v1/application-releases/{web}/verification")).await["verified"], true);
}

async fn start_verification(f: &mut Flow) {
    let base = format!("/trains/{}", f.train);
    submit(f.as_("rita"), &base, &format!("{base}/start-verification"), &[]).await;
    assert_eq!(f.train_state().await, "verification");
    f.assert_did(&f.train, "start_verification", "rita").await;
}

// ---------------------------------------------------------------------------------------------------------
// 5. Executive approval: the verification gate met; the executive rejects once, then approves.
// ---------------------------------------------------------------------------------------------------------

async fn executive_approval(f: &mut Flow) {
    let base = format!("/trains/{}", f.train);
    let regression = f.criteria["regression"].clone();
    let fields = [("note", "412 passed in staging"), ("link", "")];
    submit(f.as_("quinn"), &base, &format!("{base}/criteria/{regression}/meet"), &fields).await;
    f.assert_did(&f.train, "meet_criterion", "quinn").await;

    submit(f.as_("rita"), &base, &format!("{base}/request-executive-approval"), &[]).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(t["state"], "awaiting_executive_approval");
    let first = t["executive_approval"]["id"].as_str().unwrap().to_string();
    let fields =
        [("back", "/"), ("comment", "wait for the payment provider's certificate"), ("return_to", "verification")];
    submit(f.as_("eve"), "/", &format!("/approvals/{first}/reject"), &fields).await;
    assert_eq!(f.train_state().await, "verification");
    f.assert_did(&first, "reject", "eve").await;
    f.assert_did(&f.train, "executive_rejected", "eve").await;

    submit(f.as_("rita"), &base, &format!("{base}/request-executive-approval"), &[]).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    let second = t["executive_approval"]["id"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    let fields = [("back", base.as_str()), ("comment", "certificate in place")];
    let res = submit(f.as_("eve"), &base, &format!("/approvals/{second}/approve"), &fields).await;
    assert_eq!(res.location(), base);
    assert_eq!(f.train_state().await, "deployment");
    f.assert_did(&second, "approve", "eve").await;
    f.assert_did(&f.train, "executive_approved", "eve").await;
}

// ---------------------------------------------------------------------------------------------------------
// 6. The production-ready turnover: from the storefront's validated turnover, spanning the three
//    releases, the other turnovers' tasks copied in, the proposed order applied.
// ---------------------------------------------------------------------------------------------------------

async fn production_ready_turnover(f: &mut Flow) {
    let new = format!("/turnovers/new-production?train={}&from={}", f.train, f.to_web);
    let p = f.as_("erin").get(&format!("/turnovers/{}", f.to_web)).await;
    assert!(
        p.body.contains(&new.replace('&', "&amp;")),
        "the turnover page links to a production-ready one:\n{}",
        p.body
    );
    let fields = [
        ("title", "Spring 2027 go-live"),
        ("releases", f.db.as_str()),
        ("releases", f.web.as_str()),
        ("releases", f.notify.as_str()),
        ("environments", "prod"),
        ("from", f.to_web.as_str()),
        ("developer", "erin"),
        ("description", "everything of the train, database first"),
        ("artifacts", ""),
    ];
    let res = submit(f.as_("erin"), &new, "/production-turnovers", &fields).await;
    f.prod = res.location().strip_prefix("/turnovers/").expect("to the turnover's page").to_string();
    let page = format!("/turnovers/{}", f.prod);
    let t = f.api(&format!("/api/v1{page}")).await;
    assert_eq!((t["kind"].as_str(), t["state"].as_str()), (Some("production_ready"), Some("draft")), "{t}");
    assert_eq!(t["tasks"].as_array().unwrap().len(), 2, "the storefront's tasks came with it: {t}");

    for from in [f.to_db.clone(), f.to_notify.clone()] {
        let res = submit(f.as_("erin"), &page, &format!("{page}/tasks/copy"), &[("from", &from), ("tasks", "")]).await;
        assert_eq!(res.location(), format!("{page}#tasks"));
    }
    let t = f.api(&format!("/api/v1{page}")).await;
    assert_eq!(t["tasks"].as_array().unwrap().len(), 5, "{t}");

    // The proposed order (releases by dependency, then tiers), applied with its button.
    let action = format!("{page}/tasks/reorder");
    let p = open(f.as_("erin"), &page, &action).await;
    let section = between(&p.body, r#"id="proposed-order""#, "</section>").expect("the proposed order").to_string();
    assert!(section.contains("Apply this order"), "{section}");
    let mut order = Vec::new();
    let mut rest = section.as_str();
    while let Some(name) = between(rest, r#"name=""#, "\"") {
        let value = between(rest, r#"value=""#, "\"").unwrap_or_default();
        if name.starts_with("seq-") {
            order.push((name.to_string(), value.to_string()));
        }
        rest = &rest[rest.find(r#"value=""#).unwrap() + 7..];
    }
    assert_eq!(order.len(), 5, "{section}");
    let fields: Vec<(&str, &str)> = order.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    send(f.as_("erin"), &p, &action, &fields).await;
    let t = f.api(&format!("/api/v1{page}")).await;
    let mut tasks: Vec<(u64, String)> = t["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["sequence"].as_u64().unwrap(), x["title"].as_str().unwrap().to_string()))
        .collect();
    tasks.sort();
    let first = &tasks[0].1;
    assert!(first == "Migrate ledger schema", "the ledger's database task runs first: {tasks:?}");
    assert!(f.as_("erin").get(&page).await.body.contains("The tasks are in this order."));
    for action in ["create", "copy_tasks", "reorder_tasks"] {
        f.assert_did(&f.prod, action, "erin").await;
    }
}

// ---------------------------------------------------------------------------------------------------------
// 7. Delivered to release engineering; accepted by another engineer than its maker.
// ---------------------------------------------------------------------------------------------------------

async fn acceptance_by_release_engineering(f: &mut Flow) {
    let page = format!("/turnovers/{}", f.prod);
    submit(f.as_("erin"), &page, &format!("{page}/deliver"), &[]).await;
    assert_eq!(f.turnover_state(&f.prod).await, "delivered");
    // Neither its maker nor the developer is offered the acceptance.
    for who in ["erin", "dan"] {
        let p = f.as_(who).get(&page).await;
        assert!(!p.body.contains(&format!(r#"action="{page}/accept""#)), "{who} may not accept it");
    }
    // Ed sends it back once; erin adds the rollback of the migrations and delivers it again.
    let fields = [("comment", "add the rollback of the ledger migration")];
    submit(f.as_("ed"), &page, &format!("{page}/reject"), &fields).await;
    let t = f.api(&format!("/api/v1{page}")).await;
    assert_eq!(
        (t["state"].as_str(), t["rejection"].as_str()),
        (Some("draft"), Some("add the rollback of the ledger migration"))
    );
    let args = f.sh_args("roll back ledger");
    let fields = [
        ("title", "Roll back ledger schema"),
        ("kind", "command"),
        ("program", "/bin/sh"),
        ("args", args.as_str()),
        ("timeout_secs", "30"),
        ("owner", ""),
        ("sequence", "1"),
        ("tier", "database"),
        ("retries", "0"),
        ("rollback", "yes"),
        ("release", f.db.as_str()),
    ];
    submit(f.as_("erin"), &page, &format!("{page}/tasks"), &fields).await;
    let t = f.api(&format!("/api/v1{page}")).await;
    assert!(
        t["tasks"].as_array().unwrap().iter().any(|x| x["rollback"] == true && x["release"] == f.db.as_str()),
        "{t}"
    );
    submit(f.as_("erin"), &page, &format!("{page}/deliver"), &[]).await;
    submit(f.as_("ed"), &page, &format!("{page}/accept"), &[]).await;
    let t = f.api(&format!("/api/v1{page}")).await;
    assert_eq!((t["state"].as_str(), t["accepted_by"].as_str()), (Some("accepted"), Some("ed")));
    f.assert_did(&f.prod, "deliver", "erin").await;
    f.assert_did(&f.prod, "reject", "ed").await;
    f.assert_did(&f.prod, "accept", "ed").await;
}

// ---------------------------------------------------------------------------------------------------------
// 8. Scheduled into the locked production for the next full hour (the form's default); the train's
//    manager starts it early with the override and a reason; it runs; verified; the train closes.
// ---------------------------------------------------------------------------------------------------------

async fn deployment_into_locked_production(f: &mut Flow) {
    let page = format!("/turnovers/{}", f.prod);
    let action = format!("{page}/schedule");
    let p = open(f.as_("erin"), &page, &action).await;
    let form = between(&p.body, &format!(r#"action="{action}""#), "</form>").unwrap_or_default().to_string();
    let at = between(between(&form, r#"name="at""#, ">").unwrap_or_default(), r#"value=""#, "\"")
        .expect("the schedule form proposes a time")
        .to_string();
    assert_eq!(at.len(), "2027-03-13T10:00".len(), "a datetime-local to the minute: {at}");
    send(f.as_("erin"), &p, &action, &[("environment", "prod"), ("at", &at), ("window_minutes", "60")]).await;
    let list = f.api(&format!("/api/v1/deployments?turnover={}", f.prod)).await;
    let d = &list["items"][0];
    assert_eq!((d["state"].as_str(), d["environment"].as_str()), (Some("scheduled"), Some("prod")), "{list}");
    f.prod_deployment = d["id"].as_str().unwrap().to_string();
    let dpage = format!("/deployments/{}", f.prod_deployment);
    let board = f.as_("erin").get(&page).await;
    assert!(board.body.contains(&format!(r#"href="{dpage}""#)), "the board links to the deployment");
    // Only the manager is offered the early start.
    let p = f.as_("erin").get(&dpage).await;
    assert!(
        !p.body.contains(&format!(r#"action="{dpage}/start""#)) && p.body.contains("Only the train's manager (rita)")
    );
    let fields = [("override", "yes"), ("reason", "the payment provider is ready an hour early")];
    let res = submit(f.as_("rita"), &dpage, &format!("{dpage}/start"), &fields).await;
    assert_eq!(res.location(), dpage);
    f.assert_did(&f.prod_deployment, "start_early", "rita").await;

    f.complete_manual_run("paula", &f.prod_deployment).await;
    let p = f.settled("rita", &f.prod_deployment, "succeeded").await;
    assert!(p.body.contains("Check ledger balances"), "{}", p.body);
    let mut log = f.log("prod");
    assert_eq!(
        log.first().map(String::as_str),
        Some("migrate ledger, rounding fixed"),
        "the ledger's database task first: {log:?}"
    );
    log.sort();
    assert_eq!(
        log,
        ["deploy notifications", "deploy storefront with VAT", "migrate ledger, rounding fixed", "migrate shop"]
    );
    assert_eq!(f.turnover_state(&f.prod).await, "deployed");
}

async fn verify_and_close_the_train(f: &mut Flow) {
    let page = format!("/turnovers/{}", f.prod);
    let fields = [("environment", ""), ("outcome", "pass"), ("note", "orders in euros flowing")];
    submit(f.as_("erin"), &page, &format!("{page}/verify"), &fields).await;
    assert_eq!(f.turnover_state(&f.prod).await, "verified");
    for r in [&f.db, &f.web, &f.notify] {
        assert_eq!(f.release_state(r).await, "released");
        f.assert_did(r, "released", "erin").await;
    }
    let base = format!("/trains/{}", f.train);
    submit(f.as_("rita"), &base, &format!("{base}/close"), &[]).await;
    assert_eq!(f.train_state().await, "closed");
    for r in [&f.db, &f.web, &f.notify] {
        assert_eq!(f.release_state(r).await, "closed", "what rode on the train closes with it");
    }
    f.assert_did(&f.train, "close", "rita").await;
    let t = f.api(&format!("/api/v1{base}")).await;
    let history: Vec<&str> = t["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(
        history,
        [
            "submit",
            "train_approved",
            "start_construction",
            "start_verification",
            "request_executive_approval",
            "executive_rejected",
            "request_executive_approval",
            "executive_approved",
            "close"
        ]
    );
    for (action, actor) in [
        ("submit", "rita"),
        ("train_approved", "vera"),
        ("gate_approval_decided", "quinn"),
        ("executive_approved", "eve"),
    ] {
        f.assert_did(&f.train, action, actor).await;
    }
    let verified = f.api("/api/v1/audit/verify").await;
    assert_eq!(verified["intact"], true, "{verified}");
    // The train's page says so, and offers nothing more.
    let p = f.as_("rita").get(&base).await;
    assert!(p.body.contains("This train is closed."), "{}", p.body);
    assert!(!p.body.contains(&format!(r#"action="{base}/close""#)));
}
