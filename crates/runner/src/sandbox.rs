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
//!   fill up. Something a task must keep belongs in a place it names. The work root is
//!   `$TMPDIR/railyard-tasks-<server uid>` by default (`serve --task-dir`); it is owned by the server, not
//!   writable by anyone else (0711 when tasks run as another user, so that they can reach their own
//!   directory but not list the others), and refused when it is a symlink, owned by someone else or
//!   writable by others.

use std::ffi::{CStr, CString, OsString};
use std::fmt;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The user a server running as root runs tasks as when none is configured.
pub const NOBODY: &str = "nobody";
/// `nobody`'s uid and gid on most systems, used when the user database has no `nobody`.
const OVERFLOW_ID: u32 = 65534;
/// `PATH` for a task when the server has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

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

/// Who tasks run as and where their working directories are made.
#[derive(Debug, Clone)]
pub struct Sandbox {
    user: TaskUser,
    /// Whether tasks switch to `user` (false: they run as the server's own user).
    switch: bool,
    /// Whether `user` was configured (false: the default).
    configured: bool,
    work_root: PathBuf,
}

impl Sandbox {
    /// The sandbox for `task_user` (a user name; `None`: the default, see the module doc) with working
    /// directories under `work_root` (`None`: `$TMPDIR/railyard-tasks-<uid>`), checked now: an unknown
    /// user, root, the server's own user, a server that cannot switch users, or a work root that is not
    /// safe is an error.
    pub fn new(task_user: Option<&str>, work_root: Option<PathBuf>) -> Result<Sandbox, SandboxError> {
        let me = euid();
        let sandbox = match task_user.map(str::trim) {
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
                if !can_switch_users() {
                    return Err(SandboxError(format!(
                        "the server runs as {} (uid {me}), which cannot switch users, so it cannot run tasks as \
                         '{name}'; start it as root (or with CAP_SETUID and CAP_SETGID), or leave the task user \
                         unset",
                        user_name(me)
                    )));
                }
                Sandbox { user, switch: true, configured: true, work_root: PathBuf::new() }
            }
            None => Sandbox::default_user(me),
        };
        let sandbox = Sandbox { work_root: work_root.unwrap_or_else(|| default_work_root(me)), ..sandbox };
        sandbox.ensure_work_root().map_err(SandboxError)?;
        Ok(sandbox)
    }

    /// The default sandbox of this process, as [`Sandbox::new`]`(None, None)` but unchecked (the work root
    /// is made at the first run): as root, tasks run as `nobody`; otherwise as the server's own user.
    /// Whoever builds an engine without configuring one gets this.
    pub fn for_this_process() -> Arc<Sandbox> {
        static DEFAULT: OnceLock<Arc<Sandbox>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                let me = euid();
                Arc::new(Sandbox { work_root: default_work_root(me), ..Sandbox::default_user(me) })
            })
            .clone()
    }

    fn default_user(me: u32) -> Sandbox {
        if me == 0 {
            let user = lookup_user(NOBODY).ok().flatten().filter(|u| u.uid != 0 && u.gid != 0).unwrap_or(TaskUser {
                name: NOBODY.into(),
                uid: OVERFLOW_ID,
                gid: OVERFLOW_ID,
            });
            Sandbox { user, switch: true, configured: false, work_root: PathBuf::new() }
        } else {
            // SAFETY: getegid only reads the process's credentials.
            let gid = unsafe { libc::getegid() };
            let user = TaskUser { name: user_name(me), uid: me, gid };
            Sandbox { user, switch: false, configured: false, work_root: PathBuf::new() }
        }
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
    pub fn work_root(&self) -> &Path {
        &self.work_root
    }

    /// One sentence for the server's start: who tasks run as, and what that means.
    pub fn describe(&self) -> String {
        let TaskUser { name, uid, .. } = &self.user;
        match (self.switch, self.configured) {
            (true, true) => format!("Local tasks run as user {name} (uid {uid}), in {}.", self.work_root.display()),
            (true, false) => format!(
                "Local tasks run as user {name} (uid {uid}), never as root; --task-user (RAILYARD_TASK_USER) names \
                 another user."
            ),
            (false, _) => format!(
                "Local tasks run as user {name} (uid {uid}), the server's own user, and share its rights (its \
                 database, its files); start the server as root with --task-user to separate them."
            ),
        }
    }

    /// The uid and gid to switch to in the child, if tasks run as another user.
    pub(crate) fn switch_to(&self) -> Option<(u32, u32)> {
        self.switch.then_some((self.user.uid, self.user.gid))
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
        self.ensure_work_root()?;
        let mut bytes = [0u8; 8];
        let mut last = String::new();
        for _ in 0..4 {
            getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a working directory name: {e}"))?;
            let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let path = self.work_root.join(format!("run-{name}"));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    let dir = RunDir { path };
                    if let Some((uid, gid)) = self.switch_to() {
                        std::os::unix::fs::chown(&dir.path, Some(uid), Some(gid)).map_err(|e| {
                            format!("cannot hand the working directory {} to the task user: {e}", dir.path.display())
                        })?;
                    }
                    // The mode asked for may have been narrowed by the umask, never widened; make it exact.
                    std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(0o700))
                        .map_err(|e| format!("cannot set the mode of {}: {e}", dir.path.display()))?;
                    return Ok(dir);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e.to_string(),
                Err(e) => return Err(format!("cannot make a working directory in {}: {e}", self.work_root.display())),
            }
        }
        Err(format!("cannot make a working directory in {}: {last}", self.work_root.display()))
    }

    /// Removes a run's own working directory left behind by a server that died (see
    /// [`crate::kill_recorded`]): only a `run-*` directory directly in this sandbox's work root, never a
    /// symlink, and never a directory a task named. Whether it removed one.
    pub fn remove_leftover_dir(&self, dir: &str) -> bool {
        let dir = Path::new(dir);
        let ours = dir.parent() == Some(self.work_root.as_path())
            && dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("run-"));
        let is_dir = std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir());
        ours && is_dir && std::fs::remove_dir_all(dir).is_ok()
    }

    /// Makes the work root if missing; refuses one that others could tamper with.
    fn ensure_work_root(&self) -> Result<(), String> {
        let root = &self.work_root;
        let mode = if self.switch { 0o711 } else { 0o700 };
        match std::fs::DirBuilder::new().recursive(true).mode(0o700).create(root) {
            Ok(()) => {}
            Err(e) => return Err(format!("cannot make the task work directory {}: {e}", root.display())),
        }
        let meta = std::fs::symlink_metadata(root)
            .map_err(|e| format!("cannot use the task work directory {}: {e}", root.display()))?;
        let me = euid();
        if !meta.is_dir() {
            return Err(format!("the task work directory {} is not a directory (a symlink?)", root.display()));
        }
        if meta.uid() != me {
            return Err(format!(
                "the task work directory {} is owned by uid {}, not by the server (uid {me}); remove it or choose \
                 another with --task-dir",
                root.display(),
                meta.uid()
            ));
        }
        if meta.mode() & 0o7777 != mode {
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("cannot set the mode of the task work directory {}: {e}", root.display()))?;
        }
        Ok(())
    }
}

/// A run's own working directory, removed with its contents when dropped. Removal does not follow
/// symlinks a task left in it.
pub(crate) struct RunDir {
    pub path: PathBuf,
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.path.display(), error = %e, "could not remove a task's working directory");
        }
    }
}

fn default_work_root(uid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("railyard-tasks-{uid}"))
}

pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid only reads the process's credentials.
    unsafe { libc::geteuid() }
}

/// Root, or both capabilities a user switch needs (`CAP_SETGID` is bit 6, `CAP_SETUID` bit 7 of the
/// effective set in `/proc/self/status`).
fn can_switch_users() -> bool {
    if euid() == 0 {
        return true;
    }
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return false };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 6) != 0 && caps & (1 << 7) != 0)
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
