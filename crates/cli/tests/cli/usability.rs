//! What a newcomer meets at the command line: errors that name the flags they typed (not the API's
//! JSON fields), dates and times refused with the format expected, `whoami` saying how to log in, and
//! shell completions.

use std::process::Command;

use crate::common::*;

/// The one line after `error: `; fails when anything else (a second error, a JSON dump) was printed.
#[track_caller]
fn one_error(run: Run) -> String {
    let stderr = run.refused("error: ");
    let line = stderr.trim_end().strip_prefix("error: ").unwrap_or_else(|| panic!("not one error:\n{stderr}"));
    assert!(!line.contains('\n'), "more than one line:\n{stderr}");
    assert!(!line.contains("body") && !line.contains("line 1 column"), "the API's terms leak:\n{stderr}");
    line.to_string()
}

#[test]
fn the_servers_input_errors_name_the_flags_typed() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "create", "--title", "2027.1"];
        args.extend_from_slice(extra);
        ry(&s, None, &args)
    };
    // Checked before anything is sent where the command can tell on its own.
    train(&[]).refused("the following required arguments were not provided:\n  --type <RELEASE_TYPE>");
    // Otherwise the server's answer, in the command's terms: the type missing from a --file body.
    let file = s.dir.path().join("train.json");
    std::fs::write(&file, r#"{"title": "2027.1", "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12", "verification_end": "2027-02-26", "production_date": "2027-03-06"}}"#).unwrap();
    let from_file = ry(&s, None, &["train", "create", "--file", file.to_str().unwrap()]);
    assert_eq!(one_error(from_file), "--type is required");
    assert_eq!(one_error(train(&["--type", "minor", "--start", "2027-01-04"])), "--scoping-end is required");
    let all_dates = [
        "--start",
        "2027-01-04",
        "--scoping-end",
        "2027-01-15",
        "--construction-end",
        "2027-02-12",
        "--verification-end",
        "2027-02-26",
        "--production-date",
        "2027-03-06",
    ];
    let mut bad_type = vec!["--type", "huge"];
    bad_type.extend(all_dates);
    let err = one_error(train(&bad_type));
    assert!(err.starts_with("--type: ") && err.contains("minor"), "{err}");

    let err = one_error(ry(&s, None, &["user", "create", "rita", "--role", "boss"]));
    assert!(err.starts_with("--role: ") && err.contains("release_manager"), "{err}");
    let err = one_error(ry(&s, None, &["user", "create", "Rita", "--role", "viewer"]));
    assert!(err.starts_with("NAME: 'Rita' is not a valid user name"), "{err}");
    let err = one_error(ry(&s, None, &["env", "create", "qa", "--kind", "lab"]));
    assert!(err.starts_with("--kind: ") && err.contains("staging"), "{err}");
    ry(&s, None, &["app", "create", "PAY", "--name", "Payments"]).ok();
    let rt = create_train(&s, &s.admin_token, "T");
    let release = ["release", "create", "--title", "PAY", "--app", "PAY", "--train", &rt, "--start", "2027-01-05"];
    let mut bad_criticality = release.to_vec();
    bad_criticality.extend(["--end", "2027-02-05", "--criticality", "extreme"]);
    let err = one_error(ry(&s, None, &bad_criticality));
    assert!(err.starts_with("--criticality: ") && err.contains("critical"), "{err}");
}

#[test]
fn a_bad_date_or_time_says_the_format_expected_before_anything_is_sent() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let cases: [(&[&str], &str); 4] = [
        (
            &["train", "create", "--title", "T", "--start", "4 Jan"],
            "invalid value '4 Jan' for '--start <YYYY-MM-DD>': '4 Jan' is not a date; use YYYY-MM-DD such as 2027-01-04",
        ),
        (
            &["turnover", "schedule", "TO-1", "--env", "prod", "--at", "3pm"],
            "invalid value '3pm' for '--at <TIME>': '3pm' is not a time; use RFC 3339 such as 2027-01-04T09:00:00Z, or from now: +30s, +10m, +2h, +1d",
        ),
        (
            &[
                "env",
                "add-event",
                "staging",
                "--kind",
                "maintenance",
                "--title",
                "x",
                "--start",
                "2027-01-04",
                "--end",
                "2027-01-05T02:00:00Z",
            ],
            "invalid value '2027-01-04' for '--start <TIME>': '2027-01-04' is not a time; use RFC 3339 such as 2027-01-04T09:00:00Z",
        ),
        (
            &["audit", "list", "--from", "yesterday"],
            "invalid value 'yesterday' for '--from <TIME>': 'yesterday' is not a time; use RFC 3339",
        ),
    ];
    for (args, expected) in cases {
        let err = ry(&s, None, args).refused(expected);
        assert!(err.starts_with("error: "), "{err}");
    }
    // Nothing reached the server: the audit log holds only the first start.
    let events = ry(&s, None, &["audit", "list", "--output", "json"]).json();
    assert!(events["items"].as_array().unwrap().iter().all(|e| e["object_kind"] != "train"), "{events}");
}

#[test]
fn whoami_without_a_login_says_how_to_log_in() {
    let s = start_server();
    // No token anywhere: nothing saved, none given.
    let err = one_error(ry(&s, None, &["whoami"]));
    assert!(err.contains("not logged in") && err.contains("railyard login --server URL --token TOKEN"), "{err}");
    // A token the server does not know.
    let bad = ry(&s, Some("ry_not-a-token"), &["--server", &s.url, "whoami"]);
    let err = one_error(bad);
    assert!(
        err.contains("does not accept the token") && err.contains("railyard login --server URL --token TOKEN"),
        "{err}"
    );
    // Logged in, it answers.
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let me = ry(&s, None, &["whoami"]).ok();
    assert!(me.contains("admin"), "{me}");
}

/// The binary on its own, for what needs no server.
fn railyard(args: &[&str]) -> Run {
    let out = Command::new(BIN).args(args).output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

#[test]
fn help_lists_global_options_apart_from_the_commands_own() {
    let help = railyard(&["train", "create", "--help"]).ok();
    let (own, global) = help.split_once("Global options:").unwrap_or_else(|| panic!("{help}"));
    let scoping = own.lines().find(|l| l.contains("--scoping-end <YYYY-MM-DD>")).unwrap_or_else(|| panic!("{help}"));
    assert!(scoping.ends_with("The day scoping ends"), "{help}");
    assert!(!own.contains("--token") && global.contains("--token") && global.contains("--output"), "{help}");
}

#[test]
fn shell_completions_are_printed_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    let bash = railyard(&["completions", "bash"]).ok();
    assert!(bash.contains("complete -F") && bash.contains("issue-token") && bash.contains("--scoping-end"), "{bash}");
    let script = dir.path().join("railyard.bash");
    std::fs::write(&script, &bash).unwrap();
    let check = Command::new("bash").arg("-n").arg(&script).output().unwrap();
    assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
    // Sourced, it completes `railyard tr` to `train`.
    let probe = format!(
        "source {}; COMP_WORDS=(railyard tr); COMP_CWORD=1; COMP_LINE='railyard tr'; COMP_POINT=11; _railyard railyard tr railyard; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(
        words.lines().any(|w| w == "train"),
        "completions of 'railyard tr': {words:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = railyard(&["completions", shell]).ok();
        assert!(script.contains("railyard") && script.contains("scoping-end"), "{shell}: {script}");
    }
    railyard(&["completions", "tcsh"]).refused("invalid value 'tcsh'");
}
