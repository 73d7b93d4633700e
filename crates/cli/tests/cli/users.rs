//! `railyard user set-password`: the password comes from standard input, never from the command line.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::*;

fn set_password(s: &Server, token: &str, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RAILYARD_CONFIG", s.dir.path().join("config.json"))
        .env("RAILYARD_SERVER", &s.url)
        .env("RAILYARD_TOKEN", token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

#[test]
fn an_admin_sets_a_console_password_from_standard_input() {
    let s = start_server();
    let admin = s.admin_token.clone();
    ry(&s, None, &["login", "--server", &s.url, "--token", &admin]).ok();
    let rita = create_user(&s, "rita", "release_manager");

    let args = ["user", "set-password", "rita", "--password-stdin"];
    let out = set_password(&s, &admin, &args, "correct horse battery staple\n").ok();
    assert!(out.contains("Password of rita set"), "{out}");
    let user = ry(&s, Some(&admin), &["user", "show", "rita", "--output", "json"]).json();
    assert_eq!(user["has_password"], true, "{user}");

    set_password(&s, &admin, &args, "short\n").refused("12 characters");
    set_password(&s, &rita, &args, "correct horse battery staple\n").refused("may not");
    // Without the flag the command does not run: a password is never an argument.
    set_password(&s, &admin, &["user", "set-password", "rita"], "correct horse battery staple\n")
        .refused("--password-stdin");
}
