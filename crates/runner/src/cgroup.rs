//! A control group (cgroup v2) per run: every process a task starts stays in it whatever it does
//! (`setsid`, `setpgid`, double forks, a scrubbed environment; only a privileged process can move a
//! process out), so the run's end kills all of them at once through `cgroup.kill`, and an engine on the
//! same host does the same after a crash.
//!
//! - **Where.** Each run's group is `railyard-run-<random>` directly below the cgroup the server itself
//!   is in (found in `/proc/self/cgroup` and `/proc/self/mountinfo`), so that whatever bounds the server
//!   (systemd's `MemoryMax=`, `TasksMax=` on its unit) bounds its tasks too. Under systemd, give the
//!   unit `Delegate=yes` so that systemd knows the server manages that subtree.
//! - **When usable.** Making a group needs write access to the server's own cgroup (root, or a
//!   delegated cgroup), and `cgroup.kill` needs Linux 5.14. [`Cgroups::detect`] tries once, making and
//!   removing a probe group; when it cannot, the sandbox falls back to finding a run's processes by their
//!   process group and `RAILYARD_RUN_ID` (see [`crate::leftovers`]) and `serve` says so at start.
//! - **Joining.** The child writes `0` to the group's `cgroup.procs` (opened by the server before the
//!   fork) as its first step, before it changes user: it is inside before the task's code runs.
//! - **No resource controllers.** The group is used for containment only: controllers (memory, pids)
//!   are rarely delegated to the server's own cgroup; the task's limits are `setrlimit` ones (see
//!   [`crate::sandbox`]).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The prefix of every run's group.
const RUN_PREFIX: &str = "railyard-run-";

/// Where this server's runs get their groups.
#[derive(Debug, Clone)]
pub(crate) struct Cgroups {
    /// The server's own cgroup directory, in the cgroup v2 hierarchy.
    base: PathBuf,
}

impl Cgroups {
    /// The cgroup v2 directory this process is in, if runs can get groups of their own there (with
    /// `cgroup.kill`); otherwise why not.
    pub fn detect() -> Result<Cgroups, String> {
        let (mount, root) = v2_mount().ok_or("no cgroup v2 hierarchy is mounted")?;
        let own = own_cgroup().ok_or("this process is in no cgroup v2 group")?;
        let rel = own
            .strip_prefix(&root)
            .map_err(|_| format!("this process's cgroup {} is outside the mount", own.display()))?;
        let base = if rel.as_os_str().is_empty() { mount } else { mount.join(rel) };
        let cgroups = Cgroups { base };
        let probe = cgroups
            .create("railyard-probe-")
            .map_err(|e| format!("cannot make a group in {}: {e}", cgroups.base.display()))?;
        if !probe.path.join("cgroup.kill").exists() {
            return Err("the kernel has no cgroup.kill (Linux 5.14 or later is needed)".into());
        }
        // A process must be able to join it as a task will (some hierarchies refuse processes in a group
        // whose parent distributes resources).
        probe.can_join().map_err(|e| format!("a process cannot join a group in {}: {e}", cgroups.base.display()))?;
        Ok(cgroups)
    }

    /// Where the groups are made.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// A new, empty group for one run.
    pub fn create_run(&self) -> io::Result<RunCgroup> {
        self.create(RUN_PREFIX)
    }

    fn create(&self, prefix: &str) -> io::Result<RunCgroup> {
        let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
        for _ in 0..4 {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
            let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let path = self.base.join(format!("{prefix}{name}"));
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    let procs = match std::fs::OpenOptions::new().write(true).open(path.join("cgroup.procs")) {
                        Ok(f) => f,
                        Err(e) => {
                            let _ = std::fs::remove_dir(&path);
                            return Err(e);
                        }
                    };
                    return Ok(RunCgroup { path, procs });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}

/// One run's group: killed whole and removed when dropped.
#[derive(Debug)]
pub(crate) struct RunCgroup {
    path: PathBuf,
    /// Its `cgroup.procs`, open for writing (close-on-exec): the child writes `0` to join.
    procs: File,
}

impl RunCgroup {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The descriptor the child writes `0` to.
    pub fn procs_fd(&self) -> RawFd {
        self.procs.as_raw_fd()
    }

    /// The pids in the group.
    pub fn pids(&self) -> Vec<i32> {
        pids(&self.path)
    }

    /// Whether a process can join the group: a child forked for this joins it and exits at once.
    fn can_join(&self) -> io::Result<()> {
        let fd = self.procs_fd();
        // SAFETY: the child only writes to a descriptor and exits (async-signal-safe); the parent waits
        // for that child only.
        unsafe {
            let pid = libc::fork();
            if pid == 0 {
                let joined = libc::write(fd, b"0".as_ptr().cast(), 1) == 1;
                libc::_exit(if joined { 0 } else { *libc::__errno_location() & 0x7f });
            }
            if pid < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut status = 0;
            if libc::waitpid(pid, &mut status, 0) != pid {
                return Err(io::Error::last_os_error());
            }
            match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
                (true, 0) => Ok(()),
                (true, errno) => Err(io::Error::from_raw_os_error(errno)),
                _ => Err(io::Error::other("the probe process did not exit")),
            }
        }
    }

    /// Sends `signal` to every process in the group, through pidfds opened before the group is read
    /// again: a pid reused meanwhile by a process outside the group is not signalled.
    pub fn signal(&self, signal: i32) {
        let fds: Vec<(i32, std::os::fd::OwnedFd)> =
            self.pids().into_iter().filter_map(|pid| Some((pid, crate::leftovers::pidfd(pid)?))).collect();
        let still = self.pids();
        for (_, fd) in fds.iter().filter(|(pid, _)| still.contains(pid)) {
            crate::leftovers::pidfd_signal(fd, signal);
        }
    }

    /// Kills every process in the group at once; how many there were.
    pub fn kill(&self) -> usize {
        kill(&self.path)
    }
}

impl Drop for RunCgroup {
    /// Kills what is left in the group and removes it: at once when it is empty, otherwise from a thread
    /// of its own once the killed processes are gone.
    fn drop(&mut self) {
        kill(&self.path);
        if remove_when_empty(&self.path, Duration::ZERO) {
            return;
        }
        let path = self.path.clone();
        let spawned = std::thread::Builder::new()
            .name("railyard-cgroup-rm".into())
            .spawn(move || remove_when_empty(&path, Duration::from_secs(30)));
        if spawned.is_err() {
            tracing::warn!(group = %self.path.display(), "a run's control group was left in place");
        }
    }
}

/// Kills what is left in a group a run recorded (after a crash) and removes the group: only a
/// `railyard-run-*` directory of the cgroup v2 hierarchy mounted here, never anything else. `None` when
/// `path` is not such a group (or is gone); otherwise how many processes were killed.
pub(crate) fn kill_recorded(path: &str) -> Option<usize> {
    let path = Path::new(path);
    let (mount, _) = v2_mount()?;
    let ours = path.starts_with(&mount)
        && path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(RUN_PREFIX))
        && !path.components().any(|c| matches!(c, std::path::Component::ParentDir))
        && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    if !ours {
        return None;
    }
    let killed = kill(path);
    remove_when_empty(path, Duration::from_secs(5));
    Some(killed)
}

fn pids(group: &Path) -> Vec<i32> {
    std::fs::read_to_string(group.join("cgroup.procs"))
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

fn kill(group: &Path) -> usize {
    let n = pids(group).len();
    if n > 0
        && let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(group.join("cgroup.kill"))
    {
        let _ = f.write_all(b"1");
    }
    n
}

fn populated(group: &Path) -> bool {
    match std::fs::read_to_string(group.join("cgroup.events")) {
        Ok(events) => events.lines().any(|l| l.trim() == "populated 1"),
        Err(_) => false,
    }
}

fn remove_when_empty(group: &Path, bound: Duration) -> bool {
    let until = Instant::now() + bound;
    loop {
        if !populated(group) {
            match std::fs::remove_dir(group) {
                Ok(()) => return true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return true,
                Err(_) => {}
            }
        }
        if Instant::now() >= until {
            if bound.is_zero() {
                return false;
            }
            tracing::warn!(group = %group.display(), "a run's control group did not empty; left in place");
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The cgroup v2 mount point and the cgroup path it shows as its root, from `/proc/self/mountinfo`.
fn v2_mount() -> Option<(PathBuf, PathBuf)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let fields: Vec<&str> = before.split_whitespace().collect();
        Some((PathBuf::from(unescape(fields.get(4)?)), PathBuf::from(unescape(fields.get(3)?))))
    })
}

/// This process's cgroup v2 path (`0::/path` in `/proc/self/cgroup`).
fn own_cgroup() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|l| l.strip_prefix("0::")).map(|p| PathBuf::from(p.trim()))
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("x"), 8)
        {
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(unescape("/sys/fs/cgroup/with\\040space"), "/sys/fs/cgroup/with space");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn a_recorded_group_is_only_ever_one_of_ours() {
        assert_eq!(kill_recorded("/etc"), None);
        assert_eq!(kill_recorded("/sys/fs/cgroup/../../etc/railyard-run-x"), None);
        if let Some((mount, _)) = v2_mount() {
            assert_eq!(kill_recorded(&mount.join("railyard-run-gone").display().to_string()), None);
            assert_eq!(kill_recorded(&mount.join("system.slice").display().to_string()), None);
        }
    }
}
