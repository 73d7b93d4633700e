//! A real `railyard serve` child process on a real SQLite file, and the CLI run against it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_railyard");

pub struct Server {
    pub child: Child,
    pub url: String,
    pub admin_token: String,
    pub db: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `railyard serve` (with `extra` arguments) on a SQLite file, and its standard output line by line.
pub fn spawn_serve(db: &Path, extra: &[&str]) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(extra)
        .args(["--listen", "127.0.0.1:0", "--database", &format!("sqlite://{}", db.display())])
        .env_remove("RAILYARD_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// A temp dir the automation tasks of a test can write into: they run as `nobody` when the tests run as
/// root. World-writable and sticky, as `/tmp` is: tasks can add files, not remove the server's (whose
/// database is readable by its own user only).
pub fn tasks_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    dir
}

pub fn start_server() -> Server {
    let dir = tasks_dir();
    let db = dir.path().join("railyard.db");
    let (child, rx) = spawn_serve(&db, &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut url, mut token) = (None, None);
    while url.is_none() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the server printed its address");
        if let Some(t) = line.trim().strip_prefix("ry_") {
            token = Some(format!("ry_{t}"));
        }
        if let Some(rest) = line.strip_prefix("Railyard is listening on ") {
            url = rest.split_whitespace().next().map(str::to_string);
        }
    }
    // Keep draining its output so that it never writes to a closed pipe.
    std::thread::spawn(move || for _ in rx {});
    Server { child, url: url.unwrap(), admin_token: token.expect("the server printed the admin token once"), db, dir }
}

pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> String {
        assert!(self.ok, "command failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self.stdout
    }
    #[track_caller]
    pub fn refused(self, needle: &str) -> String {
        assert!(!self.ok, "command should have failed, printed: {}", self.stdout);
        assert!(self.stderr.contains(needle), "stderr does not name '{needle}':\n{}", self.stderr);
        self.stderr
    }
    #[track_caller]
    pub fn json(self) -> Value {
        serde_json::from_str(&self.ok()).unwrap()
    }
}

pub fn ry(server: &Server, token: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("RAILYARD_CONFIG", server.dir.path().join("config.json")).env_remove("RAILYARD_SERVER");
    match token {
        Some(t) => cmd.env("RAILYARD_TOKEN", t),
        None => cmd.env_remove("RAILYARD_TOKEN"),
    };
    let out: Output = cmd.output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

pub fn field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(key).filter(|r| r.starts_with(' ')).map(|r| r.trim().to_string()))
        .unwrap_or_else(|| panic!("no '{key}' in:\n{text}"))
}

pub fn create_user(s: &Server, name: &str, role: &str) -> String {
    ry(s, None, &["user", "create", name, "--role", role]).ok();
    let out = ry(s, None, &["token", "create", "--user", name, "--label", "cli-test", "--output", "json"]).json();
    out["token"].as_str().unwrap().to_string()
}

pub fn tamper(db: &Path, seq: i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    assert_eq!(conn.execute("UPDATE events SET data = '{\"forged\":true}' WHERE seq = ?1", [seq]).unwrap(), 1);
}

/// Starts `railyard serve` on an existing database (a restart); returns the process and its URL.
pub fn serve_on(db: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &format!("sqlite://{}", db.display())])
        .env_remove("RAILYARD_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the server printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("Railyard is listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// A minor train with the usual dates, created as `token`; its id.
pub fn create_train(s: &Server, token: &str, title: &str) -> String {
    let args = [
        "train",
        "create",
        "--title",
        title,
        "--type",
        "minor",
        "--start",
        "2027-01-04",
        "--scoping-end",
        "2027-01-15",
        "--construction-end",
        "2027-02-12",
        "--verification-end",
        "2027-02-26",
        "--production-date",
        "2027-03-06",
        "--output",
        "json",
    ];
    ry(s, Some(token), &args).json()["id"].as_str().unwrap().to_string()
}

/// A train (executive approval by `eve`, who must exist) taken to construction, with one accepted release
/// per application key, each having begun work; the train and the releases.
pub fn train_with_releases(s: &Server, rita: &str, apps: &[&str]) -> (String, Vec<String>) {
    let r = Some(rita);
    let rt = create_train(s, rita, "T");
    ry(s, r, &["train", "policy", &rt, "executive", "--level", "eve"]).ok();
    let mut releases = Vec::new();
    for app in apps {
        ry(s, r, &["app", "create", app, "--name", app]).ok();
        let args = [
            "release",
            "create",
            "--title",
            app,
            "--app",
            app,
            "--train",
            &rt,
            "--start",
            "2027-01-05",
            "--end",
            "2027-02-05",
            "--output",
            "json",
        ];
        releases.push(ry(s, r, &args).json()["id"].as_str().unwrap().to_string());
    }
    ry(s, r, &["train", "submit", &rt]).ok();
    ry(s, r, &["train", "start-construction", &rt]).ok();
    for ar in &releases {
        ry(s, r, &["release", "begin-work", ar]).ok();
    }
    (rt, releases)
}

/// An environment of kind `test` per name and an active path through them, as `erin`; the path's id.
pub fn path_through(s: &Server, erin: &str, envs: &[&str]) -> String {
    let e = Some(erin);
    let mut args = vec!["path", "create", "standard"];
    for env in envs {
        ry(s, e, &["env", "create", env, "--kind", "test"]).ok();
        args.extend(["--stage", env]);
    }
    args.extend(["--output", "json"]);
    let path = ry(s, e, &args).json()["id"].as_str().unwrap().to_string();
    ry(s, e, &["path", "activate", &path]).ok();
    path
}

/// `railyard serve` as `cmd` makes it (its arguments, environment, user), once it says where it listens:
/// the process, its URL, what it printed up to then, and the rest of its output line by line.
pub fn serve_with(mut cmd: Command) -> (Child, String, Vec<String>, std::sync::mpsc::Receiver<String>) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut printed = Vec::new();
    loop {
        let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("railyard serve did not say where it listens; it printed {printed:?}");
        };
        printed.push(line.clone());
        if let Some(rest) = line.strip_prefix("Railyard is listening on ") {
            let url = rest.split_whitespace().next().unwrap().to_string();
            return (child, url, printed, rx);
        }
    }
}

/// As the admin logged in on `s`: a team (rita, erin, dan, eve), a path through `test`, a train with a
/// release of PAY, and a turnover with one automation task, `/bin/sh -c script`. Erin's token and the
/// turnover.
pub fn turnover_with_task(s: &Server, script: &str) -> (String, String) {
    let rita = create_user(s, "rita", "release_manager");
    let erin = create_user(s, "erin", "release_engineer");
    let dan = create_user(s, "dan", "developer");
    create_user(s, "eve", "product_owner");
    let path = path_through(s, &erin, &["test"]);
    let (_, releases) = train_with_releases(s, &rita, &["PAY"]);
    let d = Some(dan.as_str());
    let args =
        ["turnover", "create", "--title", "build 1", "--release", &releases[0], "--path", &path, "--output", "json"];
    let to = ry(s, d, &args).json()["id"].as_str().unwrap().to_string();
    ry(s, d, &["task", "add", &to, "--title", "Deploy", "--sequence", "1", "--run", "/bin/sh", "-c", script]).ok();
    (erin, to)
}

/// `deployment show` on `url` until `pred` holds (60 s at most).
pub fn wait_deployment(
    s: &Server,
    url: &str,
    token: &str,
    id: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = ry(s, Some(token), &["--server", url, "deployment", "show", id, "--output", "json"]).json();
        if pred(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "{id} never got {what}: {d}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Polls `cond` every 100 ms for up to `secs` seconds; whether it came true.
pub fn eventually(secs: u64, cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether a process is gone (or a zombie nobody reaped yet).
pub fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}
