//! Issue 12, findings 4 and 6: task processes die with the server, what they leave is killed when an
//! engine on the host takes over, a retry runs a task once more (never twice) with a new run id, and a
//! graceful shutdown ends within 30 s with its runs recorded interrupted.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::common::*;

/// A task that records each start (its run id and attempt, and its parent: the server running it),
/// leaves a long sleeper behind in its process group on its first start only, and appends one line to
/// `F` five seconds later.
fn slow_append(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "echo \"$PPID $RAILYARD_ATTEMPT $RAILYARD_RUN_ID $HOME\" >> {d}/ids; \
         [ -e {d}/bg.pid ] || {{ sleep 120 & echo $! > {d}/bg.pid; }}; \
         sleep 5; echo x >> {d}/F"
    )
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
}

/// Waits until the run's process group is recorded (its `record_process` audit event): the engine
/// writes it just after the task started, and a crash before that leaves only the death signal.
fn wait_recorded(s: &Server, url: &str, token: &str, id: &str) {
    let recorded = || {
        let events = ry(s, Some(token), &["--server", url, "audit", "list", "--object", id, "--output", "json"]).json();
        events["items"].as_array().unwrap().iter().any(|e| e["action"] == "record_process")
    };
    assert!(eventually(60, recorded), "the run's process group was never recorded");
}

fn kill9(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Waits until the task of the first attempt has been running for 10 s: well past its 5 s sleep.
fn wait_past_the_sleep(started: Instant) {
    let until = started + Duration::from_secs(10);
    std::thread::sleep(until.saturating_duration_since(Instant::now()));
}

#[test]
fn a_task_killed_with_the_server_never_finishes_and_a_retry_runs_it_once_with_a_new_run_id() {
    let mut s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let dir = s.dir.path().to_path_buf();
    let (erin, to) = turnover_with_task(&s, &slow_append(&dir));
    let id = ry(&s, Some(&erin), &["deploy", &to, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    assert!(eventually(60, || dir.join("bg.pid").exists()), "the task never started");
    let started = Instant::now();
    wait_recorded(&s, &s.url, &erin, &id);

    kill9(&mut s.child);
    wait_past_the_sleep(started);
    let f_after_kill = lines(&dir.join("F"));
    let sleeper = std::fs::read_to_string(dir.join("bg.pid")).unwrap();
    let sleeper_alive_after_kill = !process_gone(&sleeper);

    // The server starts again on the same database; the run is found interrupted and what it left in
    // its process group is killed.
    let (mut again, url) = serve_on(&s.db);
    let d = wait_deployment(&s, &url, &erin, &id, "failed", |d| d["state"] == "failed");
    let sleeper_gone_after_restart = eventually(30, || process_gone(&sleeper));
    // The first run's own working directory, left behind by the killed server, is removed with it.
    let first_home = lines(&dir.join("ids"))[0].split_whitespace().nth(3).map(str::to_string);
    let home_removed = first_home.as_deref().is_some_and(|h| eventually(30, || !Path::new(h).exists()));
    ry(&s, Some(&erin), &["--server", &url, "deployment", "retry", &id]).ok();
    let done =
        wait_deployment(&s, &url, &erin, &id, "settled", |d| d["state"] == "succeeded" || d["state"] == "failed");
    let f = lines(&dir.join("F"));
    let ids = lines(&dir.join("ids"));
    let events = ry(&s, Some(&erin), &["--server", &url, "audit", "list", "--object", &id, "--output", "json"]).json();
    let actions: Vec<&str> = events["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    let _ = again.kill();
    let _ = again.wait();
    eprintln!(
        "F after the kill: {f_after_kill:?}; sleeper alive after the kill: {sleeper_alive_after_kill}; \
         gone after the restart: {sleeper_gone_after_restart}; F at the end: {f:?}; starts: {ids:?}"
    );

    assert_eq!(f_after_kill, Vec::<String>::new(), "the task finished on its own after the server was killed");
    assert_eq!(d["runs"][0]["state"], "interrupted", "{d}");
    assert!(sleeper_gone_after_restart, "what the task left in its process group outlived the restart");
    assert!(home_removed, "the first run's working directory {first_home:?} outlived the restart");
    assert!(actions.contains(&"record_process") && actions.contains(&"reap_processes"), "{actions:?}");
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(f, ["x"], "the task ran to its end exactly once");
    assert_eq!(ids.len(), 2, "{ids:?}");
    let (first, second): (Vec<&str>, Vec<&str>) =
        (ids[0].split_whitespace().skip(1).collect(), ids[1].split_whitespace().skip(1).collect());
    assert_eq!(first[..2], ["1", &format!("{id}-R1-1")], "{ids:?}");
    assert_eq!(second[..2], ["2", &format!("{id}-R1-2")], "{ids:?}");
}

#[test]
fn sigterm_ends_the_server_within_30_s_its_run_interrupted_and_its_processes_gone() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let dir = s.dir.path().to_path_buf();
    let d = dir.display();
    // A task that ignores SIGTERM, as do the sleepers it starts: only SIGKILL ends them.
    let script = format!("trap '' TERM; echo $$ > {d}/leader.pid; sleep 300 & echo $! > {d}/bg.pid; sleep 300");
    let (erin, to) = turnover_with_task(&s, &script);
    let id = ry(&s, Some(&erin), &["deploy", &to, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    assert!(eventually(60, || dir.join("bg.pid").exists() && dir.join("leader.pid").exists()), "never started");
    let leader = std::fs::read_to_string(dir.join("leader.pid")).unwrap();
    let sleeper = std::fs::read_to_string(dir.join("bg.pid")).unwrap();

    let mut s = s;
    let sent = Instant::now();
    // SAFETY: kill only sends a signal to the server this test started.
    assert_eq!(unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) }, 0);
    let mut status = None;
    while status.is_none() && sent.elapsed() < Duration::from_secs(60) {
        status = s.child.try_wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = sent.elapsed();
    let processes_gone = eventually(10, || process_gone(&leader) && process_gone(&sleeper));
    let stored: Option<serde_json::Value> = rusqlite::Connection::open(&s.db)
        .unwrap()
        .query_row("SELECT doc FROM records WHERE kind = 'deployment' AND id = ?1", [&id], |r| r.get::<_, String>(0))
        .ok()
        .and_then(|doc| serde_json::from_str(&doc).ok());
    let stored = stored.expect("the deployment is stored");
    eprintln!(
        "SIGTERM: exited {status:?} after {took:?}; task processes gone: {processes_gone}; stored: {} / {}",
        stored["state"], stored["runs"][0]["state"]
    );

    assert!(status.is_some_and(|st| st.success()), "the server did not exit cleanly: {status:?} after {took:?}");
    assert!(took < Duration::from_secs(30), "the shutdown took {took:?}");
    assert!(processes_gone, "the task's process group outlived the shutdown");
    assert_eq!(stored["runs"][0]["state"], "interrupted", "{stored}");
    assert_eq!(stored["state"], "failed", "failed at once, ready to be retried: {stored}");
    assert!(stored["runs"][0]["message"].as_str().unwrap().contains("shut down"), "{stored}");

    // Restarted, it shows so, and the deployment can be retried.
    let (mut again, url) = serve_on(&s.db);
    let shown = wait_deployment(&s, &url, &erin, &id, "failed", |d| d["state"] == "failed");
    assert_eq!(shown["runs"][0]["state"], "interrupted");
    let log = ry(&s, Some(&erin), &["--server", &url, "deployment", "logs", &id, "R1"]);
    let _ = again.kill();
    let _ = again.wait();
    log.ok();
}

/// Two servers on one PostgreSQL database; the one running the deployment is killed: the other takes
/// it over, and after the retry no run was carried out twice.
#[test]
fn two_servers_on_postgresql_killing_the_one_running_a_deployment_runs_nothing_twice() {
    let url = tokio::runtime::Runtime::new().unwrap().block_on(railyard_store_postgres::testing::fresh_database());
    let token = "two-servers-admin-token-0123456789";
    let start = || {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .env("RAILYARD_DATABASE", &url)
            .env("RAILYARD_ADMIN_TOKEN", token);
        let (child, base, _, rx) = serve_with(cmd);
        std::thread::spawn(move || for _ in rx {});
        (child, base)
    };
    let (a, a_url) = start();
    let (b, b_url) = start();
    let s = Server { child: a, url: a_url.clone(), admin_token: token.into(), db: "unused".into(), dir: tasks_dir() };
    let mut b =
        Server { child: b, url: b_url.clone(), admin_token: token.into(), db: "unused".into(), dir: tasks_dir() };
    ry(&s, None, &["login", "--server", &s.url, "--token", token]).ok();
    let dir = s.dir.path().to_path_buf();
    let (erin, to) = turnover_with_task(&s, &slow_append(&dir));
    let id = ry(&s, Some(&erin), &["deploy", &to, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    assert!(eventually(60, || dir.join("bg.pid").exists()), "the task never started");
    let started = Instant::now();
    wait_recorded(&s, &a_url, &erin, &id);

    // Whichever server's engine runs it is its parent.
    let parent: u32 = lines(&dir.join("ids"))[0].split_whitespace().next().unwrap().parse().unwrap();
    let mut s = s;
    let survivor = if parent == s.child.id() {
        kill9(&mut s.child);
        b_url.clone()
    } else {
        assert_eq!(parent, b.child.id(), "the task's parent is one of the two servers");
        kill9(&mut b.child);
        a_url.clone()
    };
    wait_past_the_sleep(started);
    let f_after_kill = lines(&dir.join("F"));

    let d = wait_deployment(&s, &survivor, &erin, &id, "failed", |d| d["state"] == "failed");
    ry(&s, Some(&erin), &["--server", &survivor, "deployment", "retry", &id]).ok();
    let done =
        wait_deployment(&s, &survivor, &erin, &id, "settled", |d| d["state"] == "succeeded" || d["state"] == "failed");
    let f = lines(&dir.join("F"));
    let ids = lines(&dir.join("ids"));
    eprintln!("F after the kill: {f_after_kill:?}; F at the end: {f:?}; starts: {ids:?}");
    let sleeper = std::fs::read_to_string(dir.join("bg.pid")).unwrap();
    let sleeper_gone = eventually(30, || process_gone(&sleeper));

    let twice = f.len().saturating_sub(1);
    assert_eq!(twice, 0, "runs carried out twice: F is {f:?}");
    assert_eq!(f_after_kill, Vec::<String>::new(), "the task finished on its own after its server was killed");
    assert_eq!(d["runs"][0]["state"], "interrupted", "{d}");
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(f, ["x"]);
    assert_eq!(ids.len(), 2);
    let run_ids: Vec<Option<&str>> = ids.iter().map(|l| l.split_whitespace().nth(2)).collect();
    assert!(run_ids[0].is_some() && run_ids[0] != run_ids[1], "{ids:?}");
    assert!(sleeper_gone, "the surviving server on the same host killed what the task left behind");
}

/// Issue 12 review, finding 2: what a task started outside its process group and session (`setsid`,
/// once with an empty environment) is killed too when an engine on the host reaps the run after a crash.
#[test]
fn what_a_task_started_outside_its_group_is_killed_when_the_run_is_reaped_after_a_crash() {
    let mut s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let dir = s.dir.path().to_path_buf();
    let d = dir.display();
    let script = format!(
        "setsid sleep 300 & echo $! >> {d}/escaped; env -i /usr/bin/setsid /usr/bin/sleep 300 & echo $! >> {d}/escaped; \
         sleep 300"
    );
    let (erin, to) = turnover_with_task(&s, &script);
    let id = ry(&s, Some(&erin), &["deploy", &to, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    assert!(eventually(60, || lines(&dir.join("escaped")).len() == 2), "the task never started");
    wait_recorded(&s, &s.url, &erin, &id);
    let escaped = lines(&dir.join("escaped"));

    kill9(&mut s.child);
    let alive_after_kill: Vec<bool> = escaped.iter().map(|p| !process_gone(p)).collect();
    let (mut again, url) = serve_on(&s.db);
    let d = wait_deployment(&s, &url, &erin, &id, "failed", |d| d["state"] == "failed");
    let gone: Vec<bool> = escaped.iter().map(|p| eventually(30, || process_gone(p))).collect();
    let _ = again.kill();
    let _ = again.wait();
    for (pid, gone) in escaped.iter().zip(&gone) {
        if !gone {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
    }
    eprintln!("escaped {escaped:?}: alive after the kill {alive_after_kill:?}, gone after the restart {gone:?}");
    assert_eq!(d["runs"][0]["state"], "interrupted", "{d}");
    assert_eq!(alive_after_kill, [true, true], "they outlived the server's death, as processes outside the group do");
    assert_eq!(gone, [true, true], "what the task started outside its group outlived the restart: {escaped:?}");
}
