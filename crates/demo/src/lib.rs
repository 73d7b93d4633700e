//! Demo data: a realistic company loaded into an empty Railyard through its public REST API, so that a
//! newcomer sees every train state at once (`railyard serve --demo`, or `railyard demo load` into a
//! running server). Everything is dated relative to today, so the demo always looks current.
//!
//! The people (each gets an API token, printed at the end): rita and max manage trains, erin and eli are
//! release engineers, paula and pete product owners, dan and dora developers, carla (the CIO, a product
//! owner) gives executive approval, vic only reads.
//!
//! Its errors are `anyhow` with context ("the closed train: erin: POST …"): the demo is a script run by
//! binaries and tests, whose failures are only ever reported, never matched.

mod trains;

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{Days, NaiveDate, Utc};
use serde_json::{Value, json};

use railyard_client::Client;

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

/// The demo's API clients, one per person, and what it needs to know as it goes.
pub struct Demo {
    base: String,
    people: Vec<(String, Client, String)>,
    today: NaiveDate,
    /// Ids of the pre-production deployment path.
    path: String,
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

    /// A date `days` from today (negative: in the past).
    fn day(&self, days: i64) -> String {
        let d = if days >= 0 {
            self.today.checked_add_days(Days::new(days.unsigned_abs()))
        } else {
            self.today.checked_sub_days(Days::new(days.unsigned_abs()))
        };
        d.unwrap_or(self.today).to_string()
    }

    /// Waits for a deployment to settle, completing the manual runs that wait for their owners on the
    /// way (as those owners); its final state.
    async fn settle(&self, id: &str) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let d = self.get("erin", &format!("/api/v1/deployments/{id}")).await?;
            for r in d["runs"].as_array().into_iter().flatten().filter(|r| r["state"] == "waiting_for_owner") {
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

/// Loads the demo company into the server at `base` (which must hold no train yet) as its admin; returns
/// the people and their tokens.
pub async fn load(base: &str, admin_token: &str) -> anyhow::Result<Vec<(String, String, String)>> {
    let admin = Client::new(base, Some(admin_token.to_string()));
    let trains = admin.get("/api/v1/trains", &[("limit", "1".into())]).await?;
    if trains["items"].as_array().is_some_and(|a| !a.is_empty()) {
        bail!("the server already has trains; demo data goes only into an empty database");
    }
    let mut people = Vec::new();
    for (name, roles, what) in PEOPLE {
        admin
            .post("/api/v1/users", Some(json!({"name": name, "roles": roles, "display_name": name})))
            .await
            .with_context(|| format!("create user {name}"))?;
        let t = admin.post("/api/v1/tokens", Some(json!({"user": name, "label": "demo"}))).await?;
        let token = t["token"].as_str().context("a new token")?.to_string();
        people.push((name.to_string(), Client::new(base, Some(token.clone())), format!("{what}: {token}")));
    }
    let mut demo = Demo { base: base.to_string(), people, today: Utc::now().date_naive(), path: String::new() };
    demo.landscape().await?;
    trains::all(&demo).await?;
    Ok(demo.people.into_iter().map(|(n, _, t)| (n, t, demo.base.clone())).collect())
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
        let now = Utc::now();
        let at = |days: i64, hour: u32| {
            let d = now.date_naive().checked_add_days(Days::new(days.unsigned_abs())).unwrap_or(now.date_naive());
            d.and_hms_opt(hour, 0, 0).map(|t| t.and_utc().to_rfc3339()).unwrap_or_default()
        };
        let events = [
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

/// Prints the demo's people and their tokens.
pub fn print_people(people: &[(String, String, String)]) {
    println!("Demo data loaded: 12 applications, 5 environments, 9 trains (one in every state).");
    println!(
        "The demo's people and their API tokens (railyard login --server {} --token <token>):",
        people.first().map(|p| p.2.as_str()).unwrap_or("")
    );
    for (name, what, _) in people {
        println!("    {name:<6} {what}");
    }
}
