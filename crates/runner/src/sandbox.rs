//! Who a command runs as, where, and with what environment: the trust boundary between `railyard serve`,
//! which holds the company's secrets, and automation tasks, which are other people's code (DESIGN.md §7).
//!
//! The choices, as a security reviewer would make them:
//!
//! - **User.** A task never runs as uid 0 (nor with group 0 as its primary group). A server running as
//!   root runs tasks as the configured task user, or as `nobody` (uid 65534 when the user database has no
//!   `nobody`) when none is configured. A server running as an ordinary user can only run tasks as
//!   itself: they then share its rights (its database, its files), which `serve` says at start. Switching
//!   users needs root or `CAP_SETUID` and `CAP_SETGID`; a task user that cannot be used is refused when
//!   the sandbox is made, never at the first run. The task user gets no supplementary groups (the
//!   server's are dropped, and its own are not added): grant it access through its primary group.
//! - **Environment.** A task starts from a cleared environment, whoever it runs as: it keeps only `PATH`
//!   (a default one when the server has none), `LANG`, `LANGUAGE`, `LC_*` and `TZ` from the server; gets
//!   `HOME` (its working directory), `USER` and `LOGNAME` (the task user); then the action's own
//!   variables; then the run context's `RAILYARD_*` variables, which win. Nothing else of the server's
//!   environment (tokens, database URLs, `RAILYARD_*` settings) reaches it.
//! - **Working directory.** A task that names a `working_dir` runs there, as the task user (a directory
//!   that user cannot enter is a could-not-start with the reason). Otherwise it gets a fresh directory of
//!   its own, `run-<random>` under the work root, mode 0700, owned by the task user, and removed with
//!   everything in it once the run ended: nothing of one run is left for the next, and the disk does not
//!   fill up. Something a task must keep belongs in a place it names. Where the work root is, and how it
//!   is kept safe, is in [`crate::work_root`].
//! - **Privileges.** A task holds no capability and cannot gain any: no set-user-ID program or file
//!   capability works for it, so a task user allowed `sudo` cannot use it from a task (see
//!   [`crate::child`]). A step that needs root belongs on a host of its own (a remote runner).
//! - **Limits.** No core dumps. When tasks run as another user, that user may have at most
//!   [`TaskLimits::max_processes`] processes and threads at once (all its tasks together, and whatever
//!   else runs as that user): a fork bomb stops there. The default, [`DEFAULT_MAX_PROCESSES`], leaves room
//!   for builds and JVMs (a JVM starts tens of threads, a parallel build a few hundred processes);
//!   `serve --task-max-processes` changes it. Memory and disk are not limited per task: bound the whole
//!   service (systemd `MemoryMax=`, `TasksMax=` cover its tasks, whose control groups are below the
//!   server's) and put the work root on a file system of its own.
//! - **Containment.** Every process a run starts is killed when the run ends, however it ends, and after
//!   a crash when an engine on the host reaps it: through a control group of its own when cgroup v2 is
//!   usable (see [`crate::cgroup`]), otherwise by its process group and its `RAILYARD_RUN_ID` (see
//!   [`crate::leftovers`], which says what escapes that). A task cannot leave a daemon running.

use std::ffi::{CStr, CString, OsString};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::cgroup::Cgroups;
use crate::work_root::{RunDir, WorkRoot};

/// The user a server running as root runs tasks as when none is configured.
pub const NOBODY: &str = "nobody";
/// `nobody`'s uid and gid on most systems, used when the user database has no `nobody`.
const OVERFLOW_ID: u32 = 65534;
/// `PATH` for a task when the server has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// How many processes and threads the task user may have at once, by default (see the module doc).
pub const DEFAULT_MAX_PROCESSES: u64 = 4096;

/// The capabilities a server that is not root needs to run tasks as another user: switch user and
/// group, hand the run's directory to the task user, and remove what the task left in it.
const SWITCH_CAPABILITIES: [(u32, &str); 5] =
    [(7, "CAP_SETUID"), (6, "CAP_SETGID"), (0, "CAP_CHOWN"), (1, "CAP_DAC_OVERRIDE"), (3, "CAP_FOWNER")];

/// An OS user tasks run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// Why a sandbox cannot be made: a sentence naming what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxError(pub String);

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SandboxError {}

/// The limits of a task's processes (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskLimits {
    /// `RLIMIT_NPROC` of the task user, when tasks run as another user.
    pub max_processes: u64,
}

impl Default for TaskLimits {
    fn default() -> Self {
        TaskLimits { max_processes: DEFAULT_MAX_PROCESSES }
    }
}

/// How the processes of a run are found again at its end.
#[derive(Debug, Clone)]
enum Containment {
    /// A control group per run, below this one.
    Cgroups(Cgroups),
    /// The process group and `RAILYARD_RUN_ID`; why control groups are not used.
    Search(String),
}

/// Who tasks run as, where their working directories are made, what limits they get, and how their
/// processes are found again.
#[derive(Debug, Clone)]
pub struct Sandbox {
    user: TaskUser,
    /// Whether tasks switch to `user` (false: they run as the server's own user).
    switch: bool,
    /// Whether `user` was configured (false: the default).
    configured: bool,
    work_root: Arc<WorkRoot>,
    limits: TaskLimits,
    containment: Containment,
}

impl Sandbox {
    /// The sandbox for `task_user` (a user name; `None`: the default, see the module doc) with working
    /// directories under `work_root` (`None`: the default, see [`crate::work_root`]), checked now: an
    /// unknown user, root, the server's own user, a server that cannot switch users, or a work root that
    /// is not safe is an error.
    pub fn new(task_user: Option<&str>, work_root: Option<PathBuf>) -> Result<Sandbox, SandboxError> {
        let me = euid();
        let (user, switch, configured) = match task_user.map(str::trim) {
            Some("") => return Err(SandboxError("the task user is empty: name an OS user, or leave it unset".into())),
            Some(name) => {
                let user = lookup_user(name)
                    .map_err(|e| SandboxError(format!("cannot look up task user '{name}': {e}")))?
                    .ok_or_else(|| {
                        SandboxError(format!(
                            "task user '{name}' does not exist on this host; create it (e.g. `useradd --system \
                             --no-create-home {name}`) or name another user"
                        ))
                    })?;
                if user.uid == 0 {
                    return Err(SandboxError(format!("task user '{name}' is uid 0 (root): tasks never run as root")));
                }
                if user.gid == 0 {
                    return Err(SandboxError(format!(
                        "task user '{name}' has group 0 (root) as its primary group: tasks never run with root's group"
                    )));
                }
                if user.uid == me {
                    return Err(SandboxError(format!(
                        "task user '{name}' is the user the server runs as, so tasks would share its rights; name \
                         another user"
                    )));
                }
                if let Err(missing) = can_switch_users() {
                    let all: Vec<&str> = SWITCH_CAPABILITIES.iter().map(|(_, n)| *n).collect();
                    return Err(SandboxError(format!(
                        "the server runs as {} (uid {me}), which cannot switch users, so it cannot run tasks as \
                         '{name}'; start it as root (or with the capabilities {}; it lacks {}), or leave the task \
                         user unset",
                        user_name(me),
                        all.join(", "),
                        missing.join(", ")
                    )));
                }
                (user, true, true)
            }
            None => default_user(me),
        };
        let sandbox = Sandbox::assemble(user, switch, configured, work_root);
        sandbox.work_root.ensure().map_err(SandboxError)?;
        Ok(sandbox)
    }

    fn assemble(user: TaskUser, switch: bool, configured: bool, work_root: Option<PathBuf>) -> Sandbox {
        let containment = match Cgroups::detect() {
            Ok(c) => Containment::Cgroups(c),
            Err(why) => Containment::Search(why),
        };
        Sandbox {
            user,
            switch,
            configured,
            work_root: Arc::new(WorkRoot::new(work_root, switch)),
            limits: TaskLimits::default(),
            containment,
        }
    }

    /// The default sandbox of this process, as [`Sandbox::new`]`(None, None)` but unchecked (the work root
    /// is made at the first run): as root, tasks run as `nobody`; otherwise as the server's own user.
    /// Whoever builds an engine without configuring one gets this.
    pub fn for_this_process() -> Arc<Sandbox> {
        static DEFAULT: OnceLock<Arc<Sandbox>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                let (user, switch, configured) = default_user(euid());
                Arc::new(Sandbox::assemble(user, switch, configured, None))
            })
            .clone()
    }

    /// The same sandbox with these limits.
    pub fn with_limits(mut self, limits: TaskLimits) -> Sandbox {
        self.limits = limits;
        self
    }

    /// The same sandbox without control groups: a run's processes are found by their process group and
    /// `RAILYARD_RUN_ID` only (as on hosts where control groups cannot be used).
    pub fn without_cgroups(mut self) -> Sandbox {
        self.containment = Containment::Search("turned off".into());
        self
    }

    /// The user tasks run as.
    pub fn user(&self) -> &TaskUser {
        &self.user
    }

    /// Whether tasks run as the server's own user, with its rights.
    pub fn shares_server_rights(&self) -> bool {
        !self.switch
    }

    /// Where the tasks' own working directories are made.
    pub fn work_root(&self) -> PathBuf {
        self.work_root.path()
    }

    /// The limits tasks get.
    pub fn limits(&self) -> TaskLimits {
        self.limits
    }

    /// Whether each run gets a control group of its own.
    pub fn uses_cgroups(&self) -> bool {
        matches!(self.containment, Containment::Cgroups(_))
    }

    /// What the server's start says about local tasks, a sentence a line: who they run as, where, and
    /// what holds them.
    pub fn describe(&self) -> String {
        let TaskUser { name, uid, .. } = &self.user;
        let root = self.work_root.path();
        let mut lines = vec![match (self.switch, self.configured) {
            (true, true) => format!("Local tasks run as user {name} (uid {uid}), in {}.", root.display()),
            (true, false) => format!(
                "Local tasks run as user {name} (uid {uid}), never as root; --task-user (RAILYARD_TASK_USER) names \
                 another user."
            ),
            (false, _) => format!(
                "Local tasks run as user {name} (uid {uid}), the server's own user, and share its rights (its \
                 database, its files); start the server as root with --task-user to separate them."
            ),
        }];
        if !(self.switch && self.configured) {
            lines.push(format!("Their own working directories are made in {}.", root.display()));
        }
        if let Some(note) = self.work_root.note() {
            lines.push(format!("The usual task work directory was not used: {note}."));
        }
        lines.push(match &self.containment {
            Containment::Cgroups(c) => format!(
                "Each run is held in a control group of its own (in {}): everything it started is killed when it \
                 ends.",
                c.base().display()
            ),
            Containment::Search(why) => format!(
                "Runs are not held in control groups ({why}): what a run started is found by its process group \
                 and RAILYARD_RUN_ID and killed when it ends; a process that leaves both can outlive it."
            ),
        });
        let nproc = if self.switch {
            format!(", and user {name} may have at most {} processes (--task-max-processes)", self.limits.max_processes)
        } else {
            String::new()
        };
        lines.push(format!(
            "Tasks hold no capabilities and gain none (set-user-ID programs such as sudo do nothing for them), \
             dump no core{nproc}."
        ));
        lines.join("\n")
    }

    /// The uid and gid to switch to in the child, if tasks run as another user.
    pub(crate) fn switch_to(&self) -> Option<(u32, u32)> {
        self.switch.then_some((self.user.uid, self.user.gid))
    }

    /// The control groups of runs, when used.
    pub(crate) fn cgroups(&self) -> Option<&Cgroups> {
        match &self.containment {
            Containment::Cgroups(c) => Some(c),
            Containment::Search(_) => None,
        }
    }

    /// The task's environment: the few variables kept from the server's, `HOME`, `USER`, `LOGNAME`.
    /// The caller adds the action's variables and the run context's.
    pub(crate) fn base_env(&self, home: &Path) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(name, _)| {
                let name = name.to_string_lossy();
                matches!(name.as_ref(), "PATH" | "LANG" | "LANGUAGE" | "TZ") || name.starts_with("LC_")
            })
            .collect();
        if !env.iter().any(|(name, _)| name == "PATH") {
            env.push(("PATH".into(), DEFAULT_PATH.into()));
        }
        env.push(("HOME".into(), home.into()));
        env.push(("USER".into(), self.user.name.clone().into()));
        env.push(("LOGNAME".into(), self.user.name.clone().into()));
        env
    }

    /// A fresh working directory for one run, owned by the task user, mode 0700; removed when the
    /// returned guard is dropped.
    pub(crate) fn run_dir(&self) -> Result<RunDir, String> {
        self.work_root.run_dir(self.switch_to())
    }

    /// Removes a run's own working directory left behind by a server that died (see
    /// [`crate::kill_recorded`]): only a `run-*` directory directly in a work root of this server's, never
    /// a symlink, and never a directory a task named. Whether it removed one.
    pub fn remove_leftover_dir(&self, dir: &str) -> bool {
        self.work_root.remove_leftover(dir)
    }
}

fn default_user(me: u32) -> (TaskUser, bool, bool) {
    if me == 0 {
        let user = lookup_user(NOBODY).ok().flatten().filter(|u| u.uid != 0 && u.gid != 0).unwrap_or(TaskUser {
            name: NOBODY.into(),
            uid: OVERFLOW_ID,
            gid: OVERFLOW_ID,
        });
        (user, true, false)
    } else {
        // SAFETY: getegid only reads the process's credentials.
        let gid = unsafe { libc::getegid() };
        (TaskUser { name: user_name(me), uid: me, gid }, false, false)
    }
}

pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid only reads the process's credentials.
    unsafe { libc::geteuid() }
}

/// Root, or every capability a user switch and the run's directory need ([`SWITCH_CAPABILITIES`], in
/// the effective set of `/proc/self/status`); otherwise the names of those missing.
fn can_switch_users() -> Result<(), Vec<&'static str>> {
    if euid() == 0 {
        return Ok(());
    }
    let caps = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim().to_string();
            u64::from_str_radix(&hex, 16).ok()
        })
        .unwrap_or(0);
    let missing: Vec<&str> =
        SWITCH_CAPABILITIES.iter().filter(|(bit, _)| caps & (1 << bit) == 0).map(|(_, n)| *n).collect();
    if missing.is_empty() { Ok(()) } else { Err(missing) }
}

/// A user by name from the user database (`getpwnam_r`).
pub fn lookup_user(name: &str) -> io::Result<Option<TaskUser>> {
    let Ok(cname) = CString::new(name) else { return Ok(None) };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // SAFETY: passwd is plain data; getpwnam_r writes into it and buf, both live for the call, and
        // result points into them (or is null).
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe { libc::getpwnam_r(cname.as_ptr(), &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
        if rc == libc::ERANGE && buf.len() < 1024 * 1024 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if result.is_null() {
            return Ok(None);
        }
        // SAFETY: on success pw_name points to a NUL-terminated string inside buf.
        let name = unsafe { CStr::from_ptr(pwd.pw_name) }.to_string_lossy().into_owned();
        return Ok(Some(TaskUser { name, uid: pwd.pw_uid, gid: pwd.pw_gid }));
    }
}

/// A uid's name from the user database, or the number when it has none.
fn user_name(uid: u32) -> String {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: as in lookup_user.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return uid.to_string();
    }
    // SAFETY: on success pw_name points to a NUL-terminated string inside buf.
    unsafe { CStr::from_ptr(pwd.pw_name) }.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    #[test]
    fn unknown_and_root_task_users_are_refused_with_the_reason() {
        let e = Sandbox::new(Some("no-such-user-railyard"), None).unwrap_err();
        assert!(e.0.contains("task user 'no-such-user-railyard' does not exist"), "{e}");
        let e = Sandbox::new(Some("root"), None).unwrap_err();
        assert!(e.0.contains("uid 0 (root): tasks never run as root"), "{e}");
        let e = Sandbox::new(Some(" "), None).unwrap_err();
        assert!(e.0.contains("empty"), "{e}");
    }

    #[test]
    fn the_default_never_runs_tasks_as_root() {
        let s = Sandbox::for_this_process();
        assert_ne!(s.user().uid, 0);
        if euid() == 0 {
            assert_eq!((s.user().name.as_str(), s.shares_server_rights()), (NOBODY, false));
        } else {
            assert_eq!((s.user().uid, s.shares_server_rights()), (euid(), true));
        }
    }

    #[test]
    fn a_work_root_owned_by_someone_else_or_open_to_others_is_refused_or_tightened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("work");
        let s = Sandbox::new(None, Some(root.clone())).expect("sandbox");
        let mode = std::fs::metadata(&root).expect("root").mode() & 0o7777;
        assert_eq!(mode, if s.shares_server_rights() { 0o700 } else { 0o711 });
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        Sandbox::new(None, Some(root.clone())).expect("tightened");
        assert_eq!(std::fs::metadata(&root).expect("root").mode() & 0o022, 0);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&root, &link).expect("symlink");
        let e = Sandbox::new(None, Some(link)).unwrap_err();
        assert!(e.0.contains("not a directory (a symlink?)"), "{e}");
        if euid() == 0 {
            std::os::unix::fs::chown(&root, Some(OVERFLOW_ID), None).expect("chown");
            let e = Sandbox::new(None, Some(root)).unwrap_err();
            assert!(e.0.contains("is owned by uid 65534, not by the server"), "{e}");
        }
    }
}
