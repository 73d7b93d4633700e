//! Nothing of a run outlives it: processes that left its process group and session (`setsid`, with or
//! without its environment) die when it ends, however it ends, and when it is reaped after a crash;
//! another run's processes are left alone; and a process that took the number of a finished run's group
//! is never signalled by it (issue 12 review, findings 2 and 12).

use std::ffi::CString;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use railyard_runner::{
    Action, Limits, LineSink, OutputLine, Reaped, RunContext, RunOptions, RunProcess, RunStatus, Sandbox, VecSink,
    kill_recorded, run_with,
};

use super::{process_gone, sh, shared_dir};

/// A script that starts two sleepers outside its process group and session, one of them with an empty
/// environment, writes their pids to `<dir>/escaped`, then does `then`.
fn escaping(dir: &Path, then: &str) -> String {
    let d = dir.display();
    format!(
        "setsid sleep 300 & echo $! >> {d}/escaped; env -i /usr/bin/setsid /usr/bin/sleep 300 & echo $! >> {d}/escaped; \
         {then}"
    )
}

fn pids(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
}

/// Whether each of `pids` is gone within a few seconds; kills the ones that are not, so that a failing
/// test leaves nothing behind.
async fn gone_then_cleanup(pids: &[String]) -> Vec<bool> {
    let mut gone = Vec::new();
    for pid in pids {
        let mut g = false;
        for _ in 0..60 {
            if process_gone(pid) {
                g = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !g {
            let _ = std::process::Command::new("kill").args(["-9", pid]).status();
        }
        gone.push(g);
    }
    gone
}

fn ctx(run_id: &str) -> RunContext {
    RunContext::new().with("RAILYARD_RUN_ID", run_id)
}

#[tokio::test]
async fn processes_that_left_the_group_and_session_die_with_their_run_however_it_ends() {
    let held = Sandbox::for_this_process();
    assert!(held.uses_cgroups(), "runs are not held in control groups on this machine: {}", held.describe());
    let searched = Arc::new(Sandbox::new(None, None).expect("sandbox").without_cgroups());
    for (sandbox, found_by) in [(held, "control group"), (searched, "run id")] {
        for (case, then, timeout, status) in [
            ("success", "exit 0", 60, RunStatus::Succeeded),
            ("failure", "exit 3", 60, RunStatus::Failed),
            ("timeout", "sleep 300", 1, RunStatus::TimedOut),
        ] {
            let dir = shared_dir();
            // Without a control group, only what kept the run's environment can be found.
            let script = match found_by {
                "control group" => escaping(dir.path(), then),
                _ => escaping_with_its_environment(dir.path(), then),
            };
            let mut c = sh(&script);
            c.timeout_secs = timeout;
            let mut sink = VecSink::new();
            let options = RunOptions { sandbox: sandbox.clone(), ..RunOptions::new(Limits::default()) };
            let outcome = run_with(&Action::Command(c), &ctx(&format!("DE-1-R1-{case}")), &mut sink, &options).await;
            let escaped = pids(&dir.path().join("escaped"));
            let gone = gone_then_cleanup(&escaped).await;
            eprintln!(
                "{found_by}, {case}: {:?} {:?}; escaped {escaped:?} gone {gone:?}",
                outcome.status, outcome.message
            );
            assert_eq!(outcome.status, status, "{found_by}, {case}: {outcome:?}");
            assert!(!escaped.is_empty(), "{found_by}, {case}: nothing started");
            assert!(
                gone.iter().all(|g| *g),
                "{found_by}, {case}: processes outside the run's group outlived it: {escaped:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_stopped_run_takes_what_left_its_group_with_it() {
    let dir = shared_dir();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let options = RunOptions { stop: Some(stop_rx), ..RunOptions::new(Limits::default()) };
    let action = Action::Command(sh(&escaping(dir.path(), "echo ready; sleep 300")));
    let mut sink = VecSink::new();
    let c = ctx("DE-2-R1-1");
    let run = run_with(&action, &c, &mut sink, &options);
    let stopper = async {
        for _ in 0..600 {
            if pids(&dir.path().join("escaped")).len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = stop.send(true);
    };
    let (outcome, ()) = tokio::join!(run, stopper);
    let escaped = pids(&dir.path().join("escaped"));
    let gone = gone_then_cleanup(&escaped).await;
    eprintln!("stop: {:?}; escaped {escaped:?} gone {gone:?}", outcome.status);
    assert_eq!(outcome.status, RunStatus::Stopped, "{outcome:?}");
    assert_eq!(gone, [true, true], "processes outside the run's group outlived the stop: {escaped:?}");
}

#[tokio::test]
async fn the_end_of_one_run_leaves_another_runs_processes_alone() {
    let (long_dir, short_dir) = (shared_dir(), shared_dir());
    let long_done = long_dir.path().join("done");
    let long = Action::Command(sh(&escaping(
        long_dir.path(),
        &format!("while [ ! -e {} ]; do sleep 0.1; done", long_done.display()),
    )));
    let short = Action::Command(sh(&escaping(short_dir.path(), "exit 0")));
    let options = RunOptions::new(Limits::default());
    let (mut long_sink, mut short_sink) = (VecSink::new(), VecSink::new());
    let (long_ctx, short_ctx) = (ctx("DE-3-R1-1"), ctx("DE-4-R1-1"));
    let long_run = run_with(&long, &long_ctx, &mut long_sink, &options);
    let other = async {
        for _ in 0..600 {
            if pids(&long_dir.path().join("escaped")).len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let outcome = run_with(&short, &short_ctx, &mut short_sink, &options).await;
        let short_gone = gone_then_cleanup(&pids(&short_dir.path().join("escaped"))).await;
        // The long run is still running: its processes must all be there.
        let long_alive: Vec<bool> = pids(&long_dir.path().join("escaped")).iter().map(|p| !process_gone(p)).collect();
        std::fs::write(&long_done, "").expect("let the long run end");
        (outcome, short_gone, long_alive)
    };
    let (long_outcome, (short_outcome, short_gone, long_alive)) = tokio::join!(long_run, other);
    let long_gone = gone_then_cleanup(&pids(&long_dir.path().join("escaped"))).await;
    eprintln!("short: {short_gone:?} gone; long: {long_alive:?} alive while it ran, {long_gone:?} gone after");
    assert!(short_outcome.succeeded() && long_outcome.succeeded(), "{short_outcome:?} {long_outcome:?}");
    assert_eq!(short_gone, [true, true], "the short run's escaped processes outlived it");
    assert_eq!(long_alive, [true, true], "the end of the short run killed the long run's processes");
    assert_eq!(long_gone, [true, true], "the long run's escaped processes outlived it");
}

/// Keeps the process the runner reported.
struct Recorder(Option<tokio::sync::oneshot::Sender<RunProcess>>);

impl LineSink for Recorder {
    fn line(&mut self, _line: OutputLine) {}
    fn started(&mut self, process: &RunProcess) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(process.clone());
        }
    }
}

#[tokio::test]
async fn after_a_crash_the_recorded_run_is_reaped_with_what_left_its_group() {
    let dir = shared_dir();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut sink = Recorder(Some(tx));
    let action = Action::Command(sh(&escaping(dir.path(), "sleep 300")));
    let options = RunOptions::new(Limits::default());
    let c = ctx("DE-5-R1-1");
    let run = run_with(&action, &c, &mut sink, &options);
    let reaper = async {
        let process = rx.await.expect("the runner reported the process");
        for _ in 0..600 {
            if pids(&dir.path().join("escaped")).len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // As after a crash: an engine on this host finds the record and kills what is left.
        let reaped = kill_recorded(&process);
        let escaped = pids(&dir.path().join("escaped"));
        let gone = gone_then_cleanup(&escaped).await;
        (reaped, escaped, gone)
    };
    let (outcome, (reaped, escaped, gone)) = tokio::join!(run, reaper);
    let cgroups = Sandbox::for_this_process().uses_cgroups();
    eprintln!("reaped {reaped:?}; escaped {escaped:?} gone {gone:?}; run {:?}; cgroups: {cgroups}", outcome.status);
    assert!(matches!(reaped, Reaped::Killed(n) if n >= 3), "{reaped:?}");
    assert_eq!(gone, [true, true], "processes outside the recorded group outlived the reap: {escaped:?}");
}

/// Without control groups (a server that may not make them): a script whose background sleeper leaves
/// the group and session but keeps the run's environment.
fn escaping_with_its_environment(dir: &Path, then: &str) -> String {
    format!("setsid sleep 300 & echo $! >> {}/escaped; {then}", dir.display())
}

#[tokio::test]
async fn without_control_groups_what_left_the_group_is_found_by_its_run_id_and_other_runs_are_left_alone() {
    let sandbox = Arc::new(Sandbox::new(None, None).expect("sandbox").without_cgroups());
    assert!(!sandbox.uses_cgroups());
    let options = RunOptions { sandbox, ..RunOptions::new(Limits::default()) };
    let (long_dir, short_dir, crashed_dir) = (shared_dir(), shared_dir(), shared_dir());
    let long_done = long_dir.path().join("done");
    let long = Action::Command(sh(&escaping_with_its_environment(
        long_dir.path(),
        &format!("while [ ! -e {} ]; do sleep 0.1; done", long_done.display()),
    )));
    let short = Action::Command(sh(&escaping_with_its_environment(short_dir.path(), "exit 0")));
    let crashed = Action::Command(sh(&escaping_with_its_environment(crashed_dir.path(), "sleep 300")));
    let (mut long_sink, mut short_sink) = (VecSink::new(), VecSink::new());
    let (long_ctx, short_ctx, crashed_ctx) = (ctx("DE-7-R1-1"), ctx("DE-8-R1-1"), ctx("DE-9-R1-1"));
    let long_run = run_with(&long, &long_ctx, &mut long_sink, &options);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut crashed_sink = Recorder(Some(tx));
    let crashed_run = run_with(&crashed, &crashed_ctx, &mut crashed_sink, &options);
    let others = async {
        for dir in [&long_dir, &crashed_dir] {
            for _ in 0..600 {
                if pids(&dir.path().join("escaped")).len() == 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let outcome = run_with(&short, &short_ctx, &mut short_sink, &options).await;
        let short_gone = gone_then_cleanup(&pids(&short_dir.path().join("escaped"))).await;
        // As after a crash: the recorded run is reaped, with what left its group.
        let record = rx.await.expect("the runner reported the process");
        let reaped = kill_recorded(&record);
        let crashed_gone = gone_then_cleanup(&pids(&crashed_dir.path().join("escaped"))).await;
        // The long run is still running: its processes must all be there.
        let long_alive: Vec<bool> = pids(&long_dir.path().join("escaped")).iter().map(|p| !process_gone(p)).collect();
        std::fs::write(&long_done, "").expect("let the long run end");
        (outcome, short_gone, record, reaped, crashed_gone, long_alive)
    };
    let (long_outcome, crashed_outcome, (short_outcome, short_gone, record, reaped, crashed_gone, long_alive)) =
        tokio::join!(long_run, crashed_run, others);
    let long_gone = gone_then_cleanup(&pids(&long_dir.path().join("escaped"))).await;
    eprintln!(
        "short: {short_gone:?} gone; reaped {reaped:?}, {crashed_gone:?} gone; long: {long_alive:?} alive while it \
         ran, {long_gone:?} gone after"
    );
    assert!(short_outcome.succeeded() && long_outcome.succeeded(), "{short_outcome:?} {long_outcome:?}");
    assert_eq!(crashed_outcome.signal, Some(9), "{crashed_outcome:?}");
    assert_eq!((record.cgroup.as_deref(), record.run_id.as_deref()), (None, Some("DE-9-R1-1")));
    assert_eq!(short_gone, [true], "the short run's escaped process outlived it");
    assert_eq!(crashed_gone, [true], "the reaped run's escaped process outlived the reap");
    assert_eq!(long_alive, [true], "the end of another run killed the long run's process");
    assert_eq!(long_gone, [true], "the long run's escaped process outlived it");
}

/// The arguments of `clone3` (linux/sched.h), up to `set_tid_size`.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
}

/// Starts `sleep 60` with pid `pid` exactly, as a process group of its own (`clone3` with `set_tid`:
/// root only). `None` while `pid` is taken.
fn spawn_with_pid(pid: i32) -> Option<i32> {
    let prog = CString::new("/usr/bin/sleep").unwrap();
    let arg = CString::new("60").unwrap();
    let argv = [prog.as_ptr(), arg.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null()];
    let tid = [pid as libc::pid_t];
    let args = CloneArgs {
        exit_signal: libc::SIGCHLD as u64,
        set_tid: tid.as_ptr() as u64,
        set_tid_size: 1,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM forks this process; the child only calls setpgid, execve and
    // _exit (async-signal-safe) on data prepared before.
    let r = unsafe { libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, std::mem::size_of::<CloneArgs>()) };
    if r == 0 {
        unsafe {
            libc::setpgid(0, 0);
            libc::execve(prog.as_ptr(), argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
    }
    (r > 0).then_some(r as i32)
}

#[tokio::test]
async fn a_process_that_took_the_number_of_a_finished_runs_group_is_never_signalled_by_it() {
    // SAFETY: geteuid only reads this process's credentials.
    if unsafe { libc::geteuid() } != 0 {
        return; // choosing a pid needs root
    }
    let dir = shared_dir();
    let leader_file = dir.path().join("leader");
    // The leader ends at the timeout's SIGTERM; a process outside its group keeps the pipes open, so the
    // run goes on until the SIGKILL after the grace period.
    let script = format!("echo $$ > {}; setsid sleep 30 & exec sleep 300", leader_file.display());
    let mut c = sh(&script);
    c.timeout_secs = 1;
    let mut sink = VecSink::new();
    let options = RunOptions::new(Limits::default());
    let context = ctx("DE-6-R1-1");
    let (done_tx, mut done_rx) = tokio::sync::watch::channel(false);
    let run = async {
        let outcome = run_with(&Action::Command(c), &context, &mut sink, &options).await;
        let _ = done_tx.send(true);
        outcome
    };
    // Another process takes the leader's number as soon as it is free, in a group of its own.
    let impostor = async {
        let mut leader = None;
        while !*done_rx.borrow_and_update() {
            if leader.is_none() {
                leader = std::fs::read_to_string(&leader_file).ok().and_then(|s| s.trim().parse::<i32>().ok());
            }
            if let Some(pid) = leader
                && let Some(taken) = spawn_with_pid(pid)
            {
                return Some(taken);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        None
    };
    let (outcome, impostor) = tokio::join!(run, impostor);
    let fate = impostor.map(|pid| {
        // Give a late signal time to land, then look.
        std::thread::sleep(Duration::from_millis(300));
        let mut status = 0;
        // SAFETY: waitpid and kill on our own child.
        let ended = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid;
        let by_signal = ended && libc::WIFSIGNALED(status);
        if !ended {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
        }
        (pid, by_signal.then(|| libc::WTERMSIG(status)))
    });
    eprintln!("run: {:?}; a process with the group's number mid-run: {fate:?}", outcome.status);
    assert_eq!(outcome.status, RunStatus::TimedOut, "{outcome:?}");
    if let Some((pid, signal)) = fate {
        assert_eq!(
            signal, None,
            "process {pid}, which took the finished group's number, was killed by signal {signal:?}"
        );
    }
}
