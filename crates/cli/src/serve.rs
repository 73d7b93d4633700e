//! `railyard serve`: open the database named by the URL, create the first admin on an empty database,
//! and serve the API until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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

/// `railyard serve`'s options.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RAILYARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// sqlite://PATH (the file is created on first start, readable by the server's user only) or
    /// postgres://USER@HOST/DB. A URL with a password is refused here, on the command line, which
    /// every local user can read: set it in RAILYARD_DATABASE instead.
    #[arg(long, env = "RAILYARD_DATABASE", hide_env_values = true, default_value = "sqlite://railyard.db")]
    pub database: String,
    /// Fill an empty database with a demo company (trains in every state, users with tokens).
    #[arg(long)]
    pub demo: bool,
    /// Run no automation task on this host: every run waits for a remote runner (`railyard runner`),
    /// those of environments without runner labels for any runner. Without it, the runner built into
    /// the server runs the tasks of environments that name no runner labels.
    #[arg(long, env = "RAILYARD_NO_LOCAL_RUNNER")]
    pub no_local_runner: bool,
    /// Connections open at once; one more is answered 503 (with Retry-After) and closed.
    #[arg(long, env = "RAILYARD_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Seconds a connection may take to send a request's head, counted from its opening or its
    /// previous response; a connection idle this long is closed.
    #[arg(long, env = "RAILYARD_IDLE_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,
    /// The address people open Railyard at when it is not the listening address (behind a reverse
    /// proxy or load balancer), e.g. https://railyard.example.com: http or https, a host and an
    /// optional port, no path beyond '/'. The console then accepts form posts from this origin only
    /// (without it: from the Host the request came to) and, when it is https, marks its cookies
    /// Secure.
    #[arg(long, env = "RAILYARD_PUBLIC_URL", value_name = "URL", value_parser = parse_public_url)]
    pub public_url: Option<PublicUrl>,
    /// How long, in seconds, a client address or a user name is refused after too many failures
    /// (20 failed sign-ins or bad API tokens per address, 5 failed sign-ins per user name), counted
    /// from its first failure. The client address is the TCP peer's, or what a --trusted-proxy says.
    /// A valid API token always works; bad ones past the limit get 429.
    #[arg(long, env = "RAILYARD_AUTH_FAILURE_WINDOW", value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub auth_failure_window: u32,
    /// A reverse proxy (an address, or a network such as 10.0.0.0/8) whose X-Forwarded-For names the
    /// client; repeat it for several. The right-most address of the header that is not a trusted proxy
    /// is then the client address that sign-in limits and the audit log use. Without it the header is
    /// ignored: anyone can send one.
    #[arg(long = "trusted-proxy", env = "RAILYARD_TRUSTED_PROXIES", value_name = "ADDR[/BITS]", value_delimiter = ',')]
    pub trusted_proxies: Vec<railyard_service::TrustedProxy>,
    /// Run local automation tasks as this OS user. Without it, a server running as root runs them
    /// as `nobody` (never as root), and a server running as an ordinary user runs them as itself,
    /// sharing its rights. Needs root (or CAP_SETUID, CAP_SETGID, CAP_CHOWN, CAP_DAC_OVERRIDE and
    /// CAP_FOWNER); root itself is refused. Tasks always get a cleared environment (PATH, LANG, LC_*, TZ
    /// kept; HOME, USER, LOGNAME set), no capabilities and no way to gain any (set-user-ID programs such
    /// as sudo do nothing for them), no core dumps, and unless they name one, a fresh working directory
    /// of their own, removed after the run. Everything a run started is killed when it ends.
    #[arg(long, env = "RAILYARD_TASK_USER", value_name = "USER")]
    pub task_user: Option<String>,
    /// Where tasks' own working directories are made [default: $TMPDIR/railyard-tasks-<uid>, or a fresh
    /// railyard-tasks-<uid>-<random> beside it when someone else made that one]. Its parent directories
    /// must be owned by root or the server and writable by no one else (or sticky, as /tmp is).
    #[arg(long, env = "RAILYARD_TASK_DIR", value_name = "DIR")]
    pub task_dir: Option<std::path::PathBuf>,
    /// How many processes and threads the task user may have at once (RLIMIT_NPROC), all its tasks
    /// together, when tasks run as another user than the server's.
    #[arg(long, env = "RAILYARD_TASK_MAX_PROCESSES", value_name = "N",
          default_value_t = railyard_runner::DEFAULT_MAX_PROCESSES,
          value_parser = clap::value_parser!(u64).range(16..=4_194_304))]
    pub task_max_processes: u64,
    /// The key file secrets are encrypted with (64 hex digits, mode 0600) [default for SQLite: the
    /// database file's path with .secret-key added, created on first start]. PostgreSQL deployments
    /// must name it, the same file on every server. Never a new key over existing secrets: a missing
    /// file while the database has secrets refuses to start.
    #[arg(long, env = "RAILYARD_SECRET_KEY_FILE", value_name = "FILE")]
    pub secret_key_file: Option<std::path::PathBuf>,
}

fn parse_public_url(text: &str) -> Result<PublicUrl, String> {
    text.parse()
}

/// How long requests in progress get to finish once a shutdown began. The engine meanwhile stops its
/// runs (within `railyard_engine::STOP_BOUND`, 20 s): `serve` ends well within the 30 s a service
/// manager waits before it kills.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

const BOOTSTRAP_LIFETIME: &str = "It is for the first start: it stops working once an admin creates another admin token \
     (give yourself one with `railyard token create`, or an admin user one with `railyard token create --user NAME`), \
     or another user can act as an admin with a password or a token of their own.";

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

/// Serves until SIGINT or SIGTERM. `admin_token` is `RAILYARD_ADMIN_TOKEN`, taken out of the
/// environment by [`take_admin_token`] before the runtime started.
pub async fn run(args: ServeArgs, admin_token: Option<String>) -> anyhow::Result<()> {
    let ServeArgs {
        listen,
        database,
        demo,
        max_connections,
        idle_timeout,
        public_url,
        auth_failure_window,
        trusted_proxies,
        task_user,
        task_dir,
        task_max_processes,
        secret_key_file,
        no_local_runner,
    } = args;
    crate::harden::protect_process();
    open_files_for(max_connections as u64);
    crate::harden::refuse_password_in_argv(&database)?;
    let sandbox = crate::harden::sandbox(&crate::harden::TaskOptions { task_user, task_dir, task_max_processes })?;
    let db = DatabaseUrl::parse(&database)?;
    let store = db.open().await?;
    let limits = SignInLimits { window_secs: auth_failure_window, ..SignInLimits::default() };
    let service = Service::new(store.clone()).with_sign_in_limits(limits).with_public_url(public_url.clone());
    let secret_key = crate::cmd::secret::serve_key(&db, secret_key_file, &service).await?;
    let key_note = match &secret_key {
        Some(k) => {
            format!("secrets encrypted with the key in {} (fingerprint {})", k.path().display(), k.fingerprint())
        }
        None => "no secret key: secrets cannot be set until RAILYARD_SECRET_KEY_FILE names one".to_string(),
    };
    let mut service = service.with_secret_key(secret_key);
    if no_local_runner {
        service = service.without_local_runner();
    }
    let listener = TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let base = public_url.as_ref().map_or_else(|| format!("http://{addr}"), |u| u.to_string());
    let preset = admin_token;
    // The demo goes in before the server opens: its history is made by the real service with a clock of
    // the loader's own (see railyard_demo), into a new database only.
    let mut demo_people = None;
    let mut bootstrap = None;
    if demo {
        crate::say::say!(
            "Loading the demo company ({} days of history; this takes a minute or two) ...",
            railyard_demo::HISTORY_DAYS
        );
        match railyard_demo::load_into(store.clone(), preset.as_deref(), Some(sandbox.clone())).await {
            Ok(loaded) => {
                bootstrap = Some(match loaded.admin_token {
                    Some(token) => Bootstrap::Created(token),
                    None => Bootstrap::Preset,
                });
                demo_people = Some(loaded.people);
            }
            Err(e) if e.downcast_ref::<railyard_demo::NotEmpty>().is_some() => {
                crate::say::complain!("--demo: {e}; this database was left as it is")
            }
            Err(e) => bail!("the demo data could not be loaded: {e:#}"),
        }
    }
    let bootstrap = match bootstrap {
        Some(b) => b,
        None => service.bootstrap_admin(preset.as_deref()).await.context("cannot create the first admin user")?,
    };
    match bootstrap {
        Bootstrap::Created(token) => {
            crate::say::say!("Created the admin user. Its API token is shown this once; keep it safe:");
            crate::say::say!();
            crate::say::say!("    {token}");
            crate::say::say!();
            crate::say::say!("{BOOTSTRAP_LIFETIME}");
            crate::say::say!("Use it with: railyard login --server {base} --token {token}");
        }
        Bootstrap::Preset => {
            crate::say::say!(
                "Created the admin user with the token from RAILYARD_ADMIN_TOKEN (now removed from this process's environment)."
            );
            crate::say::say!("{BOOTSTRAP_LIFETIME}");
        }
        Bootstrap::AlreadyInitialised if preset.is_some() => {
            crate::say::say!(
                "The database already has users; RAILYARD_ADMIN_TOKEN is only used on first start and was ignored."
            )
        }
        Bootstrap::AlreadyInitialised => {}
    }
    let what = match &db {
        DatabaseUrl::Sqlite(p) => format!("SQLite at {}", p.display()),
        DatabaseUrl::Postgres(_) => "PostgreSQL".to_string(),
    };
    crate::say::say!("Railyard is listening on http://{addr} ({what})");
    crate::say::say!("{}", crate::harden::describe(&sandbox));
    crate::say::say!("{key_note}");
    // One signal stops both the API and the engine that runs deployments beside it: the engine ends the
    // runs in flight and records them interrupted (within railyard_engine::STOP_BOUND).
    let (stop, stopping) = tokio::sync::watch::channel::<Option<tokio::time::Instant>>(None);
    let stop = Arc::new(stop);
    let signal = {
        let stop = stop.clone();
        async move {
            shutdown_signal().await;
            raise(&stop);
        }
    };
    let engine = railyard_engine::Engine::with_sandbox(service.clone(), sandbox);
    let engine = tokio::spawn(engine.run(when_stopping(stopping.clone())));
    if let Some(people) = &demo_people {
        railyard_demo::print_people(people, &base);
    }
    let options = railyard_server::ServeOptions {
        max_connections: max_connections as usize,
        idle_timeout: Duration::from_secs(idle_timeout),
        shutdown_grace: SHUTDOWN_GRACE,
        trusted_proxies,
        ..railyard_server::ServeOptions::default()
    };
    tokio::spawn(signal);
    let served = railyard_server::serve_with(listener, service, options, when_stopping(stopping.clone())).await;
    // The server may also have stopped by an error: the engine stops then too.
    raise(&stop);
    let stopped_at = (*stopping.borrow()).unwrap_or_else(tokio::time::Instant::now);
    let deadline = stopped_at + railyard_engine::STOP_BOUND + Duration::from_secs(3);
    if tokio::time::timeout_at(deadline, engine).await.is_err() {
        crate::say::complain!(
            "warning: the engine did not stop in time; runs it had in flight are marked interrupted at the next start"
        );
    }
    served.context("the server stopped with an error")?;
    crate::say::say!("Railyard stopped.");
    Ok(())
}

/// Raises the soft limit on open files to the hard limit: each connection, each running task's pipes
/// and the database take descriptors, and running out of them would fail tasks and commits rather than
/// only refuse connections. Says so when even the hard limit leaves too little room beside
/// `max_connections`.
fn open_files_for(max_connections: u64) {
    const RESERVE: u64 = 256;
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
        let raised = unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return;
            }
            if limit.rlim_cur < limit.rlim_max {
                let wanted = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                    limit = wanted;
                }
            }
            limit.rlim_cur
        };
        if raised < max_connections + RESERVE {
            crate::say::complain!(
                "warning: this process may open {raised} files; --max-connections {max_connections} needs about {} \
                 (raise the limit, e.g. LimitNOFILE= in a systemd unit, or lower --max-connections)",
                max_connections + RESERVE
            );
        }
    }
}

/// Sets the stop time, once.
fn raise(stop: &tokio::sync::watch::Sender<Option<tokio::time::Instant>>) {
    stop.send_if_modified(|at| {
        let first = at.is_none();
        at.get_or_insert_with(tokio::time::Instant::now);
        first
    });
}

/// Completes once the stop time is set (or its sender is gone).
async fn when_stopping(mut stopping: tokio::sync::watch::Receiver<Option<tokio::time::Instant>>) {
    let _ = stopping.wait_for(Option::is_some).await;
}

/// Completes at SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
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
