//! Starting a task's process so that it cannot outlive the server unnoticed, and finding what is left of
//! one after a crash.
//!
//! - **One spawner thread.** `PR_SET_PDEATHSIG` fires when the *thread* that forked the child ends, not
//!   the process: a child forked from a pooled thread that retires would be killed early. Every process
//!   is therefore forked by one thread that lives as long as the process ([`spawn`]). What the child does
//!   before `exec` is in [`crate::child`].
//! - **Recorded for later.** The engine records [`RunProcess`] when a run starts: the host, the run's
//!   process group (the leader's pid) and the leader's start time, the task user, the run's own
//!   working directory, its control group when it has one, and its `RAILYARD_RUN_ID`. The death signal
//!   reaches only the leader; after a crash an engine on the same host kills the rest with
//!   [`kill_recorded`]: the whole control group, or without one the group's members and the task
//!   user's processes that carry the run's id, guarding against pid reuse.

use std::io;
use std::sync::OnceLock;
use std::sync::mpsc;

use railyard_domain::RunProcess;

use crate::leftovers::{Marks, members, real_uid, signal_checked, stat};

type Job = Box<dyn FnOnce() + Send>;

/// Spawns `cmd` on the spawner thread (see the module doc), inside the caller's tokio runtime.
pub(crate) async fn spawn(mut cmd: tokio::process::Command) -> io::Result<tokio::process::Child> {
    static SPAWNER: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("railyard-spawner".into())
            .spawn(move || {
                for job in rx {
                    // The thread must outlive every child it forked (their death signal is tied to it):
                    // a job that panics must not end it.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .ok()
            .map(|_| tx)
    });
    let gone = || io::Error::other("the thread that starts task processes could not be started");
    let spawner = spawner.as_ref().ok_or_else(gone)?;
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| io::Error::other("task processes are started from inside a tokio runtime only"))?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _inside = runtime.enter();
        let _ = reply.send(cmd.spawn());
    });
    spawner.send(job).map_err(|_| gone())?;
    answer.await.map_err(|_| gone())?
}

/// This host, as pids see it: the kernel's boot id and this process's pid namespace. `None` where
/// `/proc` does not tell.
pub fn host_id() -> Option<&'static str> {
    static HOST: OnceLock<Option<String>> = OnceLock::new();
    HOST.get_or_init(|| {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
        Some(format!("{}/{}", boot.trim(), ns.display()))
    })
    .as_deref()
}

/// What to record of a process just spawned (its pid is its group), running as `uid`: its own working
/// directory, control group and run id, when it has them.
pub(crate) fn record(
    pid: u32,
    uid: u32,
    work_dir: Option<&std::path::Path>,
    cgroup: Option<&std::path::Path>,
    run_id: Option<&str>,
) -> Option<RunProcess> {
    let pgid = i32::try_from(pid).ok()?;
    let st = stat(pgid)?;
    Some(RunProcess {
        host: host_id()?.to_string(),
        pgid,
        started: st.started,
        uid,
        work_dir: work_dir.map(|d| d.to_string_lossy().into_owned()),
        cgroup: cgroup.map(|d| d.to_string_lossy().into_owned()),
        run_id: run_id.map(str::to_string),
    })
}

/// What [`kill_recorded`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaped {
    /// Recorded on another host (or another pid namespace): not ours to touch.
    ElsewhereRecorded,
    /// Nothing of the run is left.
    Gone,
    /// This many processes were killed.
    Killed(usize),
}

/// Kills what is left of a recorded run, guarding against pid reuse:
///
/// - the record must be of this host (boot id and pid namespace);
/// - its control group, when it has one, is killed whole (only a `railyard-run-*` group of this host's
///   cgroup v2 hierarchy) and removed;
/// - when the leader lives, it must be the same process (same start time) and still lead the group;
///   a different start time means the pid was reused, and then the group is gone (the kernel hands out
///   no pid still in use as a group id);
/// - any process of the recorded user started since the leader whose environment holds the run's
///   `RAILYARD_RUN_ID` is the run's, in its group or not; for a record without a run id, with the leader
///   gone, each remaining member of the group that started no earlier than the leader and runs as the
///   recorded user. Each is checked and signalled through a pidfd.
pub fn kill_recorded(p: &RunProcess) -> Reaped {
    if host_id() != Some(p.host.as_str()) {
        return Reaped::ElsewhereRecorded;
    }
    let mut killed = p.cgroup.as_deref().and_then(crate::cgroup::kill_recorded).unwrap_or(0);
    match (p.pgid > 1).then(|| stat(p.pgid)).flatten() {
        // Another process has the leader's number: the group is gone.
        Some(leader) if leader.started != p.started => {}
        Some(leader) if leader.pgrp == p.pgid && leader.alive => {
            let n = members(p.pgid).len().max(1);
            // SAFETY: killpg only sends a signal, to a group checked above to be the recorded one.
            unsafe { libc::killpg(p.pgid, libc::SIGKILL) };
            killed += n;
        }
        // With the leader gone, its number may lead another group by now: with the run's id known, only
        // processes carrying it are the run's (below).
        _ if p.run_id.is_some() || p.pgid <= 1 => {}
        _ => {
            for pid in members(p.pgid) {
                let ours = || {
                    stat(pid).is_some_and(|s| s.pgrp == p.pgid && s.started >= p.started && s.alive)
                        && real_uid(pid) == Some(p.uid)
                };
                killed += usize::from(signal_checked(pid, libc::SIGKILL, ours));
            }
        }
    }
    if let Some(run_id) = &p.run_id {
        killed += Marks::new(p.uid, run_id, p.started).kill();
    }
    if killed == 0 { Reaped::Gone } else { Reaped::Killed(killed) }
}

/// Makes this process non-dumpable: processes of the same user (its tasks, when they run as the
/// server's user) can then neither read its `/proc/<pid>/environ` or memory nor ptrace it, and it
/// leaves no core dump holding its secrets. `railyard serve` calls it first thing.
pub fn protect_server_process() -> io::Result<()> {
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) only changes this process's dumpable flag.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_recorded_and_a_record_of_another_host_or_a_reused_pid_is_left_alone() {
        let me = std::process::id();
        let st = stat(me as i32).expect("stat of self");
        assert!(st.started > 0);
        let elsewhere = RunProcess {
            host: "another-boot/pid:[1]".into(),
            pgid: st.pgrp,
            started: st.started,
            uid: 0,
            work_dir: None,
            cgroup: None,
            run_id: None,
        };
        assert_eq!(kill_recorded(&elsewhere), Reaped::ElsewhereRecorded);
        // Our own pid with another start time: a reused pid, never signalled (we are still alive).
        let reused = RunProcess {
            host: host_id().expect("host id").to_string(),
            pgid: me as i32,
            started: st.started + 1,
            uid: 0,
            work_dir: None,
            cgroup: None,
            run_id: None,
        };
        assert_eq!(kill_recorded(&reused), Reaped::Gone);
    }
}
