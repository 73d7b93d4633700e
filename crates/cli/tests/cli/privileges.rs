//! Issue 12 review, findings 1 and 14, on the real binary: a server that holds capabilities without
//! being root (systemd `User=` with `AmbientCapabilities=`) runs its tasks with none, and a work
//! directory someone else made first in the temp directory does not stop `serve`.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;

const TOKEN: &str = "privileges-admin-token-0123456789";
const NOBODY: u32 = 65534;
const DAEMON: u32 = 1;

fn root() -> bool {
    // SAFETY: geteuid only reads this process's credentials.
    unsafe { libc::geteuid() == 0 }
}

/// The capabilities' header and data for `capset` (linux/capability.h, version 3).
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

const CAP_CHOWN: u32 = 0;
const CAP_DAC_OVERRIDE: u32 = 1;
const CAP_FOWNER: u32 = 3;
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;

/// Makes `cmd` run as `uid` (its own group, no other) holding `caps` as ambient capabilities, as systemd
/// does for `User=` with `AmbientCapabilities=`: they stay across `exec`.
fn as_user_with_ambient_caps(cmd: &mut Command, uid: u32, caps: &'static [u32]) {
    // SAFETY: the closure runs in the forked child before exec and makes only system calls (prctl,
    // setgroups, setgid, setuid, capset) on data on its stack.
    unsafe {
        cmd.pre_exec(move || {
            let fail = || Err(std::io::Error::last_os_error());
            if libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0
                || libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(uid) != 0
                || libc::setuid(uid) != 0
            {
                return fail();
            }
            let mask = caps.iter().fold(0u32, |m, c| m | (1 << c));
            let header = CapHeader { version: 0x2008_0522, pid: 0 };
            let data = [CapData { effective: mask, permitted: mask, inheritable: mask }, CapData::default()];
            if libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) != 0 {
                return fail();
            }
            for &cap in caps {
                let raise = libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong;
                if libc::prctl(libc::PR_CAP_AMBIENT, raise, cap as libc::c_ulong, 0, 0) != 0 {
                    return fail();
                }
            }
            Ok(())
        });
    }
}

/// Deploys a turnover whose one task runs `script`; the deployment once settled, and the task's log.
fn deploy(s: &Server, script: &str) -> (serde_json::Value, String) {
    let (erin, to) = turnover_with_task(s, script);
    let id = ry(s, Some(&erin), &["deploy", &to, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    let d = wait_deployment(s, &s.url, &erin, &id, "settled", |d| d["state"] == "succeeded" || d["state"] == "failed");
    let log = ry(s, Some(&erin), &["deployment", "logs", &id, "R1"]).ok();
    (d, log)
}

/// `railyard serve` as `cmd` makes it, on a database in `dir`, logged in; and what it printed at start.
fn serve(mut cmd: Command, dir: tempfile::TempDir) -> (Server, Vec<String>) {
    let db = dir.path().join("railyard.db");
    cmd.arg("serve")
        .args(["--listen", "127.0.0.1:0", "--database", &format!("sqlite://{}", db.display())])
        .env("RAILYARD_ADMIN_TOKEN", TOKEN);
    let (child, url, mut printed, rx) = serve_with(cmd);
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
        printed.push(line);
    }
    std::thread::spawn(move || for _ in rx {});
    let s = Server { child, url, admin_token: TOKEN.into(), db, dir };
    ry(&s, None, &["login", "--server", &s.url, "--token", TOKEN]).ok();
    (s, printed)
}

#[test]
fn a_server_holding_capabilities_without_being_root_runs_its_tasks_with_none() {
    if !root() {
        return; // only root can hand out capabilities
    }
    let dir = tasks_dir();
    std::os::unix::fs::chown(dir.path(), Some(DAEMON), Some(DAEMON)).unwrap();
    // A copy of `id` that runs as root whoever starts it (su, sudo, mount and passwd are such programs).
    let suid = dir.path().join("id-as-root");
    std::fs::copy("/usr/bin/id", &suid).unwrap();
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.env("RAILYARD_TASK_USER", "nobody").env("RAILYARD_TASK_MAX_PROCESSES", "512");
    // What switching to the task user and handing it its own directory takes without root.
    as_user_with_ambient_caps(&mut cmd, DAEMON, &[CAP_SETUID, CAP_SETGID, CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER]);
    let (s, printed) = serve(cmd, dir);
    let script = format!(
        "id -u; grep -E '^(Cap|NoNewPrivs)' /proc/self/status; grep -E '^Max (processes|core)' /proc/self/limits; \
         echo \"euid-through-it=$('{}' -u)\"",
        suid.display()
    );
    let (d, log) = deploy(&s, &script);
    eprintln!("serve printed {printed:?}\nthe task's log:\n{log}");
    let field = |name: &str| {
        log.lines()
            .find_map(|l| l.split_once(&format!("{name}:")).or_else(|| l.split_once(&format!("{name}="))))
            .map(|(_, v)| v.trim().to_string())
    };
    assert_eq!(d["state"], "succeeded", "{d}");
    assert!(log.lines().any(|l| l.trim_end().ends_with(&NOBODY.to_string())), "the task ran as nobody: {log}");
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(field(set).as_deref(), Some("0000000000000000"), "{set} of the task: {log}");
    }
    assert_eq!(field("NoNewPrivs").as_deref(), Some("1"), "{log}");
    assert_eq!(field("euid-through-it").as_deref(), Some("65534"), "a set-user-ID program made the task root");
    let limit = |name: &str| {
        let line = log.lines().find_map(|l| l.split_once(name)).map(|(_, rest)| rest.to_string()).unwrap_or_default();
        line.split_whitespace().take(2).map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(limit("Max processes"), ["512", "512"], "{log}");
    assert_eq!(limit("Max core file size"), ["0", "0"], "{log}");
    assert!(printed.iter().any(|l| l.contains("user nobody may have at most 512 processes")), "{printed:?}");
}

#[test]
fn a_work_directory_someone_else_made_first_in_the_temp_directory_does_not_stop_serve() {
    if !root() {
        return; // handing the directory to another user needs root
    }
    let me = 0;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    // Another local user (or a task left over after the temp directory was cleaned) made it first.
    let squatted = tmp.path().join(format!("railyard-tasks-{me}"));
    std::fs::create_dir(&squatted).unwrap();
    std::fs::set_permissions(&squatted, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::os::unix::fs::chown(&squatted, Some(NOBODY), Some(NOBODY)).unwrap();

    let dir = tasks_dir();
    let mut cmd = Command::new(BIN);
    cmd.env("TMPDIR", tmp.path());
    let (s, printed) = serve(cmd, dir);
    let (d, log) = deploy(&s, "echo \"home=$HOME\"; pwd");
    eprintln!("serve printed {printed:?}\nthe task's log:\n{log}");
    let home = log.lines().find_map(|l| l.split("home=").nth(1)).unwrap().trim().to_string();
    assert_eq!(d["state"], "succeeded", "{d}");
    assert!(!Path::new(&home).starts_with(&squatted), "the task ran in the squatted directory: {home}");
    assert!(Path::new(&home).starts_with(tmp.path()), "{home}");
    assert_eq!(std::fs::read_dir(&squatted).unwrap().count(), 0, "the server used the squatted directory");
    assert!(
        printed.iter().any(|l| l.contains(&home[..home.rfind('/').unwrap()])),
        "serve names where tasks run: {printed:?}"
    );
}
