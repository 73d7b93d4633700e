//! `railyard serve`: open the database named by the URL, create the first admin on an empty database,
//! and serve the API until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use railyard_service::{Bootstrap, Service};
use railyard_store::Store;
use railyard_store_postgres::PostgresStore;
use railyard_store_sqlite::SqliteStore;
use tokio::net::TcpListener;

/// Where the data lives, from `--database`: `sqlite://PATH`, a plain path, or `postgres://...`.
#[derive(Debug, Clone, PartialEq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        if path.is_empty() || url.contains("://") && !url.starts_with("sqlite://") {
            bail!(
                "--database '{url}' is not understood: use sqlite://PATH (or a file path) or postgres://USER@HOST/DB"
            );
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match self {
            DatabaseUrl::Sqlite(path) => Arc::new(
                SqliteStore::open(path)
                    .with_context(|| format!("cannot open the SQLite database {}", path.display()))?,
            ),
            DatabaseUrl::Postgres(url) => {
                Arc::new(PostgresStore::connect(url).await.context("cannot open the PostgreSQL database")?)
            }
        })
    }
}

/// `railyard serve`'s options.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RAILYARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// sqlite://PATH (the file is created on first start) or postgres://USER@HOST/DB.
    #[arg(long, env = "RAILYARD_DATABASE", default_value = "sqlite://railyard.db")]
    pub database: String,
    /// Fill an empty database with a demo company (trains in every state, users with tokens).
    #[arg(long)]
    pub demo: bool,
    /// Connections open at once; one more is answered 503 (with Retry-After) and closed.
    #[arg(long, env = "RAILYARD_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Seconds a connection may take to send a request's head, counted from its opening or its
    /// previous response; a connection idle this long is closed.
    #[arg(long, env = "RAILYARD_IDLE_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,
}

/// How long requests in progress get to finish once a shutdown began, and how long the engine then gets
/// to stop its runs: together well under the 30 s a service manager waits before it kills.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
const ENGINE_STOP: Duration = Duration::from_secs(15);

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs { listen, database, demo, max_connections, idle_timeout } = args;
    let db = DatabaseUrl::parse(&database)?;
    let store = db.open().await?;
    let service = Service::new(store);
    let listener = TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let preset = std::env::var("RAILYARD_ADMIN_TOKEN").ok().filter(|t| !t.is_empty());
    let mut admin_token = preset.clone();
    match service.bootstrap_admin(preset.as_deref()).await.context("cannot create the first admin user")? {
        Bootstrap::Created(token) => {
            admin_token = Some(token.clone());
            println!("Created the admin user. Its API token is shown this once; keep it safe:");
            println!();
            println!("    {token}");
            println!();
            println!("Use it with: railyard login --server http://{addr} --token {token}");
        }
        Bootstrap::Preset => println!("Created the admin user with the token from RAILYARD_ADMIN_TOKEN."),
        Bootstrap::AlreadyInitialised if preset.is_some() => {
            println!(
                "The database already has users; RAILYARD_ADMIN_TOKEN is only used on first start and was ignored."
            )
        }
        Bootstrap::AlreadyInitialised => admin_token = None,
    }
    let what = match &db {
        DatabaseUrl::Sqlite(p) => format!("SQLite at {}", p.display()),
        DatabaseUrl::Postgres(_) => "PostgreSQL".to_string(),
    };
    println!("Railyard is listening on http://{addr} ({what})");
    // One signal stops both the API and the engine that runs deployments beside it.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    let engine_stop = when_stopping(stopping.clone());
    let engine = tokio::spawn(railyard_engine::Engine::new(service.clone()).run(engine_stop));
    if demo {
        // The demo goes in through the API like any client, once the server answers.
        match admin_token {
            Some(token) => {
                let base = format!("http://{addr}");
                tokio::spawn(async move {
                    println!("Loading the demo company ...");
                    match railyard_demo::load(&base, &token).await {
                        Ok(people) => railyard_demo::print_people(&people),
                        Err(e) => eprintln!("error: the demo data could not be loaded: {e:#}"),
                    }
                });
            }
            None => eprintln!(
                "--demo fills only a new, empty database; this one already has users, so it was left as it is"
            ),
        }
    }
    let options = railyard_server::ServeOptions {
        max_connections: max_connections as usize,
        idle_timeout: Duration::from_secs(idle_timeout),
        shutdown_grace: SHUTDOWN_GRACE,
        ..railyard_server::ServeOptions::default()
    };
    tokio::spawn(signal);
    railyard_server::serve_with(listener, service, options, when_stopping(stopping))
        .await
        .context("the server stopped with an error")?;
    // The engine stops its runs (they are recorded interrupted); it gets a bounded time for it.
    if tokio::time::timeout(ENGINE_STOP, engine).await.is_err() {
        eprintln!(
            "the engine did not stop within {} s; its runs are marked interrupted at the next start",
            ENGINE_STOP.as_secs()
        );
    }
    println!("Railyard stopped.");
    Ok(())
}

/// Completes once the stop flag is raised (or its sender is gone).
async fn when_stopping(mut stopping: tokio::sync::watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;
    use std::path::PathBuf;

    #[test]
    fn database_urls() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://x/railyard.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("x/railyard.db"))
        );
        assert_eq!(DatabaseUrl::parse("railyard.db").unwrap(), DatabaseUrl::Sqlite(PathBuf::from("railyard.db")));
        assert!(matches!(DatabaseUrl::parse("postgres://u@h/db").unwrap(), DatabaseUrl::Postgres(_)));
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
    }
}
