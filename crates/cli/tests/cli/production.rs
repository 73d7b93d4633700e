//! Into production through the CLI: a train with three application releases (API depends on DB, WEB
//! on API) reaches executive approval; two production-ready turnovers (one spanning DB and API, with
//! tasks copied from their pre-production turnovers and ordered database first) are delivered, accepted,
//! scheduled two minutes ahead, start by themselves on time (WEB after DB+API), are verified, and the
//! train closes. An early start without override is refused; with the manager's override it runs and
//! the audit log holds the reason.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::common::*;

fn json(s: &Server, token: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    ry(s, Some(token), &all).json()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap().with_timezone(&Utc)
}

#[test]
fn a_train_goes_to_production_on_schedule_and_closes() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let rita = create_user(&s, "rita", "release_manager");
    let erin = create_user(&s, "erin", "release_engineer");
    let ed = create_user(&s, "ed", "release_engineer");
    let dan = create_user(&s, "dan", "developer");
    let dave = create_user(&s, "dave", "developer");
    let eve = create_user(&s, "eve", "product_owner");
    let (r, e, d) = (Some(rita.as_str()), Some(erin.as_str()), Some(dan.as_str()));
    let path = path_through(&s, &erin, &["test"]);
    for env in ["prod-eu", "prod-us"] {
        let v = json(&s, &erin, &["env", "create", env, "--kind", "production"]);
        assert_eq!(v["locked"], true);
    }
    let (rt, releases) = train_with_releases(&s, &rita, &["DB", "API", "WEB"]);
    ry(&s, r, &["train", "policy", &rt, "development", "--level", "dave"]).ok();
    ry(&s, r, &["release", "depend", &releases[1], "--on", &releases[0]]).ok();
    ry(&s, r, &["release", "depend", &releases[2], "--on", &releases[1]]).ok();

    // Each release: a turnover validated in test, then development approval.
    let dir = s.dir.path().display().to_string();
    let mut pre = Vec::new();
    for (ar, key, tier) in
        [(&releases[0], "db", "database"), (&releases[1], "api", "app"), (&releases[2], "web", "web")]
    {
        let to = id(&json(&s, &dan, &["turnover", "create", "--title", key, "--release", ar, "--path", &path]));
        let script = format!("echo {key} >> {dir}/log-$RAILYARD_ENVIRONMENT.txt");
        let title = format!("{key} install");
        let args = ["task", "add", &to, "--title", &title, "--sequence", "1", "--tier", tier, "--run", "/bin/sh", "-c"];
        let mut args = args.to_vec();
        args.push(&script);
        ry(&s, d, &args).ok();
        let dep = id(&json(&s, &erin, &["deploy", &to]));
        ry(&s, e, &["deployment", "watch", &dep, "--timeout", "60"]).ok();
        ry(&s, e, &["deployment", "validate", &dep, "--pass"]).ok();
        let rel = json(&s, &rita, &["release", "request-development-approval", ar]);
        let ap = rel["development_approval"]["id"].as_str().unwrap().to_string();
        ry(&s, Some(&dave), &["approval", "approve", &ap]).ok();
        pre.push(to);
    }
    ry(&s, r, &["train", "start-verification", &rt]).ok();
    let t = json(&s, &rita, &["train", "request-executive-approval", &rt]);
    let ap = t["executive_approval"]["id"].as_str().unwrap().to_string();
    ry(&s, Some(&eve), &["approval", "approve", &ap]).ok();
    assert_eq!(json(&s, &rita, &["train", "show", &rt])["state"], "deployment");

    // DB+API from DB's turnover, API's tasks copied in, ordered database first; WEB from its own.
    let p1 = id(&json(
        &s,
        &erin,
        &[
            "turnover",
            "create-production",
            "--title",
            "DB+API",
            "--release",
            &releases[0],
            "--release",
            &releases[1],
            "--env",
            "prod-eu",
            "--env",
            "prod-us",
            "--from",
            &pre[0],
        ],
    ));
    ry(&s, e, &["task", "copy", &p1, "--from", &pre[1]]).ok();
    let proposal = ry(&s, e, &["turnover", "propose-order", &p1]).ok();
    let first = proposal.lines().next().unwrap_or_default();
    assert!(first.starts_with("sequence 1: database tasks of") && first.contains(&releases[0]), "{proposal}");
    let t = json(&s, &erin, &["turnover", "propose-order", &p1, "--apply"]);
    let order: Vec<(&str, u64)> = t["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["title"].as_str().unwrap(), k["sequence"].as_u64().unwrap()))
        .collect();
    assert_eq!(order, [("db install", 1), ("api install", 2)]);
    let p2 = id(&json(
        &s,
        &erin,
        &[
            "turnover",
            "create-production",
            "--title",
            "WEB",
            "--release",
            &releases[2],
            "--env",
            "prod-eu",
            "--from",
            &pre[2],
        ],
    ));
    for p in [&p1, &p2] {
        ry(&s, e, &["turnover", "deliver", p]).ok();
        ry(&s, e, &["turnover", "accept", p]).refused("own_turnover");
        assert_eq!(json(&s, &ed, &["turnover", "accept", p])["state"], "accepted");
    }

    // Both into prod-eu two minutes ahead; the second overlaps the first (a reported conflict).
    let at = (Utc::now() + chrono::Duration::seconds(120)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let d1 = json(&s, &erin, &["turnover", "schedule", &p1, "--env", "prod-eu", "--at", &at]);
    let d2 = json(&s, &erin, &["turnover", "schedule", &p2, "--env", "prod-eu", "--at", &at]);
    assert_eq!(d2["conflicts"].as_array().map(Vec::len), Some(1), "{d2}");
    let (d1, d2) = (id(&d1), id(&d2));

    // Meanwhile prod-us, an hour ahead: started early only with the manager's override and reason.
    let later = (Utc::now() + chrono::Duration::seconds(3600)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let d3 = id(&json(&s, &erin, &["turnover", "schedule", &p1, "--env", "prod-us", "--at", &later]));
    ry(&s, r, &["deployment", "start", &d3]).refused("before_scheduled_time");
    ry(&s, r, &["deployment", "start", &d3, "--override", "--reason", "hotfix window moved"]).ok();
    ry(&s, e, &["deployment", "watch", &d3, "--timeout", "60"]).ok();
    let audit = json(&s, &rita, &["audit", "list", "--object", &d3]);
    let early = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "start_early").cloned();
    let early = early.unwrap_or_else(|| panic!("no start_early in {audit}"));
    assert_eq!(
        (early["actor"].as_str(), early["data"]["reason"].as_str()),
        (Some("rita"), Some("hotfix window moved"))
    );
    ry(&s, e, &["turnover", "verify", &p1, "--env", "prod-us", "--pass"]).ok();
    let cal = ry(&s, r, &["env", "calendar", "prod-eu"]).ok();
    assert!(cal.contains(&d1) && cal.contains(&d2) && cal.contains("conflict"), "{cal}");

    // They start by themselves at their time, WEB after DB+API.
    ry(&s, e, &["deployment", "watch", &d1, "--timeout", "200"]).ok();
    ry(&s, e, &["deployment", "watch", &d2, "--timeout", "60"]).ok();
    let (v1, v2) = (json(&s, &erin, &["deployment", "show", &d1]), json(&s, &erin, &["deployment", "show", &d2]));
    assert!(time(&v1["started_at"]) >= time(&v1["scheduled_for"]), "{v1}");
    assert!(time(&v2["started_at"]) >= time(&v1["finished_at"]), "{v1} {v2}");
    let log = std::fs::read_to_string(s.dir.path().join("log-prod-eu.txt")).unwrap();
    assert_eq!(log, "db\napi\nweb\n");

    // Closing waits for verification (R14); verified, the train closes.
    ry(&s, r, &["train", "close", &rt]).refused("turnover_open");
    ry(&s, e, &["turnover", "verify", &p1, "--pass"]).ok();
    ry(&s, e, &["turnover", "verify", &p2, "--pass"]).ok();
    for ar in &releases {
        assert_eq!(json(&s, &rita, &["release", "show", ar])["state"], "released");
    }
    assert_eq!(json(&s, &erin, &["train", "close", &rt])["state"], "closed");
    assert_eq!(json(&s, &rita, &["turnover", "show", &p1])["state"], "closed");
}
