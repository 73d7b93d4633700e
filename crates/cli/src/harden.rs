//! What `railyard serve` does at start to keep its secrets from the tasks it runs (issue 12, finding 1):
//!
//! - it makes itself non-dumpable ([`railyard_runner::protect_server_process`]): a process of the same
//!   user (a task, when tasks run as the server's user) can neither read its `/proc/<pid>/environ` or
//!   memory nor ptrace it;
//! - it refuses a database password on its command line: every local user (and every task) can read a
//!   process's command line in `/proc/<pid>/cmdline`, non-dumpable or not. The URL goes in
//!   `RAILYARD_DATABASE` instead (for a service: from a file only root can read, such as a systemd
//!   `EnvironmentFile`), which its tasks never see;
//! - it settles who tasks run as ([`railyard_runner::Sandbox`]): `--task-user`, else `nobody` when it runs
//!   as root, else its own user; where their directories are made; how many processes the task user may
//!   have (`--task-max-processes`); and says so once, with how runs are held (a control group each, or
//!   without cgroup v2 their process group and run id). A task user it cannot use stops it with the
//!   reason.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use railyard_runner::{Sandbox, TaskLimits};

/// The `serve` flags about local tasks.
#[derive(Debug, Clone)]
pub struct TaskOptions {
    pub task_user: Option<String>,
    pub task_dir: Option<PathBuf>,
    pub task_max_processes: u64,
}

/// Makes the process non-dumpable. A failure is reported, not fatal: the rest still holds.
pub fn protect_process() {
    if let Err(e) = railyard_runner::protect_server_process() {
        crate::say::complain!("warning: could not make the server non-dumpable (prctl PR_SET_DUMPABLE): {e}");
    }
}

/// Refuses a `--database` URL that holds a password when it was given on the command line.
pub fn refuse_password_in_argv(database: &str) -> anyhow::Result<()> {
    let in_argv = std::env::args_os().skip(1).any(|a| a.to_string_lossy().contains(database));
    if in_argv && holds_password(database) {
        bail!(
            "--database holds a password on the command line, where every local user and every task can read it \
             (/proc/<pid>/cmdline); pass the URL in RAILYARD_DATABASE instead (for a service, from a file only \
             root can read, such as a systemd EnvironmentFile)"
        );
    }
    Ok(())
}

/// Whether a PostgreSQL URL carries a password (`postgres://user:secret@host/db` or `?password=`).
fn holds_password(database: &str) -> bool {
    if !(database.starts_with("postgres://") || database.starts_with("postgresql://")) {
        return false;
    }
    match reqwest::Url::parse(database) {
        Ok(url) => url.password().is_some() || url.query_pairs().any(|(k, _)| k == "password"),
        // Not a URL we can read: judge by its shape, erring on the side of the secret.
        Err(_) => database
            .split_once("://")
            .and_then(|(_, rest)| rest.rsplit_once('@'))
            .is_some_and(|(userinfo, _)| userinfo.contains(':')),
    }
}

/// Who tasks run as and where; prints nothing (see [`describe`]).
pub fn sandbox(options: &TaskOptions) -> anyhow::Result<Arc<Sandbox>> {
    match Sandbox::new(options.task_user.as_deref(), options.task_dir.clone()) {
        Ok(s) => Ok(Arc::new(s.with_limits(TaskLimits { max_processes: options.task_max_processes }))),
        Err(e) => bail!("{e}"),
    }
}

/// The sentence `serve` prints once at start about local tasks.
pub fn describe(sandbox: &Sandbox) -> String {
    sandbox.describe()
}

#[cfg(test)]
mod tests {
    use super::holds_password;

    #[test]
    fn passwords_in_database_urls_are_recognised() {
        assert!(holds_password("postgres://railyard:s3cret@db/railyard"));
        assert!(holds_password("postgresql://railyard:s3cret@db:5432/railyard?sslmode=require"));
        assert!(holds_password("postgres://railyard@db/railyard?password=s3cret"));
        assert!(!holds_password("postgres://railyard@db/railyard"));
        assert!(!holds_password("sqlite://railyard.db"));
        assert!(!holds_password("railyard.db"));
    }
}
