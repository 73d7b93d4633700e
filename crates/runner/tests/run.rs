//! The runner against real processes and a real HTTP server on 127.0.0.1.

use std::path::Path;
use std::time::{Duration, Instant};

use railyard_runner::{
    Action, CommandAction, HttpAction, Limits, MAX_LINE_BYTES, Outcome, RunContext, RunStatus, Stream, VecSink, run,
};

#[path = "run/http_server.rs"]
mod http_server;

pub(crate) fn cmd(program: &str, args: &[&str]) -> CommandAction {
    let mut c = CommandAction::new(program);
    c.args = args.iter().map(|a| a.to_string()).collect();
    c
}

pub(crate) fn sh(script: &str) -> CommandAction {
    cmd("/bin/sh", &["-c", script])
}

pub(crate) async fn run_cmd(c: CommandAction) -> (Outcome, VecSink) {
    run_with(Action::Command(c), &RunContext::default()).await
}

async fn run_with(action: Action, ctx: &RunContext) -> (Outcome, VecSink) {
    let mut sink = VecSink::new();
    let outcome = run(&action, ctx, &mut sink, &Limits::default()).await;
    (outcome, sink)
}

/// Whether a process is gone (or a zombie waiting for its new parent to reap it).
pub(crate) fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Whether a process is gone within 30 s (it is at once on an idle machine; the margin is for a busy one).
pub(crate) async fn wait_gone(pid: &str) -> bool {
    for _ in 0..600 {
        if process_gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A temp dir tasks can write into: they run as `nobody` when the tests run as root. World-writable
/// and sticky, as `/tmp` is.
pub(crate) fn shared_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    dir
}

fn read_pid(path: &Path) -> String {
    std::fs::read_to_string(path).expect("pid file").trim().to_string()
}

#[tokio::test]
async fn success_reports_each_streams_lines_in_order_with_timestamps() {
    let (outcome, sink) = run_cmd(sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2; echo out3")).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(outcome.message, "exited with 0");
    assert!(!outcome.truncated);
    assert_eq!(sink.texts(Stream::Stdout), ["out1", "out2", "out3"]);
    assert_eq!(sink.texts(Stream::Stderr), ["err1", "err2"]);
    for stream in [Stream::Stdout, Stream::Stderr] {
        let times: Vec<_> = sink.lines.iter().filter(|l| l.stream == stream).map(|l| l.at).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{stream:?} timestamps go forward");
    }
    assert!(sink.lines.iter().all(|l| outcome.started_at <= l.at && l.at <= outcome.finished_at));
}

#[tokio::test]
async fn non_zero_exit_fails_with_its_code() {
    let (outcome, sink) = run_cmd(sh("echo failing >&2; exit 3")).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!((outcome.exit_code, outcome.signal), (Some(3), None));
    assert_eq!(outcome.message, "exited with 3");
    assert_eq!(sink.texts(Stream::Stderr), ["failing"]);
}

#[tokio::test]
async fn killed_by_a_signal_says_which() {
    let (outcome, _) = run_cmd(sh("kill -9 $$")).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!((outcome.exit_code, outcome.signal), (None, Some(9)));
    assert_eq!(outcome.message, "killed by signal 9 (SIGKILL)");
}

#[tokio::test]
async fn action_and_context_variables_reach_the_process_and_the_context_wins() {
    let mut c = cmd("env", &[]);
    c.env.insert("DEPLOY_TARGET".into(), "blue".into());
    c.env.insert("RAILYARD_TURNOVER".into(), "spoofed".into());
    let ctx = RunContext::new().with("RAILYARD_TURNOVER", "TO-42").with("RAILYARD_ENVIRONMENT", "test");
    let (outcome, sink) = run_with(Action::Command(c), &ctx).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let out = sink.texts(Stream::Stdout);
    for expected in ["DEPLOY_TARGET=blue", "RAILYARD_TURNOVER=TO-42", "RAILYARD_ENVIRONMENT=test"] {
        assert!(out.contains(&expected), "{expected} missing from {out:?}");
    }
    assert!(!out.contains(&"RAILYARD_TURNOVER=spoofed"));
    assert!(out.iter().any(|l| l.starts_with("PATH=")), "the server's environment is inherited");
}

#[tokio::test]
async fn the_working_directory_is_used() {
    let dir = shared_dir();
    let mut c = cmd("pwd", &[]);
    c.working_dir = Some(dir.path().to_string_lossy().into_owned());
    let (outcome, sink) = run_cmd(c).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let printed = std::fs::canonicalize(sink.texts(Stream::Stdout)[0]).expect("printed dir");
    assert_eq!(printed, std::fs::canonicalize(dir.path()).expect("dir"));
}

#[tokio::test]
async fn no_shell_by_default_arguments_arrive_literally() {
    let (outcome, sink) = run_cmd(cmd("printf", &["%s\\n", "$HOME", "a;b", "*", "$(id)"])).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(sink.texts(Stream::Stdout), ["$HOME", "a;b", "*", "$(id)"]);
}

#[tokio::test]
async fn a_shell_named_as_the_program_interprets_its_script() {
    let mut c = sh("echo $((40 + 2)) \"$GREETING\" | tr a-z A-Z");
    c.env.insert("GREETING".into(), "hello".into());
    let (outcome, sink) = run_cmd(c).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(sink.texts(Stream::Stdout), ["42 HELLO"]);
}

#[tokio::test]
async fn the_timeout_kills_the_whole_group_grandchildren_included() {
    let dir = shared_dir();
    let pid_file = dir.path().join("grandchild.pid");
    let script = format!("sleep 100 & echo $! > '{}'; echo started; sleep 100", pid_file.display());
    let mut c = sh(&script);
    c.timeout_secs = 1;
    let begin = Instant::now();
    let (outcome, sink) = run_cmd(c).await;
    assert_eq!(outcome.status, RunStatus::TimedOut, "{outcome:?}");
    assert_eq!(outcome.message, "killed after the 1 s timeout");
    assert_eq!(outcome.signal, Some(15), "SIGTERM was enough");
    assert_eq!(sink.texts(Stream::Stdout), ["started"]);
    // Far below the script's 100 s: the timeout ended it (the margin is for a busy CI machine).
    assert!(begin.elapsed() < Duration::from_secs(30), "took {:?}", begin.elapsed());
    let pid = read_pid(&pid_file);
    assert!(wait_gone(&pid).await, "grandchild {pid} survived the timeout");
}

#[tokio::test]
async fn the_timeout_escalates_to_sigkill_when_sigterm_is_ignored() {
    let dir = shared_dir();
    let pid_file = dir.path().join("stubborn.pid");
    let script = format!("trap '' TERM; sleep 100 & echo $! > '{}'; sleep 100", pid_file.display());
    let mut c = sh(&script);
    c.timeout_secs = 1;
    let begin = Instant::now();
    let (outcome, _) = run_cmd(c).await;
    assert_eq!(outcome.status, RunStatus::TimedOut, "{outcome:?}");
    assert_eq!(outcome.signal, Some(9));
    let took = begin.elapsed();
    // SIGKILL comes after the grace period, and far below the script's 100 s.
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(30), "took {took:?}");
    let pid = read_pid(&pid_file);
    assert!(wait_gone(&pid).await, "stubborn grandchild {pid} survived");
}

#[tokio::test]
async fn a_background_process_holding_the_pipes_cannot_hang_the_run() {
    let dir = shared_dir();
    let pid_file = dir.path().join("daemon.pid");
    let script = format!("sleep 30 & echo $! > '{}'; echo done", pid_file.display());
    let begin = Instant::now();
    let (outcome, sink) = run_cmd(sh(&script)).await;
    let took = begin.elapsed();
    let pid = read_pid(&pid_file);
    let _ = std::process::Command::new("kill").arg(&pid).status();
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(sink.texts(Stream::Stdout), ["done"]);
    // Far below the background sleep's 30 s: the run did not wait for it.
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[tokio::test]
async fn dropping_the_run_kills_its_group() {
    let dir = shared_dir();
    let pid_file = dir.path().join("child.pid");
    let script = format!("sleep 100 & echo $! > '{}'; sleep 100", pid_file.display());
    let action = Action::Command(sh(&script));
    let mut sink = VecSink::new();
    let ctx = RunContext::default();
    let limits = Limits::default();
    // The run goes on until its script has written the background child's pid (however long a busy
    // machine takes to get there), then its future is dropped.
    {
        let running = run(&action, &ctx, &mut sink, &limits);
        tokio::pin!(running);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            tokio::select! {
                outcome = &mut running => panic!("the run ended by itself: {outcome:?}"),
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            let written = std::fs::read_to_string(&pid_file).is_ok_and(|p| p.trim().parse::<u32>().is_ok());
            if written {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "the script never wrote its child's pid");
        }
    }
    let pid = read_pid(&pid_file);
    assert!(wait_gone(&pid).await, "{pid} survived its cancelled run");
}

#[tokio::test]
async fn megabytes_of_output_are_capped_behind_one_mark_that_counts_them_and_the_run_finishes() {
    // 8,000,000 bytes in lines of 100 bytes (99 characters and a break) and one last line: the byte cap
    // binds first (1 MiB is 10,485 such lines, fewer than 20,000).
    let line = "x".repeat(99);
    let (outcome, sink) = run_cmd(sh(&format!("yes {line} | head -c 8000000; echo end >&2"))).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "the process was drained to its end: {outcome:?}");
    assert!(outcome.truncated);
    let kept_lines = 1024 * 1024 / 100;
    let (dropped_lines, dropped_bytes) = (80_000 + 1 - kept_lines, 8_000_000 + 4 - kept_lines * 100);
    let mark = format!(
        "[output cut: {:.1} MiB in 69,516 lines not kept; a run keeps at most 1 MiB and 20,000 lines]",
        dropped_bytes as f64 / 1024.0 / 1024.0
    );
    assert_eq!(dropped_lines, 69_516);
    assert_eq!(sink.lines.iter().filter(|l| l.text.starts_with("[output cut")).count(), 1);
    assert_eq!(sink.lines.last().map(|l| (l.text.as_str(), l.stream)), Some((mark.as_str(), Stream::Stderr)));
    assert_eq!(sink.lines.len(), kept_lines + 1);
    let kept: usize = sink.lines[..kept_lines].iter().map(|l| l.text.len() + 1).sum();
    assert_eq!(kept, kept_lines * 100);
}

#[tokio::test]
async fn the_caps_follow_the_limits() {
    let mut sink = VecSink::new();
    let action = Action::Command(sh("seq 1 1000"));
    let limits = Limits { max_output_bytes: 10, ..Limits::default() };
    let outcome = run(&action, &RunContext::default(), &mut sink, &limits).await;
    assert!(outcome.succeeded() && outcome.truncated);
    assert_eq!(sink.texts(Stream::Stdout), ["1", "2", "3", "4", "5"]);
    // seq 1 1000 prints 3,893 bytes; 10 were kept.
    let mark = "[output cut: 3.8 KiB in 995 lines not kept; a run keeps at most 10 bytes and 20,000 lines]";
    assert_eq!(sink.texts(Stream::Stderr), [mark]);

    let mut sink = VecSink::new();
    let limits = Limits { max_lines: 3, ..Limits::default() };
    let outcome = run(&action, &RunContext::default(), &mut sink, &limits).await;
    assert!(outcome.succeeded() && outcome.truncated);
    assert_eq!(sink.texts(Stream::Stdout), ["1", "2", "3"]);
    let mark = "[output cut: 3.8 KiB in 997 lines not kept; a run keeps at most 1 MiB and 3 lines]";
    assert_eq!(sink.texts(Stream::Stderr), [mark]);
}

#[tokio::test]
async fn invalid_utf8_is_kept_lossily_and_long_lines_are_split() {
    let (outcome, sink) = run_cmd(cmd("printf", &["ok \\377\\376 end\\n"])).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(sink.texts(Stream::Stdout), ["ok \u{FFFD}\u{FFFD} end"]);

    let (outcome, sink) = run_cmd(sh("head -c 20000 /dev/zero | tr '\\0' a")).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let lengths: Vec<usize> = sink.lines.iter().map(|l| l.text.len()).collect();
    assert_eq!(lengths, [MAX_LINE_BYTES, MAX_LINE_BYTES, 20000 - 2 * MAX_LINE_BYTES]);
}

#[tokio::test]
async fn a_missing_program_could_not_start() {
    let (outcome, sink) = run_cmd(cmd("deploy-db-that-does-not-exist", &[])).await;
    assert_eq!(outcome.status, RunStatus::CouldNotStart);
    assert_eq!(outcome.message, "program 'deploy-db-that-does-not-exist' not found (looked in PATH)");
    assert!(sink.lines.is_empty());
    let (outcome, _) = run_cmd(cmd("/nowhere/deploy-db", &[])).await;
    assert_eq!(outcome.message, "program '/nowhere/deploy-db' not found");
}

#[tokio::test]
async fn a_non_executable_file_or_a_directory_could_not_start() {
    let dir = shared_dir();
    let script = dir.path().join("deploy.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").expect("write");
    let (outcome, _) = run_cmd(cmd(&script.to_string_lossy(), &[])).await;
    assert_eq!(outcome.status, RunStatus::CouldNotStart);
    assert!(outcome.message.ends_with("is not executable (permission denied)"), "{}", outcome.message);
    let (outcome, _) = run_cmd(cmd(&dir.path().to_string_lossy(), &[])).await;
    assert_eq!(outcome.status, RunStatus::CouldNotStart);
    assert!(outcome.message.ends_with("is a directory"), "{}", outcome.message);
}

#[tokio::test]
async fn a_missing_working_directory_could_not_start() {
    let mut c = cmd("true", &[]);
    c.working_dir = Some("/nowhere/at/all".into());
    let (outcome, _) = run_cmd(c).await;
    assert_eq!(outcome.status, RunStatus::CouldNotStart);
    assert_eq!(outcome.message, "working directory '/nowhere/at/all' does not exist");
}

#[tokio::test]
async fn an_invalid_action_could_not_start_and_names_its_fields() {
    let mut c = cmd("", &[]);
    c.timeout_secs = 0;
    c.env.insert("BAD-NAME".into(), "x".into());
    let fields: Vec<String> = c.validate().expect_err("invalid").into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["program", "env", "timeout_secs"]);
    let (outcome, _) = run_cmd(c).await;
    assert_eq!(outcome.status, RunStatus::CouldNotStart);
    assert!(outcome.message.starts_with("invalid action: program: must not be empty"), "{}", outcome.message);

    let ctx = RunContext::new().with("NOT-A-NAME", "x");
    let (outcome, _) = run_with(Action::Command(cmd("true", &[])), &ctx).await;
    assert_eq!(outcome.status, RunStatus::CouldNotStart);
    assert_eq!(outcome.message, "invalid run context: env: 'NOT-A-NAME' is not a usable variable");

    let mut c = cmd("true", &[]);
    c.timeout_secs = 86_401;
    assert_eq!(c.validate().expect_err("too long")[0].field, "timeout_secs");

    let mut h = HttpAction::new("FETCH", "ftp://example.test/x");
    h.timeout_secs = 0;
    h.headers.insert("Bad Header".into(), "v".into());
    h.expected_status = vec![700];
    let fields: Vec<String> = h.validate().expect_err("invalid").into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["method", "url", "headers", "expected_status", "timeout_secs"]);
    assert!(HttpAction::new("GET", "http://${RAILYARD_HOST}:8080/a/${RAILYARD_TURNOVER}").validate().is_ok());
    assert_eq!(HttpAction::new("GET", "not a url").validate().expect_err("url")[0].field, "url");
}

#[test]
fn actions_serialise_with_a_kind_tag_and_defaults() {
    let json = r#"{"kind":"command","program":"/bin/deploy","args":["--env","test"]}"#;
    let action: Action = serde_json::from_str(json).expect("command");
    let Action::Command(c) = &action else { panic!("not a command") };
    assert_eq!((c.timeout_secs, c.working_dir.as_deref(), c.env.len()), (600, None, 0));
    let back = serde_json::to_value(&action).expect("json");
    assert_eq!(back["kind"], "command");
    let json = r#"{"kind":"http","method":"POST","url":"http://127.0.0.1:1/hook"}"#;
    let Action::Http(h) = serde_json::from_str(json).expect("http") else { panic!("not http") };
    assert!(h.expected_status.is_empty() && h.accepts(204) && !h.accepts(302));
    assert!(serde_json::from_str::<Action>(r#"{"kind":"command","program":"x","shell":true}"#).is_err());
    let status = serde_json::to_value(RunStatus::CouldNotStart).expect("json");
    assert_eq!(status, "could_not_start");
}

#[path = "run/contain.rs"]
mod contain;
#[path = "run/http.rs"]
mod http;
#[path = "run/privileges.rs"]
mod privileges;
#[path = "run/sandbox.rs"]
mod sandbox;
