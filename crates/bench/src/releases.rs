//! The releases scenario: a train with 5,000 application releases and 20,000 dependencies between them.
//! The releases are seeded straight into the store (in the same shape the service writes, in batches),
//! because building them through 25,000 API calls would measure the setup, not the question; then
//! `GET /api/v1/trains/{id}/conflicts` and `POST .../dependencies` (the cycle check over the whole
//! graph) are timed through the HTTP API.

use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use railyard_domain::{
    ApplicationRelease, Criticality, Membership, MembershipState, ReleaseSchedule, ReleaseState, ReleaseType,
};
use railyard_store::{Commit, NewEvent, Record, Write};
use rand::{RngExt, SeedableRng};
use serde_json::json;

use crate::server::{self, Api, quantiles};

#[derive(clap::Args, Clone, Copy)]
pub struct Args {
    #[arg(long, default_value_t = 5_000)]
    pub releases: usize,
    #[arg(long, default_value_t = 20_000)]
    pub dependencies: usize,
    /// Timed requests of each kind.
    #[arg(long, default_value_t = 20)]
    pub samples: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let srv = server::start(&dir.path().join("railyard.db"), 2)?;
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    client.block_on(async {
        let api = Api::manager(&srv.base, &srv.admin).await?;
        api.post("/api/v1/applications", json!({"key": "BENCH", "name": "Bench"})).await?;
        let t = api
            .post(
                "/api/v1/trains",
                json!({"title": "big", "release_type": "major", "schedule": {"start": "2027-01-01", "scoping_end": "2027-02-01",
                    "construction_end": "2027-06-01", "verification_end": "2027-08-01", "production_date": "2027-12-31"}}),
            )
            .await?;
        let train = t["id"].as_str().context("train id")?.to_string();

        let t0 = Instant::now();
        let ids = seed(&srv, &train, args).await?;
        println!("seeded {} releases and {} dependencies in {:.1}s", args.releases, args.dependencies, t0.elapsed().as_secs_f64());

        let mut conflict_ms = Vec::new();
        let mut count = 0;
        for _ in 0..args.samples {
            let t = Instant::now();
            let c = api.get(&format!("/api/v1/trains/{train}/conflicts")).await?;
            conflict_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            count = c["items"].as_array().map(Vec::len).unwrap_or(0);
        }
        let (p50, p99, max) = quantiles(conflict_ms);
        println!("\nGET /trains/{{id}}/conflicts ({count} conflicts): p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms");
        println!("  budget (issue 3): under 250 ms {}", if p99 < 250.0 { "(met)" } else { "(NOT met)" });

        // Adding a dependency runs the cycle check over the whole graph; newer on older never closes one.
        let mut dep_ms = Vec::new();
        for i in 0..args.samples {
            let (from, to) = (&ids[ids.len() - 1 - i], &ids[i]);
            let t = Instant::now();
            api.post(&format!("/api/v1/application-releases/{from}/dependencies"), json!({"depends_on": to})).await?;
            dep_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (p50, p99, max) = quantiles(dep_ms);
        println!("POST /application-releases/{{id}}/dependencies (cycle check): p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms");
        let t = Instant::now();
        let r = api.post(&format!("/api/v1/application-releases/{}/dependencies", ids[0]), json!({"depends_on": ids[ids.len() - 1]})).await;
        println!("  a dependency closing a cycle is refused in {:.1} ms: {}", t.elapsed().as_secs_f64() * 1000.0, r.is_err());
        anyhow::Ok(())
    })
}

/// Writes the releases (accepted on the train, random acyclic dependencies: each on earlier ones) in
/// batches of 500 per commit, with one audit event per batch. Returns their ids in order.
async fn seed(srv: &server::Running, train: &str, args: Args) -> anyhow::Result<Vec<String>> {
    let n = args.releases;
    let first = srv.store.reserve_seqs("AR", n as u32).await?;
    let ids: Vec<String> = (0..n).map(|i| format!("AR-{}", first + i as i64)).collect();
    let mut deps: Vec<Vec<String>> = vec![Vec::new(); n];
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut placed = 0;
    while placed < args.dependencies {
        let a = rng.random_range(1..n);
        let b = rng.random_range(0..a);
        if !deps[a].contains(&ids[b]) {
            deps[a].push(ids[b].clone());
            placed += 1;
        }
    }
    let now = Utc::now();
    let day = |d: i64| chrono::NaiveDate::from_ymd_opt(2027, 1, 1).map(|s| s + chrono::Duration::days(d));
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut writes = Vec::with_capacity(chunk.len());
        for &i in chunk {
            let start = day((i % 300) as i64).context("date")?;
            let end = day((i % 300) as i64 + 30).context("date")?;
            let r = ApplicationRelease {
                id: ids[i].clone(),
                title: format!("release {i}"),
                application: "BENCH".into(),
                product_owner: "bench".into(),
                release_type: ReleaseType::Minor,
                schedule: ReleaseSchedule { start, end },
                criticality: Criticality::Medium,
                dependencies: deps[i].clone(),
                allowed_paths: vec![],
                membership: Some(Membership {
                    train_id: train.to_string(),
                    state: MembershipState::Accepted,
                    proposed_by: "bench".into(),
                    proposed_at: now,
                    decided_by: Some("bench".into()),
                    decided_at: Some(now),
                    reason: None,
                }),
                state: ReleaseState::Planning,
                milestones: vec![],
                development_approval: None,
                history: vec![],
                cancel_reason: None,
                created_by: "bench".into(),
            };
            writes.push(Write::Insert(Record {
                kind: "application_release".into(),
                id: r.id.clone(),
                seq: first + i as i64,
                version: 0,
                state: Some("planning".into()),
                parent_id: Some(train.to_string()),
                category: Some("BENCH".into()),
                unique_key: None,
                created_at: now,
                updated_at: now,
                doc: serde_json::to_string(&r)?,
            }));
        }
        let event = NewEvent {
            at: now,
            actor: "bench".into(),
            object_kind: "train".into(),
            object_id: train.to_string(),
            action: "seed_releases".into(),
            data: json!({"count": chunk.len()}).to_string(),
        };
        srv.store.commit(Commit { writes, events: vec![event] }).await?;
    }
    Ok(ids)
}
