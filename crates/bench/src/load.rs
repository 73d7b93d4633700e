//! The load generator: writers taking actions as fast as the server answers, readers timing one GET at a
//! time, for a fixed time. All traffic goes to 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub struct Setup {
    http: reqwest::Client,
    base: String,
    admin: String,
}

async fn send(req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let res = req.send().await?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    Ok(body)
}

impl Setup {
    pub fn new(base: &str, admin: &str) -> Self {
        Setup { http: reqwest::Client::new(), base: base.to_string(), admin: admin.to_string() }
    }

    /// A release manager and their token.
    pub async fn manager(&self) -> anyhow::Result<String> {
        let url = |p: &str| format!("{}{p}", self.base);
        send(
            self.http
                .post(url("/api/v1/users"))
                .bearer_auth(&self.admin)
                .json(&json!({"name": "bench", "roles": ["release_manager"]})),
        )
        .await?;
        let t = send(self.http.post(url("/api/v1/tokens")).bearer_auth(&self.admin).json(&json!({"user": "bench"})))
            .await?;
        Ok(t["token"].as_str().context("token")?.to_string())
    }

    /// Trains with one scoping exit criterion each: (train id, criterion id).
    pub async fn trains(&self, token: &str, n: usize) -> anyhow::Result<Vec<(String, String)>> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let body = json!({
                "title": format!("bench {i}"), "release_type": "minor",
                "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
                             "verification_end": "2027-02-26", "production_date": "2027-03-06"}
            });
            let t = send(self.http.post(format!("{}/api/v1/trains", self.base)).bearer_auth(token).json(&body)).await?;
            let id = t["id"].as_str().context("train id")?.to_string();
            let t = send(
                self.http
                    .post(format!("{}/api/v1/trains/{id}/gates/scoping/criteria", self.base))
                    .bearer_auth(token)
                    .json(&json!({"title": "toggled by the benchmark"})),
            )
            .await?;
            let ec = t["gates"]["scoping"]["criteria"][0]["id"].as_str().context("criterion id")?.to_string();
            out.push((id, ec));
        }
        Ok(out)
    }
}

enum Kind {
    /// Meet, then reopen, each train's criterion; read the trains.
    Trains(Vec<(String, String)>),
    /// Insert rows; read the given rows.
    Ceiling(Vec<i64>),
}

pub struct Load {
    base: String,
    token: Option<String>,
    kind: Kind,
    writers: usize,
    readers: usize,
}

#[derive(Debug, Default)]
pub struct Report {
    pub writes: u64,
    pub write_errors: u64,
    pub reads: u64,
    pub seconds: f64,
    /// Read latencies in milliseconds, sorted.
    latencies: Vec<f64>,
}

impl Report {
    pub fn writes_per_sec(&self) -> f64 {
        self.writes as f64 / self.seconds
    }
    fn quantile(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
        self.latencies[i]
    }
    pub fn read_p50_ms(&self) -> f64 {
        self.quantile(0.50)
    }
    pub fn read_p99_ms(&self) -> f64 {
        self.quantile(0.99)
    }
    pub fn read_max_ms(&self) -> f64 {
        self.latencies.last().copied().unwrap_or(0.0)
    }
    pub fn to_json(&self) -> Value {
        json!({
            "writes": self.writes, "write_errors": self.write_errors, "seconds": self.seconds,
            "writes_per_sec": self.writes_per_sec(), "reads": self.reads,
            "read_p50_ms": self.read_p50_ms(), "read_p99_ms": self.read_p99_ms(), "read_max_ms": self.read_max_ms(),
        })
    }
}

impl Load {
    pub fn train_actions(
        base: String,
        token: String,
        targets: Vec<(String, String)>,
        writers: usize,
        readers: usize,
    ) -> Self {
        Load { base, token: Some(token), kind: Kind::Trains(targets), writers, readers }
    }

    pub fn ceiling(base: String, ids: Vec<i64>, writers: usize, readers: usize) -> Self {
        Load { base, token: None, kind: Kind::Ceiling(ids), writers, readers }
    }

    pub async fn run(self, seconds: u64) -> anyhow::Result<Report> {
        let this = Arc::new(self);
        let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let writes = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for w in 0..this.writers {
            let (this, http, writes, errors) = (this.clone(), http.clone(), writes.clone(), errors.clone());
            tasks.push(tokio::spawn(async move {
                let mut met = false;
                while Instant::now() < deadline {
                    let req = this.write_request(&http, w, met);
                    match req.send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            writes.fetch_add(1, Ordering::Relaxed);
                            met = !met;
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Vec::new()
            }));
        }
        for r in 0..this.readers {
            let (this, http) = (this.clone(), http.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = r;
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    if let Ok(res) = this.read_request(&http, i).send().await
                        && res.status().is_success()
                        && res.bytes().await.is_ok()
                    {
                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    i += this.readers;
                }
                lat
            }));
        }
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await?);
        }
        latencies.sort_by(|a, b| a.total_cmp(b));
        Ok(Report {
            writes: writes.load(Ordering::Relaxed),
            write_errors: errors.load(Ordering::Relaxed),
            reads: latencies.len() as u64,
            seconds: started.elapsed().as_secs_f64(),
            latencies,
        })
    }

    fn write_request(&self, http: &reqwest::Client, w: usize, met: bool) -> reqwest::RequestBuilder {
        match &self.kind {
            Kind::Trains(t) => {
                let (train, ec) = &t[w % t.len()];
                let req = if met {
                    http.post(format!("{}/api/v1/trains/{train}/criteria/{ec}/reopen", self.base))
                } else {
                    http.post(format!("{}/api/v1/trains/{train}/criteria/{ec}/meet", self.base))
                        .json(&json!({"evidence": {"note": "benchmark"}}))
                };
                req.bearer_auth(self.token.as_deref().unwrap_or_default())
            }
            Kind::Ceiling(_) => http.post(format!("{}/rows", self.base)).json(&json!({"value": format!("writer {w}")})),
        }
    }

    fn read_request(&self, http: &reqwest::Client, i: usize) -> reqwest::RequestBuilder {
        match &self.kind {
            Kind::Trains(t) => http
                .get(format!("{}/api/v1/trains/{}", self.base, t[i % t.len()].0))
                .bearer_auth(self.token.as_deref().unwrap_or_default()),
            Kind::Ceiling(ids) => http.get(format!("{}/rows/{}", self.base, ids[i % ids.len()])),
        }
    }
}
