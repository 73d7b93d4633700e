//! Printers for applications, application releases and work items.

use serde_json::Value;

use super::*;

pub fn applications(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|a| {
            let state = if a["archived"].as_bool() == Some(true) { "archived" } else { "active" };
            vec![s(&a["key"]), s(&a["name"]), s(&a["owner"]), state.into()]
        })
        .collect();
    table(&["KEY", "NAME", "OWNER", "STATE"], &rows);
    more(page);
}

pub fn application(a: &Value) {
    kv(&[
        ("key", s(&a["key"])),
        ("name", s(&a["name"])),
        ("owner", s(&a["owner"])),
        ("description", s(&a["description"])),
        ("archived", s(&a["archived"])),
    ]);
}

fn membership(r: &Value) -> String {
    match r["membership"].as_object() {
        Some(m) => format!("{} {}", s(&m["state"]), s(&m["train_id"])),
        None => "-".into(),
    }
}

pub fn releases(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|r| {
            vec![
                s(&r["id"]),
                s(&r["title"]),
                s(&r["application"]),
                s(&r["state"]),
                membership(r),
                s(&r["schedule"]["start"]),
                s(&r["schedule"]["end"]),
                s(&r["product_owner"]),
            ]
        })
        .collect();
    table(&["ID", "TITLE", "APP", "STATE", "TRAIN", "START", "END", "OWNER"], &rows);
    more(page);
}

pub fn release(r: &Value) {
    kv(&[
        ("id", s(&r["id"])),
        ("title", s(&r["title"])),
        ("state", s(&r["state"])),
        ("application", s(&r["application"])),
        ("train", membership(r)),
        ("product owner", s(&r["product_owner"])),
        ("type", s(&r["release_type"])),
        ("criticality", s(&r["criticality"])),
        ("schedule", format!("{} to {}", s(&r["schedule"]["start"]), s(&r["schedule"]["end"]))),
        ("depends on", s(&r["dependencies"])),
        (
            "development approval",
            r["development_approval"]
                .as_object()
                .map(|a| format!("{} {}", s(&a["id"]), s(&a["state"])))
                .unwrap_or_else(|| "-".into()),
        ),
        ("version", s(&r["version"])),
    ]);
    milestones(r);
}

pub fn work_items(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|w| vec![s(&w["id"]), s(&w["key"]), s(&w["kind"]), s(&w["status"]), s(&w["title"]), s(&w["source"])])
        .collect();
    table(&["ID", "KEY", "KIND", "STATUS", "TITLE", "SOURCE"], &rows);
    more(page);
}

pub fn work_item(w: &Value) {
    kv(&[
        ("id", s(&w["id"])),
        ("release", s(&w["release_id"])),
        ("key", s(&w["key"])),
        ("title", s(&w["title"])),
        ("kind", s(&w["kind"])),
        ("status", s(&w["status"])),
        ("link", s(&w["link"])),
        ("source", s(&w["source"])),
    ]);
}

pub fn import_report(r: &Value) {
    println!(
        "imported {} rows: {} created, {} updated, {} unchanged",
        s(&r["rows"]),
        s(&r["created"]),
        s(&r["updated"]),
        s(&r["unchanged"])
    );
}
