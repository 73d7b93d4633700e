//! Railyard on its own runtime over a fresh SQLite file, for the scenarios.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use railyard_store::Store;
use serde_json::{Value, json};

pub struct Running {
    /// Keeps the server's threads alive.
    _runtime: tokio::runtime::Runtime,
    pub base: String,
    pub admin: String,
    /// The store under the server, for seeding large fixtures directly.
    pub store: Arc<dyn Store>,
}

pub fn start(db: &Path, threads: usize) -> anyhow::Result<Running> {
    start_with(db, threads, false).map(|(running, _)| running)
}

/// The server over a new database holding the demo company (loaded before the server starts, as
/// `railyard serve --demo` does), with the demo's people.
pub fn start_demo(db: &Path, threads: usize) -> anyhow::Result<(Running, Vec<railyard_demo::Person>)> {
    start_with(db, threads, true)
}

fn start_with(db: &Path, threads: usize, demo: bool) -> anyhow::Result<(Running, Vec<railyard_demo::Person>)> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?;
    let store: Arc<dyn Store> =
        Arc::new(railyard_store_sqlite::SqliteStore::open(db).context("open the SQLite store")?);
    let service = railyard_service::Service::new(store.clone());
    let (base, admin, people) = runtime.block_on(async {
        let (admin, people) = if demo {
            let loaded = railyard_demo::load_into(store.clone(), None, None).await.context("load the demo company")?;
            (loaded.admin_token.context("the demo's admin token")?, loaded.people)
        } else {
            (service.bootstrap_admin(None).await?.token().context("fresh database")?, Vec::new())
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(railyard_engine::Engine::new(service.clone()).run(std::future::pending()));
        tokio::spawn(railyard_server::serve(listener, service, std::future::pending()));
        anyhow::Ok((base, admin, people))
    })?;
    Ok((Running { _runtime: runtime, base, admin, store }, people))
}

/// A small JSON client for setting up fixtures.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let res = req.bearer_auth(&self.token).send().await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!("{status}: {body}");
        }
        Ok(body)
    }
    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }

    /// A release manager (who is also a product owner) and an API for them.
    pub async fn manager(base: &str, admin: &str) -> anyhow::Result<Api> {
        let root = Api { http: reqwest::Client::new(), base: base.to_string(), token: admin.to_string() };
        root.post("/api/v1/users", json!({"name": "bench", "roles": ["release_manager", "product_owner"]})).await?;
        let t = root.post("/api/v1/tokens", json!({"user": "bench"})).await?;
        let token = t["token"].as_str().context("token")?.to_string();
        Ok(Api { token, ..root })
    }
}

/// The fixture of the task scenarios: a release engineer `eng`, an environment `env` on an active path,
/// a train in construction with a release of application BEN, and a turnover on the path (no tasks yet).
/// The engineer's client and the turnover's id.
pub async fn bench_turnover(base: &str, admin: &str, env: &str) -> anyhow::Result<(Api, String)> {
    let api = Api::manager(base, admin).await?;
    let root = Api { http: api.http.clone(), base: api.base.clone(), token: admin.to_string() };
    root.post("/api/v1/users", json!({"name": "eng", "roles": ["release_engineer", "developer"]})).await?;
    let t = root.post("/api/v1/tokens", json!({"user": "eng"})).await?;
    let eng = Api {
        token: t["token"].as_str().context("token")?.to_string(),
        http: api.http.clone(),
        base: api.base.clone(),
    };
    eng.post("/api/v1/environments", json!({"name": env, "kind": "test"})).await?;
    let p = eng.post("/api/v1/deployment-paths", json!({"name": "bench", "stages": [{"environment": env}]})).await?;
    let path = p["id"].as_str().context("path")?.to_string();
    eng.post(&format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await?;
    let t = api
        .post("/api/v1/trains", json!({"title": "bench", "release_type": "minor", "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15",
        "construction_end": "2027-02-12", "verification_end": "2027-02-26", "production_date": "2027-03-06"}}))
        .await?;
    let rt = t["id"].as_str().context("train")?.to_string();
    let mut pol = t["approval_policies"].clone();
    pol["executive"] = json!({"levels": [{"approvers": ["eng"], "required": 1}]});
    let v = t["version"].as_i64().unwrap_or(1);
    api.send(
        api.http
            .patch(format!("{}/api/v1/trains/{rt}", api.base))
            .header("If-Match", v.to_string())
            .json(&json!({"approval_policies": pol})),
    )
    .await?;
    api.post(&format!("/api/v1/trains/{rt}/submit"), json!({})).await?;
    api.post(&format!("/api/v1/trains/{rt}/start-construction"), json!({})).await?;
    api.post("/api/v1/applications", json!({"key": "BEN", "name": "Bench"})).await?;
    let r = api
        .post("/api/v1/application-releases", json!({"title": "r", "application": "BEN", "train": rt, "schedule": {"start": "2027-01-05", "end": "2027-02-01"}}))
        .await?;
    let ar = r["id"].as_str().context("release")?.to_string();
    api.post(&format!("/api/v1/application-releases/{ar}/begin-work"), json!({})).await?;
    let to = eng.post("/api/v1/turnovers", json!({"title": "bench", "release": ar, "path": path})).await?;
    let to = to["id"].as_str().context("turnover")?.to_string();
    Ok((eng, to))
}

/// p50, p99 and max of some latencies in milliseconds.
pub fn quantiles(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    (percentile(&ms, 0.5), percentile(&ms, 0.99), ms.last().copied().unwrap_or(0.0))
}

/// The `p` quantile (0 to 1) of latencies sorted ascending (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len().max(1) - 1) as f64 * p).round() as usize).copied().unwrap_or(0.0)
}
