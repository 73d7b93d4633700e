//! A run's processes, from its start to its end: told to end (SIGTERM, then SIGKILL) at its timeout or
//! when the server stops, and all killed when it ends, however it ends, wherever they went.
//!
//! - **All of them.** The run's control group when it has one (see [`crate::cgroup`]); otherwise its
//!   process group and the task user's processes carrying its `RAILYARD_RUN_ID` (see
//!   [`crate::leftovers`]).
//! - **The run ends when its program does.** When the leader exits by itself, what it left running
//!   (a daemon, a background job) is killed at once; a deployment step that must leave a service
//!   running hands it to the host's service manager (`systemctl start`), which does not run it as the
//!   task's child.
//! - **No signal to a number that may be someone else's.** The leader's exit is watched through a
//!   pidfd (or `waitid(WNOWAIT)`), which leaves it unreaped: as long as the zombie is there, its pid,
//!   which is the group's id, cannot be given to another process. The whole run is killed first, then
//!   the leader is reaped ([`RunProcesses::leader_reaped`]), and the group is never signalled after
//!   that. Processes found otherwise are signalled through pidfds.

use std::os::fd::OwnedFd;
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::cgroup::RunCgroup;
use crate::leftovers::{Marks, pidfd};

/// The longest the end of a run waits for its killed processes to be gone from its control group.
const EMPTY_BOUND: Duration = Duration::from_secs(5);

pub(crate) struct RunProcesses {
    /// The leader's pid: the run's process group.
    leader: i32,
    /// Readable once the leader exited (`None` before Linux 5.3: `waitid` is polled).
    exit: Option<AsyncFd<OwnedFd>>,
    cgroup: Option<RunCgroup>,
    marks: Option<Marks>,
    /// Once the leader is reaped, its number is free: the group is never signalled again.
    reaped: bool,
    finished: bool,
}

impl RunProcesses {
    /// The processes of the run whose leader is `pid`: in `cgroup`, or without one, found by `marks`.
    pub fn new(pid: u32, cgroup: Option<RunCgroup>, marks: Option<Marks>) -> RunProcesses {
        let leader = i32::try_from(pid).unwrap_or(0);
        // SAFETY: the OwnedFd is moved into the AsyncFd, which neither replaces nor closes it while it is
        // registered.
        let exit = pidfd(leader).and_then(|fd| unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.ok());
        RunProcesses { leader, exit, cgroup, marks, reaped: false, finished: false }
    }

    /// Completes once the leader exited (it is not reaped: see the module doc).
    pub async fn leader_exited(&self) {
        if let Some(exit) = &self.exit
            && exit.readable().await.is_ok()
        {
            return;
        }
        while !exited_unreaped(self.leader) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `signal` to every process of the run, once each.
    pub fn signal(&self, signal: i32) {
        if let Some(group) = &self.cgroup {
            group.signal(signal); // the process group is inside it
            return;
        }
        let leader = (!self.reaped && self.leader > 1).then_some(self.leader);
        if let Some(pgid) = leader {
            // SAFETY: killpg only sends a signal, to a group whose leader is not reaped (see the doc).
            unsafe { libc::killpg(pgid, signal) };
        }
        if let Some(marks) = &self.marks {
            marks.signal(signal, leader);
        }
    }

    /// Kills every process of the run.
    pub fn kill_all(&self) {
        if let Some(group) = &self.cgroup {
            group.kill();
        }
        if !self.reaped && self.leader > 1 {
            // SAFETY: as in `signal`.
            unsafe { libc::killpg(self.leader, libc::SIGKILL) };
        }
        if let Some(marks) = &self.marks {
            marks.kill();
        }
    }

    /// The leader was reaped: its number may be reused from now on.
    pub fn leader_reaped(&mut self) {
        self.reaped = true;
    }

    /// Kills what is left (anything started meanwhile), waits (at most [`EMPTY_BOUND`]) until the
    /// control group is empty, and removes it.
    pub async fn finish(mut self) {
        self.kill_all();
        if let Some(group) = &self.cgroup {
            let until = tokio::time::Instant::now() + EMPTY_BOUND;
            while !group.pids().is_empty() && tokio::time::Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        self.finished = true;
        // Dropping the group removes it (see RunCgroup's Drop).
    }
}

/// Whether `pid`, a child of this process, exited (or cannot be waited for), leaving it unreaped.
fn exited_unreaped(pid: i32) -> bool {
    // SAFETY: waitid writes into `info`; WNOWAIT leaves the child unreaped.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
    r != 0 || unsafe { info.si_pid() } != 0
}

impl Drop for RunProcesses {
    /// A run dropped before its end (its future was cancelled): everything of it is killed.
    fn drop(&mut self) {
        if !self.finished {
            self.kill_all();
        }
    }
}
