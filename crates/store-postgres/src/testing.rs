//! A throwaway PostgreSQL cluster for tests (feature `testing`).
//!
//! [`TestCluster::shared`] starts one cluster per test process from the system's PostgreSQL binaries
//! (found with `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`): `initdb` into a temp
//! dir, then `pg_ctl start` listening on 127.0.0.1 only, on a free port. Each test then takes an empty
//! database with [`TestCluster::fresh_database`]. If no binaries are found, it panics telling to install
//! them: tests never skip silently.
//!
//! PostgreSQL refuses to run as root; when the tests do (CI, containers), every PostgreSQL command is run
//! as the `postgres` user (created by the Debian package) through `runuser`, and the temp dir is handed
//! to that user.
//!
//! # Stopping the cluster
//!
//! A `static` is never dropped, so the shared cluster cannot be stopped from `Drop` when the test binary
//! exits. Instead a **watchdog** shell is started before the server: it blocks reading its stdin, a pipe
//! whose only write end this process holds. When this process ends, however it ends (normal exit, panic,
//! `SIGKILL`), the kernel closes that pipe, the watchdog's `read` returns, and it runs
//! `pg_ctl stop -m immediate` and deletes the temp dir. The watchdog is in its own process group and
//! ignores SIGINT/SIGHUP, so a Ctrl-C on `cargo test` does not kill it before it has done its job.
//! Dropping a [`TestCluster`] closes the pipe the same way and waits for the watchdog.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const INSTALL_HINT: &str = "install the PostgreSQL server binaries, e.g. `apt-get install postgresql`";

/// A running throwaway PostgreSQL cluster; stopped (and its files deleted) when dropped or when the
/// process exits.
pub struct TestCluster {
    port: u16,
    next_db: AtomicU64,
    watchdog: Child,
    watchdog_pipe: Option<ChildStdin>,
    dir: TempDir,
}

impl TestCluster {
    /// The cluster shared by every test of this process, started on first use. Panics with the reason
    /// (e.g. PostgreSQL is not installed) if it cannot be started.
    pub fn shared() -> &'static TestCluster {
        static SHARED: OnceLock<TestCluster> = OnceLock::new();
        SHARED.get_or_init(|| TestCluster::start().unwrap_or_else(|e| panic!("cannot start a test PostgreSQL: {e}")))
    }

    /// Starts a new cluster. Blocking (a second or two for `initdb`).
    pub fn start() -> Result<TestCluster, String> {
        let bin = find_bindir()?;
        let run_as = if effective_uid()? == 0 { Some(postgres_user()?) } else { None };
        let dir = tempfile::Builder::new()
            .prefix("railyard-pg-")
            .tempdir()
            .map_err(|e| format!("cannot create a temp dir: {e}"))?;
        if let Some(user) = &run_as {
            std::os::unix::fs::chown(dir.path(), Some(user.uid), Some(user.gid))
                .map_err(|e| format!("cannot hand {} to the postgres user: {e}", dir.path().display()))?;
        }
        let runner = Runner { run_as, cwd: dir.path().to_path_buf() };
        let data = dir.path().join("data");
        let log = dir.path().join("server.log");

        let (watchdog, watchdog_pipe) = runner.watchdog(&bin.join("pg_ctl"), &data, dir.path())?;
        let mut cluster =
            TestCluster { port: 0, next_db: AtomicU64::new(1), watchdog, watchdog_pipe: Some(watchdog_pipe), dir };

        let mut initdb = runner.command(&bin.join("initdb"));
        initdb.arg("-D").arg(&data).args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
        runner.run(initdb, "initdb")?;

        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let options = format!(
                "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                cluster.dir.path().display()
            );
            let mut start = runner.command(&bin.join("pg_ctl"));
            start.arg("-D").arg(&data).arg("-l").arg(&log).args(["-w", "-t", "60", "-o", &options, "start"]);
            match runner.run(start, "pg_ctl start") {
                Ok(()) => {
                    wait_for_port(port, Duration::from_secs(30))?;
                    cluster.port = port;
                    return Ok(cluster);
                }
                // Most likely the port was taken between probing and binding it: try another.
                Err(e) => last_error = format!("{e}\nserver log:\n{}", read_tail(&log)),
            }
        }
        Err(last_error)
    }

    /// The TCP port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `database` on this cluster, as the superuser `postgres` (trust authentication).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a new empty database (`test_N`) and returns its URL. Panics if it cannot.
    pub async fn fresh_database(&self) -> String {
        let name = format!("test_{}", self.next_db.fetch_add(1, Ordering::SeqCst));
        let (client, connection) = tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL on port {}: {e}", self.port));
        let connection = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        drop(client);
        let _ = connection.await;
        self.url(&name)
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // Closing the pipe tells the watchdog to stop the server and delete the files.
        drop(self.watchdog_pipe.take());
        let _ = self.watchdog.wait();
    }
}

/// The URL of a new empty database on the shared test cluster.
pub async fn fresh_database() -> String {
    TestCluster::shared().fresh_database().await
}

struct User {
    uid: u32,
    gid: u32,
}

/// Runs PostgreSQL's commands, as the `postgres` user when we are root.
struct Runner {
    run_as: Option<User>,
    cwd: PathBuf,
}

impl Runner {
    fn command(&self, program: &Path) -> Command {
        let mut cmd = match self.run_as {
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.current_dir(&self.cwd).stdin(Stdio::null());
        cmd
    }

    fn run(&self, mut cmd: Command, what: &str) -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("cannot run {what} ({cmd:?}): {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    /// Starts the watchdog: `sh` blocked on `read` until our end of its stdin closes, then stopping the
    /// server and deleting `dir`.
    fn watchdog(&self, pg_ctl: &Path, data: &Path, dir: &Path) -> Result<(Child, ChildStdin), String> {
        let script = r#"trap '' INT HUP; read _unused; "$0" -D "$1" stop -m immediate >/dev/null 2>&1; rm -rf "$2""#;
        let mut cmd = self.command(Path::new("/bin/sh"));
        cmd.arg("-c").arg(script).arg(pg_ctl).arg(data).arg(dir);
        cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).process_group(0);
        let mut child = cmd.spawn().map_err(|e| format!("cannot start the watchdog ({cmd:?}): {e}"))?;
        let pipe = child.stdin.take().ok_or("the watchdog has no stdin")?;
        Ok((child, pipe))
    }
}

fn find_bindir() -> Result<PathBuf, String> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file()) {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.split('.').next()?.parse().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| format!("no PostgreSQL server binaries (initdb, pg_ctl) found via `pg_config --bindir` or in /usr/lib/postgresql/*/bin: {INSTALL_HINT}"))
}

fn effective_uid() -> Result<u32, String> {
    let out = Command::new("id").arg("-u").output().map_err(|e| format!("cannot run `id -u`: {e}"))?;
    String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|e| format!("unexpected `id -u` output: {e}"))
}

fn postgres_user() -> Result<User, String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id").args([flag, "postgres"]).output().map_err(|e| format!("cannot run `id`: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "PostgreSQL refuses to run as root and there is no `postgres` user to run it as: {INSTALL_HINT} \
                 (which creates it), or run the tests as another user"
            ));
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|e| format!("unexpected `id` output: {e}"))
    };
    Ok(User { uid: id("-u")?, gid: id("-g")? })
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("cannot find a free port: {e}"))
}

fn wait_for_port(port: u16, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("the test PostgreSQL did not accept connections on port {port} within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    let start = text.len().saturating_sub(4000);
    text.get(start..).unwrap_or_default().to_string()
}
