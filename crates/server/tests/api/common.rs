//! A real server on 127.0.0.1 port 0 over a real SQLite file, driven by a real HTTP client.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use railyard_service::Service;
use railyard_store_sqlite::SqliteStore;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub admin: String,
    pub db_path: PathBuf,
    /// Seconds the server's clock runs ahead of the real one (see [`TestApp::advance`]).
    offset: Arc<AtomicI64>,
    /// The database's URL when the server runs on PostgreSQL.
    pub pg_url: Option<String>,
    _dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

/// A clock that runs with the real one, ahead of it by what the test says: time still flows (leases,
/// timeouts) but a test can move past a window instead of waiting for it.
fn test_clock() -> (Arc<AtomicI64>, railyard_service::Clock) {
    let offset = Arc::new(AtomicI64::new(0));
    let shift = offset.clone();
    let clock = Arc::new(move || chrono::Utc::now() + chrono::Duration::seconds(shift.load(Ordering::SeqCst)));
    (offset, clock)
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The codes of the guards of a refusal.
    pub fn guards(&self) -> Vec<String> {
        self.body["guards"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| g["code"].as_str().unwrap_or_default().to_string())
            .collect()
    }
    pub fn guard_text(&self) -> String {
        self.body["guards"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| g["message"].as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" | ")
    }
    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(self.status.is_success(), "expected success, got {}: {}", self.status, self.body);
        self.body
    }
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }
}

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_on(Backend::Sqlite).await
    }

    pub async fn spawn_on(backend: Backend) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("railyard.db");
        let mut pg_url = None;
        let store: Arc<dyn railyard_store::Store> = match backend {
            Backend::Sqlite => Arc::new(SqliteStore::open(&db_path).unwrap()),
            Backend::Postgres => {
                let url = railyard_store_postgres::testing::fresh_database().await;
                pg_url = Some(url.clone());
                Arc::new(railyard_store_postgres::PostgresStore::connect(&url).await.unwrap())
            }
        };
        let (offset, clock) = test_clock();
        // The key beside the database file, as `serve` makes it for SQLite.
        let key =
            railyard_service::SecretKey::load_or_create(&dir.path().join("railyard.db.secret-key"), true).unwrap();
        let service = Service::with_clock(store, clock).with_secret_key(Some(key));
        let admin = service.bootstrap_admin(None).await.unwrap().token().expect("a fresh database creates the admin");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(railyard_engine::Engine::new(service.clone()).run(std::future::pending()));
        tokio::spawn(railyard_server::serve(listener, service, async move {
            let _ = rx.await;
        }));
        TestApp { base, http: reqwest::Client::new(), admin, db_path, offset, pg_url, _dir: dir, _stop: tx }
    }

    /// The server's now.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::seconds(self.offset.load(Ordering::SeqCst))
    }

    /// `secs` from the server's now, as RFC 3339.
    pub fn at(&self, secs: i64) -> String {
        (self.now() + chrono::Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.offset.fetch_add(by.num_seconds(), Ordering::SeqCst);
    }

    /// Two servers over one PostgreSQL database, as Railyard scales out; each has its own service (and
    /// its own caches) and its own connection pool. The first one's engine runs deployments.
    pub async fn pair_on_postgres() -> (TestApp, TestApp) {
        let url = railyard_store_postgres::testing::fresh_database().await;
        let mut admin = String::new();
        let mut pair = Vec::new();
        // One clock for both, as two servers share the real one.
        let (offset, clock) = test_clock();
        // One key for both, as servers sharing a database must share it.
        let keys = tempfile::tempdir().unwrap();
        let key = railyard_service::SecretKey::load_or_create(&keys.path().join("secret-key"), true).unwrap();
        for first in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn railyard_store::Store> =
                Arc::new(railyard_store_postgres::PostgresStore::connect(&url).await.unwrap());
            let service = Service::with_clock(store, clock.clone()).with_secret_key(Some(key.clone()));
            if first {
                admin = service.bootstrap_admin(None).await.unwrap().token().expect("a fresh database");
                tokio::spawn(railyard_engine::Engine::new(service.clone()).run(std::future::pending()));
            }
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let (tx, rx) = oneshot::channel::<()>();
            tokio::spawn(railyard_server::serve(listener, service, async move {
                let _ = rx.await;
            }));
            let db_path = dir.path().join("unused");
            pair.push(TestApp {
                base,
                http: reqwest::Client::new(),
                admin: admin.clone(),
                db_path,
                offset: offset.clone(),
                pg_url: Some(url.clone()),
                _dir: dir,
                _stop: tx,
            });
        }
        let second = pair.pop().unwrap();
        (pair.pop().unwrap(), second)
    }

    pub async fn call(&self, token: Option<&str>, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_with(token, method, path, body, None).await
    }

    pub async fn call_with(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<i64>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(v) = if_match {
            req = req.header("If-Match", format!("\"{v}\""));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Reply { status, body }
    }

    pub async fn get(&self, token: &str, path: &str) -> Reply {
        self.call(Some(token), Method::GET, path, None).await
    }
    pub async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        self.call(Some(token), Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, token: &str, path: &str, body: Value, version: i64) -> Reply {
        self.call_with(Some(token), Method::PATCH, path, Some(body), Some(version)).await
    }

    /// Creates a user with these roles and returns a token for them.
    pub async fn user(&self, name: &str, roles: &[&str]) -> String {
        self.post(&self.admin, "/api/v1/users", json!({"name": name, "roles": roles})).await.ok();
        let t = self.post(&self.admin, "/api/v1/tokens", json!({"label": "test", "user": name})).await.ok();
        t["token"].as_str().unwrap().to_string()
    }

    pub async fn event_count(&self) -> usize {
        let v = self.get(&self.admin, "/api/v1/audit/verify").await.ok();
        v["events_checked"].as_u64().unwrap() as usize
    }
}

/// A train body with a valid schedule and the given policies.
pub fn train_body(title: &str, policies: Value) -> Value {
    json!({
        "title": title,
        "release_type": "major",
        "purpose": "Q1 release",
        "schedule": {
            "start": "2027-01-04",
            "scoping_end": "2027-01-15",
            "construction_end": "2027-02-12",
            "verification_end": "2027-02-26",
            "production_date": "2027-03-06"
        },
        "approval_policies": policies
    })
}

pub fn level(approvers: &[&str], required: u32) -> Value {
    json!({"approvers": approvers, "required": required})
}

/// A temp dir the automation tasks of a test can write into: they run as `nobody` when the tests run as
/// root. World-writable and sticky, as `/tmp` is: tasks can add files, not remove others'.
pub fn tasks_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    dir
}

/// A turnover "build 7" of PAY (rita's train in construction, eve its executive approver) on an active
/// path "short" through `test` (erin's), made by dan, ready for tasks; its id. PAY, `test` and the
/// users must exist.
pub async fn pay_turnover_through_test(app: &TestApp, rita: &str, erin: &str, dan: &str) -> String {
    let path = app
        .post(erin, "/api/v1/deployment-paths", json!({"name": "short", "stages": [{"environment": "test"}]}))
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await.ok();
    let t = app
        .post(rita, "/api/v1/trains", train_body("T", json!({"executive": {"levels": [level(&["eve"], 1)]}})))
        .await
        .ok();
    let rt = t["id"].as_str().unwrap().to_string();
    let r = app
        .post(rita, "/api/v1/application-releases", json!({"title": "PAY 1", "application": "PAY", "train": rt, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}}))
        .await
        .ok();
    let ar = r["id"].as_str().unwrap().to_string();
    app.post(rita, &format!("/api/v1/trains/{rt}/submit"), json!({})).await.ok();
    app.post(rita, &format!("/api/v1/trains/{rt}/start-construction"), json!({})).await.ok();
    app.post(rita, &format!("/api/v1/application-releases/{ar}/begin-work"), json!({})).await.ok();
    let t = app.post(dan, "/api/v1/turnovers", json!({"title": "build 7", "release": ar, "path": path})).await.ok();
    t["id"].as_str().unwrap().to_string()
}
