//! Remote runners end to end: a real server, real `railyard runner` processes, real tasks. Each runner
//! gives its tasks working directories under its own `--work-dir`, so a task that prints `pwd` says
//! which runner ran it; each task appends its `$RAILYARD_RUN_ID` to a file, so that every execution is
//! counted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::*;

/// How a test's task sleeps: as the run's own process (`exec`), without `RAILYARD_RUN_ID` in its
/// environment. Every test's server numbers its deployments from DE-1, and whatever restarts on this host
/// (a runner here, a server in the other tests) kills what interrupted runs left by their run id among
/// other marks: another test's `DE-1-R1-1` must not be taken for one. The runner still finds it by its
/// process group.
const SLEEP: &str = "exec env -u RAILYARD_RUN_ID sleep 60";

/// A `railyard runner` process, killed when dropped.
struct Runner {
    child: Child,
    work: PathBuf,
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registers a runner serving `labels`; its token.
fn register(s: &Server, name: &str, labels: &str) -> String {
    let out = ry(s, None, &["runner", "register", "--name", name, "--labels", labels, "--output", "json"]).json();
    assert_eq!(out["name"], name, "{out}");
    out["token"].as_str().unwrap_or_else(|| panic!("no token in {out}")).to_string()
}

/// `railyard runner` with `token` (from RAILYARD_RUNNER_TOKEN), working under `work`, and `extra`.
fn runner_command(s: &Server, token: &str, work: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["runner", "--server", &s.url, "--work-dir", &work.display().to_string(), "--poll-interval-ms", "50"])
        .args(extra)
        .env("RAILYARD_RUNNER_TOKEN", token)
        .env("RAILYARD_CONFIG", s.dir.path().join("config.json"))
        .env_remove("RAILYARD_TOKEN")
        .env_remove("RAILYARD_SERVER")
        .stdin(Stdio::null());
    cmd
}

/// A runner whose log (its standard output and error) goes to `<work>.log`.
fn start_runner(s: &Server, token: &str, work: &Path) -> Runner {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(work.with_extension("log")).unwrap();
    let child = runner_command(s, token, work, &[]).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
    Runner { child, work: work.to_path_buf() }
}

/// A runner that must refuse to run: what it printed on standard error.
fn runner_refused(s: &Server, token: &str, work: &Path, extra: &[&str], needle: &str) -> String {
    let out = runner_command(s, token, work, extra).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "the runner should have stopped; it printed {stderr}");
    assert!(stderr.contains(needle), "the runner's error does not name '{needle}':\n{stderr}");
    stderr
}

/// What [`two_regions`] made: erin's token, a turnover per environment, and each runner's token.
struct Regions {
    erin: String,
    to_eu: String,
    to_us: String,
    eu_token: String,
    us_token: String,
}

/// The team, runners `eu-1` and `us-1` registered for labels `eu` and `us`, environments `prod-eu` and
/// `prod-us` labelled for them, a path to each, and a turnover per environment with one task,
/// `/bin/sh -c script`.
fn two_regions(s: &Server, script: &str) -> Regions {
    ry(s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    // An environment names only labels some runner carries.
    let (eu_token, us_token) = (register(s, "eu-1", "eu"), register(s, "us-1", "us"));
    let rita = create_user(s, "rita", "release_manager");
    let erin = create_user(s, "erin", "release_engineer");
    let dan = create_user(s, "dan", "developer");
    create_user(s, "eve", "product_owner");
    let e = Some(erin.as_str());
    let mut paths = Vec::new();
    for (env, label) in [("prod-eu", "eu"), ("prod-us", "us")] {
        ry(s, e, &["env", "create", env, "--kind", "test"]).ok();
        let edited = ry(s, e, &["env", "edit", env, "--runner-labels", label, "--output", "json"]).json();
        assert_eq!(edited["runner_labels"], serde_json::json!([label]), "{edited}");
        let path = ry(s, e, &["path", "create", &format!("to-{env}"), "--stage", env, "--output", "json"]).json();
        let path = path["id"].as_str().unwrap().to_string();
        ry(s, e, &["path", "activate", &path]).ok();
        paths.push(path);
    }
    let (_, releases) = train_with_releases(s, &rita, &["PAY", "WEB"]);
    let d = Some(dan.as_str());
    let mut turnovers = Vec::new();
    for (release, path) in releases.iter().zip(&paths) {
        let args =
            ["turnover", "create", "--title", "build 1", "--release", release, "--path", path, "--output", "json"];
        let to = ry(s, d, &args).json()["id"].as_str().unwrap().to_string();
        ry(s, d, &["task", "add", &to, "--title", "Deploy", "--sequence", "1", "--run", "/bin/sh", "-c", script]).ok();
        turnovers.push(to);
    }
    let to_us = turnovers.pop().unwrap();
    let to_eu = turnovers.pop().unwrap();
    Regions { erin, to_eu, to_us, eu_token, us_token }
}

/// A directory for a runner's work root: its parent is sticky, as `/tmp` is (the runner checks that
/// nobody else can replace it), and tasks running as `nobody` can write into the test's files.
fn work_dir(parent: &tempfile::TempDir, name: &str) -> PathBuf {
    std::fs::canonicalize(parent.path()).unwrap().join(name)
}

fn deploy(s: &Server, erin: &str, to: &str) -> String {
    ry(s, Some(erin), &["deploy", to, "--output", "json"]).json()["id"].as_str().unwrap().to_string()
}

/// The pid of the run recorded in `records` (a runner's `<work-dir>/runs`), once it is `sleep`.
fn sleeping_run(records: &Path) -> Option<String> {
    let entry = std::fs::read_dir(records).ok()?.next()?.ok()?;
    let record: Value = serde_json::from_str(&std::fs::read_to_string(entry.path()).ok()?).ok()?;
    let leader = record["process"]["pgid"].as_i64()?.to_string();
    let cmdline = std::fs::read_to_string(format!("/proc/{leader}/cmdline")).ok()?;
    cmdline.starts_with("sleep").then_some(leader)
}

fn show_deployment(s: &Server, erin: &str, id: &str) -> Value {
    ry(s, Some(erin), &["deployment", "show", id, "--output", "json"]).json()
}

/// The lines of a file the tasks write (none when it does not exist yet).
fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
}

#[test]
fn each_run_lands_on_a_runner_of_its_environments_label_and_runners_are_listed() {
    let s = start_server();
    let dir = s.dir.path().display().to_string();
    // More lines than one heartbeat carries, then more after a pause, then the end; and on stderr 9,000
    // bytes that are not UTF-8 (each shown as a 3-byte U+FFFD: longer than a line may be when sent).
    let script = format!(
        "echo \"$RAILYARD_RUN_ID $(pwd)\" >> {dir}/runs.txt; seq 1 2500; head -c 9000 /dev/zero | tr '\\000' '\\377' >&2; \
         sleep 2; seq 2501 3000; echo deployed by a runner"
    );
    let Regions { erin, to_eu, to_us, eu_token, us_token } = two_regions(&s, &script);
    let parent = tasks_dir();
    let eu = start_runner(&s, &eu_token, &work_dir(&parent, "eu-1"));
    let us = start_runner(&s, &us_token, &work_dir(&parent, "us-1"));

    let (d_eu, d_us) = (deploy(&s, &erin, &to_eu), deploy(&s, &erin, &to_us));
    for (id, runner) in [(&d_eu, "eu-1"), (&d_us, "us-1")] {
        let d = wait_deployment(&s, &s.url, &erin, id, "its run succeeded", |d| d["runs"][0]["state"] == "succeeded");
        assert_eq!(d["runs"][0]["attempts"], 1, "{d}");
        assert_eq!(d["runs"][0]["runner"], runner, "{d}");
    }
    let runs = lines_of(&s.dir.path().join("runs.txt"));
    assert_eq!(runs.len(), 2, "each run ran once: {runs:?}");
    let ran_in = |deployment: &str| -> String {
        let line = runs.iter().find(|l| l.starts_with(&format!("{deployment}-"))).unwrap_or_else(|| panic!("{runs:?}"));
        line.split_once(' ').unwrap().1.to_string()
    };
    assert!(ran_in(&d_eu).starts_with(&eu.work.display().to_string()), "{d_eu} ran in {}", ran_in(&d_eu));
    assert!(ran_in(&d_us).starts_with(&us.work.display().to_string()), "{d_us} ran in {}", ran_in(&d_us));
    // Every line once, in order, whichever call carried it.
    let log = ry(&s, Some(&erin), &["deployment", "logs", &d_eu, "R1", "--output", "json"]).json();
    let lines = log["lines"].as_array().unwrap();
    let texts = |stream: &str| -> Vec<&str> {
        lines.iter().filter(|l| l["stream"] == stream).filter_map(|l| l["text"].as_str()).collect()
    };
    let mut want: Vec<String> = (1..=3000).map(|i| i.to_string()).collect();
    want.push("deployed by a runner".into());
    assert_eq!(texts("stdout"), want, "the run's output as it printed it");
    let binary = texts("stderr").concat();
    assert_eq!((binary.chars().count(), binary.chars().all(|c| c == '\u{FFFD}')), (9000, true), "{binary:.40}");

    let list = ry(&s, None, &["runner", "list", "--output", "json"]).json();
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names.len(), 2, "{list}");
    assert!(names.contains(&"eu-1") && names.contains(&"us-1"), "{list}");
    let eu_row = list["items"].as_array().unwrap().iter().find(|r| r["name"] == "eu-1").unwrap();
    assert_eq!((eu_row["state"].as_str(), eu_row["online"].as_bool()), (Some("active"), Some(true)), "{list}");
    assert_eq!(eu_row["version"], env!("CARGO_PKG_VERSION"), "{list}");
    let table = ry(&s, None, &["runner", "list"]).ok();
    assert!(table.contains("eu-1") && table.contains("LAST SEEN"), "{table}");
    // The runner says what it runs, and never its token.
    let log = std::fs::read_to_string(eu.work.with_extension("log")).unwrap();
    assert!(log.contains(&d_eu) && !log.contains(&eu_token), "{log}");
}

#[test]
fn a_killed_runners_run_is_interrupted_its_process_gone_and_a_retry_runs_it_once_more_elsewhere() {
    let s = start_server();
    let dir = s.dir.path().display().to_string();
    // The first attempt sleeps (as the run's own process: `exec`) until the runner is killed; the retry
    // finds the sentinel the test leaves and ends at once.
    let script = format!("echo \"$RAILYARD_RUN_ID $(pwd)\" >> {dir}/runs.txt; [ -e {dir}/quick ] && exit 0; {SLEEP}");
    let Regions { erin, to_eu, eu_token, us_token, .. } = two_regions(&s, &script);
    let parent = tasks_dir();
    let mut eu = start_runner(&s, &eu_token, &work_dir(&parent, "eu-1"));
    let us = start_runner(&s, &us_token, &work_dir(&parent, "us-1"));

    let id = deploy(&s, &erin, &to_eu);
    let records = eu.work.join("runs");
    // The run's process, as the runner recorded it while it runs.
    assert!(eventually(60, || sleeping_run(&records).is_some()), "the run never started sleeping on eu-1");
    let pid = sleeping_run(&records).unwrap();

    eu.child.kill().unwrap(); // SIGKILL
    eu.child.wait().unwrap();
    assert!(eventually(30, || process_gone(&pid)), "the run's process {pid} outlived its runner");
    let d = wait_deployment(&s, &s.url, &erin, &id, "its run interrupted", |d| d["runs"][0]["state"] == "interrupted");
    assert_eq!(d["runs"][0]["attempts"], 1, "{d}");
    assert_eq!(lines_of(&s.dir.path().join("runs.txt")).len(), 1, "nothing ran it again by itself");

    // The same runner started again removes the record its predecessor left.
    let again = start_runner(&s, &eu_token, &eu.work.clone());
    assert!(
        eventually(30, || std::fs::read_dir(&records).is_ok_and(|mut d| d.next().is_none())),
        "the record of the killed runner's run was left"
    );
    drop(again);

    // Retried after moving the environment to the other runner's label: it runs there, once more.
    std::fs::write(s.dir.path().join("quick"), "").unwrap();
    ry(&s, Some(&erin), &["env", "edit", "prod-eu", "--runner-labels", "us"]).ok();
    wait_deployment(&s, &s.url, &erin, &id, "failed", |d| d["state"] == "failed");
    ry(&s, Some(&erin), &["deployment", "retry", &id]).ok();
    let d = wait_deployment(&s, &s.url, &erin, &id, "its retry succeeded", |d| d["runs"][0]["state"] == "succeeded");
    assert_eq!(d["runs"][0]["attempts"], 2, "{d}");
    let runs = lines_of(&s.dir.path().join("runs.txt"));
    assert_eq!(runs.len(), 2, "one execution per attempt: {runs:?}");
    let ids: Vec<&str> = runs.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_ne!(ids[0], ids[1], "{runs:?}");
    assert!(runs[0].contains(&eu.work.display().to_string()), "{runs:?}");
    assert!(runs[1].contains(&us.work.display().to_string()), "{runs:?}");
    assert_eq!(d["runs"][0]["runner"], "us-1", "{d}");
    // An empty list hands the environment back to the built-in runner.
    let edited = ry(&s, Some(&erin), &["env", "edit", "prod-eu", "--runner-labels", "", "--output", "json"]).json();
    assert_eq!(edited["runner_labels"], serde_json::json!([]), "{edited}");
    let shown = ry(&s, Some(&erin), &["env", "show", "prod-eu"]).ok();
    assert!(shown.contains("the built-in runner"), "{shown}");
}

#[test]
fn runner_tokens_work_on_the_runner_protocol_only_and_bad_starts_are_refused_with_the_reason() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let erin = create_user(&s, "erin", "release_engineer");
    let token = register(&s, "eu-1", "eu,linux");
    assert!(token.starts_with("ryrun_"), "{token}");
    let listed = ry(&s, None, &["runner", "list", "--output", "json"]).ok();
    assert!(!listed.contains(&token), "the token is shown once only");
    let parent = tasks_dir();
    let work = work_dir(&parent, "eu-1");

    // A runner's token on a user's endpoint, and a user's token on the runner protocol.
    ry(&s, Some(&token), &["env", "list"]).refused("403");
    let out = Command::new(BIN)
        .args(["runner", "--server", &s.url, "--token", &erin, "--work-dir", &work.display().to_string()])
        .env_remove("RAILYARD_RUNNER_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("403"), "{stderr}");

    // A label it was not registered with: the server's 422 names it.
    runner_refused(&s, &token, &work, &["--labels", "eu,mars"], "mars");
    // A user's token in RAILYARD_TOKEN is never taken for the runner's.
    let out = Command::new(BIN)
        .args(["runner", "--server", &s.url, "--work-dir", &work.display().to_string()])
        .env("RAILYARD_TOKEN", &erin)
        .env_remove("RAILYARD_RUNNER_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("the runner needs its token"), "{stderr}");

    // Registered labels only, the token in a file: it runs (and stops on SIGTERM).
    let file = parent.path().join("eu-1.token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let file = file.display().to_string();
    let mut ok = Runner {
        child: runner_command(&s, "", &work, &["--token-file", &file, "--labels", "linux"])
            .env_remove("RAILYARD_RUNNER_TOKEN")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
        work: work.clone(),
    };
    let serving = || ry(&s, None, &["runner", "show", "eu-1", "--output", "json"]).json();
    assert!(
        eventually(30, || serving()["online"] == true && serving()["serving"] == serde_json::json!(["linux"])),
        "the runner never showed up online serving linux: {}",
        serving()
    );
    // SAFETY: kill only sends SIGTERM to the runner this test started.
    unsafe { libc::kill(ok.child.id() as i32, libc::SIGTERM) };
    assert!(ok.child.wait().unwrap().success(), "the runner ends cleanly on SIGTERM");

    // Revoked: its token is refused, and it says what to do.
    ry(&s, None, &["runner", "revoke", "eu-1"]).ok();
    let shown = ry(&s, None, &["runner", "show", "eu-1", "--output", "json"]).json();
    assert_eq!(shown["state"], "revoked", "{shown}");
    runner_refused(&s, &token, &work, &[], "register the runner again");
}

#[test]
fn output_streams_while_a_run_runs_a_stopped_runner_reports_it_interrupted_and_a_revoked_one_stops_its_runs() {
    let s = start_server();
    let dir = s.dir.path().display().to_string();
    let script = format!("echo \"$RAILYARD_RUN_ID\" >> {dir}/runs.txt; echo halfway; {SLEEP}");
    let Regions { erin, to_eu, to_us, eu_token, us_token } = two_regions(&s, &script);
    let parent = tasks_dir();

    // The output so far is readable while the run runs (heartbeats carry it).
    let mut eu = start_runner(&s, &eu_token, &work_dir(&parent, "eu-1"));
    let id = deploy(&s, &erin, &to_eu);
    assert!(
        eventually(60, || ry(&s, Some(&erin), &["deployment", "logs", &id, "R1"]).ok().contains("halfway")),
        "the run's first line never showed while it ran"
    );
    let pid = {
        let records = eu.work.join("runs");
        assert!(eventually(60, || sleeping_run(&records).is_some()), "the run never started sleeping");
        sleeping_run(&records).unwrap()
    };
    assert_eq!(wait_deployment(&s, &s.url, &erin, &id, "running", |_| true)["runs"][0]["state"], "running");

    // SIGTERM: the runner stops the run, reports it interrupted (to be retried), and ends cleanly.
    // SAFETY: kill only sends SIGTERM to the runner this test started.
    unsafe { libc::kill(eu.child.id() as i32, libc::SIGTERM) };
    assert!(eu.child.wait().unwrap().success(), "the runner ends cleanly on SIGTERM");
    assert!(process_gone(&pid), "the run's process {pid} outlived its runner's shutdown");
    let d = wait_deployment(&s, &s.url, &erin, &id, "interrupted", |d| d["runs"][0]["state"] == "interrupted");
    let message = d["runs"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("runner shut down") && message.contains("retry"), "{d}");
    let log = ry(&s, Some(&erin), &["deployment", "logs", &id, "R1"]).ok();
    assert_eq!(log.matches("halfway").count(), 1, "each line once: {log}");

    // Revoked mid-run: its token is refused at the next heartbeat; it stops the run and exits, saying so.
    let mut us = start_runner(&s, &us_token, &work_dir(&parent, "us-1"));
    let id = deploy(&s, &erin, &to_us);
    let pid = {
        let records = us.work.join("runs");
        assert!(eventually(60, || sleeping_run(&records).is_some()), "the run never started sleeping");
        sleeping_run(&records).unwrap()
    };
    ry(&s, None, &["runner", "revoke", "us-1"]).ok();
    assert!(!us.child.wait().unwrap().success(), "a revoked runner stops with an error");
    assert!(process_gone(&pid), "the run's process {pid} outlived its revoked runner");
    let log = std::fs::read_to_string(us.work.with_extension("log")).unwrap();
    assert!(log.contains("register the runner again"), "{log}");
    let d = wait_deployment(&s, &s.url, &erin, &id, "interrupted", |d| d["runs"][0]["state"] == "interrupted");
    assert_eq!(d["runs"][0]["attempts"], 1, "{d}");
    assert_eq!(lines_of(&s.dir.path().join("runs.txt")).len(), 2, "each run ran once");
}

#[test]
fn a_runner_that_was_away_past_its_lease_stops_the_run_the_server_took_back_and_sends_no_result() {
    let s = start_server();
    let dir = s.dir.path().display().to_string();
    let script = format!("echo \"$RAILYARD_RUN_ID\" >> {dir}/runs.txt; {SLEEP}");
    let Regions { erin, to_eu, eu_token, .. } = two_regions(&s, &script);
    let parent = tasks_dir();
    let mut eu = start_runner(&s, &eu_token, &work_dir(&parent, "eu-1"));
    let id = deploy(&s, &erin, &to_eu);
    let records = eu.work.join("runs");
    assert!(eventually(60, || sleeping_run(&records).is_some()), "the run never started sleeping");
    let pid = sleeping_run(&records).unwrap();

    // The runner freezes (SIGSTOP) past its lease: the server takes the run back. Its task, a process of
    // its own, sleeps on meanwhile.
    let runner = eu.child.id() as i32;
    // SAFETY: kill only sends SIGSTOP and SIGCONT to the runner this test started.
    unsafe { libc::kill(runner, libc::SIGSTOP) };
    let d = wait_deployment(&s, &s.url, &erin, &id, "interrupted", |d| d["runs"][0]["state"] == "interrupted");
    assert!(!process_gone(&pid), "the task was expected to outlive its frozen runner's lease: {d}");
    unsafe { libc::kill(runner, libc::SIGCONT) };

    // Back, the runner learns it lost the lease and stops the run itself; it runs on.
    assert!(eventually(30, || process_gone(&pid)), "the run the server took back still runs ({pid})");
    assert!(eu.child.try_wait().unwrap().is_none(), "the runner itself goes on");
    let log = || std::fs::read_to_string(eu.work.with_extension("log")).unwrap();
    let says = |log: String| log.contains("lease was lost") || log.contains("lease ran out");
    assert!(eventually(30, || says(log())), "the runner never said why it stopped the run:\n{}", log());
    let d = show_deployment(&s, &erin, &id);
    assert_eq!(
        (d["runs"][0]["state"].as_str(), d["runs"][0]["attempts"].as_u64()),
        (Some("interrupted"), Some(1)),
        "{d}"
    );
    assert_eq!(lines_of(&s.dir.path().join("runs.txt")).len(), 1, "it ran once");
}

#[test]
fn a_secret_leaves_a_runner_masked_in_its_output_its_messages_and_its_log() {
    const VALUE: &str = "runner-s3cr3t-Qx77";
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let file = s.dir.path().join("deploy-key.txt");
    std::fs::write(&file, format!("{VALUE}\n")).unwrap();
    ry(&s, None, &["secret", "set", "DEPLOY_KEY", "--value-file", &file.display().to_string()]).ok();
    let script = "echo \"key=${secret.DEPLOY_KEY}\"; printf %s '${secret.DEPLOY_KEY}' | base64";
    let Regions { erin, to_eu, eu_token, .. } = two_regions(&s, script);
    // A second task whose message names the secret: its program cannot be found.
    let program = "/nonexistent/${secret.DEPLOY_KEY}/deploy";
    ry(&s, None, &["task", "add", &to_eu, "--title", "Notify", "--sequence", "2", "--run", program]).ok();
    let parent = tasks_dir();
    let eu = start_runner(&s, &eu_token, &work_dir(&parent, "eu-1"));
    let id = deploy(&s, &erin, &to_eu);
    let d = wait_deployment(&s, &s.url, &erin, &id, "failed", |d| d["state"] == "failed");
    assert_eq!(
        (d["runs"][0]["state"].as_str(), d["runs"][1]["state"].as_str()),
        (Some("succeeded"), Some("failed")),
        "{d}"
    );
    let message = d["runs"][1]["message"].as_str().unwrap_or_default();
    assert!(message.contains("/nonexistent/***/deploy"), "{d}");
    let log = ry(&s, Some(&erin), &["deployment", "logs", &id, "R1"]).ok();
    assert!(log.contains("key=***") && !log.contains(VALUE), "{log}");
    // The runner masked before it sent or logged anything (the server masks once more).
    let runner_log = std::fs::read_to_string(eu.work.with_extension("log")).unwrap();
    assert!(runner_log.contains("/nonexistent/***/deploy"), "{runner_log}");
    assert!(!runner_log.contains(VALUE) && !runner_log.contains("cnVubmVyLXMzY3IzdC1RR"), "{runner_log}");
}
