//! The test server, a browser-like client, and helpers to set up users and trains over the API.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use railyard_service::Service;
use railyard_store_sqlite::SqliteStore;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub api: reqwest::Client,
    pub admin: String,
    /// Seconds added to the real clock (to let sessions expire).
    offset: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

/// One answer as a browser sees it (redirects are not followed, so they can be checked).
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
    /// The first CSRF token in a form of the page.
    #[track_caller]
    pub fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = self.body.find(marker).unwrap_or_else(|| panic!("no CSRF field in:\n{}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap().to_string()
    }
}

/// A browser: a cookie store, no JavaScript, redirects visible.
pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
}

impl Browser {
    pub async fn get(&self, path: &str) -> Page {
        page(self.http.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        page(self.http.post(format!("{}{path}", self.base)).form(form).send().await.unwrap()).await
    }
    /// Signs in with a password and lands on the dashboard.
    pub async fn sign_in(&self, name: &str, password: &str) -> Page {
        let form = self.get("/sign-in").await;
        let csrf = form.csrf();
        self.post("/sign-in", &[("csrf", &csrf), ("name", name), ("password", password)]).await
    }
}

async fn page(res: reqwest::Response) -> Page {
    let status = res.status();
    let headers = res.headers().clone();
    Page { status, headers, body: res.text().await.unwrap() }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(false).await.0
    }

    /// The server over a new database holding the demo company, loaded first as `railyard serve --demo`
    /// does; with the demo's people.
    pub async fn spawn_demo() -> (TestApp, Vec<railyard_demo::Person>) {
        TestApp::spawn_with(true).await
    }

    async fn spawn_with(demo: bool) -> (TestApp, Vec<railyard_demo::Person>) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn railyard_store::Store> =
            Arc::new(SqliteStore::open(&dir.path().join("railyard.db")).unwrap());
        let offset = Arc::new(AtomicI64::new(0));
        let shift = offset.clone();
        let clock = Arc::new(move || chrono::Utc::now() + chrono::Duration::seconds(shift.load(Ordering::SeqCst)));
        let (admin, people) = if demo {
            let loaded = railyard_demo::load_into(store.clone(), None, None).await.expect("the demo loads");
            (loaded.admin_token.expect("the demo's admin token"), loaded.people)
        } else {
            let service = Service::new(store.clone());
            (service.bootstrap_admin(None).await.unwrap().token().unwrap(), Vec::new())
        };
        let key =
            railyard_service::SecretKey::load_or_create(&dir.path().join("railyard.db.secret-key"), true).unwrap();
        let service = Service::with_clock(store, clock).with_secret_key(Some(key));
        // The engine runs deployments' tasks, as `railyard serve` does.
        tokio::spawn(railyard_engine::Engine::new(service.clone()).run(std::future::pending()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(railyard_server::serve(listener, service, async move {
            let _ = rx.await;
        }));
        (TestApp { base, api: reqwest::Client::new(), admin, offset, _dir: dir, _stop: tx }, people)
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.offset.fetch_add(by.num_seconds(), Ordering::SeqCst);
    }

    /// Sets the server's clock to noon (UTC) of `day`, from where it runs on: a test whose dates are
    /// fixed does not depend on the day it runs.
    pub fn travel_to(&self, day: &str) {
        let noon = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap().and_hms_opt(12, 0, 0).unwrap().and_utc();
        self.offset.store((noon - chrono::Utc::now()).num_seconds(), Ordering::SeqCst);
    }

    pub fn browser(&self) -> Browser {
        let http =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { base: self.base.clone(), http }
    }

    pub async fn call(&self, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.api.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Value {
        let (status, v) = self.call(token, reqwest::Method::POST, path, Some(body)).await;
        assert!((200..300).contains(&status), "POST {path}: {status} {v}");
        v
    }

    pub async fn get(&self, token: &str, path: &str) -> Value {
        self.call(token, reqwest::Method::GET, path, None).await.1
    }

    /// A user with these roles and a console password; returns an API token of theirs.
    pub async fn user(&self, name: &str, roles: &[&str]) -> String {
        self.post(&self.admin, "/api/v1/users", json!({"name": name, "roles": roles})).await;
        self.post(&self.admin, &format!("/api/v1/users/{name}/password"), json!({"password": PASSWORD})).await;
        let t = self.post(&self.admin, "/api/v1/tokens", json!({"label": "test", "user": name})).await;
        t["token"].as_str().unwrap().to_string()
    }

    /// A submitted train whose train approval waits for `approver`; returns (train id, approval id).
    pub async fn train_awaiting(&self, manager: &str, approver: &str) -> (String, String) {
        let level = json!({"approvers": [approver], "required": 1});
        let body = json!({
            "title": "Spring release",
            "release_type": "major",
            "purpose": "Q1 release",
            "schedule": {
                "start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
                "verification_end": "2027-02-26", "production_date": "2027-03-06"
            },
            "approval_policies": {"train": {"levels": [level]}, "executive": {"levels": [level]}}
        });
        let t = self.post(manager, "/api/v1/trains", body).await;
        let id = t["id"].as_str().unwrap().to_string();
        let t = self.post(manager, &format!("/api/v1/trains/{id}/submit"), json!({})).await;
        (id, t["train_approval"]["id"].as_str().unwrap().to_string())
    }

    pub async fn event_count(&self) -> u64 {
        self.get(&self.admin, "/api/v1/audit/verify").await["events_checked"].as_u64().unwrap()
    }

    /// The audit events of one object.
    pub async fn events_of(&self, object: &str) -> Vec<Value> {
        let v = self.get(&self.admin, &format!("/api/v1/audit/events?object={object}&limit=500")).await;
        v["items"].as_array().cloned().unwrap_or_default()
    }
}

// ---- release elements (elements.rs) ----

impl Browser {
    /// Signs in by pasting an API token (the bootstrap admin has no password).
    pub async fn sign_in_with_token(&self, token: &str) -> Page {
        let form = self.get("/sign-in").await;
        let csrf = form.csrf();
        self.post("/sign-in", &[("csrf", &csrf), ("token", token)]).await
    }
}

impl Page {
    /// The `value` of the first input named `name` after `after` in the page (e.g. a form's hidden version).
    #[track_caller]
    pub fn input_value(&self, after: &str, name: &str) -> String {
        let from = self.body.find(after).unwrap_or_else(|| panic!("no {after} in:\n{}", self.body));
        let rest = &self.body[from..];
        let marker = format!(r#"name="{name}" value=""#);
        let start =
            rest.find(&marker).unwrap_or_else(|| panic!("no {name} input after {after}:\n{rest}")) + marker.len();
        rest[start..].split('"').next().unwrap().to_string()
    }
}

// ---- forms read from their pages (form.rs) ----

impl Browser {
    /// Posts fields as read from a page by [`crate::form::fields`].
    pub async fn post_fields(&self, path: &str, fields: &[(String, String)]) -> Page {
        page(self.http.post(format!("{}{path}", self.base)).form(fields).send().await.unwrap()).await
    }
}

/// A temp dir the automation tasks of a test can write into: they run as `nobody` when the tests run as
/// root. World-writable and sticky, as `/tmp` is: tasks can add files, not remove others'.
pub fn tasks_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    dir
}

/// The body of the Spring release train the console tests share (starting 2027-01-04, production
/// 2027-03-06), with `policies` as its approval policies.
pub fn spring_train(policies: Value) -> Value {
    json!({
        "title": "Spring release", "release_type": "major", "purpose": "Q1",
        "schedule": {
            "start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"
        },
        "approval_policies": policies
    })
}
