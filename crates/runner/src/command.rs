//! Running a command: spawned directly (no shell), as the sandbox's task user, in a process group (and,
//! where cgroup v2 is usable, a control group) of its own, so that the timeout, the server stopping or
//! the program's own end kills every process it started (see [`crate::contain`]); its stdout and
//! stderr read concurrently line by line.

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
use crate::child::{self, Plan, Step};
use crate::contain::RunProcesses;
use crate::leftovers::{Marks, stat};
use crate::outcome::{Outcome, RunStatus, Stream};
use crate::output::{Capture, Splitter};
use crate::process;
use crate::sandbox::Sandbox;
use crate::{RunContext, RunOptions};

/// Between SIGTERM and SIGKILL at the timeout.
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// How long the pipes are still read once the program exited (or was killed): a process that keeps
/// them open (one that escaped the run's kill, which only a run without a control group allows) cannot
/// hold the run longer than this.
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
    // The task's own directory when it names none; removed (with its contents) when this returns. A
    // directory it names is looked at by the child only, as the task user (see crate::child).
    let own_dir = match &action.working_dir {
        Some(_) => None,
        None => match sandbox.run_dir() {
            Ok(dir) => Some(dir),
            Err(message) => return not_started(message),
        },
    };
    let (home, dir) = match (&action.working_dir, &own_dir) {
        (Some(named), _) => match CString::new(named.as_bytes()) {
            Ok(c) => (PathBuf::from(named), child::Dir::Named(c)),
            Err(_) => return not_started(format!("working directory '{named}' holds a NUL character")),
        },
        (None, Some(own)) => (own.path.clone(), child::Dir::Own(own.fd())),
        (None, None) => return not_started("no working directory".into()),
    };
    let cgroup = match sandbox.cgroups().map(|c| (c, c.create_run())) {
        None => None,
        Some((_, Ok(group))) => Some(group),
        Some((c, Err(e))) => {
            return not_started(format!("cannot make a control group for the run in {}: {e}", c.base().display()));
        }
    };
    let mut cmd = command(action, ctx, sandbox, &home);
    let Some(program) = program_check(action, &cmd) else {
        return not_started(format!("program '{}' holds a NUL character", action.program));
    };
    let plan = Plan {
        cgroup_procs: cgroup.as_ref().map(|g| g.procs_fd()),
        max_processes: sandbox.switch_to().map(|_| sandbox.limits().max_processes),
        ids: sandbox.switch_to(),
        dir,
        program,
    };
    child::prepare(&mut cmd, plan);
    let mut child = match process::spawn(cmd).await {
        Ok(child) => child,
        Err(e) => return not_started(spawn_error(action, sandbox, &home, &e)),
    };
    let Some(pid) = child.id() else { return not_started("the program ended before it could be watched".into()) };
    let run_id = ctx.env.get("RAILYARD_RUN_ID").map(String::as_str);
    let own_path = own_dir.as_ref().map(|d| d.path.as_path());
    let cgroup_path = cgroup.as_ref().map(|g| g.path().to_path_buf());
    let recorded = process::record(pid, sandbox.user().uid, own_path, cgroup_path.as_deref(), run_id);
    if let Some(recorded) = &recorded {
        capture.sink().started(recorded);
    }
    // Without a control group, the run's processes that left its group are found by its run id.
    let marks = match (&cgroup, run_id) {
        (None, Some(id)) => {
            let since = recorded.as_ref().map(|r| r.started).or_else(|| Some(stat(pid as i32)?.started));
            Some(Marks::new(sandbox.user().uid, id, since.unwrap_or(0)))
        }
        _ => None,
    };
    let mut processes = RunProcesses::new(pid, cgroup, marks);
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let (mut out_buf, mut err_buf) = (vec![0u8; READ_CHUNK], vec![0u8; READ_CHUNK]);
    let (mut out_lines, mut err_lines) = (Splitter::new(Stream::Stdout), Splitter::new(Stream::Stderr));

    let timeout = Duration::from_secs(action.timeout_secs);
    let deadline = Instant::now() + timeout;
    let mut stop = options.stop.clone();
    let mut exited = false;
    // Why the run was told to end: the timeout, or the server stopping.
    let mut ended_by: Option<EndedBy> = None;
    let mut kill_at: Option<Instant> = None;
    let mut give_up_at: Option<Instant> = None;
    loop {
        if exited && stdout.is_none() && stderr.is_none() {
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
            () = processes.leader_exited(), if !exited => {
                exited = true;
                // The run ends with its program: what it left running dies now (when it was told to end,
                // the rest keeps its grace until the SIGKILL).
                if ended_by.is_none() {
                    processes.kill_all();
                }
                if give_up_at.is_none() {
                    give_up_at = Some(Instant::now() + DRAIN_BOUND);
                }
                None
            },
            _ = sleep_until(deadline), if ended_by.is_none() && !exited => Some(EndedBy::Timeout),
            _ = stopped(&mut stop), if ended_by.is_none() && !exited => Some(EndedBy::Stop),
            _ = sleep_opt(kill_at), if kill_at.is_some() => {
                processes.kill_all();
                kill_at = None;
                None
            },
            _ = sleep_opt(give_up_at), if give_up_at.is_some() => break,
        };
        if let Some(why) = end {
            ended_by = Some(why);
            processes.signal(libc::SIGTERM);
            kill_at = Some(Instant::now() + KILL_GRACE);
            give_up_at = Some(Instant::now() + KILL_GRACE + DRAIN_BOUND);
        }
    }
    // Everything of the run dies before its leader is reaped (see crate::contain).
    processes.kill_all();
    let status = tokio::time::timeout(DRAIN_BOUND, child.wait()).await.ok();
    processes.leader_reaped();
    processes.finish().await;
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

/// How the child looks at the program before `exec` (see [`crate::child`]): a path as it is, a name in
/// each directory of the task's own `PATH` (as `execvp` searches it; an empty entry is the working
/// directory). `None` when the program holds a NUL character.
fn program_check(action: &CommandAction, cmd: &tokio::process::Command) -> Option<child::Program> {
    let program = action.program.as_bytes();
    if program.contains(&b'/') {
        return CString::new(program).ok().map(child::Program::Path);
    }
    let path = cmd
        .as_std()
        .get_envs()
        .find(|(name, _)| *name == "PATH")
        .and_then(|(_, value)| value.map(|v| v.as_bytes().to_vec()))
        .unwrap_or_default();
    let candidates = path
        .split(|&b| b == b':')
        .map(|dir| {
            let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
            CString::new([dir, b"/", program].concat()).ok()
        })
        .collect::<Option<Vec<CString>>>()?;
    Some(child::Program::Search(candidates))
}

/// Why the program could not start, in the words of the step that failed. Everything here was seen by
/// the child as the task user (the server looks at no path of the task's with its own rights), so a
/// path the task user cannot reach reads the same whether it exists or not.
fn spawn_error(action: &CommandAction, sandbox: &Sandbox, dir: &Path, e: &io::Error) -> String {
    let program = action.program.as_str();
    let user = sandbox.user();
    let reason = |errno: i32| match errno {
        libc::EACCES => "permission denied".to_string(),
        libc::ENOENT => "it does not exist".to_string(),
        libc::ENOTDIR => "it is not a directory".to_string(),
        _ => io::Error::from_raw_os_error(errno).to_string(),
    };
    let named = action.working_dir.is_some();
    match Step::of(e) {
        Some(Step::Dir(libc::ENOENT)) if named => {
            return format!("working directory '{}' does not exist", dir.display());
        }
        Some(Step::Dir(libc::ENOTDIR)) if named => {
            return format!("working directory '{}' is not a directory", dir.display());
        }
        Some(Step::Dir(errno)) => {
            return format!(
                "working directory '{}' cannot be used by task user {} (uid {}): {}",
                dir.display(),
                user.name,
                user.uid,
                reason(errno)
            );
        }
        Some(Step::User(errno)) => {
            return format!("could not switch to task user {} (uid {}): {}", user.name, user.uid, reason(errno));
        }
        Some(Step::Privileges(errno)) => {
            return format!("could not drop the task's capabilities and privileges: {}", reason(errno));
        }
        Some(Step::Limits(errno)) => return format!("could not set the task's limits: {}", reason(errno)),
        Some(Step::Cgroup(errno)) => return format!("could not enter the run's control group: {}", reason(errno)),
        Some(Step::Parent) => return "the server stopped while the program started".to_string(),
        Some(Step::Program(libc::EISDIR)) => return format!("program '{program}' is a directory"),
        Some(Step::Program(_)) => return format!("program '{program}' not found (looked in PATH)"),
        None => {}
    }
    match e.kind() {
        io::ErrorKind::NotFound if program.contains('/') => format!("program '{program}' not found"),
        io::ErrorKind::NotFound => format!("program '{program}' not found (looked in PATH)"),
        io::ErrorKind::PermissionDenied => format!("program '{program}' is not executable (permission denied)"),
        _ if e.raw_os_error() == Some(libc::EAGAIN) && sandbox.switch_to().is_some() => format!(
            "could not start program '{program}': task user {} already has {} processes, its limit \
             (--task-max-processes)",
            user.name,
            sandbox.limits().max_processes
        ),
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
