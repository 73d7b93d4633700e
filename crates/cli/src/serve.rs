//! `railyard serve`: open the database named by the URL, create the first admin on an empty database,
//! and serve the API until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use railyard_service::{Bootstrap, PublicUrl, Service, SignInLimits};
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

/// How people get in: the bootstrap token, where they reach the server, the sign-in limits' window.
pub struct Access {
    /// `RAILYARD_ADMIN_TOKEN`, taken out of the environment by [`take_admin_token`].
    pub admin_token: Option<String>,
    pub public_url: Option<PublicUrl>,
    pub auth_failure_window: u32,
}

const BOOTSTRAP_LIFETIME: &str = "It is for the first start: it stops working once an admin creates another admin token \
     (give yourself one with `railyard token create`, or an admin user one with `railyard token create --user NAME`).";

/// Reads `RAILYARD_ADMIN_TOKEN` and removes it from this process's environment, so that no task or
/// anything else reading the environment finds it. On Linux its value is also overwritten where the
/// kernel shows the process's initial environment (`/proc/<pid>/environ`). Call it before any other
/// thread starts (from `main`, before the runtime).
pub fn take_admin_token() -> Option<String> {
    const NAME: &str = "RAILYARD_ADMIN_TOKEN";
    let value = std::env::var(NAME).ok();
    #[cfg(target_os = "linux")]
    if value.is_some() {
        // SAFETY: no other thread exists yet (see above). `getenv` returns a pointer to the value in the
        // environment block, which is writable memory of this process and stays valid; its `strlen`
        // bytes are overwritten in place and the terminating NUL is left as it is.
        unsafe {
            let p = libc::getenv(c"RAILYARD_ADMIN_TOKEN".as_ptr());
            if !p.is_null() {
                std::ptr::write_bytes(p, b'x', libc::strlen(p));
            }
        }
    }
    // SAFETY: as above, no other thread reads or writes the environment now.
    unsafe { std::env::remove_var(NAME) };
    value.filter(|t| !t.is_empty())
}

pub async fn run(listen: &str, database: &str, demo: bool, access: Access) -> anyhow::Result<()> {
    let db = DatabaseUrl::parse(database)?;
    let store = db.open().await?;
    let limits = SignInLimits { window_secs: access.auth_failure_window, ..SignInLimits::default() };
    let service = Service::new(store).with_sign_in_limits(limits).with_public_url(access.public_url.clone());
    let listener = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let base = access.public_url.as_ref().map_or_else(|| format!("http://{addr}"), |u| u.to_string());
    let preset = access.admin_token;
    let mut admin_token = preset.clone();
    match service.bootstrap_admin(preset.as_deref()).await.context("cannot create the first admin user")? {
        Bootstrap::Created(token) => {
            admin_token = Some(token.clone());
            println!("Created the admin user. Its API token is shown this once; keep it safe:");
            println!();
            println!("    {token}");
            println!();
            println!("{BOOTSTRAP_LIFETIME}");
            println!("Use it with: railyard login --server {base} --token {token}");
        }
        Bootstrap::Preset => {
            println!(
                "Created the admin user with the token from RAILYARD_ADMIN_TOKEN (now removed from this process's environment)."
            );
            println!("{BOOTSTRAP_LIFETIME}");
        }
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
    // The engine runs deployments beside the API; it stops with the process (its leases then expire and
    // the next start marks the runs it had in flight interrupted).
    tokio::spawn(railyard_engine::Engine::new(service.clone()).run(std::future::pending()));
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
    railyard_server::serve(listener, service, shutdown_signal()).await.context("the server stopped with an error")?;
    println!("Railyard stopped.");
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
