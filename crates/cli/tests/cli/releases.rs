//! Application releases through the CLI: proposals, dependencies, conflicts, inherited milestones,
//! work item imports, development approval, and sending one back.

use serde_json::Value;

use crate::common::*;

const JIRA: &str = "Issue key,Summary,Issue Type,Status,Sprint,Sprint\n\
PAY-1,Wallet checkout,Epic,In Progress,S1,S2\n\
PAY-2,\"Card form, 3DS\",Story,Done,S1,\n\
PAY-3,Rounding bug,Bug,Closed,,\n";

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn product_owners_and_a_manager_take_two_releases_to_verification_and_one_back() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let rita = create_user(&s, "rita", "release_manager");
    let paula = create_user(&s, "paula", "product_owner");
    let dave = create_user(&s, "dave", "developer");
    create_user(&s, "eve", "product_owner");
    let (r, p, d) = (Some(rita.as_str()), Some(paula.as_str()), Some(dave.as_str()));

    ry(&s, p, &["app", "create", "PAY", "--name", "Payments"]).ok();
    ry(&s, p, &["app", "create", "WEB", "--name", "Web shop"]).ok();
    let rt = create_train(&s, &rita, "2027.1");
    ry(&s, r, &["train", "policy", &rt, "executive", "--level", "eve"]).ok();
    ry(&s, r, &["train", "policy", &rt, "development", "--level", "dave"]).ok();
    ry(&s, r, &["milestone", "add", &rt, "--title", "Code complete", "--due", "2027-02-01", "--inherit"]).ok();

    // The product owner proposes two releases; the manager accepts them.
    let create = |title: &str, app: &str, start: &str, end: &str| {
        ry(
            &s,
            p,
            &[
                "release", "create", "--title", title, "--app", app, "--train", &rt, "--start", start, "--end", end,
                "--output", "json",
            ],
        )
        .json()
    };
    ry(
        &s,
        p,
        &[
            "release",
            "create",
            "--title",
            "early",
            "--app",
            "PAY",
            "--train",
            &rt,
            "--start",
            "2026-12-01",
            "--end",
            "2027-01-20",
        ],
    )
    .refused("outside train");
    let pay = create("PAY 2027.1", "PAY", "2027-01-05", "2027-02-05");
    assert_eq!(pay["membership"]["state"], "proposed");
    let web = create("WEB 2027.1", "WEB", "2027-01-20", "2027-02-10");
    let (pay, web) = (id_of(&pay), id_of(&web));
    ry(&s, p, &["release", "accept", &pay]).refused("forbidden");
    for id in [&pay, &web] {
        let out = ry(&s, r, &["release", "accept", id]).ok();
        assert!(out.contains(&format!("accepted {rt}")), "{out}");
    }
    let list = ry(&s, r, &["release", "list", "--train", &rt]).ok();
    assert!(list.contains(&pay) && list.contains(&web), "{list}");

    // One depends on the other; the cycle is refused and named; the conflict is listed.
    ry(&s, p, &["release", "depend", &web, "--on", &pay]).ok();
    let err = ry(&s, p, &["release", "depend", &pay, "--on", &web]).refused("dependency_cycle");
    assert!(err.contains(&format!("{pay} → {web} → {pay}")), "{err}");
    let out = ry(&s, r, &["train", "conflicts", &rt]).ok();
    assert!(
        out.contains(&format!("{web} 'WEB 2027.1'")) && out.contains("2027-01-20") && out.contains("2027-02-05"),
        "{out}"
    );
    let out = ry(&s, r, &["train", "order", &rt]).ok();
    assert!(out.find(&pay).unwrap() < out.find(&web).unwrap(), "{out}");

    // Construction: the inherited milestone appears on both releases.
    ry(&s, p, &["release", "begin-work", &pay]).refused("train_not_in_construction");
    ry(&s, r, &["train", "submit", &rt]).ok();
    ry(&s, r, &["train", "start-construction", &rt]).ok();
    for id in [&pay, &web] {
        let out = ry(&s, p, &["release", "show", id]).ok();
        assert!(out.contains("Code complete") && out.contains("from train"), "{out}");
    }

    let out = ry(&s, r, &["train", "timeline", &rt]).ok();
    assert!(out.contains("construction") && out.contains("scoping gate") && out.contains(&pay), "{out}");

    // Work items from a Jira export.
    let csv = s.dir.path().join("jira.csv");
    std::fs::write(&csv, JIRA).unwrap();
    let out = ry(&s, p, &["work-item", "import", &pay, "--file", csv.to_str().unwrap()]).ok();
    assert!(out.contains("3 created"), "{out}");
    let out = ry(&s, p, &["work-item", "import", &pay, "--file", csv.to_str().unwrap()]).ok();
    assert!(out.contains("0 created, 0 updated, 3 unchanged"), "{out}");
    let out = ry(&s, p, &["work-item", "list", &pay]).ok();
    assert!(out.contains("PAY-2") && out.contains("development_task") && out.contains("done"), "{out}");
    let bad = s.dir.path().join("bad.csv");
    std::fs::write(&bad, "Issue key,Summary,Issue Type\nPAY-9,x,Story\nPAY-10,y,Spike\n").unwrap();
    ry(&s, p, &["work-item", "import", &pay, "--file", bad.to_str().unwrap()]).refused("line 3");

    // Development approval of both releases by the listed approver; the train moves to verification.
    ry(&s, r, &["train", "start-verification", &rt]).refused("release_not_development_approved");
    for id in [&pay, &web] {
        ry(&s, p, &["release", "begin-work", id]).ok();
        let out = ry(&s, p, &["release", "request-development-approval", id, "--output", "json"]).json();
        let ap = out["development_approval"]["id"].as_str().unwrap().to_string();
        ry(&s, p, &["approval", "approve", &ap]).refused("own_request");
        ry(&s, d, &["approval", "approve", &ap]).ok();
        assert_eq!(field(&ry(&s, p, &["release", "show", id]).ok(), "state"), "verification");
    }
    assert_eq!(field(&ry(&s, r, &["train", "start-verification", &rt]).ok(), "state"), "verification");
    // R9: neither release has a turnover validated through its path yet.
    ry(&s, r, &["train", "request-executive-approval", &rt]).refused("release_not_verified");
    ry(&s, r, &["train", "policy", &rt, "gate", "--level", "eve"]).ok();
    ry(&s, r, &["gate", "require-approval", &rt, "verification"]).ok();
    ry(&s, r, &["gate", "request-approval", &rt, "verification"]).ok();

    // Send one back: it and the train return to construction, the gate approval is cancelled, one commit.
    ry(&s, p, &["release", "send-back", &web]).refused("--reason");
    let out = ry(&s, p, &["release", "send-back", &web, "--reason", "checkout fails in staging"]).ok();
    assert_eq!(field(&out, "state"), "construction");
    assert_eq!(field(&ry(&s, r, &["train", "show", &rt]).ok(), "state"), "construction");
    let pending = ry(&s, r, &["approval", "list", "--train", &rt, "--kind", "gate", "--output", "json"]).json();
    assert_eq!(pending["items"][0]["state"], "cancelled");
    let events = ry(&s, r, &["audit", "list", "--object", &web, "--limit", "500", "--output", "json"]).json();
    let sb = events["items"].as_array().unwrap().iter().find(|e| e["action"] == "send_back").unwrap().clone();
    let commit = sb["commit_seq"].as_i64().unwrap().to_string();
    let change = ry(&s, r, &["audit", "list", "--commit", &commit]).ok();
    for needle in [
        format!("application_release {web}"),
        "send_back".into(),
        "cancel".into(),
        format!("train {rt}"),
        "release_sent_back".into(),
    ] {
        assert!(change.contains(&needle), "the commit lacks {needle}:\n{change}");
    }
    assert!(ry(&s, r, &["audit", "verify"]).ok().contains("intact"));
}
