//! Measures durable commits per second: `cargo run --release -p railyard-store-sqlite --example
//! commit_throughput -- [DB_PATH] [CONCURRENT_CLIENTS] [SECONDS]`.
//! Each commit inserts one record and appends one event, like a typical use case.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use railyard_store::{Commit, NewEvent, Record, Store, Write};
use railyard_store_sqlite::SqliteStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = tempfile::tempdir()?;
    let path = args.next().map(Into::into).unwrap_or_else(|| dir.path().join("throughput.db"));
    let clients: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(64);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(3);
    let store = Arc::new(SqliteStore::open(&path)?);
    let settings = store.settings().await?;
    println!(
        "{} ({} / synchronous={}), {clients} clients, {seconds}s",
        path.display(),
        settings.journal_mode,
        settings.synchronous
    );

    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (store, done) = (store.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0i64;
            while Instant::now() < deadline {
                let now = chrono::Utc::now();
                let id = format!("B-{c}-{i}");
                let record = Record {
                    kind: "bench".into(),
                    id: id.clone(),
                    seq: (c as i64) << 32 | i,
                    version: 0,
                    state: Some("open".into()),
                    parent_id: None,
                    category: None,
                    unique_key: None,
                    created_at: now,
                    updated_at: now,
                    doc: r#"{"payload":"a typical small document"}"#.into(),
                };
                let event = NewEvent {
                    at: now,
                    actor: "bench".into(),
                    object_kind: "bench".into(),
                    object_id: id,
                    action: "create".into(),
                    data: "{}".into(),
                };
                store.commit(Commit { writes: vec![Write::Insert(record)], events: vec![event] }).await?;
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            Ok::<_, railyard_store::StoreError>(())
        }));
    }
    let started = Instant::now();
    for t in tasks {
        t.await??;
    }
    let n = done.load(Ordering::Relaxed);
    println!(
        "{n} durable commits in {:.2?}: {:.0} commits/s",
        started.elapsed(),
        n as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}
