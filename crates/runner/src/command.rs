//! Running a command: spawned directly (no shell), as the sandbox's task user, in a process group of its
//! own so that the timeout (or the server stopping) kills it with every child and grandchild, its stdout
//! and stderr read concurrently line by line.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::{Instant, sleep_until};

use crate::action::CommandAction;
use crate::outcome::{Outcome, RunStatus, Stream};
use crate::output::{Capture, Splitter};
use crate::process;
use crate::sandbox::Sandbox;
use crate::{RunContext, RunOptions};

/// Between SIGTERM and SIGKILL at the timeout.
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// How long the pipes are still read once the program exited (or was killed): a background process
/// that keeps them open cannot hold the run longer than this.
pub const DRAIN_BOUND: Duration = Duration::from_secs(2);
const READ_CHUNK: usize = 64 * 1024;

pub(crate) async fn run(
    action: &CommandAction,
    ctx: &RunContext,
    capture: &mut Capture<'_>,
    options: &RunOptions,
    started_at: DateTime<Utc>,
) -> Outcome {
    let not_started = |message: String| Outcome::new(RunStatus::CouldNotStart, message, started_at);
    let sandbox = &options.sandbox;
    if let Some(dir) = &action.working_dir {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return not_started(format!("working directory '{dir}' is not a directory")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return not_started(format!("working directory '{dir}' does not exist"));
            }
            Err(e) => return not_started(format!("working directory '{dir}' cannot be used: {e}")),
        }
    }
    // The task's own directory when it names none; removed (with its contents) when this returns.
    let own_dir = match &action.working_dir {
        Some(_) => None,
        None => match sandbox.run_dir() {
            Ok(dir) => Some(dir),
            Err(message) => return not_started(message),
        },
    };
    let dir = match (&action.working_dir, &own_dir) {
        (Some(named), _) => PathBuf::from(named),
        (None, Some(own)) => own.path.clone(),
        (None, None) => return not_started("no working directory".into()),
    };
    let Ok(c_dir) = CString::new(dir.as_os_str().as_bytes()) else {
        return not_started(format!("working directory '{}' holds a NUL character", dir.display()));
    };
    let mut cmd = command(action, ctx, sandbox, &dir);
    process::prepare(&mut cmd, sandbox.switch_to(), Some(c_dir));
    let mut child = match process::spawn(cmd).await {
        Ok(child) => child,
        Err(e) => return not_started(spawn_error(action, sandbox, &dir, &e)),
    };
    let mut group = Group { pgid: child.id().and_then(|id| i32::try_from(id).ok()), finished: false };
    let own_path = own_dir.as_ref().map(|d| d.path.as_path());
    if let Some(recorded) = child.id().and_then(|pid| process::record(pid, sandbox.user().uid, own_path)) {
        capture.sink().started(&recorded);
    }
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let (mut out_buf, mut err_buf) = (vec![0u8; READ_CHUNK], vec![0u8; READ_CHUNK]);
    let (mut out_lines, mut err_lines) = (Splitter::new(Stream::Stdout), Splitter::new(Stream::Stderr));

    let timeout = Duration::from_secs(action.timeout_secs);
    let deadline = Instant::now() + timeout;
    let mut stop = options.stop.clone();
    let mut status: Option<io::Result<ExitStatus>> = None;
    // Why the group was told to end: the timeout, or the server stopping.
    let mut ended_by: Option<EndedBy> = None;
    let mut kill_at: Option<Instant> = None;
    let mut give_up_at: Option<Instant> = None;
    loop {
        if status.is_some() && stdout.is_none() && stderr.is_none() {
            break;
        }
        let end = tokio::select! {
            r = read(&mut stdout, &mut out_buf), if stdout.is_some() => {
                match r {
                    Ok(n) if n > 0 => out_lines.push(&out_buf[..n], capture),
                    _ => {
                        stdout = None;
                        out_lines.finish(capture);
                    }
                }
                None
            },
            r = read(&mut stderr, &mut err_buf), if stderr.is_some() => {
                match r {
                    Ok(n) if n > 0 => err_lines.push(&err_buf[..n], capture),
                    _ => {
                        stderr = None;
                        err_lines.finish(capture);
                    }
                }
                None
            },
            r = child.wait(), if status.is_none() => {
                status = Some(r);
                if give_up_at.is_none() {
                    give_up_at = Some(Instant::now() + DRAIN_BOUND);
                }
                None
            },
            _ = sleep_until(deadline), if ended_by.is_none() && status.is_none() => Some(EndedBy::Timeout),
            _ = stopped(&mut stop), if ended_by.is_none() && status.is_none() => Some(EndedBy::Stop),
            _ = sleep_opt(kill_at), if kill_at.is_some() => {
                group.kill();
                kill_at = None;
                None
            },
            _ = sleep_opt(give_up_at), if give_up_at.is_some() => break,
        };
        if let Some(why) = end {
            ended_by = Some(why);
            group.terminate();
            kill_at = Some(Instant::now() + KILL_GRACE);
            give_up_at = Some(Instant::now() + KILL_GRACE + DRAIN_BOUND);
        }
    }
    if ended_by.is_some() {
        group.kill(); // whatever ignored SIGTERM and left its pipes alone
    }
    if status.is_none() {
        status = tokio::time::timeout(DRAIN_BOUND, child.wait()).await.ok();
    }
    group.finished = true;
    let mut outcome = Outcome::new(RunStatus::Failed, String::new(), started_at);
    let ended = |outcome: &mut Outcome, why: EndedBy, still: &str| match why {
        EndedBy::Timeout => {
            outcome.status = RunStatus::TimedOut;
            outcome.message = format!("killed after the {} s timeout{still}", action.timeout_secs);
        }
        EndedBy::Stop => {
            outcome.status = RunStatus::Stopped;
            outcome.message = format!("stopped: the server shut down while it ran{still}");
        }
    };
    match status {
        Some(Ok(status)) => {
            outcome.exit_code = status.code();
            outcome.signal = exit_signal(&status);
            if let Some(why) = ended_by {
                ended(&mut outcome, why, "");
            } else if status.success() {
                outcome.status = RunStatus::Succeeded;
                outcome.message = "exited with 0".to_string();
            } else if let Some(code) = status.code() {
                outcome.message = format!("exited with {code}");
            } else if let Some(signal) = outcome.signal {
                outcome.message = format!("killed by signal {signal}{}", signal_name(signal));
            } else {
                outcome.message = format!("ended: {status}");
            }
        }
        Some(Err(e)) => outcome.message = format!("could not wait for the process: {e}"),
        None => match ended_by {
            Some(why) => ended(&mut outcome, why, " (the process did not end)"),
            None => outcome.message = "the process did not end".to_string(),
        },
    }
    outcome
}

/// Why a run's process group was told to end before it exited by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndedBy {
    Timeout,
    Stop,
}

/// The process, ready to spawn: argv as given, stdin from `/dev/null`, in a process group of its own;
/// the environment as [`Sandbox::base_env`] makes it (cleared, a few variables kept, `HOME` = `home`),
/// then the action's variables, then the run context's (which win).
fn command(action: &CommandAction, ctx: &RunContext, sandbox: &Sandbox, home: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(&action.program);
    cmd.args(&action.args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd.env_clear().envs(sandbox.base_env(home)).envs(&action.env).envs(&ctx.env);
    cmd.process_group(0);
    cmd
}

fn spawn_error(action: &CommandAction, sandbox: &Sandbox, dir: &Path, e: &io::Error) -> String {
    let program = action.program.as_str();
    let user = sandbox.user();
    let reason = |errno: i32| match errno {
        libc::EACCES => "permission denied".to_string(),
        libc::ENOENT => "it does not exist".to_string(),
        libc::ENOTDIR => "it is not a directory".to_string(),
        _ => io::Error::from_raw_os_error(errno).to_string(),
    };
    match process::Step::of(e) {
        Some(process::Step::Dir(errno)) => {
            return format!(
                "working directory '{}' cannot be used by task user {} (uid {}): {}",
                dir.display(),
                user.name,
                user.uid,
                reason(errno)
            );
        }
        Some(process::Step::User(errno)) => {
            return format!("could not switch to task user {} (uid {}): {}", user.name, user.uid, reason(errno));
        }
        Some(process::Step::Parent) => return "the server stopped while the program started".to_string(),
        None => {}
    }
    let is_dir = std::fs::metadata(program).is_ok_and(|m| m.is_dir());
    // execvp reports EACCES when a directory of PATH could not be searched by the task user, even when
    // the program is in none of them: say "not found" then.
    let in_path = || {
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
    };
    match e.kind() {
        io::ErrorKind::PermissionDenied if !program.contains('/') && !in_path() => {
            format!("program '{program}' not found (looked in PATH)")
        }
        _ if is_dir && program.contains('/') => format!("program '{program}' is a directory"),
        io::ErrorKind::NotFound if program.contains('/') => format!("program '{program}' not found"),
        io::ErrorKind::NotFound => format!("program '{program}' not found (looked in PATH)"),
        io::ErrorKind::PermissionDenied => format!("program '{program}' is not executable (permission denied)"),
        _ if e.raw_os_error() == Some(ENOEXEC) => {
            format!(
                "program '{program}' is not something the system can run (exec format error; a script needs a #! line)"
            )
        }
        _ => format!("could not start program '{program}': {e}"),
    }
}

const ENOEXEC: i32 = libc::ENOEXEC;

async fn read<R: AsyncRead + Unpin>(pipe: &mut Option<R>, buf: &mut [u8]) -> io::Result<usize> {
    match pipe {
        Some(p) => p.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Completes once the stop signal says so (never, without one, or once its sender is gone).
pub(crate) async fn stopped(stop: &mut Option<tokio::sync::watch::Receiver<bool>>) {
    match stop {
        Some(rx) => {
            if rx.wait_for(|stop| *stop).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The process group of a run. Dropping it before the run finished (the run's future was cancelled)
/// kills the whole group.
struct Group {
    pgid: Option<i32>,
    finished: bool,
}

impl Group {
    /// SIGTERM to the whole group.
    fn terminate(&self) {
        self.signal(libc::SIGTERM);
    }

    /// SIGKILL to the whole group.
    fn kill(&self) {
        self.signal(libc::SIGKILL);
    }

    fn signal(&self, signal: i32) {
        if let Some(pgid) = self.pgid.filter(|&p| p > 1) {
            // SAFETY: killpg only sends a signal; an error (ESRCH: the group is gone) is harmless.
            unsafe {
                libc::killpg(pgid, signal);
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.finished {
            self.kill();
        }
    }
}

fn exit_signal(status: &ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        3 => " (SIGQUIT)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        13 => " (SIGPIPE)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_is_cleared_then_the_actions_then_the_contexts() {
        let mut action = CommandAction::new("env");
        action.env.insert("KEEP".into(), "1".into());
        action.env.insert("RAILYARD_TURNOVER".into(), "spoofed".into());
        let ctx = RunContext::new().with("RAILYARD_TURNOVER", "TO-1");
        let sandbox = Sandbox::for_this_process();
        let cmd = command(&action, &ctx, &sandbox, Path::new("/work/here"));
        let std = cmd.as_std();
        let envs: std::collections::BTreeMap<String, String> = std
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_string_lossy().into_owned(), v?.to_string_lossy().into_owned())))
            .collect();
        assert_eq!(envs.get("RAILYARD_TURNOVER").map(String::as_str), Some("TO-1"));
        assert_eq!(envs.get("KEEP").map(String::as_str), Some("1"));
        assert_eq!(envs.get("HOME").map(String::as_str), Some("/work/here"));
        assert!(envs.contains_key("PATH"));
        let unexpected: Vec<&String> = envs
            .keys()
            .filter(|k| {
                !matches!(
                    k.as_str(),
                    "PATH" | "LANG" | "LANGUAGE" | "TZ" | "HOME" | "USER" | "LOGNAME" | "KEEP" | "RAILYARD_TURNOVER"
                ) && !k.starts_with("LC_")
            })
            .collect();
        assert!(unexpected.is_empty(), "{unexpected:?}");
    }
}
