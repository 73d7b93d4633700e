//! `railyard admin issue-token`: a lost admin token recovered with local access to the database, while
//! the server runs on it (SQLite in WAL mode, PostgreSQL), recorded in the audit log as done locally.

use std::process::Command;

use serde_json::Value;

use crate::audit::start_server_on_postgres;
use crate::common::*;

/// `railyard admin issue-token --database URL [more]`, run as this test's OS user.
fn issue(database: &str, more: &[&str]) -> Run {
    run(Command::new(BIN).args(["admin", "issue-token", "--database", database]).args(more))
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.env_remove("RAILYARD_DATABASE").env_remove("RAILYARD_TOKEN").output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// The secret on its own line of what `issue-token` printed.
fn secret(printed: &str) -> String {
    printed
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("ry_"))
        .unwrap_or_else(|| panic!("no token in:\n{printed}"))
        .into()
}

fn os_user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn events(s: &Server, token: &str, kind: &str) -> Vec<Value> {
    let args = ["--server", &s.url, "audit", "list", "--object-kind", kind, "--limit", "500", "--output", "json"];
    ry(s, Some(token), &args).json()["items"].as_array().unwrap().clone()
}

/// Issues a token for `admin` on `database` while `s` runs on it: the running server accepts it, the
/// bootstrap token is retired in the same commit, the audit log names the local user, and a user who is
/// not an admin or does not exist gets nothing.
fn recovers_while_the_server_runs(s: &Server, database: &str) {
    let bootstrap = s.admin_token.clone();
    ry(s, None, &["login", "--server", &s.url, "--token", &bootstrap]).ok();
    create_user(s, "dan", "developer");

    let printed = issue(database, &[]).ok();
    assert!(printed.contains("Issued token TK-") && printed.contains(" for admin,"), "{printed}");
    let actor = format!("local:{}", os_user());
    assert!(printed.contains(&format!("issued by {actor}")), "{printed}");
    let token = secret(&printed);

    let me = ry(s, Some(&token), &["--server", &s.url, "whoami", "--output", "json"]).json();
    assert_eq!(me["name"], "admin", "{me}");
    // An admin's own token retires the bootstrap token (the one rule of the users module).
    ry(s, Some(&bootstrap), &["--server", &s.url, "whoami"]).refused("does not accept the token");

    let tokens = events(s, &token, "token");
    let created =
        tokens.iter().find(|e| e["action"] == "create" && e["actor"] == actor.as_str()).expect("the create event");
    assert_eq!(created["data"]["label"], "local recovery", "{created}");
    assert_eq!(created["data"]["recovery"], "local", "{created}");
    let revoked = tokens.iter().find(|e| e["action"] == "revoke").expect("the bootstrap token's revoke event");
    assert_eq!(revoked["commit_seq"], created["commit_seq"], "retired in the same commit: {revoked}");
    assert_eq!(revoked["data"]["reason"], "bootstrap_replaced", "{revoked}");
    // The server goes on after the change it did not make: its next token gets the next id, the chain
    // goes on from the recovery's events and verifies.
    let args = ["--server", &s.url, "token", "create", "--user", "dan", "--label", "after", "--output", "json"];
    let after = ry(s, Some(&token), &args).json();
    let id = |t: &str| t.trim_start_matches("TK-").parse::<u32>().unwrap();
    let recovered = created["object_id"].as_str().unwrap();
    assert_eq!(id(after["id"].as_str().unwrap()), id(recovered) + 1, "{after}");
    ry(s, Some(&token), &["--server", &s.url, "audit", "verify"]).ok();

    let before = events(s, &token, "token").len();
    let refused = issue(database, &["--user", "dan"]).refused("dan is not an admin (roles: developer)");
    assert!(refused.contains("[not_admin]") && !refused.contains("Issued"), "{refused}");
    issue(database, &["--user", "ghost"]).refused("there is no user 'ghost'");
    assert_eq!(events(s, &token, "token").len(), before, "a refusal issues nothing");
}

#[test]
fn a_lost_admin_token_is_recovered_from_the_sqlite_file_while_the_server_runs() {
    let s = start_server();
    let database = format!("sqlite://{}", s.db.display());
    recovers_while_the_server_runs(&s, &database);

    // Only a database that exists, and only for who may write it.
    let missing = s.dir.path().join("nothing-here.db");
    issue(&format!("sqlite://{}", missing.display()), &[]).refused("there is no database at");
    assert!(!missing.exists(), "no database is created");
    let unwritable = if unsafe { libc::geteuid() } == 0 {
        // The database is its owner's only (0600): another OS user cannot write it.
        use std::os::unix::process::CommandExt as _;
        run(Command::new(BIN).args(["admin", "issue-token", "--database", &database]).uid(65534).gid(65534))
    } else {
        let copy = s.dir.path().join("read-only.db");
        std::fs::copy(&s.db, &copy).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o400)).unwrap();
        issue(&format!("sqlite://{}", copy.display()), &[])
    };
    let err = unwritable.refused("issuing a token needs write access to the database");
    assert!(!err.contains("Issued"), "{err}");
}

#[test]
fn a_lost_admin_token_is_recovered_from_postgresql_while_the_server_runs() {
    let (s, url) = start_server_on_postgres();
    recovers_while_the_server_runs(&s, &url);
    issue("postgres://postgres@127.0.0.1:1/nothing", &[]).refused("cannot open the PostgreSQL database");
}
