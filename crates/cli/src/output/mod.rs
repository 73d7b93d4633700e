//! Human output: aligned tables and short summaries. `--output json` prints the server's answer instead.
//! The shared helpers are here; each area's printers are in a file of its own.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

pub fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(s).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Prints rows under headers, each column as wide as its widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

pub(crate) fn kv(pairs: &[(&str, String)]) {
    let w = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in pairs {
        println!("{k:<w$}  {v}");
    }
}

/// What a user may do with an object now: each action, whether allowed, and why not.
pub fn actions(list: &Value) {
    let rows: Vec<Vec<String>> = list
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|a| {
            let why: Vec<String> = a["guards"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|g| g["message"].as_str().unwrap_or_default().to_string())
                .collect();
            let allowed = if a["allowed"].as_bool() == Some(true) { "yes" } else { "no" };
            // An action on a part of the object (a criterion, a milestone, a run) names the part.
            let action = match a["on"].as_str() {
                Some(on) => format!("{} on {on}", s(&a["action"])),
                None => s(&a["action"]),
            };
            vec![action, allowed.to_string(), if why.is_empty() { "-".into() } else { why.join("; ") }]
        })
        .collect();
    table(&["ACTION", "ALLOWED", "WHY NOT"], &rows);
}

pub fn json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()));
}

pub(crate) fn items(page: &Value) -> &[Value] {
    page["items"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

pub(crate) fn more(page: &Value) {
    if let Some(c) = page["next_cursor"].as_str() {
        println!("(more: --cursor {c})");
    }
}

pub(crate) fn day(v: &Value) -> String {
    v.as_str().map(|t| t.chars().take(10).collect()).unwrap_or_else(|| "-".into())
}

pub(crate) fn span(from: &Value, to: &Value) -> String {
    format!("{} .. {}", day(from), day(to))
}

mod deploy;
mod inventory;
mod releases;
mod trains;

pub use deploy::*;
pub use inventory::*;
pub use releases::*;
pub use trains::*;
