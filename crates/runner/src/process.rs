//! Starting a task's process so that it cannot outlive the server unnoticed, and finding what is left of
//! one after a crash.
//!
//! - **One spawner thread.** `PR_SET_PDEATHSIG` fires when the *thread* that forked the child ends, not
//!   the process: a child forked from a pooled thread that retires would be killed early. Every process
//!   is therefore forked by one thread that lives as long as the process ([`spawn`]).
//! - **In the child, before `exec`** (in this order, since a credential change clears the death
//!   signal): drop the supplementary groups, switch group and user when tasks run as another user, set
//!   `PR_SET_PDEATHSIG` to SIGKILL, check that the parent is still the server (it may have died between
//!   `fork` and `prctl`, and then no signal would ever come), mark every descriptor above stderr
//!   close-on-exec (whatever the server inherited from its own parent, a socket or a pipe, must not
//!   reach a task), then enter the working directory as the task user. A failed step is reported to the parent as a tagged error number, so that the run says
//!   which step failed ("working directory … cannot be used by task user nobody").
//! - **Recorded for later.** The leader's pid is the run's process group (the runner puts each run in a
//!   group of its own). The death signal reaches only the leader; children it started live on in the
//!   group. The engine records [`RunProcess`] (host, group, the leader's start time, uid) when a run
//!   starts, and after a crash an engine on the same host kills that group with [`kill_recorded`], which
//!   guards against pid reuse.

use std::ffi::CString;
use std::io;
use std::sync::OnceLock;
use std::sync::mpsc;

use railyard_domain::RunProcess;

/// Error numbers reported by the child's own steps: a tag plus the real `errno`.
const TAG_USER: i32 = 0x5259_0000;
const TAG_PARENT: i32 = 0x5259_1000;
const TAG_DIR: i32 = 0x5259_2000;
const TAG_SIZE: i32 = 0x1000;

/// Which of the child's own steps failed, from a spawn error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Switching to the task user.
    User(i32),
    /// The server died while the task started.
    Parent,
    /// Entering the working directory as the task user.
    Dir(i32),
}

impl Step {
    pub fn of(e: &io::Error) -> Option<Step> {
        let code = e.raw_os_error()?;
        let errno = code & (TAG_SIZE - 1);
        match code - errno {
            TAG_USER => Some(Step::User(errno)),
            TAG_PARENT => Some(Step::Parent),
            TAG_DIR => Some(Step::Dir(errno)),
            _ => None,
        }
    }
}

fn tagged(tag: i32) -> io::Error {
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
    io::Error::from_raw_os_error(tag | (errno & (TAG_SIZE - 1)))
}

/// Prepares `cmd` to run as `ids` (uid, gid) if given, with the death signal, in `dir` if given.
pub(crate) fn prepare(cmd: &mut tokio::process::Command, ids: Option<(u32, u32)>, dir: Option<CString>) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec and calls only async-signal-safe
    // functions (setgroups, setgid, setuid, getuid, geteuid, prctl, getppid, chdir) on data prepared
    // before the fork; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if let Some((uid, gid)) = ids {
                if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                    return Err(tagged(TAG_USER));
                }
                if libc::getuid() != uid || libc::geteuid() != uid || libc::getegid() != gid {
                    return Err(io::Error::from_raw_os_error(TAG_USER | libc::EPERM));
                }
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(tagged(TAG_PARENT));
            }
            if libc::getppid() as u32 != parent {
                return Err(io::Error::from_raw_os_error(TAG_PARENT | libc::ESRCH));
            }
            close_on_exec_above_stderr();
            if let Some(dir) = &dir
                && libc::chdir(dir.as_ptr()) != 0
            {
                return Err(tagged(TAG_DIR));
            }
            Ok(())
        });
    }
}

/// Marks every descriptor from 3 up close-on-exec (not closed now: the runtime still reports a failed
/// `exec` through one of them). One `close_range` call (Linux 5.11); on older kernels, one `fcntl` per
/// descriptor below 65,536. Async-signal-safe: raw system calls only.
fn close_on_exec_above_stderr() {
    // SAFETY: close_range and fcntl only change descriptor flags of this (child) process.
    unsafe {
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) == 0 {
            return;
        }
        for fd in 3..65_536 {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

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

/// A process's group and start time, from `/proc/<pid>/stat`, and whether it is still running (not a
/// zombie waiting to be reaped, which no signal can reach).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    pgrp: i32,
    started: u64,
    alive: bool,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything: count from the last ')'.
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let alive = !matches!(*fields.first()?, "Z" | "X" | "x");
    Some(Stat { pgrp: fields.get(2)?.parse().ok()?, started: fields.get(19)?.parse().ok()?, alive })
}

fn real_uid(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.parse().ok()
}

/// What to record of a process just spawned (its pid is its group), running as `uid`, in its own
/// working directory `work_dir` if the runner made one.
pub(crate) fn record(pid: u32, uid: u32, work_dir: Option<&std::path::Path>) -> Option<RunProcess> {
    let pgid = i32::try_from(pid).ok()?;
    let st = stat(pgid)?;
    let work_dir = work_dir.map(|d| d.to_string_lossy().into_owned());
    Some(RunProcess { host: host_id()?.to_string(), pgid, started: st.started, uid, work_dir })
}

/// What [`kill_recorded`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaped {
    /// Recorded on another host (or another pid namespace): not ours to touch.
    ElsewhereRecorded,
    /// Nothing of the group is left.
    Gone,
    /// This many processes were killed.
    Killed(usize),
}

/// Kills what is left of a recorded run's process group, guarding against pid reuse:
///
/// - the record must be of this host (boot id and pid namespace);
/// - when the leader lives, it must be the same process (same start time) and still lead the group;
///   a different start time means the pid was reused, and then the group is gone (the kernel hands out
///   no pid still in use as a group id);
/// - when the leader is gone, each remaining member of the group must have started no earlier than the
///   leader and run as the recorded user; those are killed one by one.
pub fn kill_recorded(p: &RunProcess) -> Reaped {
    if host_id() != Some(p.host.as_str()) {
        return Reaped::ElsewhereRecorded;
    }
    if p.pgid <= 1 {
        return Reaped::Gone;
    }
    if let Some(leader) = stat(p.pgid) {
        if leader.started != p.started {
            return Reaped::Gone;
        }
        if leader.pgrp == p.pgid && leader.alive {
            let n = members(p.pgid).len().max(1);
            // SAFETY: killpg only sends a signal, to a group checked above to be the recorded one.
            unsafe { libc::killpg(p.pgid, libc::SIGKILL) };
            return Reaped::Killed(n);
        }
    }
    let mut killed = 0;
    for pid in members(p.pgid) {
        let ours = stat(pid).is_some_and(|s| s.pgrp == p.pgid && s.started >= p.started && s.alive)
            && real_uid(pid) == Some(p.uid);
        // SAFETY: kill only sends a signal, to a member checked above.
        if ours && unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
            killed += 1;
        }
    }
    if killed == 0 { Reaped::Gone } else { Reaped::Killed(killed) }
}

/// The pids of the live processes in group `pgid`.
fn members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|s| s.pgrp == pgid && s.alive))
        .collect()
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
    fn tagged_errors_say_which_step_failed() {
        let e = io::Error::from_raw_os_error(TAG_DIR | libc::EACCES);
        assert_eq!(Step::of(&e), Some(Step::Dir(libc::EACCES)));
        assert_eq!(Step::of(&io::Error::from_raw_os_error(TAG_USER | libc::EPERM)), Some(Step::User(libc::EPERM)));
        assert_eq!(Step::of(&io::Error::from_raw_os_error(libc::EACCES)), None);
    }

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
        };
        assert_eq!(kill_recorded(&elsewhere), Reaped::ElsewhereRecorded);
        // Our own pid with another start time: a reused pid, never signalled (we are still alive).
        let reused = RunProcess {
            host: host_id().expect("host id").to_string(),
            pgid: me as i32,
            started: st.started + 1,
            uid: 0,
            work_dir: None,
        };
        assert_eq!(kill_recorded(&reused), Reaped::Gone);
    }
}
