//! `railyard serve --demo`: a fresh database filled with a demo company, every train state on show, with
//! months of history (backdated by the demo loader only, each of its events marked demo data); and the
//! loader refusing a database that holds anything.

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

    // A company's history: the closed train started six months ago and closed last quarter, its
    // go-live ran at 21:00 on its production date, 120 days ago.
    let today = chrono::Utc::now().date_naive();
    let days_ago = |t: &serde_json::Value| (today - date_of(t)).num_days();
    let summer = trains["items"].as_array().unwrap().iter().find(|t| t["title"] == "2026.08 Summer release").unwrap();
    assert_eq!(days_ago(&summer["created_at"]), 187, "{summer}");
    assert_eq!(days_ago(&summer["updated_at"]), 118, "closed two days after going live: {summer}");
    let live = run(&["deployment", "list", "--env", "prod-eu", "--state", "validated", "--output", "json"]).json();
    let golive = &live["items"][0];
    assert_eq!(days_ago(&golive["started_at"]), 120, "{golive}");
    assert!(golive["started_at"].as_str().unwrap().contains("T21:00:"), "started at its scheduled time: {golive}");
    let spring = trains["items"].as_array().unwrap().iter().find(|t| t["title"] == "2027.04 Spring release").unwrap();
    assert_eq!(days_ago(&spring["updated_at"]), 1, "submitted yesterday: {spring}");

    // The audit log: every event the loader wrote is marked demo data, their times never go back, and
    // they spread over the 200 days before today.
    let events = audit_events(&s.db);
    assert!(events.len() > 500, "{} events", events.len());
    let first = events.first().unwrap();
    assert_eq!((today - first.1.date_naive()).num_days(), 200, "the history starts 200 days ago: {first:?}");
    for pair in events.windows(2) {
        assert!(pair[1].1 >= pair[0].1, "event {} is earlier than event {} before it", pair[1].0, pair[0].0);
    }
    let demo: Vec<_> = events.iter().filter(|e| e.2["demo"] == true).collect();
    let last_demo = demo.last().unwrap();
    assert!(events.iter().filter(|e| e.0 <= last_demo.0).all(|e| e.2["demo"] == true), "an unmarked event");
    let months: std::collections::BTreeSet<String> = demo.iter().map(|e| e.1.format("%Y-%m").to_string()).collect();
    assert!(months.len() >= 7, "events in only {months:?}");
    let shown = run(&["audit", "list", "--object", summer["id"].as_str().unwrap(), "--output", "json"]).json();
    assert_eq!(shown["items"][0]["data"]["demo"], true, "the audit log shows the marker: {shown}");
    assert!(run(&["audit", "verify"]).ok().contains("audit chain intact"));

    // Demo data goes only into a new, empty database: not into this one, which holds the demo, nor
    // into one with data of its own.
    let sqlite = format!("sqlite://{}", s.db.display());
    let r = ry(&s, None, &["demo", "load", "--database", &sqlite]);
    r.refused("it already holds the demo company");
    let other = start_server();
    let r = ry(&other, None, &["demo", "load", "--database", &format!("sqlite://{}", other.db.display())]);
    let why = r.refused("it has data of its own: 2 audit events since");
    assert!(why.contains("create user admin by system"), "{why}");
    assert_eq!(
        ry(&other, Some(&other.admin_token), &["--server", &other.url, "train", "list", "--output", "json"]).json()["items"],
        serde_json::json!([])
    );
    drop(other);
}

fn date_of(t: &serde_json::Value) -> chrono::NaiveDate {
    let text = t.as_str().unwrap_or_else(|| panic!("not a time: {t}"));
    chrono::DateTime::parse_from_rfc3339(text).unwrap().date_naive()
}

/// Every audit event of the database: sequence, time, data.
fn audit_events(db: &std::path::Path) -> Vec<(i64, chrono::DateTime<chrono::Utc>, serde_json::Value)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut q = conn.prepare("SELECT seq, at, data FROM events ORDER BY seq").unwrap();
    q.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
        .unwrap()
        .map(|r| {
            let (seq, at, data) = r.unwrap();
            let at = chrono::DateTime::parse_from_rfc3339(&at).unwrap().with_timezone(&chrono::Utc);
            (seq, at, serde_json::from_str(&data).unwrap())
        })
        .collect()
}

/// `railyard demo load --database postgres://...`: the same history in a new PostgreSQL database, its
/// chain intact when a server opens it; a second load is refused.
#[test]
fn demo_load_fills_a_new_postgresql_database_with_months_of_history() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = rt.block_on(railyard_store_postgres::testing::fresh_database());
    let dir = tempfile::tempdir().unwrap();
    let load = || {
        std::process::Command::new(BIN)
            .args(["demo", "load", "--database", &url])
            .env("RAILYARD_CONFIG", dir.path().join("config.json"))
            .env_remove("RAILYARD_DATABASE")
            .output()
            .unwrap()
    };
    let first = load();
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(first.status.success(), "{out}\n{}", String::from_utf8_lossy(&first.stderr));
    assert!(out.contains("Demo data loaded") && out.contains("    vic "), "{out}");
    let admin = out.split("(shown this once): ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().to_string();

    // Every event marked, times never going back, from 200 days ago.
    let events: Vec<(i64, String, serde_json::Value)> = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let rows = client.query("SELECT seq, at, data FROM events ORDER BY seq", &[]).await.unwrap();
        rows.iter()
            .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1), serde_json::from_str(r.get::<_, &str>(2)).unwrap()))
            .collect()
    });
    assert!(events.len() > 500, "{} events", events.len());
    assert!(events.iter().all(|e| e.2["demo"] == true), "an event without the demo marker");
    assert!(events.windows(2).all(|p| p[1].1 >= p[0].1), "an event earlier than the one before it");
    let start = date_of(&serde_json::json!(events[0].1));
    assert_eq!((chrono::Utc::now().date_naive() - start).num_days(), 200);

    let again = load();
    assert!(!again.status.success());
    let why = String::from_utf8_lossy(&again.stderr).to_string();
    assert!(why.contains("it already holds the demo company"), "{why}");

    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", &url]).env_remove("RAILYARD_ADMIN_TOKEN");
    let (child, base, _, rx) = serve_with(cmd);
    std::thread::spawn(move || for _ in rx {});
    let s = Server { child, url: base.clone(), admin_token: admin.clone(), db: dir.path().join("unused"), dir };
    let verify = ry(&s, Some(&admin), &["--server", &base, "audit", "verify"]).ok();
    assert!(verify.contains("audit chain intact"), "{verify}");
    let trains = ry(&s, Some(&admin), &["--server", &base, "train", "list", "--output", "json"]).json();
    assert_eq!(trains["items"].as_array().unwrap().len(), 9, "{trains}");
}
