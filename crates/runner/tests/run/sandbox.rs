//! The sandbox a command runs in: never root, a cleared environment, a private working directory of its
//! own; a stop signal; the process group recorded, and killed again only while it is the same.

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;
use std::time::Duration;

use railyard_runner::{
    Action, Limits, LineSink, OutputLine, Reaped, RunContext, RunOptions, RunProcess, RunStatus, Sandbox, Stream,
    VecSink, kill_recorded, run_with,
};

use super::{cmd, process_gone, run_cmd, sh, shared_dir, wait_gone};

fn root() -> bool {
    // SAFETY: geteuid only reads this process's credentials.
    unsafe { libc::geteuid() == 0 }
}

#[tokio::test]
async fn a_task_starts_from_a_cleared_environment() {
    let mut c = cmd("env", &[]);
    c.env.insert("DEPLOY_TARGET".into(), "blue".into());
    let ctx = RunContext::new().with("RAILYARD_RUN_ID", "DE-1-R1-1");
    let mut sink = VecSink::new();
    let outcome = railyard_runner::run(&Action::Command(c), &ctx, &mut sink, &Limits::default()).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let names: BTreeSet<&str> =
        sink.texts(Stream::Stdout).iter().filter_map(|l| l.split_once('=')).map(|(n, _)| n).collect();
    let allowed = |n: &&str| {
        matches!(
            *n,
            "PATH" | "LANG" | "LANGUAGE" | "TZ" | "HOME" | "USER" | "LOGNAME" | "DEPLOY_TARGET" | "RAILYARD_RUN_ID"
        ) || n.starts_with("LC_")
    };
    let leaked: Vec<&&str> = names.iter().filter(|n| !allowed(n)).collect();
    assert!(leaked.is_empty(), "the server's environment reached the task: {leaked:?}");
    for n in ["PATH", "HOME", "USER", "LOGNAME", "DEPLOY_TARGET", "RAILYARD_RUN_ID"] {
        assert!(names.contains(n), "{n} missing from {names:?}");
    }
}

#[tokio::test]
async fn a_task_never_runs_as_root_and_gets_a_private_directory_of_its_own_removed_afterwards() {
    let (outcome, sink) = run_cmd(sh("id -u; pwd; echo $HOME; stat -c '%a %u' .; echo kept > file")).await;
    assert!(outcome.succeeded(), "{outcome:?} {:?}", sink.lines);
    let out = sink.texts(Stream::Stdout);
    let uid: u32 = out[0].parse().expect("uid");
    assert_ne!(uid, 0, "a task ran as root");
    if root() {
        assert_eq!(uid, 65534, "as root, tasks run as nobody");
    }
    assert_eq!(out[1], out[2], "HOME is the working directory");
    assert!(out[1].contains("/railyard-tasks-"), "{out:?}");
    assert_eq!(out[3], format!("700 {uid}"));
    assert!(!std::path::Path::new(out[1]).exists(), "{} was not removed", out[1]);
}

#[tokio::test]
async fn a_working_directory_the_task_user_cannot_enter_could_not_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let mut c = cmd("true", &[]);
    c.working_dir = Some(dir.path().display().to_string());
    let (outcome, _) = run_cmd(c).await;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod back");
    assert_eq!(outcome.status, RunStatus::CouldNotStart, "{outcome:?}");
    let user = Sandbox::for_this_process().user().clone();
    assert_eq!(
        outcome.message,
        format!(
            "working directory '{}' cannot be used by task user {} (uid {}): permission denied",
            dir.path().display(),
            user.name,
            user.uid
        )
    );
}

#[tokio::test]
async fn a_configured_task_user_is_used_and_needs_the_right_to_switch() {
    let work = tempfile::tempdir().expect("tempdir");
    let sandbox = Sandbox::new(Some("daemon"), Some(work.path().join("runs")));
    if !root() {
        let e = sandbox.expect_err("a non-root process cannot switch users");
        assert!(e.to_string().contains("cannot switch users"), "{e}");
        return;
    }
    let sandbox = Arc::new(sandbox.expect("daemon is usable"));
    let daemon = sandbox.user().clone();
    assert!(daemon.uid != 0 && daemon.uid != 65534);
    let mut sink = VecSink::new();
    let options = RunOptions { sandbox, ..RunOptions::new(Limits::default()) };
    let action = Action::Command(sh("id -u; id -G; echo $USER; pwd"));
    let outcome = run_with(&action, &RunContext::default(), &mut sink, &options).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let out = sink.texts(Stream::Stdout);
    assert_eq!(out[0], daemon.uid.to_string());
    assert_eq!(out[1], daemon.gid.to_string(), "no supplementary groups");
    assert_eq!(out[2], "daemon");
    assert!(out[3].starts_with(&work.path().join("runs").display().to_string()), "{out:?}");
    let root_mode = std::fs::metadata(work.path().join("runs")).expect("work root").mode() & 0o7777;
    assert_eq!(root_mode, 0o711, "others may reach their own directory, not list the rest");
}

/// Keeps the lines and the process the runner reported.
#[derive(Default)]
struct Recorder {
    lines: Vec<OutputLine>,
    process: Option<RunProcess>,
    tx: Option<tokio::sync::oneshot::Sender<RunProcess>>,
}

impl LineSink for Recorder {
    fn line(&mut self, line: OutputLine) {
        self.lines.push(line);
    }
    fn started(&mut self, process: &RunProcess) {
        self.process = Some(process.clone());
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(process.clone());
        }
    }
}

#[tokio::test]
async fn a_stop_signal_ends_the_run_as_stopped_and_its_whole_group() {
    let dir = shared_dir();
    let pid_file = dir.path().join("child.pid");
    let script = format!("trap '' TERM; sleep 100 & echo $! > '{}'; sleep 100", pid_file.display());
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let options = RunOptions { stop: Some(stop_rx), ..RunOptions::new(Limits::default()) };
    let action = Action::Command(sh(&script));
    let mut sink = VecSink::new();
    let ctx = RunContext::default();
    let run = run_with(&action, &ctx, &mut sink, &options);
    let stopper = async {
        for _ in 0..600 {
            if pid_file.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = stop.send(true);
    };
    let (outcome, ()) = tokio::join!(run, stopper);
    assert_eq!(outcome.status, RunStatus::Stopped, "{outcome:?}");
    assert_eq!(outcome.signal, Some(9), "SIGTERM was ignored: SIGKILL after the grace");
    assert_eq!(outcome.message, "stopped: the server shut down while it ran");
    let pid = std::fs::read_to_string(&pid_file).expect("pid").trim().to_string();
    assert!(wait_gone(&pid).await, "{pid} survived the stop");
}

#[tokio::test]
async fn a_recorded_group_is_killed_while_it_is_the_same_and_left_alone_after() {
    let dir = shared_dir();
    let pid_file = dir.path().join("child.pid");
    let script = format!("sleep 100 & echo $! > '{}'; sleep 100", pid_file.display());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut sink = Recorder { tx: Some(tx), ..Recorder::default() };
    let action = Action::Command(sh(&script));
    let options = RunOptions::new(Limits::default());
    let ctx = RunContext::default();
    let run = run_with(&action, &ctx, &mut sink, &options);
    let killer = async {
        let process = rx.await.expect("the runner reported the process");
        for _ in 0..600 {
            if pid_file.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // As after a crash: another engine finds the recorded group and kills it.
        let first = kill_recorded(&process);
        (process, first)
    };
    let (outcome, (process, first)) = tokio::join!(run, killer);
    assert_eq!(sink.process.as_ref(), Some(&process));
    assert!(matches!(first, Reaped::Killed(n) if n >= 2), "{first:?}");
    assert_eq!((outcome.status, outcome.signal), (RunStatus::Failed, Some(9)), "{outcome:?}");
    let pid = std::fs::read_to_string(&pid_file).expect("pid").trim().to_string();
    assert!(wait_gone(&pid).await, "{pid} survived");
    assert!(process_gone(&process.pgid.to_string()));
    // Nothing is left of it: a second look kills nothing.
    assert_eq!(kill_recorded(&process), Reaped::Gone);
    assert_eq!(process.uid, Sandbox::for_this_process().user().uid);
}
