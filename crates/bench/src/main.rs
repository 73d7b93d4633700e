//! `railyard-bench`: load benchmarks of Railyard through its HTTP API on SQLite (see docs/benchmark.md).
//!
//! - `trains` (the default): train actions per second and read latency under that load, against a bare
//!   axum + SQLite ceiling, reported as ratios.
//! - `releases`: a train with 5,000 application releases and 20,000 dependencies: `/conflicts` and adding
//!   a dependency (the cycle check over the whole graph).
//! - `import`: importing 10,000 work items from a Jira-style CSV, then the same file again.
//! - `engine`: a turnover of 1,000 `true` tasks in groups of 50 run by the engine, against spawning alone.
//! - `runners`: 4 `railyard runner` processes run a turnover of 1,000 `true` tasks for a `railyard serve
//!   --no-local-runner` process: overhead per task beyond spawning, queued-to-claimed latency, server memory.
//! - `production`: 20 production-ready turnovers of 200 tasks scheduled at the same moment across 4
//!   locked environments: how late they start, and dependency order across turnovers.
//! - `console`: the demo company plus 200 trains and 5,000 application releases: how fast the dashboard
//!   and train pages render for a signed-in release manager, and the weight of every reachable page.
//!
//! Run: `cargo run --release -p railyard-bench -- [trains|releases|import|engine|runners|production|console] [options]`

mod ceiling;
mod console;
mod engine;
mod import;
mod load;
mod production;
mod releases;
mod runners;
mod server;
mod trains;

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    scenario: Option<Scenario>,
}

#[derive(Subcommand)]
enum Scenario {
    /// Train actions per second and read latency, against the bare axum + SQLite ceiling.
    Trains(trains::Args),
    /// Conflicts and cycle checks on a train of 5,000 application releases and 20,000 dependencies.
    Releases(releases::Args),
    /// Importing 10,000 work items from CSV.
    Import(import::Args),
    /// 1,000 automation tasks run by the engine, against spawning them alone.
    Engine(engine::Args),
    /// 1,000 tasks run by 4 remote runner processes, against spawning them alone.
    Runners(runners::Args),
    /// A production night: 20 turnovers of 200 tasks scheduled at one moment across 4 environments.
    Production(production::Args),
    /// The web console over the demo plus 200 trains and 5,000 releases: render times and page weights.
    Console(console::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().scenario {
        None => trains::run(trains::Args { seconds: 10, writers: 64, readers: 4, trains: 64, server_threads: 2 }),
        Some(Scenario::Trains(a)) => trains::run(a),
        Some(Scenario::Releases(a)) => releases::run(a),
        Some(Scenario::Import(a)) => import::run(a),
        Some(Scenario::Engine(a)) => engine::run(a),
        Some(Scenario::Production(a)) => production::run(a),
        Some(Scenario::Runners(a)) => runners::run(a),
        Some(Scenario::Console(a)) => console::run(a),
    }
}
