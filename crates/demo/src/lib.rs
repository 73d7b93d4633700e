//! Demo data: a realistic company with months of history, loaded into a new, empty database
//! (`railyard serve --demo`, or `railyard demo load --database URL` before the server starts), so that
//! a newcomer sees every train state at once and a past that looks like a company's: a train closed
//! last quarter, one deploying tonight, others in verification, construction, scoping and planning.
//!
//! The history is made by driving the real service, through the real REST API, with a clock the loader
//! moves through the past ([`clock::DemoClock`]): every change goes through the service and its audit
//! event in the same commit, the rules hold as they do for anyone, and deployments run their tasks
//! through the real engine. That clock is the loader's alone: the loader serves the API on a loopback
//! port of its own while it loads, with a service that marks every event it writes as demo data
//! (`"demo": true` in the event's data, see `Service::marking_demo_data`), and stops it before the
//! real server starts. No request, user or API can backdate anything. The loader refuses a database
//! that holds anything already ([`NotEmpty`]), so demo events never go behind real ones and the audit
//! log's times only move forward.
//!
//! The people (each gets an API token, printed at the end): rita and max manage trains, erin and eli are
//! release engineers, paula and pete product owners, dan and dora developers, carla (the CIO, a product
//! owner) gives executive approval, vic only reads.
//!
//! Its errors are `anyhow` with context ("the closed train: erin: POST …"): the demo is a script run by
//! binaries and tests, whose failures are only ever reported, never matched (except [`NotEmpty`]).

pub mod clock;
mod trains;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use serde_json::{Value, json};

use railyard_client::Client;
use railyard_service::{Bootstrap, Service};
use railyard_store::{EventQuery, Store};

use clock::{DemoClock, Timeline};

/// How far back the demo's history begins.
pub const HISTORY_DAYS: u64 = 200;

/// People of the demo company: name, roles, what they do.
pub const PEOPLE: &[(&str, &[&str], &str)] = &[
    ("rita", &["release_manager"], "release manager, runs most trains"),
    ("max", &["release_manager"], "release manager, approves trains"),
    ("erin", &["release_engineer"], "release engineer"),
    ("eli", &["release_engineer"], "release engineer, accepts production turnovers"),
    ("paula", &["product_owner"], "product owner (payments, checkout)"),
    ("pete", &["product_owner"], "product owner (catalog, logistics)"),
    ("dan", &["developer"], "developer"),
    ("dora", &["developer"], "lead developer, approves development"),
    ("carla", &["product_owner"], "CIO, gives executive approval"),
    ("vic", &["viewer"], "auditor, reads"),
];

/// A dozen applications: key, name, product owner.
const APPLICATIONS: &[(&str, &str, &str)] = &[
    ("PAY", "Payments", "paula"),
    ("CART", "Shopping cart", "paula"),
    ("CHECKOUT", "Checkout", "paula"),
    ("AUTH", "Identity and login", "paula"),
    ("WEB", "Storefront web", "paula"),
    ("MOBILE", "Mobile app backend", "paula"),
    ("CATALOG", "Product catalog", "pete"),
    ("SEARCH", "Search", "pete"),
    ("ORDERS", "Order management", "pete"),
    ("STOCK", "Inventory", "pete"),
    ("SHIP", "Shipping", "pete"),
    ("NOTIFY", "Notifications", "pete"),
];

/// The database already holds something: the demo's backdated history would go behind it.
#[derive(Debug)]
pub struct NotEmpty(pub String);

impl fmt::Display for NotEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotEmpty {}

/// One of the demo's people as loaded.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    /// What they do in the demo company.
    pub what: String,
    pub token: String,
}

/// What the loader made.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The admin's token when the loader made one (none when `RAILYARD_ADMIN_TOKEN` was given).
    pub admin_token: Option<String>,
    pub people: Vec<Person>,
}

/// The demo's API clients, one per person, and what it needs to know as it goes.
pub struct Demo {
    people: Vec<(String, Client, String)>,
    today: NaiveDate,
    /// Id of the pre-production deployment path.
    path: String,
    timeline: Timeline,
}

impl Demo {
    fn client(&self, who: &str) -> anyhow::Result<&Client> {
        self.people.iter().find(|(n, _, _)| n == who).map(|(_, c, _)| c).with_context(|| format!("no demo user {who}"))
    }

    async fn post(&self, who: &str, path: &str, body: Value) -> anyhow::Result<Value> {
        self.client(who)?.post(path, Some(body)).await.with_context(|| format!("{who}: POST {path}"))
    }

    async fn get(&self, who: &str, path: &str) -> anyhow::Result<Value> {
        self.client(who)?.get(path, &[]).await.with_context(|| format!("{who}: GET {path}"))
    }

    /// The date `days` from today (negative: in the past).
    fn date(&self, days: i64) -> NaiveDate {
        let d = if days >= 0 {
            self.today.checked_add_days(Days::new(days.unsigned_abs()))
        } else {
            self.today.checked_sub_days(Days::new(days.unsigned_abs()))
        };
        d.unwrap_or(self.today)
    }

    /// A date `days` from today, as the API takes it.
    fn day(&self, days: i64) -> String {
        self.date(days).to_string()
    }

    /// `days` from today at `hour`:`minute` UTC.
    fn moment(&self, days: i64, hour: u32, minute: u32) -> DateTime<Utc> {
        let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN);
        self.date(days).and_time(time).and_utc()
    }

    /// Waits for this story's turn `days` from today at `hour`:`minute` (or now, for a moment still
    /// to come).
    async fn at(&self, days: i64, hour: u32, minute: u32) {
        self.timeline.at(self.moment(days, hour, minute).min(Utc::now())).await;
    }

    /// Waits for a deployment to settle, completing the manual runs that wait for their owners on the
    /// way (as those owners); its final state.
    async fn settle(&self, id: &str) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let d = self.get("erin", &format!("/api/v1/deployments/{id}")).await?;
            for r in d["runs"].as_array().into_iter().flatten().filter(|r| r["state"] == "waiting_for_owner") {
                // The owner takes a while to check (nothing else runs meanwhile: the story waits on
                // this deployment alone).
                let clock = self.timeline.clock();
                clock.set(clock.now() + chrono::Duration::minutes(20));
                let owner = r["owner"].as_str().unwrap_or("erin");
                let run = r["id"].as_str().unwrap_or_default();
                let body = json!({"done": true, "note": "checked"});
                self.post(owner, &format!("/api/v1/deployments/{id}/runs/{run}/complete"), body).await?;
            }
            if !matches!(d["state"].as_str(), Some("scheduled" | "running")) {
                return Ok(d);
            }
            if Instant::now() > deadline {
                bail!("deployment {id} is still {} after two minutes", d["state"]);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}

fn id(v: &Value) -> anyhow::Result<String> {
    Ok(v["id"].as_str().with_context(|| format!("no id in {v}"))?.to_string())
}

/// Refuses a database that holds anything: the demo's past would go behind what is there.
async fn ensure_empty(store: &Arc<dyn Store>) -> anyhow::Result<()> {
    let first = store.events(&EventQuery { limit: 1, ..EventQuery::default() }).await?;
    let Some(first) = first.first() else { return Ok(()) };
    let head = store.head_seq().await?;
    let demo = serde_json::from_str::<Value>(&first.data).is_ok_and(|d| d["demo"] == true);
    let what = if demo {
        "it already holds the demo company".to_string()
    } else {
        format!(
            "it has data of its own: {head} audit events since {} (the first: {} {} {} by {})",
            first.at.format("%Y-%m-%d %H:%M UTC"),
            first.action,
            first.object_kind,
            first.object_id,
            first.actor
        )
    };
    Err(NotEmpty(format!(
        "the demo company goes only into a new, empty database, and {what}; its months of backdated history \
         would go behind what is there. Use a new database (e.g. --database sqlite://demo.db)"
    ))
    .into())
}

/// Loads the demo company into `store`, which must be new and empty: its admin (with `preset_admin`
/// as the token when given), its people with their tokens, and months of history up to now. The API
/// is served meanwhile on a loopback port of the loader's own (see the module's documentation), and
/// deployments' tasks run in `sandbox` (the process's default one when `None`).
pub async fn load_into(
    store: Arc<dyn Store>,
    preset_admin: Option<&str>,
    sandbox: Option<Arc<railyard_runner::Sandbox>>,
) -> anyhow::Result<Loaded> {
    ensure_empty(&store).await?;
    let today = Utc::now().date_naive();
    let start = today.checked_sub_days(Days::new(HISTORY_DAYS)).unwrap_or(today);
    let clock = DemoClock::starting_at(start.and_hms_opt(8, 0, 0).map_or_else(Utc::now, |t| t.and_utc()));
    let service = Service::with_clock(store, clock.for_service()).marking_demo_data();
    let admin_token = match service.bootstrap_admin(preset_admin).await.context("create the admin")? {
        Bootstrap::Created(token) => Some(token),
        Bootstrap::Preset => None,
        Bootstrap::AlreadyInitialised => bail!("the database got its admin while the demo was loading"),
    };
    let admin = admin_token.clone().or(preset_admin.map(|t| t.trim().to_string())).context("the admin's token")?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("a loopback port for the loader")?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let engine = match sandbox {
        Some(sandbox) => railyard_engine::Engine::with_sandbox(service.clone(), sandbox),
        None => railyard_engine::Engine::new(service.clone()),
    };
    let engine = tokio::spawn(engine.run(until_stopped(stopped.clone())));
    let server = tokio::spawn(railyard_server::serve(listener, service, until_stopped(stopped)));
    let loaded = load(&base, &admin, clock, today).await;
    let _ = stop.send(true);
    let _ = engine.await;
    let _ = server.await;
    let people = loaded?;
    Ok(Loaded { admin_token, people })
}

/// The script, through the loader's own server at `base`.
async fn load(base: &str, admin_token: &str, clock: DemoClock, today: NaiveDate) -> anyhow::Result<Vec<Person>> {
    let admin = Client::new(base, Some(admin_token.to_string()));
    let mut people = Vec::new();
    let mut out = Vec::new();
    for (name, roles, what) in PEOPLE {
        admin
            .post("/api/v1/users", Some(json!({"name": name, "roles": roles, "display_name": name})))
            .await
            .with_context(|| format!("create user {name}"))?;
        let t = admin.post("/api/v1/tokens", Some(json!({"user": name, "label": "demo"}))).await?;
        let token = t["token"].as_str().context("a new token")?.to_string();
        people.push((name.to_string(), Client::new(base, Some(token.clone())), what.to_string()));
        out.push(Person { name: name.to_string(), what: what.to_string(), token });
    }
    let timeline = Timeline::new(clock, trains::STORIES);
    let mut demo = Demo { people, today, path: String::new(), timeline };
    demo.landscape().await?;
    trains::all(&demo).await?;
    Ok(out)
}

impl Demo {
    /// Applications, environments from development to two production regions, their calendars, and the
    /// paths.
    async fn landscape(&mut self) -> anyhow::Result<()> {
        for (key, name, owner) in APPLICATIONS {
            self.post(owner, "/api/v1/applications", json!({"key": key, "name": name, "owner": owner})).await?;
        }
        for (name, kind) in [
            ("dev", "development"),
            ("test", "test"),
            ("staging", "staging"),
            ("prod-eu", "production"),
            ("prod-us", "production"),
        ] {
            let description = format!("{kind} environment");
            self.post("erin", "/api/v1/environments", json!({"name": name, "kind": kind, "description": description}))
                .await?;
        }
        let at = |days: i64, hour: u32| self.moment(days, hour, 0).to_rfc3339();
        // Nights of maintenance past and to come, and the freeze around Black Friday.
        let events = [
            ("prod-eu", "maintenance", "Kernel patching", at(-150, 1), at(-150, 3)),
            ("staging", "maintenance", "Storage migration", at(-95, 0), at(-95, 4)),
            ("prod-us", "maintenance", "Network upgrade", at(-40, 2), at(-40, 4)),
            ("prod-eu", "maintenance", "Certificate rotation", at(-1, 1), at(-1, 3)),
            ("staging", "maintenance", "Database upgrade", at(3, 22), at(4, 2)),
            ("prod-us", "blackout", "Black Friday freeze", at(6, 0), at(9, 0)),
            ("prod-eu", "maintenance", "Load balancer patching", at(12, 1), at(12, 3)),
        ];
        for (env, kind, title, start, end) in events {
            let body = json!({"kind": kind, "title": title, "start": start, "end": end});
            self.post("erin", &format!("/api/v1/environments/{env}/events"), body).await?;
        }
        let p = self
            .post(
                "erin",
                "/api/v1/deployment-paths",
                json!({"name": "standard", "stages": [
                {"environment": "dev", "required": false}, {"environment": "test"},
                {"environment": "staging", "freeze_tasks": true}]}),
            )
            .await?;
        self.path = id(&p)?;
        self.post("erin", &format!("/api/v1/deployment-paths/{}/activate", self.path), json!({})).await?;
        let p = self
            .post(
                "erin",
                "/api/v1/deployment-paths",
                json!({"name": "hotfix", "release_types": ["emergency", "patch"],
                "stages": [{"environment": "staging"}]}),
            )
            .await?;
        self.post("erin", &format!("/api/v1/deployment-paths/{}/activate", id(&p)?), json!({})).await?;
        Ok(())
    }
}

/// Prints the demo's people and their tokens, for a server at `base`. A closed standard output drops
/// the lines (a server must not die of a log pipe whose reader went away).
pub fn print_people(people: &[Person], base: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Demo data loaded: 12 applications, 5 environments, 9 trains (one in every state) with {HISTORY_DAYS} days of history."
    );
    let _ = writeln!(out, "The demo's people and their API tokens (railyard login --server {base} --token <token>):");
    for p in people {
        let _ = writeln!(out, "    {:<6} {}: {}", p.name, p.what, p.token);
    }
}
