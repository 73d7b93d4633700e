//! What a task can hold and learn: no capability, no way back to root through a set-user-ID program,
//! limits on its processes and core dumps, and nothing learnt from the server's rights about paths the
//! task user cannot reach (issue 12 review, findings 1, 9 and 15).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use railyard_runner::{
    Action, Limits, RunContext, RunOptions, RunStatus, Sandbox, Stream, TaskLimits, VecSink, run_with,
};

use super::{cmd, run_cmd, sh, shared_dir};

fn root() -> bool {
    // SAFETY: geteuid only reads this process's credentials.
    unsafe { libc::geteuid() == 0 }
}

/// `Name: value` lines of a task's output.
fn fields(lines: &[&str]) -> BTreeMap<String, String> {
    lines
        .iter()
        .filter_map(|l| l.split_once(':').or_else(|| l.split_once('=')))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[tokio::test]
async fn a_task_holds_no_capability_and_cannot_gain_root_through_a_set_user_id_program() {
    // A copy of `id` that runs as root whoever starts it: what a task finds on many hosts (su, sudo,
    // mount, passwd...). Only root can make one.
    if !root() {
        return;
    }
    let dir = shared_dir();
    let suid = dir.path().join("id-as-root");
    std::fs::copy("/usr/bin/id", &suid).expect("copy id");
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).expect("set-user-ID");
    let script =
        format!("grep -E '^(Cap|NoNewPrivs)' /proc/self/status; echo \"euid-through-it=$('{}' -u)\"", suid.display());
    let (outcome, sink) = run_cmd(sh(&script)).await;
    assert!(outcome.succeeded(), "{outcome:?} {:?}", sink.lines);
    let out = fields(&sink.texts(Stream::Stdout));
    eprintln!("the task's credentials: {out:?}");
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"] {
        assert_eq!(out.get(set).map(String::as_str), Some("0000000000000000"), "{set}: {out:?}");
    }
    assert_eq!(out.get("NoNewPrivs").map(String::as_str), Some("1"), "{out:?}");
    assert_eq!(out.get("euid-through-it").map(String::as_str), Some("65534"), "a set-user-ID program made it root");
}

#[tokio::test]
async fn a_task_gets_a_process_limit_and_no_core_dumps() {
    let (outcome, sink) = run_cmd(sh("grep -E '^Max (processes|core file size)' /proc/self/limits")).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let out = sink.texts(Stream::Stdout);
    eprintln!("the task's limits: {out:?}");
    let limit = |name: &str| -> Vec<String> {
        let line = out.iter().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in {out:?}"));
        line[name.len()..].split_whitespace().take(2).map(str::to_string).collect()
    };
    assert_eq!(limit("Max core file size"), ["0", "0"], "a core dump could hold what the task read");
    if root() {
        // Tasks run as another user: that user's processes are capped (a fork bomb stops there).
        assert_eq!(limit("Max processes"), ["4096", "4096"]);
    }
}

#[tokio::test]
async fn a_fork_bomb_stops_at_the_task_users_process_limit() {
    if !root() {
        return; // the limit applies when tasks run as another user
    }
    let sandbox = Sandbox::new(None, None).expect("sandbox").with_limits(TaskLimits { max_processes: 100 });
    let options = RunOptions { sandbox: Arc::new(sandbox), ..RunOptions::new(Limits::default()) };
    let dir = shared_dir();
    let started = dir.path().join("started");
    let script =
        format!("for i in $(seq 1 300); do sleep 60 & echo $! >> {}; done; echo all-started", started.display());
    let mut sink = VecSink::new();
    let outcome = run_with(&Action::Command(sh(&script)), &RunContext::default(), &mut sink, &options).await;
    let count = std::fs::read_to_string(&started).unwrap_or_default().lines().count();
    eprintln!("{count} of 300 started; {outcome:?}; stderr {:?}", sink.texts(Stream::Stderr));
    assert!(!sink.texts(Stream::Stdout).contains(&"all-started"), "300 processes started");
    assert!(count < 100, "{count} processes started past a limit of 100 (all the task user's)");
    let stderr = sink.texts(Stream::Stderr).join("\n").to_lowercase();
    assert!(stderr.contains("fork"), "the shell said it could not fork: {stderr}");
}

/// A directory only root can enter, holding a directory, a file and nothing else.
fn root_only_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("present-dir")).expect("mkdir");
    std::fs::write(dir.path().join("present-file"), "secret").expect("write");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    dir
}

#[tokio::test]
async fn what_the_task_user_cannot_reach_reads_the_same_whether_it_exists_or_not() {
    if !root() {
        return; // the server and its tasks are one user: they see the same
    }
    let secret = root_only_dir();
    let user = Sandbox::for_this_process().user().clone();
    let at = |name: &str| secret.path().join(name).display().to_string();

    let mut messages = BTreeMap::new();
    for name in ["present-dir", "present-file", "missing"] {
        let mut c = cmd("true", &[]);
        c.working_dir = Some(at(name));
        let (outcome, _) = run_cmd(c).await;
        assert_eq!(outcome.status, RunStatus::CouldNotStart, "{outcome:?}");
        messages.insert(format!("working_dir {name}"), outcome.message.replace(&at(name), "<path>"));
        let (outcome, _) = run_cmd(cmd(&at(name), &[])).await;
        assert_eq!(outcome.status, RunStatus::CouldNotStart, "{outcome:?}");
        messages.insert(format!("program {name}"), outcome.message.replace(&at(name), "<path>"));
    }
    eprintln!("{messages:#?}");
    let dirs: Vec<&String> = messages.iter().filter(|(k, _)| k.starts_with("working_dir")).map(|(_, v)| v).collect();
    let programs: Vec<&String> = messages.iter().filter(|(k, _)| k.starts_with("program")).map(|(_, v)| v).collect();
    assert!(dirs.windows(2).all(|w| w[0] == w[1]), "the messages tell what exists: {dirs:?}");
    assert!(programs.windows(2).all(|w| w[0] == w[1]), "the messages tell what exists: {programs:?}");
    assert_eq!(
        *dirs[0],
        format!(
            "working directory '<path>' cannot be used by task user {} (uid {}): permission denied",
            user.name, user.uid
        )
    );
    assert_eq!(*programs[0], "program '<path>' is not executable (permission denied)");
}

#[test]
fn a_work_root_below_a_directory_others_could_change_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // Writable by everyone, not sticky: anyone could rename the work root and put another in its place.
    let open = dir.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let e = Sandbox::new(None, Some(open.join("work"))).expect_err("an ancestor open to all");
    eprintln!("{e}");
    assert!(e.to_string().contains(&format!("{} is writable by others", open.display())), "{e}");
    // Sticky, as /tmp is: others cannot rename what is not theirs.
    let sticky = dir.path().join("sticky");
    std::fs::create_dir(&sticky).expect("mkdir");
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    Sandbox::new(None, Some(sticky.join("work"))).expect("a sticky ancestor");
    if root() {
        // Owned by the task user: a task could swap the work root between its making and its use.
        let theirs = dir.path().join("theirs");
        std::fs::create_dir(&theirs).expect("mkdir");
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).expect("chown");
        let e = Sandbox::new(None, Some(theirs.join("work"))).expect_err("an ancestor of the task user's");
        eprintln!("{e}");
        assert!(e.to_string().contains(&format!("{} is owned by uid 65534", theirs.display())), "{e}");
    }
}
