//! `railyard serve`: open the database named by the URL, create the first admin on an empty database,
//! and serve the API until SIGINT or SIGTERM.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

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

pub async fn run(listen: &str, database: &str, demo: bool, tasks: crate::harden::TaskOptions) -> anyhow::Result<()> {
    crate::harden::protect_process();
    crate::harden::refuse_password_in_argv(database)?;
    let sandbox = crate::harden::sandbox(&tasks)?;
    let db = DatabaseUrl::parse(database)?;
    let store = db.open().await?;
    let service = Service::new(store);
    let listener = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
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
    println!("{}", crate::harden::describe(&sandbox));
    // The engine runs deployments beside the API. On SIGINT or SIGTERM it stops with the API: it ends
    // the runs in flight and records them interrupted (within railyard_engine::STOP_BOUND).
    let (stop, mut engine_stop) = tokio::sync::watch::channel(false);
    let stop = Arc::new(stop);
    let engine = railyard_engine::Engine::with_sandbox(service.clone(), sandbox);
    let engine = tokio::spawn(engine.run(async move {
        let _ = engine_stop.wait_for(|s| *s).await;
    }));
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
    let signal = {
        let stop = stop.clone();
        async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        }
    };
    let served = railyard_server::serve(listener, service, signal).await;
    let _ = stop.send(true);
    if tokio::time::timeout(railyard_engine::STOP_BOUND + std::time::Duration::from_secs(5), engine).await.is_err() {
        eprintln!(
            "warning: the engine did not stop in time; runs it had in flight are marked interrupted at the next start"
        );
    }
    served.context("the server stopped with an error")?;
    // Not println!: a closed stdout (a pipe whose reader went away) must not turn a clean stop into a panic.
    let _ = writeln!(std::io::stdout(), "Railyard stopped.");
    Ok(())
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
