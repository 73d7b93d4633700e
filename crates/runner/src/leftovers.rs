//! Finding a run's processes without a control group: the members of its process group, and the
//! processes of its task user whose environment holds its `RAILYARD_RUN_ID` (root, or the same user,
//! can read `/proc/<pid>/environ`). What this cannot find: a process that left the group *and* started
//! a program with another environment (`env -i setsid ...`), or made itself unreadable
//! (`PR_SET_DUMPABLE`) when tasks run as the server's user. With a cgroup per run (see
//! [`crate::cgroup`]) none of this is needed.
//!
//! Every signal goes through a pidfd opened *before* the process is checked: if the pid was reused in
//! between, the check sees the new process and refuses, or the signal goes to the old one, which is gone.

use std::os::fd::{FromRawFd, OwnedFd};

/// A process's group and start time, from `/proc/<pid>/stat`, and whether it is still running (not a
/// zombie waiting to be reaped, which no signal can reach).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub pgrp: i32,
    pub started: u64,
    pub alive: bool,
}

pub(crate) fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything: count from the last ')'.
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let alive = !matches!(*fields.first()?, "Z" | "X" | "x");
    Some(Stat { pgrp: fields.get(2)?.parse().ok()?, started: fields.get(19)?.parse().ok()?, alive })
}

pub(crate) fn real_uid(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.parse().ok()
}

fn all_pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()).collect()
}

/// The pids of the live processes in group `pgid`.
pub(crate) fn members(pgid: i32) -> Vec<i32> {
    all_pids().into_iter().filter(|&pid| stat(pid).is_some_and(|s| s.pgrp == pgid && s.alive)).collect()
}

/// What tells a run's processes apart: its task user, its `RAILYARD_RUN_ID`, and the start of its
/// leader (no process of the run started earlier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marks {
    pub uid: u32,
    /// `RAILYARD_RUN_ID=<id>`, as it appears in `/proc/<pid>/environ`.
    pub entry: Vec<u8>,
    pub since: u64,
}

impl Marks {
    pub fn new(uid: u32, run_id: &str, since: u64) -> Marks {
        Marks { uid, entry: format!("RAILYARD_RUN_ID={run_id}").into_bytes(), since }
    }

    /// Whether `pid` is a live process of the run: its user, started no earlier than the leader, its
    /// environment holding the run's id, and not this process.
    fn holds(&self, pid: i32) -> bool {
        if pid as u32 == std::process::id() || pid <= 1 {
            return false;
        }
        let fits = stat(pid).is_some_and(|s| s.alive && s.started >= self.since) && real_uid(pid) == Some(self.uid);
        fits && std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|env| env.split(|&b| b == 0).any(|entry| entry == self.entry.as_slice()))
    }

    /// Sends `signal` to every process of the run found outside process group `except` (which the
    /// caller signals as a whole); how many.
    pub fn signal(&self, signal: i32, except: Option<i32>) -> usize {
        let outside = |pid: i32| except.is_none_or(|g| stat(pid).is_some_and(|s| s.pgrp != g));
        all_pids().into_iter().filter(|&pid| signal_checked(pid, signal, || outside(pid) && self.holds(pid))).count()
    }

    /// Kills every process of the run found, looking again while more turn up (a process may fork
    /// while it is being looked for), a few times at most; how many were killed.
    pub fn kill(&self) -> usize {
        let mut killed = 0;
        for _ in 0..8 {
            let n = self.signal(libc::SIGKILL, None);
            killed += n;
            if n == 0 {
                break;
            }
        }
        killed
    }
}

/// Sends `signal` to `pid` if `check` holds for it, through a pidfd opened before the check (see the
/// module doc). Whether it was sent.
pub(crate) fn signal_checked(pid: i32, signal: i32, check: impl FnOnce() -> bool) -> bool {
    let Some(fd) = pidfd(pid) else { return false };
    check() && pidfd_signal(&fd, signal)
}

/// Sends `signal` to the process `fd` refers to; whether it was sent (not when it is gone).
pub(crate) fn pidfd_signal(fd: &OwnedFd, signal: i32) -> bool {
    // SAFETY: pidfd_send_signal only sends a signal to the process the descriptor refers to.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            std::os::fd::AsRawFd::as_raw_fd(fd),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        ) == 0
    }
}

/// A pidfd for `pid` (Linux 5.3), if the process exists.
pub(crate) fn pidfd(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor or -1; the descriptor is owned here.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: fd is a fresh descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_never_one_of_a_runs() {
        let me = std::process::id() as i32;
        let st = stat(me).expect("stat of self");
        // Even a mark this process's own environment holds never makes it one of a run's.
        let environ = std::fs::read("/proc/self/environ").expect("environ");
        let entry = environ.split(|&b| b == 0).find(|e| !e.is_empty()).expect("an entry").to_vec();
        let marks = Marks { uid: real_uid(me).expect("uid"), entry, since: 0 };
        assert!(!marks.holds(me));
        assert!(st.alive && members(st.pgrp).contains(&me));
    }
}
