//! The `railyard` binary driven through its trains commands.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::*;

#[test]
fn a_release_team_runs_a_train_through_the_cli_alone() {
    let s = start_server();
    // login saves the server and token; later commands need neither flag nor variable.
    let out = ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    assert!(out.contains("as admin"), "{out}");
    assert!(ry(&s, None, &["whoami"]).ok().contains("admin"));

    let rita = create_user(&s, "rita", "release_manager");
    let alice = create_user(&s, "alice", "developer");
    let bob = create_user(&s, "bob", "release_engineer");
    let quinn = create_user(&s, "quinn", "release_engineer");
    let eve = create_user(&s, "eve", "product_owner");
    let viewer = create_user(&s, "val", "viewer");
    let r = Some(rita.as_str());

    // Dates out of order are refused, naming the field.
    ry(
        &s,
        r,
        &[
            "train",
            "create",
            "--title",
            "2027.1",
            "--type",
            "major",
            "--start",
            "2027-01-04",
            "--scoping-end",
            "2027-01-01",
            "--construction-end",
            "2027-02-12",
            "--verification-end",
            "2027-02-26",
            "--production-date",
            "2027-03-06",
        ],
    )
    .refused("error: --scoping-end: scoping_end 2027-01-01 is before start 2027-01-04");
    let out = ry(
        &s,
        r,
        &[
            "train",
            "create",
            "--title",
            "2027.1",
            "--type",
            "major",
            "--purpose",
            "Q1",
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
        ],
    )
    .ok();
    let id = field(&out, "id");
    assert_eq!(field(&out, "state"), "draft");
    ry(&s, Some(&viewer), &["train", "cancel", &id, "--reason", "x"]).refused("forbidden");

    // R4: no executive policy, no submit.
    ry(&s, r, &["train", "submit", &id]).refused("executive_policy_missing");
    ry(&s, r, &["train", "policy", &id, "train", "--level", "alice", "--level", "bob"]).ok();
    ry(&s, r, &["train", "policy", &id, "executive", "--level", "eve"]).ok();
    ry(&s, r, &["train", "policy", &id, "gate", "--level", "quinn"]).ok();
    ry(&s, r, &["train", "policy", &id, "train", "--level", "zed"]).refused("there is no user 'zed'");
    let out = ry(&s, r, &["train", "submit", &id]).ok();
    assert_eq!(field(&out, "state"), "awaiting_train_approval");

    // Two approvers at two levels; the requester cannot approve their own request.
    let list = ry(&s, r, &["approval", "list", "--train", &id, "--output", "json"]).json();
    let ap = list["items"][0]["id"].as_str().unwrap().to_string();
    ry(&s, r, &["approval", "approve", &ap]).refused("own_request");
    ry(&s, Some(&bob), &["approval", "approve", &ap]).refused("level_not_reached");
    let mine = ry(&s, Some(&alice), &["approval", "list", "--mine"]).ok();
    assert!(mine.contains(&ap), "{mine}");
    let out = ry(&s, Some(&alice), &["approval", "approve", &ap, "--comment", "scope ok"]).ok();
    assert_eq!(field(&out, "state"), "pending");
    let out = ry(&s, Some(&bob), &["approval", "approve", &ap]).ok();
    assert_eq!(field(&out, "state"), "approved");
    assert_eq!(field(&ry(&s, r, &["train", "show", &id]).ok(), "state"), "scoping");

    // Scoping gate: a criterion and a gate approval.
    let t = ry(
        &s,
        r,
        &["criterion", "add", &id, "scoping", "--title", "Scope signed off", "--owner", "alice", "--output", "json"],
    )
    .json();
    let ec = t["gates"]["scoping"]["criteria"][0]["id"].as_str().unwrap().to_string();
    ry(&s, r, &["gate", "require-approval", &id, "scoping"]).ok();
    let err = ry(&s, r, &["train", "start-construction", &id]).refused("criterion_open");
    assert!(err.contains(&ec) && err.contains("gate_approval_missing"), "{err}");
    ry(
        &s,
        Some(&alice),
        &["criterion", "meet", &id, &ec, "--note", "signed by the business", "--link", "https://wiki/scope"],
    )
    .ok();
    let t = ry(&s, r, &["gate", "request-approval", &id, "scoping", "--output", "json"]).json();
    let gap = t["gates"]["scoping"]["approval"]["id"].as_str().unwrap().to_string();
    ry(&s, r, &["train", "start-construction", &id]).refused("gate_approval_not_granted");
    ry(&s, Some(&quinn), &["approval", "approve", &gap]).ok();
    assert_eq!(field(&ry(&s, r, &["train", "start-construction", &id]).ok(), "state"), "construction");

    // Construction gate: waived.
    let t = ry(&s, r, &["criterion", "add", &id, "construction", "--title", "Code freeze", "--output", "json"]).json();
    let ec2 = t["gates"]["construction"]["criteria"][0]["id"].as_str().unwrap().to_string();
    ry(&s, r, &["train", "start-verification", &id]).refused("Code freeze");
    ry(&s, r, &["criterion", "waive", &id, &ec2, "--reason", "patch-only release"]).ok();
    assert_eq!(field(&ry(&s, r, &["train", "start-verification", &id]).ok(), "state"), "verification");

    // Verification gate: met; then executive approval, rejected once, then approved.
    let t = ry(
        &s,
        r,
        &[
            "criterion",
            "add",
            &id,
            "verification",
            "--title",
            "Load test passed",
            "--owner",
            "quinn",
            "--output",
            "json",
        ],
    )
    .json();
    let ec3 = t["gates"]["verification"]["criteria"][0]["id"].as_str().unwrap().to_string();
    ry(&s, r, &["train", "request-executive-approval", &id]).refused("Load test passed");
    ry(&s, Some(&alice), &["criterion", "meet", &id, &ec3, "--note", "mine now"]).refused("not_owner");
    ry(&s, Some(&quinn), &["criterion", "meet", &id, &ec3, "--note", "p99 180 ms"]).ok();
    ry(&s, r, &["train", "request-executive-approval", &id]).ok();
    let list = ry(&s, r, &["approval", "list", "--train", &id, "--kind", "executive", "--output", "json"]).json();
    let xap = list["items"][0]["id"].as_str().unwrap().to_string();
    ry(&s, Some(&eve), &["approval", "reject", &xap, "--comment", "rerun the load test"])
        .refused("error: --return-to: an executive rejection must say where the train goes back to");
    ry(
        &s,
        Some(&eve),
        &["approval", "reject", &xap, "--comment", "rerun the load test", "--return-to", "verification"],
    )
    .ok();
    assert_eq!(field(&ry(&s, r, &["train", "show", &id]).ok(), "state"), "verification");
    ry(&s, r, &["train", "request-executive-approval", &id]).ok();
    let list = ry(&s, Some(&eve), &["approval", "list", "--mine", "--output", "json"]).json();
    let xap2 = list["items"][0]["id"].as_str().unwrap().to_string();
    ry(&s, Some(&eve), &["approval", "approve", &xap2]).ok();
    assert_eq!(field(&ry(&s, r, &["train", "show", &id]).ok(), "state"), "deployment");

    // Copy to a new date, and cancel the copy.
    let out = ry(&s, r, &["train", "copy", &id, "--start", "2027-04-05", "--title", "2027.2"]).ok();
    let copy = field(&out, "id");
    assert_eq!(field(&out, "state"), "draft");
    assert!(out.contains("start 2027-04-05, scoping end 2027-04-16"), "{out}");
    ry(&s, r, &["train", "cancel", &copy]).refused("--reason");
    let out = ry(&s, r, &["train", "cancel", &copy, "--reason", "merged into 2027.1"]).ok();
    assert_eq!(field(&out, "state"), "cancelled");
    ry(&s, r, &["train", "submit", &copy]).refused("wrong_state");
    let list = ry(&s, r, &["train", "list", "--state", "deployment,cancelled"]).ok();
    assert!(list.contains(&id) && list.contains(&copy), "{list}");

    // The audit log verifies; after a direct edit of a past event it names the first broken one.
    let events = ry(&s, r, &["audit", "list", "--object", &id, "--limit", "500", "--output", "json"]).json();
    let submit = events["items"].as_array().unwrap().iter().find(|e| e["action"] == "submit").unwrap();
    assert_eq!(submit["actor"], "rita");
    let out = ry(&s, r, &["audit", "verify"]).ok();
    assert!(out.contains("audit chain intact"), "{out}");
    let seq = submit["seq"].as_i64().unwrap();
    tamper(&s.db, seq);
    let run = ry(&s, r, &["audit", "verify"]);
    assert!(!run.ok, "a broken chain must fail the command");
    assert!(run.stdout.contains(&format!("BROKEN at event {seq}")), "{}", run.stdout);
}

#[test]
fn client_errors_are_explained_and_exit_non_zero() {
    let s = start_server();
    ry(&s, Some("ry_wrong"), &["--server", &s.url, "train", "list"]).refused("not valid");
    ry(&s, Some(&s.admin_token), &["--server", "http://127.0.0.1:9", "train", "list"]).refused("cannot reach");
    ry(&s, Some(&s.admin_token), &["--server", &s.url, "train", "show", "RT-404"]).refused("does not exist");
    ry(&s, Some(&s.admin_token), &["--server", &s.url, "train", "policy", "RT-1", "deploy", "--level", "a"])
        .refused("unknown policy kind");
}

#[test]
fn the_admin_token_can_be_preset_and_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", db.to_str().unwrap()])
        .env("RAILYARD_ADMIN_TOKEN", "preset-token-0123456789")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let url = loop {
        let line = lines.next().unwrap().unwrap();
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix("Railyard is listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(!seen.join("\n").contains("preset-token"), "{seen:?}");
    let out = Command::new(BIN)
        .args(["--server", &url, "whoami"])
        .env("RAILYARD_TOKEN", "preset-token-0123456789")
        .env("RAILYARD_CONFIG", dir.path().join("c.json"))
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("admin"));
}
