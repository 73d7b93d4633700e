//! The train-actions scenario: how many train actions per second Railyard sustains through its HTTP API
//! on SQLite with durable commits, and how fast `GET /api/v1/trains/{id}` answers under that load; then
//! the same load against a bare axum endpoint that inserts and reads one SQLite row (the ceiling of this
//! machine), and our figures as ratios of it.

use anyhow::Context;
use serde_json::json;

use crate::ceiling;
use crate::load::{self, Load, Report};

#[derive(clap::Args, Clone, Copy)]
pub struct Args {
    /// How long each measurement runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent clients taking train actions (or inserting rows).
    #[arg(long, default_value_t = 64)]
    pub writers: usize,
    /// Concurrent clients reading one train (or row) at a time, measuring latency.
    #[arg(long, default_value_t = 4)]
    pub readers: usize,
    /// Trains the writers spread over.
    #[arg(long, default_value_t = 64)]
    pub trains: usize,
    /// Server worker threads.
    #[arg(long, default_value_t = 2)]
    pub server_threads: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    println!(
        "railyard-bench: {}s per run, {} writers, {} readers, {} trains, {} server threads, {} cores",
        args.seconds,
        args.writers,
        args.readers,
        args.trains,
        args.server_threads,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;

    let dir = tempfile::tempdir()?;
    let (_server, base, token, targets) = railyard(&args, &dir.path().join("railyard.db"))?;
    let ours =
        client.block_on(Load::train_actions(base, token, targets, args.writers, args.readers).run(args.seconds))?;
    print_report("Railyard: meet/reopen an exit criterion (a train action, durable, audited)", &ours);

    let (_ceiling, cbase, cids) = ceiling::start(&dir.path().join("ceiling.db"), args.server_threads)?;
    let bare = client.block_on(Load::ceiling(cbase, cids, args.writers, args.readers).run(args.seconds))?;
    print_report("Ceiling: bare axum + rusqlite, insert one row (durable, group commit) / read one row", &bare);

    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    println!("\nratios (Railyard / ceiling)");
    println!("  writes per second     {:.2}", ratio(ours.writes_per_sec(), bare.writes_per_sec()));
    println!("  read p99 latency      {:.2}  (higher is slower)", ratio(ours.read_p99_ms(), bare.read_p99_ms()));
    println!("\nbudget (issue 2): >= 2000 train actions/s and read p99 < 20 ms");
    println!(
        "  train actions/s {:.0} {}; read p99 {:.2} ms {}",
        ours.writes_per_sec(),
        if ours.writes_per_sec() >= 2000.0 { "(met)" } else { "(NOT met)" },
        ours.read_p99_ms(),
        if ours.read_p99_ms() < 20.0 { "(met)" } else { "(NOT met)" }
    );
    let summary = json!({
        "railyard": ours.to_json(), "ceiling": bare.to_json(),
        "ratio_writes": ratio(ours.writes_per_sec(), bare.writes_per_sec()),
        "ratio_read_p99": ratio(ours.read_p99_ms(), bare.read_p99_ms()),
    });
    let out = std::path::Path::new("target").join("bench-results.json");
    if std::fs::create_dir_all("target").is_ok()
        && std::fs::write(&out, serde_json::to_string_pretty(&summary)?).is_ok()
    {
        println!("\nwritten to {}", out.display());
    }
    Ok(())
}

fn print_report(title: &str, r: &Report) {
    println!("\n{title}");
    println!("  writes: {} in {:.1}s = {:.0}/s ({} failed)", r.writes, r.seconds, r.writes_per_sec(), r.write_errors);
    println!(
        "  reads under that load: {} ({:.0}/s), p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        r.reads,
        r.reads as f64 / r.seconds,
        r.read_p50_ms(),
        r.read_p99_ms(),
        r.read_max_ms()
    );
}

/// Starts Railyard on its own runtime over a fresh SQLite file, with a release manager and trains that
/// each have one scoping exit criterion. Returns the base URL, the manager's token, and (train, criterion).
type Served = (tokio::runtime::Runtime, String, String, Vec<(String, String)>);

fn railyard(args: &Args, db: &std::path::Path) -> anyhow::Result<Served> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(args.server_threads).enable_all().build()?;
    let store = railyard_store_sqlite::SqliteStore::open(db).context("open the SQLite store")?;
    let service = railyard_service::Service::new(std::sync::Arc::new(store));
    let (base, token, targets) = rt.block_on(async {
        let admin = service.bootstrap_admin(None).await?.token().context("fresh database")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(railyard_server::serve(listener, service, std::future::pending()));
        let setup = load::Setup::new(&base, &admin);
        let token = setup.manager().await?;
        let targets = setup.trains(&token, args.trains).await?;
        anyhow::Ok((base, token, targets))
    })?;
    // The runtime keeps serving on its own threads while the caller holds it.
    Ok((rt, base, token, targets))
}
