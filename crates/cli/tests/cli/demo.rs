//! `railyard serve --demo`: a fresh database filled with a demo company, every train state on show.

use std::time::{Duration, Instant};

use crate::common::*;

#[test]
fn serve_demo_fills_a_new_database_with_trains_in_every_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let (child, rx) = spawn_serve(&db, &["--demo"]);
    let deadline = Instant::now() + Duration::from_secs(180);
    let (mut url, mut people) = (None, Vec::new());
    loop {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("the demo loaded");
        if let Some(rest) = line.strip_prefix("Railyard is listening on ") {
            url = rest.split_whitespace().next().map(str::to_string);
        }
        if let Some((who, token)) =
            line.trim().split_once(' ').and_then(|(w, rest)| rest.rsplit_once(": ry_").map(|(_, t)| (w, t)))
        {
            people.push((who.to_string(), format!("ry_{token}")));
        }
        if line.starts_with("    vic ") {
            break;
        }
        assert!(!line.starts_with("error"), "{line}");
    }
    let url = url.expect("the server printed its address");
    let names: Vec<&str> = people.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["rita", "max", "erin", "eli", "paula", "pete", "dan", "dora", "carla", "vic"]);
    let vic = &people[9].1;
    let s = Server { child, url: url.clone(), admin_token: String::new(), db, dir };
    let run = |args: &[&str]| {
        let mut all = vec!["--server", url.as_str()];
        all.extend_from_slice(args);
        ry(&s, Some(vic), &all)
    };

    // Every train state, seen by a viewer through the CLI (over the API).
    let trains = run(&["train", "list", "--output", "json"]).json();
    let mut states: Vec<&str> =
        trains["items"].as_array().unwrap().iter().map(|t| t["state"].as_str().unwrap()).collect();
    states.sort_unstable();
    assert_eq!(
        states,
        [
            "awaiting_executive_approval",
            "awaiting_train_approval",
            "cancelled",
            "closed",
            "construction",
            "deployment",
            "draft",
            "scoping",
            "verification"
        ]
    );
    let table = run(&["train", "list"]).ok();
    assert!(table.contains("Summer release") && table.contains("closed"), "{table}");
    // Tonight's production deployments wait for their time; the winter train has a failed validation.
    let scheduled = run(&["deployment", "list", "--state", "scheduled", "--output", "json"]).json();
    let envs: Vec<&str> =
        scheduled["items"].as_array().unwrap().iter().map(|d| d["environment"].as_str().unwrap()).collect();
    assert_eq!(envs, ["prod-eu", "prod-us", "prod-eu"]);
    let rejected = run(&["deployment", "list", "--state", "rejected", "--output", "json"]).json();
    assert_eq!(rejected["items"][0]["validation"]["note"], "no results for accented queries (INC-311)");
    let apps = run(&["app", "list", "--output", "json"]).json();
    assert_eq!(apps["items"].as_array().unwrap().len(), 12);
    assert!(run(&["audit", "verify"]).ok().contains("audit chain intact"));

    // Demo data goes only into an empty database.
    let rita = &people[0].1;
    let r = ry(&s, Some(rita), &["--server", &url, "demo", "load"]);
    r.refused("already has trains");
}
