//! The inventory in the terminal: a grid of applications × environments, and one cell's history.

use serde_json::Value;

use super::{kv, s, table};

fn arr(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// `2026-12-03 09:14` from an RFC 3339 time (UTC).
fn minute(v: &Value) -> String {
    match v.as_str() {
        Some(t) if t.len() >= 16 => format!("{} {} UTC", &t[..10], &t[11..16]),
        _ => "-".into(),
    }
}

/// `pay@42, web@7`
fn versions(p: &Value) -> String {
    let list: Vec<String> = arr(&p["artifacts"])
        .iter()
        .map(|a| match a["version"].as_str() {
            Some(v) if !v.is_empty() => format!("{}@{v}", s(&a["name"])),
            _ => s(&a["name"]),
        })
        .collect();
    if list.is_empty() { "(no artifacts)".into() } else { list.join(", ") }
}

/// `pay@42 (DE-3, erin, 2026-12-03 09:14 UTC)`, or `-` when nothing landed there.
fn cell(p: &Value) -> String {
    if p.is_null() {
        return "-".into();
    }
    format!("{} ({}, {}, {})", versions(p), s(&p["deployment"]), s(&p["deployed_by"]), minute(&p["landed_at"]))
}

pub fn inventory(v: &Value) {
    let envs: Vec<String> = arr(&v["environments"]).iter().map(|e| s(&e["name"])).collect();
    if envs.is_empty() {
        println!("No environment yet: create one with `railyard env create`.");
        return;
    }
    let mut headers = vec!["APPLICATION"];
    headers.extend(envs.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = arr(&v["rows"])
        .iter()
        .map(|r| {
            let mut row = vec![s(&r["application"])];
            row.extend(arr(&r["cells"]).iter().map(|c| cell(&c["current"])));
            row
        })
        .collect();
    if rows.is_empty() {
        println!("No application yet: create one with `railyard app create`.");
        return;
    }
    let upper: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
    table(&upper, &rows);
    if let Some(c) = v["next_cursor"].as_str() {
        println!("(more applications: --cursor {c})");
    }
    println!("(a cell's history: railyard inventory show APP ENV)");
}

pub fn inventory_cell(v: &Value) {
    let now = &v["current"];
    println!("{} in {}", s(&v["application"]), s(&v["environment"]));
    if now.is_null() {
        println!("Nothing of {} has landed in {} yet.", s(&v["application"]), s(&v["environment"]));
    } else {
        kv(&[
            ("now", versions(now)),
            ("deployment", format!("{} (attempt {}, {})", s(&now["deployment"]), s(&now["attempt"]), s(&now["state"]))),
            ("turnover", format!("{} {}", s(&now["turnover"]), s(&now["turnover_title"]))),
            ("release", format!("{} on train {}", s(&now["release"]), s(&now["train"]))),
            ("deployed by", s(&now["deployed_by"])),
            ("landed", minute(&now["landed_at"])),
        ]);
    }
    let history = arr(&v["history"]["items"]);
    if history.is_empty() {
        return;
    }
    println!();
    let rows: Vec<Vec<String>> = history
        .iter()
        .map(|p| {
            vec![
                s(&p["deployment"]),
                minute(&p["landed_at"]),
                versions(p),
                format!("{} {}", s(&p["turnover"]), s(&p["turnover_title"])),
                s(&p["state"]),
                s(&p["deployed_by"]),
            ]
        })
        .collect();
    table(&["DEPLOYMENT", "LANDED", "VERSIONS", "TURNOVER", "STATE", "BY"], &rows);
    if let Some(c) = v["history"]["next_cursor"].as_str() {
        println!("(more: --cursor {c})");
    }
}
