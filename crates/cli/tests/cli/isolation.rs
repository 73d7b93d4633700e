//! Issue 12, finding 1: a developer's task cannot reach the server's secrets (its environment, memory,
//! command line), nor read or write its database, whoever the server runs as.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;

const TOKEN: &str = "isolation-admin-token-0123456789";
const NOBODY: u32 = 65534;

/// What a task prints about its surroundings and what it tries against the server (its parent) and the
/// database at `db`.
fn probe(db: &Path) -> String {
    let db = db.display();
    format!(
        "echo \"uid=$(id -u) home=$HOME pwd=$(pwd)\"; stat -c 'dir-mode=%a dir-owner=%u' .; \
         echo environ:; tr '\\0' '\\n' < /proc/$PPID/environ; \
         echo maps:; head -c 200 /proc/$PPID/maps; \
         echo env:; env; for f in /proc/self/fd/*; do echo \"fd $f -> $(readlink $f)\"; done; \
         echo db:; head -c 16 {db}; echo; \
         echo junk >> {db} && echo WROTE-DB; echo junk >> {db}-wal && echo WROTE-WAL; true"
    )
}

/// `railyard serve` on `db` with a preset admin token, as `uid` when given; the server, logged in, and
/// the lines it printed at start (up to the one about tasks).
fn serve(dir: tempfile::TempDir, db: &Path, uid: Option<u32>, extra: &[&str]) -> (Server, Vec<String>) {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .args(extra)
        .args(["--listen", "127.0.0.1:0", "--database", &format!("sqlite://{}", db.display())])
        .env("RAILYARD_ADMIN_TOKEN", TOKEN)
        .env("DEPLOY_SECRET", "hunter2-from-the-servers-environment");
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let (child, url, mut printed, rx) = serve_with(cmd);
    if let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        printed.push(line);
    }
    std::thread::spawn(move || for _ in rx {});
    let s = Server { child, url, admin_token: TOKEN.into(), db: db.to_path_buf(), dir };
    ry(&s, None, &["login", "--server", &s.url, "--token", TOKEN]).ok();
    (s, printed)
}

/// Deploys a turnover whose one task runs `script`; the deployment once settled, and the task's log.
fn deploy(s: &Server, script: &str) -> (serde_json::Value, String) {
    let (erin, to) = turnover_with_task(s, script);
    let id = ry(s, Some(&erin), &["deploy", &to, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    let d = wait_deployment(s, &s.url, &erin, &id, "settled", |d| d["state"] == "succeeded" || d["state"] == "failed");
    let log = ry(s, Some(&erin), &["deployment", "logs", &id, "R1"]).ok();
    (d, log)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[test]
fn a_task_cannot_read_the_servers_secrets_nor_read_or_write_its_database() {
    // The database's directory is open to all: only the files' own modes protect them.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = dir.path().join("railyard.db");
    let (s, printed) = serve(dir, &db, None, &[]);
    let before = std::fs::read(&db).unwrap();
    let (d, log) = deploy(&s, &probe(&db));
    eprintln!("the task's log:\n{log}");

    assert!(!log.contains(TOKEN), "the admin token reached the task's log");
    assert!(!log.contains("hunter2"), "the server's environment reached the task");
    assert!(!log.contains("SQLite format 3"), "the task read the database");
    assert!(!log.contains("WROTE-DB") && !log.contains("WROTE-WAL"), "the task wrote to the database");
    assert!(!log.contains("RAILYARD_DATABASE") && !log.contains("RAILYARD_ADMIN"), "{log}");
    // It inherited no open file of the server's (the database, a socket, whatever the server itself
    // inherited): stdin, stdout, stderr, and the directory its shell listed.
    let fds: Vec<u32> = log
        .lines()
        .filter_map(|l| l.split(" fd /proc/self/fd/").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(fds.len() >= 3 && fds.iter().all(|&fd| fd <= 3), "the task holds descriptors {fds:?}");
    assert_eq!(d["state"], "succeeded", "{d}");
    // Never root: `nobody` when the server runs as root, in a private directory of its own.
    if unsafe { libc::geteuid() } == 0 {
        assert!(log.contains(&format!("uid={NOBODY} ")), "{log}");
        assert!(log.contains(&format!("dir-mode=700 dir-owner={NOBODY}")), "{log}");
        assert!(
            printed.iter().any(|l| l.starts_with("Local tasks run as user nobody (uid 65534), never as root")),
            "{printed:?}"
        );
    }
    let home = log.lines().find_map(|l| l.split(" home=").nth(1)).and_then(|r| r.split(" pwd=").next()).unwrap();
    assert!(log.contains(&format!("pwd={home}")) && home.contains("railyard-tasks-"), "{log}");
    assert!(!Path::new(home).exists(), "the task's own directory {home} was removed after the run");

    // The database and its WAL and shared-memory files are the server's alone, and intact.
    for suffix in ["", "-wal", "-shm"] {
        let f = format!("{}{suffix}", db.display());
        assert_eq!(mode(Path::new(&f)), 0o600, "{f}");
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    assert_eq!(&std::fs::read(&db).unwrap()[..16], &before[..16]);
}

#[test]
fn a_server_running_as_an_ordinary_user_keeps_its_environment_and_memory_from_its_tasks() {
    // The server runs as nobody, so its tasks share its user: only its being non-dumpable protects it.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
    let db = dir.path().join("railyard.db");
    let (s, printed) = serve(dir, &db, Some(NOBODY), &[]);
    let (d, log) = deploy(&s, &probe(&db));
    eprintln!("the task's log:\n{log}");

    assert!(!log.contains(TOKEN), "the admin token reached the task's log");
    assert!(!log.contains("hunter2"), "the server's environment reached the task");
    assert!(!log.contains("r-xp"), "the task read the server's memory map");
    assert_eq!(d["state"], "succeeded", "{d}");
    assert!(log.contains(&format!("uid={NOBODY} ")), "{log}");
    // It says once, at start, that its tasks share its rights.
    let says = printed.iter().filter(|l| l.contains("the server's own user, and share its rights")).count();
    assert_eq!(says, 1, "{printed:?}");
}

#[test]
fn serve_refuses_task_users_it_cannot_use_and_a_password_on_its_command_line() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
    let db = format!("sqlite://{}", dir.path().join("railyard.db").display());
    let refused = |uid: Option<u32>, args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve").args(["--listen", "127.0.0.1:0", "--database", &db]).args(args);
        if let Some(uid) = uid {
            cmd.uid(uid).gid(uid);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "serve {args:?} started: {}", String::from_utf8_lossy(&out.stdout));
        stderr
    };
    let e = refused(None, &["--task-user", "no-such-user-here"]);
    assert!(e.contains("task user 'no-such-user-here' does not exist on this host"), "{e}");
    let e = refused(None, &["--task-user", "root"]);
    assert!(e.contains("task user 'root' is uid 0 (root): tasks never run as root"), "{e}");
    let e = refused(Some(NOBODY), &["--task-user", "daemon"]);
    assert!(e.contains("cannot switch users, so it cannot run tasks as 'daemon'"), "{e}");

    // A database password on the command line is readable by every local user: refused, and not echoed.
    let url = "postgres://railyard:pg-secret-on-argv@127.0.0.1:1/railyard";
    let out = Command::new(BIN).args(["serve", "--listen", "127.0.0.1:0", "--database", url]).output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(e.contains("pass the URL in RAILYARD_DATABASE instead"), "{e}");
    assert!(!e.contains("pg-secret-on-argv"), "{e}");
    assert!(!dir.path().join("railyard.db").exists(), "nothing was created before the refusals");
}
