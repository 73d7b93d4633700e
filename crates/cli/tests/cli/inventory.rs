//! `railyard inventory`: the grid and one cell's history, after deployments the engine really ran.

use crate::common::*;

#[test]
fn the_inventory_shows_the_versions_in_each_environment_and_a_cells_history() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let (erin, first) = turnover_with_task(&s, "echo installed");
    let e = Some(erin.as_str());
    let empty = ry(&s, e, &["inventory"]).ok();
    assert!(empty.lines().next().unwrap_or_default().starts_with("APPLICATION  TEST"), "{empty}");
    assert!(empty.lines().any(|l| l.starts_with("PAY") && l.trim_end().ends_with('-')), "nothing yet:\n{empty}");

    // Build 1 (no artifacts listed) lands, then build 2 (pay@2.0) of the same release.
    let de1 = ry(&s, e, &["deploy", &first, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    wait_deployment(&s, &s.url, &erin, &de1, "succeeded", |d| d["state"] == "succeeded");
    let release = ry(&s, e, &["turnover", "show", &first, "--output", "json"]).json()["releases"][0]
        .as_str()
        .unwrap()
        .to_string();
    let path =
        ry(&s, e, &["turnover", "show", &first, "--output", "json"]).json()["path_id"].as_str().unwrap().to_string();
    let dan = create_user(&s, "dana", "developer");
    let d = Some(dan.as_str());
    let args = [
        "turnover",
        "create",
        "--title",
        "build 2",
        "--release",
        &release,
        "--path",
        &path,
        "--artifact",
        "pay@2.0",
        "--output",
        "json",
    ];
    let second = ry(&s, d, &args).json()["id"].as_str().unwrap().to_string();
    ry(&s, d, &["task", "add", &second, "--title", "Deploy", "--sequence", "1", "--run", "/bin/sh", "-c", "true"]).ok();
    let de2 = ry(&s, e, &["deploy", &second, "--output", "json"]).json()["id"].as_str().unwrap().to_string();
    wait_deployment(&s, &s.url, &erin, &de2, "succeeded", |d| d["state"] == "succeeded");

    let grid = ry(&s, e, &["inventory"]).ok();
    let pay = grid.lines().find(|l| l.starts_with("PAY")).unwrap_or_else(|| panic!("no PAY row:\n{grid}"));
    assert!(pay.contains("pay@2.0") && pay.contains(&de2) && pay.contains("erin"), "{grid}");
    let json = ry(&s, e, &["inventory", "--app", "PAY", "--output", "json"]).json();
    assert_eq!(json["rows"][0]["cells"][0]["current"]["deployment"], de2.as_str());

    let cell = ry(&s, e, &["inventory", "show", "PAY", "test"]).ok();
    assert!(cell.contains("pay@2.0"), "{cell}");
    let rows: Vec<&str> = cell.lines().filter(|l| l.starts_with("DE-")).collect();
    assert_eq!(rows.len(), 2, "two deployments landed:\n{cell}");
    assert!(rows[0].starts_with(&de2) && rows[1].starts_with(&de1), "newest first:\n{cell}");
    assert!(rows[1].contains("(no artifacts)") && rows[1].contains("build 1"), "{cell}");

    ry(&s, e, &["inventory", "show", "PAY", "mars"]).refused("mars");
    ry(&s, e, &["inventory", "--app", "NOPE"]).refused("NOPE");
}
