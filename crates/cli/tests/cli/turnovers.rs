//! Turnovers and their tasks through the CLI.

use crate::common::*;

#[test]
fn a_developer_assembles_a_turnover_with_database_web_and_manual_tasks() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let rita = create_user(&s, "rita", "release_manager");
    let erin = create_user(&s, "erin", "release_engineer");
    let dan = create_user(&s, "dan", "developer");
    create_user(&s, "eve", "product_owner");
    let (r, e, d) = (Some(rita.as_str()), Some(erin.as_str()), Some(dan.as_str()));
    ry(&s, e, &["env", "create", "test", "--kind", "test"]).ok();
    ry(&s, e, &["env", "create", "staging", "--kind", "staging"]).ok();
    let p =
        ry(&s, e, &["path", "create", "standard", "--stage", "test", "--stage", "staging", "--output", "json"]).json();
    let path = p["id"].as_str().unwrap().to_string();
    ry(&s, e, &["path", "activate", &path]).ok();
    let rt = create_train(&s, &rita, "T");
    ry(&s, r, &["train", "policy", &rt, "executive", "--level", "eve"]).ok();
    ry(&s, r, &["app", "create", "PAY", "--name", "Payments"]).ok();
    let ar = ry(
        &s,
        r,
        &[
            "release",
            "create",
            "--title",
            "PAY 1",
            "--app",
            "PAY",
            "--train",
            &rt,
            "--start",
            "2027-01-05",
            "--end",
            "2027-02-05",
            "--output",
            "json",
        ],
    )
    .json();
    let ar = ar["id"].as_str().unwrap().to_string();
    ry(&s, d, &["turnover", "create", "--title", "build 42", "--release", &ar, "--path", &path])
        .refused("train_not_in_construction");
    ry(&s, r, &["train", "submit", &rt]).ok();
    ry(&s, r, &["train", "start-construction", &rt]).ok();
    ry(&s, r, &["release", "begin-work", &ar]).ok();
    let t = ry(
        &s,
        d,
        &[
            "turnover",
            "create",
            "--title",
            "build 42",
            "--release",
            &ar,
            "--path",
            &path,
            "--artifact",
            "pay-api@1.4.2",
            "--output",
            "json",
        ],
    )
    .json();
    let to = t["id"].as_str().unwrap().to_string();
    ry(
        &s,
        d,
        &[
            "task",
            "add",
            &to,
            "--title",
            "Migrate schema",
            "--sequence",
            "1",
            "--tier",
            "database",
            "--run",
            "/bin/sh",
            "-c",
            "echo migrated > out.txt",
        ],
    )
    .ok();
    ry(
        &s,
        d,
        &[
            "task",
            "add",
            &to,
            "--title",
            "Deploy web",
            "--sequence",
            "2",
            "--tier",
            "web",
            "--http",
            "POST",
            "http://127.0.0.1:9/deploy",
        ],
    )
    .ok();
    let out = ry(
        &s,
        d,
        &["task", "add", &to, "--title", "Sign-off", "--sequence", "3", "--owner", "rita", "--output", "json"],
    )
    .json();
    let sign_off = out["tasks"][2]["id"].as_str().unwrap().to_string();
    ry(&s, d, &["task", "add", &to, "--title", "bad", "--sequence", "1", "--run", ""])
        .refused("error: --run: must not be empty");
    ry(&s, d, &["task", "reorder", &to, &format!("{sign_off}=0")]).refused("sequence");
    let out = ry(&s, d, &["turnover", "show", &to]).ok();
    assert!(out.contains("pay-api@1.4.2") && out.contains("test → staging"), "{out}");
    assert!(out.contains("run: /bin/sh") && out.contains("http: POST") && out.contains("manual: rita"), "{out}");
    let rb = ry(&s, d, &["turnover", "save-as-runbook", &to, "--name", "standard deploy", "--output", "json"]).json();
    let rb = rb["id"].as_str().unwrap().to_string();
    ry(&s, d, &["runbook", "submit", &rb]).ok();
    ry(&s, d, &["runbook", "accept", &rb]).refused("own_runbook");
    let out = ry(&s, e, &["runbook", "accept", &rb]).ok();
    assert!(out.contains("accepted") && out.contains("Migrate schema"), "{out}");
    let t2 = ry(
        &s,
        d,
        &["turnover", "create", "--title", "build 43", "--release", &ar, "--path", &path, "--output", "json"],
    )
    .json();
    let to2 = t2["id"].as_str().unwrap().to_string();
    let out = ry(&s, d, &["task", "from-runbook", &to2, &rb]).ok();
    assert!(out.contains("Deploy web") && out.contains("manual: rita"), "{out}");
    let list = ry(&s, d, &["turnover", "list", "--release", &ar]).ok();
    assert!(list.contains(&to) && list.contains("draft"), "{list}");
}
