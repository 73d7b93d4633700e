//! Secrets through the CLI and `serve`: set from a file or standard input, listed without values; the
//! key file made 0600 beside the SQLite file; a server refusing to start without its secrets' key;
//! `rotate-key` re-encrypting everything (nothing written with a wrong old key) and a deployment still
//! resolving the secret on the new key. The value is in no output of the server or the CLI.

use std::io::{BufRead, BufReader, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

const VALUE: &str = "cli-s3cr3t-77Qx";

/// `railyard serve` on `db` with `extra` arguments, logging at debug level: its process and URL, or
/// what it said when it exited. Everything it prints (stdout and stderr) is kept in `printed`.
fn serve(db: &Path, extra: &[&str], printed: &Arc<Mutex<String>>) -> Result<(Child, String), String> {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--database", &format!("sqlite://{}", db.display())])
        .args(extra)
        .env_remove("RAILYARD_ADMIN_TOKEN")
        .env_remove("RAILYARD_SECRET_KEY_FILE")
        .env("RAILYARD_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let (tx, printed) = (tx.clone(), printed.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                printed.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
    }
    drop(tx);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix("Railyard is listening on ") {
                    std::thread::spawn(move || for _ in rx {});
                    return Ok((child, rest.split_whitespace().next().unwrap().to_string()));
                }
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().unwrap();
                return Err(format!("{status}: {}", printed.lock().unwrap()));
            }
        }
    }
}

fn stop(child: &mut Child) {
    // SIGTERM: the server stops cleanly (its database closed).
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();
}

/// `railyard` with `input` on its standard input.
fn ry_stdin(s: &Server, token: &str, args: &[&str], input: &str) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RAILYARD_CONFIG", s.dir.path().join("config.json"))
        .env("RAILYARD_TOKEN", token)
        .env_remove("RAILYARD_SERVER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// `railyard` run locally (no server), e.g. `secret rotate-key`.
fn local(args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("RAILYARD_SECRET_KEY_FILE")
        .env_remove("RAILYARD_DATABASE")
        .output()
        .unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn events(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn secrets_are_set_masked_rotated_and_never_printed() {
    let dir = tasks_dir();
    let db = dir.path().join("railyard.db");
    let key = PathBuf::from(format!("{}.secret-key", db.display()));
    let printed = Arc::new(Mutex::new(String::new()));
    let (child, url) = serve(&db, &[], &printed).unwrap();
    // The key file, made on first start beside the database, readable by its owner only.
    assert_eq!(mode(&key), 0o600);
    let admin_token =
        printed.lock().unwrap().lines().find_map(|l| l.trim().strip_prefix("ry_").map(|t| format!("ry_{t}")));
    let mut s = Server { child, url, admin_token: admin_token.expect("the admin token"), db: db.clone(), dir };
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();

    // Set from standard input and from a file; never a value on the command line.
    let admin = s.admin_token.clone();
    let out = ry_stdin(&s, &admin, &["secret", "set", "TOKEN", "--from-stdin"], &format!("{VALUE}\n")).ok();
    assert_eq!(field(&out, "scope"), "global");
    let file = s.dir.path().join("other.txt");
    std::fs::write(&file, "other-value-1234\n").unwrap();
    ry(&s, None, &["secret", "set", "OTHER", "--value-file", file.to_str().unwrap()]).ok();
    ry(&s, None, &["secret", "set", "NOPE"]).refused("--value-file");
    let list = ry(&s, None, &["secret", "list"]).ok();
    assert!(list.contains("TOKEN") && list.contains("OTHER") && !list.contains(VALUE), "{list}");
    assert!(!list.contains("other-value"), "{list}");

    // A run that prints it (and fails, so that it can be retried after the rotation).
    let (erin, to) = turnover_with_task(&s, "echo \"token=${secret.TOKEN}\"; exit 3");
    let e = Some(erin.as_str());
    let id = ry(&s, e, &["deploy", &to, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    let url = s.url.clone();
    wait_deployment(&s, &url, &erin, &id, "failed", |d| d["state"] == "failed");
    let log = ry(&s, e, &["deployment", "logs", &id, "R1"]).ok();
    assert!(log.contains("token=***") && !log.contains(VALUE), "{log}");
    stop(&mut s.child);

    // A named key file that is missing: the server refuses to start, naming it.
    let missing = s.dir.path().join("missing.key");
    let err = serve(&db, &["--secret-key-file", missing.to_str().unwrap()], &printed).expect_err("refused");
    assert!(err.contains("this database has 2 secrets") && err.contains("missing.key"), "{err}");
    assert!(!missing.exists(), "no new key over existing secrets");

    // rotate-key with a wrong old key: refused, naming both fingerprints; nothing written.
    let wrong = s.dir.path().join("wrong.key");
    std::fs::write(&wrong, format!("{}\n", "ab".repeat(32))).unwrap();
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    let new = s.dir.path().join("new.key");
    let database = format!("sqlite://{}", db.display());
    let before = events(&db);
    let args = ["secret", "rotate-key", "--new-key-file", new.to_str().unwrap(), "--database", &database];
    let mut with_wrong = args.to_vec();
    with_wrong.extend(["--secret-key-file", wrong.to_str().unwrap()]);
    local(&with_wrong).refused("fingerprint");
    assert_eq!(events(&db), before, "nothing written");

    // With the right one (beside the database): every secret re-encrypted in one commit.
    let out = local(&args).ok();
    assert!(out.contains("Re-encrypted 2 secrets") && out.contains("RAILYARD_SECRET_KEY_FILE"), "{out}");
    assert_eq!(mode(&new), 0o600);
    assert_eq!(events(&db), before + 1, "one audit event");

    // The old key no longer opens them: the server says so and does not start.
    let err = serve(&db, &[], &printed).expect_err("old key");
    assert!(err.contains("fingerprint"), "{err}");

    // On the new key, the retried run resolves the secret again (and masks it).
    let (child, url) = serve(&db, &["--secret-key-file", new.to_str().unwrap()], &printed).unwrap();
    s.child = child;
    s.url = url.clone();
    ry(&s, None, &["login", "--server", &url, "--token", &s.admin_token]).ok();
    ry(&s, e, &["deployment", "retry", &id]).ok();
    wait_deployment(&s, &url, &erin, &id, "its retry failed", |d| {
        d["runs"][0]["attempts"] == 2 && d["state"] == "failed"
    });
    let log = ry(&s, e, &["deployment", "logs", &id, "R1"]).ok();
    assert!(log.contains("token=***") && !log.contains(VALUE), "{log}");
    let audit = ry(&s, None, &["audit", "list", "--output", "json"]);
    assert!(!audit.stdout.contains(VALUE), "{}", audit.stdout);
    stop(&mut s.child);

    // Nothing the servers printed (stdout and stderr, at debug level) holds the value.
    let all = printed.lock().unwrap().clone();
    assert!(all.contains("Railyard is listening"), "{all}");
    assert!(!all.contains(VALUE), "the server printed the secret:\n{all}");
    for file in [db.clone(), PathBuf::from(format!("{}-wal", db.display()))] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(!bytes.windows(VALUE.len()).any(|w| w == VALUE.as_bytes()), "{} holds the secret", file.display());
    }
}
