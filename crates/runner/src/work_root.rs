//! The work root: the directory in which each run gets a fresh working directory of its own.
//!
//! - **Nobody else can change the way to it.** Every directory above it must be owned by root or the
//!   server and writable by no one else, unless it is sticky as `/tmp` is (then others cannot rename
//!   or remove what is not theirs). Otherwise someone (a task, when the task user owns a parent) could
//!   put another directory or a symlink in its place between two steps of the server's, and have root
//!   hand a file of their choosing to the task user. The work root itself is the server's, not writable
//!   by anyone else: 0711 when tasks run as another user (they reach their own directory by name, and
//!   cannot list the others), 0700 otherwise.
//! - **Held open.** The server keeps a descriptor of the work root and makes each run's directory
//!   through it (`mkdirat`, then `openat` without following symlinks, `fchmod`, `fchown`); the task
//!   enters its directory through that descriptor too. Before each run the descriptor is checked to be
//!   still the directory at the path; if it is not (a temp cleaner removed it), the work root is made
//!   again, with the same checks.
//! - **The default** is `$TMPDIR/railyard-tasks-<server uid>`, a predictable name in a directory every
//!   local user can write: used when it is the server's own directory, otherwise (someone made it
//!   first) the server makes `railyard-tasks-<uid>-<random>` beside it, and says so at start. A work root
//!   named with `--task-dir` is used only as named: one that is not the server's is refused.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::sandbox::euid;

#[derive(Debug)]
pub(crate) struct WorkRoot {
    /// As named with `--task-dir`, or the default's predictable path.
    wanted: PathBuf,
    configured: bool,
    /// Tasks run as another user (the work root is then 0711, else 0700).
    shared: bool,
    held: Mutex<Option<Held>>,
}

/// The work root in use, open.
#[derive(Debug)]
struct Held {
    path: PathBuf,
    dir: OwnedFd,
    id: (u64, u64),
    /// Why it is not the wanted path, for the default.
    note: Option<String>,
}

impl WorkRoot {
    /// `named` with `--task-dir`, or the default (see the module doc). Nothing is made yet.
    pub fn new(named: Option<PathBuf>, shared: bool) -> WorkRoot {
        let configured = named.is_some();
        let wanted = named.unwrap_or_else(|| std::env::temp_dir().join(format!("railyard-tasks-{}", euid())));
        WorkRoot { wanted, configured, shared, held: Mutex::new(None) }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The work root in use (the wanted one until it was made).
    pub fn path(&self) -> PathBuf {
        self.held().as_ref().map_or_else(|| self.wanted.clone(), |h| h.path.clone())
    }

    /// Why the work root in use is not the default's predictable path, if it is not.
    pub fn note(&self) -> Option<String> {
        self.held().as_ref().and_then(|h| h.note.clone())
    }

    /// Makes (or checks again) the work root; an error names what is wrong.
    pub fn ensure(&self) -> Result<(), String> {
        let mut held = self.held();
        if let Some(h) = held.as_ref()
            && std::fs::symlink_metadata(&h.path).is_ok_and(|m| (m.dev(), m.ino()) == h.id)
        {
            return Ok(());
        }
        *held = Some(self.establish()?);
        Ok(())
    }

    fn establish(&self) -> Result<Held, String> {
        let wanted = std::path::absolute(&self.wanted)
            .map_err(|e| format!("cannot use the task work directory {}: {e}", self.wanted.display()))?;
        let (Some(parent), Some(name)) = (wanted.parent(), wanted.file_name()) else {
            return Err(format!("the task work directory {} names no directory", wanted.display()));
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .map_err(|e| format!("cannot make the task work directory {}: {e}", wanted.display()))?;
        let parent = std::fs::canonicalize(parent)
            .map_err(|e| format!("cannot use the task work directory {}: {e}", wanted.display()))?;
        let wanted = parent.join(name);
        if let Err(why) = check_ancestors(&parent) {
            return Err(format!(
                "the task work directory {} is not safe: {why}, so another user could put something else in \
                 its place; choose one (--task-dir) whose parent directories are owned by root or the server and \
                 writable by no one else (or sticky, as /tmp is)",
                wanted.display()
            ));
        }
        let mode = if self.shared { 0o711 } else { 0o700 };
        match open_own_dir(&wanted, mode, false) {
            Ok((dir, id)) => Ok(Held { path: wanted, dir, id, note: None }),
            Err(e) if self.configured => Err(e),
            // The default's predictable name was taken: a fresh, unpredictable one beside it.
            Err(e) => {
                for _ in 0..4 {
                    let fresh = parent.join(format!("{}-{}", name.to_string_lossy(), random_hex()?));
                    match open_own_dir(&fresh, mode, true) {
                        Ok((dir, id)) => {
                            let why = match std::fs::symlink_metadata(&wanted) {
                                Ok(m) if m.file_type().is_symlink() || !m.is_dir() => "is not a directory".to_string(),
                                Ok(m) if m.uid() != euid() => {
                                    format!("belongs to uid {} (someone made it first)", m.uid())
                                }
                                _ => format!("could not be used ({e})"),
                            };
                            let note = format!("{} {why}", wanted.display());
                            return Ok(Held { path: fresh, dir, id, note: Some(note) });
                        }
                        Err(_) if fresh.exists() => continue,
                        Err(e) => return Err(e),
                    }
                }
                Err(format!("cannot make a task work directory in {}", parent.display()))
            }
        }
    }

    /// A fresh working directory for one run, mode 0700, handed to `owner` (uid, gid) when given;
    /// removed when the returned guard is dropped.
    pub fn run_dir(&self, owner: Option<(u32, u32)>) -> Result<RunDir, String> {
        self.ensure()?;
        let held = self.held();
        let Some(root) = held.as_ref() else { return Err("no task work directory".into()) };
        let mut last = String::new();
        for _ in 0..4 {
            let name = format!("run-{}", random_hex()?);
            let path = root.path.join(&name);
            let cname = CString::new(name).map_err(|e| e.to_string())?;
            // SAFETY: mkdirat and openat take a directory descriptor we own and a NUL-terminated name;
            // the descriptor openat returns is owned by the guard.
            let made = unsafe { libc::mkdirat(root.dir.as_raw_fd(), cname.as_ptr(), 0o700) };
            if made != 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::AlreadyExists {
                    last = e.to_string();
                    continue;
                }
                return Err(format!("cannot make a working directory in {}: {e}", root.path.display()));
            }
            let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
            let fd = unsafe { libc::openat(root.dir.as_raw_fd(), cname.as_ptr(), flags) };
            if fd < 0 {
                let e = io::Error::last_os_error();
                return Err(format!("cannot open the working directory {}: {e}", path.display()));
            }
            // SAFETY: fd is a fresh descriptor nobody else owns.
            let dir =
                RunDir { path, dir: unsafe { OwnedFd::from_raw_fd(fd) }, root: root.path.clone(), root_id: root.id };
            // The mode asked for may have been narrowed by the umask, never widened: make it exact, then
            // hand the directory over (fchmod first: once it is the task user's, the server's own user
            // could not change it).
            // SAFETY: fchmod and fchown act on the descriptor just opened.
            if unsafe { libc::fchmod(dir.fd(), 0o700) } != 0 {
                let e = io::Error::last_os_error();
                return Err(format!("cannot set the mode of {}: {e}", dir.path.display()));
            }
            if let Some((uid, gid)) = owner
                && unsafe { libc::fchown(dir.fd(), uid, gid) } != 0
            {
                let e = io::Error::last_os_error();
                return Err(format!("cannot hand the working directory {} to the task user: {e}", dir.path.display()));
            }
            return Ok(dir);
        }
        Err(format!("cannot make a working directory in {}: {last}", root.path.display()))
    }

    /// Removes a run's own working directory left behind by a server that died: only a `run-*`
    /// directory (never a symlink) directly in a work root of this server's (the one in use, or for the
    /// default one with a fresh name beside it, the server's own and closed to others). Whether it
    /// removed one.
    pub fn remove_leftover(&self, dir: &str) -> bool {
        let dir = Path::new(dir);
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name().and_then(OsStr::to_str)) else { return false };
        let in_use = self.path();
        let default_sibling = !self.configured
            && parent.parent() == in_use.parent()
            && parent
                .file_name()
                .and_then(OsStr::to_str)
                .is_some_and(|n| n.starts_with(&format!("railyard-tasks-{}", euid())));
        let safe_parent =
            std::fs::symlink_metadata(parent).is_ok_and(|m| m.is_dir() && m.uid() == euid() && m.mode() & 0o022 == 0);
        let ours = (parent == in_use || default_sibling) && safe_parent && name.starts_with("run-");
        ours && std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) && std::fs::remove_dir_all(dir).is_ok()
    }
}

/// Makes `path` (mode 0700) unless it exists (or, `fresh`, fails when it does), opens it without
/// following a symlink, checks it is the server's, and sets its mode.
fn open_own_dir(path: &Path, mode: u32, fresh: bool) -> Result<(OwnedFd, (u64, u64)), String> {
    let shown = path.display();
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !fresh => {}
        Err(e) => return Err(format!("cannot make the task work directory {shown}: {e}")),
    }
    let cpath = CString::new(path.as_os_str().as_bytes()).map_err(|_| format!("{shown} holds a NUL character"))?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: open takes a NUL-terminated path; the descriptor is owned below.
    let fd = unsafe { libc::open(cpath.as_ptr(), flags) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => {
                format!("the task work directory {shown} is not a directory (a symlink?)")
            }
            _ => format!("cannot use the task work directory {shown}: {e}"),
        });
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let dir = unsafe { OwnedFd::from_raw_fd(fd) };
    let meta = fstat(dir.as_raw_fd()).map_err(|e| format!("cannot use the task work directory {shown}: {e}"))?;
    let me = euid();
    if meta.st_uid != me {
        return Err(format!(
            "the task work directory {shown} is owned by uid {}, not by the server (uid {me}); remove it or choose \
             another with --task-dir",
            meta.st_uid
        ));
    }
    // SAFETY: fchmod acts on the descriptor just opened.
    if meta.st_mode & 0o7777 != mode && unsafe { libc::fchmod(dir.as_raw_fd(), mode) } != 0 {
        let e = io::Error::last_os_error();
        return Err(format!("cannot set the mode of the task work directory {shown}: {e}"));
    }
    Ok((dir, (meta.st_dev, meta.st_ino)))
}

fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: fstat writes into `st`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// Checks `dir` and every directory above it: owned by root or the server, and writable by no one
/// else unless sticky. `dir` is canonical (no symlinks).
fn check_ancestors(dir: &Path) -> Result<(), String> {
    let me = euid();
    for a in dir.ancestors() {
        let m = std::fs::symlink_metadata(a).map_err(|e| format!("{} cannot be read: {e}", a.display()))?;
        let mode = m.mode() & 0o7777;
        if m.uid() != 0 && m.uid() != me {
            return Err(format!("{} is owned by uid {}", a.display(), m.uid()));
        }
        let sticky = mode & 0o1000 != 0;
        if mode & 0o002 != 0 && !sticky {
            return Err(format!("{} is writable by others (mode {mode:04o}) and not sticky", a.display()));
        }
        if mode & 0o020 != 0 && !sticky {
            return Err(format!("{} is writable by its group (mode {mode:04o}) and not sticky", a.display()));
        }
    }
    Ok(())
}

fn random_hex() -> Result<String, String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a directory name: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A run's own working directory, open, removed with its contents when dropped (only while the work
/// root at its path is still the one it was made in). Removal does not follow symlinks a task left in
/// it.
pub(crate) struct RunDir {
    pub path: PathBuf,
    dir: OwnedFd,
    root: PathBuf,
    root_id: (u64, u64),
}

impl RunDir {
    /// The open directory, for the child to enter.
    pub fn fd(&self) -> RawFd {
        self.dir.as_raw_fd()
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let same_root = std::fs::symlink_metadata(&self.root).is_ok_and(|m| (m.dev(), m.ino()) == self.root_id);
        if !same_root {
            tracing::warn!(dir = %self.path.display(), "the task work directory changed; a run's directory was left");
            return;
        }
        if let Err(e) = std::fs::remove_dir_all(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.path.display(), error = %e, "could not remove a task's working directory");
        }
    }
}
