//! What a task's process does between `fork` and `exec`, in this order (each step needs the ones before
//! it, and a credential change clears the death signal):
//!
//! 1. **Join the run's cgroup** (see [`crate::cgroup`]), as the server, before anything of the task runs.
//! 2. **Limits**: no core dumps (`RLIMIT_CORE` 0: a dump would hold what the task read), and when it
//!    runs as another user, at most [`crate::sandbox::TaskLimits::max_processes`] processes and threads
//!    for that user (`RLIMIT_NPROC`: a fork bomb stops there).
//! 3. **Identity**: drop the supplementary groups, set the group; while the capability to do so is held
//!    (`CAP_SETPCAP`, i.e. as root), empty the capability bounding set; set the user.
//! 4. **Privileges**: clear the ambient capabilities and the inheritable, permitted and effective sets
//!    (a server that is not root but holds capabilities, e.g. systemd's `AmbientCapabilities=`, would
//!    otherwise hand them on: a change between two non-root users keeps them), check that none is left,
//!    and set `PR_SET_NO_NEW_PRIVS`, so that no set-user-ID program or file capability gives the task
//!    more (su, sudo, mount, passwd do nothing for it).
//! 5. **Death signal** `PR_SET_PDEATHSIG` SIGKILL, then check that the parent is still the server (it
//!    may have died between `fork` and `prctl`, and then no signal would ever come).
//! 6. **Descriptors**: every one above stderr close-on-exec (whatever the server inherited).
//! 7. **Working directory**, entered as the task user: a directory it named, by path; its own, through
//!    the descriptor the server opened when it made it.
//! 8. **Program**: a path that is a directory, or a name found in no directory of the task's `PATH`, is
//!    reported, looked at as the task user. Together with 7, what the task user cannot reach reads the
//!    same whether it exists or not: the server never looks at a task's paths with its own rights.
//!
//! A failed step is reported to the parent as a tagged error number, so that the run says which step
//! failed. Every call here is async-signal-safe (system calls on data prepared before the fork).

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;

const TAG_USER: i32 = 0x5259_0000;
const TAG_PARENT: i32 = 0x5259_1000;
const TAG_DIR: i32 = 0x5259_2000;
const TAG_CGROUP: i32 = 0x5259_3000;
const TAG_LIMITS: i32 = 0x5259_4000;
const TAG_PRIVILEGES: i32 = 0x5259_5000;
const TAG_PROGRAM: i32 = 0x5259_6000;
const TAG_SIZE: i32 = 0x1000;

/// Which of the child's own steps failed, from a spawn error, with the system's error number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Cgroup(i32),
    Limits(i32),
    User(i32),
    Privileges(i32),
    /// The server died while the task started.
    Parent,
    Dir(i32),
    /// `EISDIR`: the program is a directory; `ENOENT`: no directory of `PATH` has it.
    Program(i32),
}

impl Step {
    pub fn of(e: &io::Error) -> Option<Step> {
        let code = e.raw_os_error()?;
        let errno = code & (TAG_SIZE - 1);
        match code - errno {
            TAG_USER => Some(Step::User(errno)),
            TAG_PARENT => Some(Step::Parent),
            TAG_DIR => Some(Step::Dir(errno)),
            TAG_CGROUP => Some(Step::Cgroup(errno)),
            TAG_LIMITS => Some(Step::Limits(errno)),
            TAG_PRIVILEGES => Some(Step::Privileges(errno)),
            TAG_PROGRAM => Some(Step::Program(errno)),
            _ => None,
        }
    }
}

fn tagged(tag: i32) -> io::Error {
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
    tagged_with(tag, errno)
}

fn tagged_with(tag: i32, errno: i32) -> io::Error {
    io::Error::from_raw_os_error(tag | (errno & (TAG_SIZE - 1)))
}

/// Where the task runs.
pub(crate) enum Dir {
    /// A directory the task named, entered by path as the task user.
    Named(CString),
    /// Its own directory, through a descriptor the caller keeps open until the spawn returned.
    Own(RawFd),
}

/// How to look at the program as the task user before `exec`.
pub(crate) enum Program {
    /// A path (it holds a `/`).
    Path(CString),
    /// A name: these are `<dir>/<name>` for each directory of the task's `PATH`.
    Search(Vec<CString>),
}

/// Everything the child needs, prepared before the fork. Descriptors stay open with the caller until
/// the spawn returned.
pub(crate) struct Plan {
    pub cgroup_procs: Option<RawFd>,
    /// The task's `RLIMIT_NPROC`, when it runs as another user.
    pub max_processes: Option<u64>,
    /// The uid and gid to switch to, when the task runs as another user.
    pub ids: Option<(u32, u32)>,
    pub dir: Dir,
    pub program: Program,
}

/// Sets up `cmd` to carry out `plan` in the child (see the module doc).
pub(crate) fn prepare(cmd: &mut tokio::process::Command, plan: Plan) {
    let parent = std::process::id();
    let max_processes = plan.max_processes.map(|n| n.min(hard_limit(libc::RLIMIT_NPROC)));
    // SAFETY: the closure runs in the forked child before exec and makes only async-signal-safe calls
    // (write, setrlimit, setgroups, setgid, setuid, prctl, capset, capget, getppid, fcntl, chdir,
    // fchdir, stat) on data prepared before the fork; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(fd) = plan.cgroup_procs
                && libc::write(fd, b"0".as_ptr().cast(), 1) != 1
            {
                return Err(tagged(TAG_CGROUP));
            }
            let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            if libc::setrlimit(libc::RLIMIT_CORE, &none) != 0 {
                return Err(tagged(TAG_LIMITS));
            }
            if let Some(n) = max_processes {
                let limit = libc::rlimit { rlim_cur: n, rlim_max: n };
                if libc::setrlimit(libc::RLIMIT_NPROC, &limit) != 0 {
                    return Err(tagged(TAG_LIMITS));
                }
            }
            if let Some((uid, gid)) = plan.ids {
                if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 {
                    return Err(tagged(TAG_USER));
                }
                empty_bounding_set();
                if libc::setuid(uid) != 0 {
                    return Err(tagged(TAG_USER));
                }
                if libc::getuid() != uid || libc::geteuid() != uid || libc::getegid() != gid {
                    return Err(tagged_with(TAG_USER, libc::EPERM));
                }
            }
            drop_privileges().map_err(|errno| tagged_with(TAG_PRIVILEGES, errno))?;
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(tagged(TAG_PARENT));
            }
            if libc::getppid() as u32 != parent {
                return Err(tagged_with(TAG_PARENT, libc::ESRCH));
            }
            close_on_exec_above_stderr();
            let entered = match &plan.dir {
                Dir::Named(path) => libc::chdir(path.as_ptr()),
                Dir::Own(fd) => libc::fchdir(*fd),
            };
            if entered != 0 {
                return Err(tagged(TAG_DIR));
            }
            check_program(&plan.program).map_err(|errno| tagged_with(TAG_PROGRAM, errno))
        });
    }
}

/// The hard limit of `resource` of this process (no higher limit can be set without privilege).
fn hard_limit(resource: libc::__rlimit_resource_t) -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into `limit`.
    if unsafe { libc::getrlimit(resource, &mut limit) } == 0 { limit.rlim_max } else { u64::MAX }
}

/// The header and data of `capget`/`capset` (linux/capability.h, version 3: two 32-bit halves).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Removes every capability from the bounding set, when `CAP_SETPCAP` allows it (as root); stops at
/// the first refusal (past the kernel's last capability, or without the right).
unsafe fn empty_bounding_set() {
    for cap in 0..64 {
        // SAFETY: prctl only changes this (child) process's bounding set.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
            break;
        }
    }
}

/// Clears the ambient, inheritable, permitted and effective capabilities, checks that none is left,
/// and sets no-new-privileges. The error number on failure.
unsafe fn drop_privileges() -> Result<(), i32> {
    let errno = || io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
    let clear = libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong;
    // SAFETY: prctl and the capability calls only change or read this (child) process's credentials,
    // with buffers on its stack.
    unsafe {
        // EINVAL: a kernel without ambient capabilities (before 4.3) has none to clear.
        if libc::prctl(libc::PR_CAP_AMBIENT, clear, 0, 0, 0) != 0 && errno() != libc::EINVAL {
            return Err(errno());
        }
        let header = CapHeader { version: CAPABILITY_VERSION_3, pid: 0 };
        let none = [CapData::default(); 2];
        if libc::syscall(libc::SYS_capset, &header as *const CapHeader, none.as_ptr()) != 0 {
            return Err(errno());
        }
        let mut header = CapHeader { version: CAPABILITY_VERSION_3, pid: 0 };
        let mut held = [CapData { effective: 1, permitted: 1, inheritable: 1 }; 2];
        if libc::syscall(libc::SYS_capget, &mut header as *mut CapHeader, held.as_mut_ptr()) != 0 {
            return Err(errno());
        }
        if held.iter().any(|d| d.effective | d.permitted | d.inheritable != 0) {
            return Err(libc::EPERM);
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(errno());
        }
    }
    Ok(())
}

/// Marks every descriptor from 3 up close-on-exec (not closed now: the runtime still reports a failed
/// `exec` through one of them). One `close_range` call (Linux 5.11); on older kernels, one `fcntl` per
/// descriptor below 65,536.
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

/// Looks at the program as the task user: `EISDIR` for a path that is a directory, `ENOENT` for a name
/// that is a file in no directory of `PATH`. Anything else is left to `exec`, which reports it as the
/// task user too.
fn check_program(program: &Program) -> Result<(), i32> {
    let kind = |path: &CString| {
        // SAFETY: stat writes into `st`; path is NUL-terminated.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        (unsafe { libc::stat(path.as_ptr(), &mut st) } == 0).then_some(st.st_mode & libc::S_IFMT)
    };
    match program {
        Program::Path(path) if kind(path) == Some(libc::S_IFDIR) => Err(libc::EISDIR),
        Program::Path(_) => Ok(()),
        Program::Search(candidates) if candidates.iter().any(|c| kind(c) == Some(libc::S_IFREG)) => Ok(()),
        Program::Search(_) => Err(libc::ENOENT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_errors_say_which_step_failed() {
        let e = io::Error::from_raw_os_error(TAG_DIR | libc::EACCES);
        assert_eq!(Step::of(&e), Some(Step::Dir(libc::EACCES)));
        assert_eq!(Step::of(&io::Error::from_raw_os_error(TAG_USER | libc::EPERM)), Some(Step::User(libc::EPERM)));
        assert_eq!(Step::of(&tagged_with(TAG_PROGRAM, libc::EISDIR)), Some(Step::Program(libc::EISDIR)));
        assert_eq!(Step::of(&tagged_with(TAG_PRIVILEGES, libc::EPERM)), Some(Step::Privileges(libc::EPERM)));
        assert_eq!(Step::of(&io::Error::from_raw_os_error(libc::EACCES)), None);
    }

    #[test]
    fn a_program_is_looked_for_as_exec_would() {
        let c = |s: &str| CString::new(s).expect("no NUL");
        assert_eq!(check_program(&Program::Path(c("/usr"))), Err(libc::EISDIR));
        assert_eq!(check_program(&Program::Path(c("/nowhere/x"))), Ok(()));
        assert_eq!(check_program(&Program::Search(vec![c("/nowhere/sh"), c("/bin/sh")])), Ok(()));
        assert_eq!(check_program(&Program::Search(vec![c("/usr")])), Err(libc::ENOENT));
    }
}
