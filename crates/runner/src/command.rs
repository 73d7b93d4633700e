//! Running a command: spawned directly (no shell), in a process group of its own so that the timeout
//! kills it with every child and grandchild, its stdout and stderr read concurrently line by line.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::{Instant, sleep_until};

use crate::RunContext;
use crate::action::CommandAction;
use crate::outcome::{Outcome, RunStatus, Stream};
use crate::output::{Capture, Splitter};

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
    started_at: DateTime<Utc>,
) -> Outcome {
    let not_started = |message: String| Outcome::new(RunStatus::CouldNotStart, message, started_at);
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
    let mut child = match command(action, ctx).spawn() {
        Ok(child) => child,
        Err(e) => return not_started(spawn_error(&action.program, &e)),
    };
    let mut group = Group { pgid: child.id().and_then(|id| i32::try_from(id).ok()), finished: false };
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let (mut out_buf, mut err_buf) = (vec![0u8; READ_CHUNK], vec![0u8; READ_CHUNK]);
    let (mut out_lines, mut err_lines) = (Splitter::new(Stream::Stdout), Splitter::new(Stream::Stderr));

    let timeout = Duration::from_secs(action.timeout_secs);
    let deadline = Instant::now() + timeout;
    let mut status: Option<io::Result<ExitStatus>> = None;
    let mut timed_out = false;
    let mut kill_at: Option<Instant> = None;
    let mut give_up_at: Option<Instant> = None;
    loop {
        if status.is_some() && stdout.is_none() && stderr.is_none() {
            break;
        }
        tokio::select! {
            r = read(&mut stdout, &mut out_buf), if stdout.is_some() => match r {
                Ok(n) if n > 0 => out_lines.push(&out_buf[..n], capture),
                _ => {
                    stdout = None;
                    out_lines.finish(capture);
                }
            },
            r = read(&mut stderr, &mut err_buf), if stderr.is_some() => match r {
                Ok(n) if n > 0 => err_lines.push(&err_buf[..n], capture),
                _ => {
                    stderr = None;
                    err_lines.finish(capture);
                }
            },
            r = child.wait(), if status.is_none() => {
                status = Some(r);
                if give_up_at.is_none() {
                    give_up_at = Some(Instant::now() + DRAIN_BOUND);
                }
            },
            _ = sleep_until(deadline), if !timed_out && status.is_none() => {
                timed_out = true;
                group.terminate(&mut child);
                kill_at = Some(Instant::now() + KILL_GRACE);
                give_up_at = Some(Instant::now() + KILL_GRACE + DRAIN_BOUND);
            },
            _ = sleep_opt(kill_at), if kill_at.is_some() => {
                group.kill();
                kill_at = None;
            },
            _ = sleep_opt(give_up_at), if give_up_at.is_some() => break,
        }
    }
    if timed_out {
        group.kill(); // whatever ignored SIGTERM and left its pipes alone
    }
    if status.is_none() {
        status = tokio::time::timeout(DRAIN_BOUND, child.wait()).await.ok();
    }
    group.finished = true;
    let mut outcome = Outcome::new(RunStatus::Failed, String::new(), started_at);
    match status {
        Some(Ok(status)) => {
            outcome.exit_code = status.code();
            outcome.signal = exit_signal(&status);
            if timed_out {
                outcome.status = RunStatus::TimedOut;
                outcome.message = format!("killed after the {} s timeout", action.timeout_secs);
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
        None if timed_out => {
            outcome.status = RunStatus::TimedOut;
            outcome.message = format!("killed after the {} s timeout (the process did not end)", action.timeout_secs);
        }
        None => outcome.message = "the process did not end".to_string(),
    }
    outcome
}

/// The process, ready to spawn: argv as given, the server's environment without its own `RAILYARD_*`
/// configuration (it may hold a token or a database password), then the action's variables, then the
/// run context's (which win).
fn command(action: &CommandAction, ctx: &RunContext) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(&action.program);
    cmd.args(&action.args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("RAILYARD_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(&action.env).envs(&ctx.env);
    if let Some(dir) = &action.working_dir {
        cmd.current_dir(dir);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    cmd
}

fn spawn_error(program: &str, e: &io::Error) -> String {
    let is_dir = std::fs::metadata(program).is_ok_and(|m| m.is_dir());
    match e.kind() {
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

#[cfg(unix)]
const ENOEXEC: i32 = libc::ENOEXEC;
#[cfg(not(unix))]
const ENOEXEC: i32 = -1;

async fn read<R: AsyncRead + Unpin>(pipe: &mut Option<R>, buf: &mut [u8]) -> io::Result<usize> {
    match pipe {
        Some(p) => p.read(buf).await,
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
    fn terminate(&self, _child: &mut tokio::process::Child) {
        #[cfg(unix)]
        self.signal(libc::SIGTERM);
        #[cfg(not(unix))]
        let _ = _child.start_kill();
    }

    /// SIGKILL to the whole group.
    fn kill(&self) {
        #[cfg(unix)]
        self.signal(libc::SIGKILL);
    }

    #[cfg(unix)]
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

#[cfg(unix)]
fn exit_signal(status: &ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn exit_signal(_status: &ExitStatus) -> Option<i32> {
    None
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
    fn the_servers_own_railyard_variables_are_not_passed_on() {
        // SAFETY: no other test of this binary reads or writes the environment.
        unsafe { std::env::set_var("RAILYARD_DATABASE", "postgres://user:secret@db/railyard") };
        let mut action = CommandAction::new("env");
        action.env.insert("KEEP".into(), "1".into());
        let ctx = RunContext::new().with("RAILYARD_TURNOVER", "TO-1");
        let cmd = command(&action, &ctx);
        let envs: Vec<_> = cmd.as_std().get_envs().map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned()))).collect();
        assert!(envs.contains(&("RAILYARD_DATABASE".into(), None)), "{envs:?}");
        assert!(envs.contains(&("RAILYARD_TURNOVER".into(), Some("TO-1".into()))));
        assert!(envs.contains(&("KEEP".into(), Some("1".into()))));
    }
}
