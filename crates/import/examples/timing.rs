//! Times parsing 10,000 rows: a Jira-like export (56 columns, quoted multi-line descriptions), Railyard's
//! own CSV, and JSON. Run with `cargo run --release -p railyard-import --example timing`.

use std::fmt::Write;
use std::time::Instant;

use railyard_import::{Format, parse};

const ROWS: usize = 10_000;

fn jira() -> String {
    let mut header: Vec<String> =
        vec!["Summary", "Issue key", "Issue id", "Issue Type", "Status"].into_iter().map(String::from).collect();
    header.extend((0..47).map(|i| format!("Custom field ({i})")));
    header.extend(["Sprint", "Sprint", "Labels", "Description"].map(String::from));
    let mut text = format!("\u{feff}{}\r\n", header.join(","));
    let types = ["Story", "Task", "Bug", "Sub-task", "Epic", "New Feature", "Improvement"];
    let statuses = ["To Do", "In Progress", "Done", "Closed", "In Review", "Backlog"];
    for i in 0..ROWS {
        let filler = vec!["x"; 47].join(",");
        let _ = write!(
            text,
            "\"Work item {i}, with a comma\",PAY-{i},{},{},{},{filler},Sprint 1,Sprint 2,payments,\"Line one\nline \"\"two\"\"\"\r\n",
            10_000 + i,
            types[i % types.len()],
            statuses[i % statuses.len()],
        );
    }
    text
}

fn railyard() -> String {
    let mut text = String::from("key,title,kind,status,link,source\n");
    for i in 0..ROWS {
        let _ = writeln!(text, "PAY-{i},Work item {i},development_task,in_progress,https://x.example/PAY-{i},jira");
    }
    text
}

fn json() -> String {
    let items: Vec<String> = (0..ROWS)
        .map(|i| format!("{{\"key\": \"PAY-{i}\", \"title\": \"Work item {i}\", \"kind\": \"development_task\", \"status\": \"done\"}}"))
        .collect();
    format!("[\n{}\n]", items.join(",\n"))
}

fn main() {
    for (name, text, format) in
        [("Jira CSV", jira(), Format::Csv), ("Railyard CSV", railyard(), Format::Csv), ("JSON", json(), Format::Json)]
    {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            let items = match parse(text.as_bytes(), format) {
                Ok(items) => items,
                Err(e) => panic!("{name}: {e}"),
            };
            best = best.min(start.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(items.len(), ROWS);
        }
        println!("{name}: {ROWS} rows, {} KiB, best of 5: {best:.1} ms", text.len() / 1024);
    }
}
