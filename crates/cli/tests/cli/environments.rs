//! Environments, calendars and deployment paths through the CLI.

use crate::common::*;

#[test]
fn an_engineer_sets_up_environments_a_maintenance_window_and_a_path() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let erin = create_user(&s, "erin", "release_engineer");
    let e = Some(erin.as_str());
    ry(&s, e, &["env", "create", "test", "--kind", "test"]).ok();
    ry(&s, e, &["env", "create", "staging", "--kind", "staging"]).ok();
    let out = ry(&s, e, &["env", "create", "prod-eu", "--kind", "production"]).ok();
    assert_eq!(field(&out, "locked"), "true");
    ry(
        &s,
        e,
        &[
            "env",
            "add-event",
            "staging",
            "--kind",
            "maintenance",
            "--title",
            "DB upgrade",
            "--start",
            "2030-01-04T22:00:00Z",
            "--end",
            "2030-01-05T02:00:00Z",
        ],
    )
    .ok();
    let err = ry(
        &s,
        e,
        &[
            "env",
            "add-event",
            "staging",
            "--kind",
            "maintenance",
            "--title",
            "patch",
            "--start",
            "2030-01-05T01:00:00Z",
            "--end",
            "2030-01-05T03:00:00Z",
        ],
    )
    .refused("maintenance_overlap");
    assert!(err.contains("DB upgrade"), "{err}");
    let cal =
        ry(&s, e, &["env", "calendar", "staging", "--from", "2030-01-01T00:00:00Z", "--to", "2030-02-01T00:00:00Z"])
            .ok();
    assert!(cal.contains("maintenance") && cal.contains("DB upgrade"), "{cal}");
    let out = ry(&s, e, &["env", "offline", "test"]).ok();
    assert_eq!(field(&out, "blocked"), "environment test is offline");
    ry(&s, e, &["env", "online", "test"]).ok();
    let out = ry(&s, e, &["env", "offline", "test", "--reason", "patching the hosts"]).ok();
    assert_eq!(field(&out, "blocked"), "environment test is offline: patching the hosts");
    ry(&s, e, &["env", "online", "test", "--reason", "patched"]).ok();
    ry(&s, e, &["path", "create", "standard", "--stage", "test", "--stage", "staging:freeze", "--stage", "perf:bogus"])
        .refused("unknown stage flag");
    let out =
        ry(&s, e, &["path", "create", "standard", "--stage", "test", "--stage", "staging:freeze", "--output", "json"])
            .json();
    let id = out["id"].as_str().unwrap().to_string();
    let out = ry(&s, e, &["path", "activate", &id]).ok();
    assert_eq!(field(&out, "state"), "active");
    assert!(field(&out, "stages").contains("test → staging (freezes tasks)"), "{out}");
    ry(&s, e, &["path", "update", &id, "--stage", "test"]).refused("not_draft");
    let list = ry(&s, e, &["env", "list"]).ok();
    assert!(list.contains("prod-eu") && list.contains("locked"), "{list}");
}
