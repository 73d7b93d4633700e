//! Printers for environments, deployment paths and turnovers.

use serde_json::Value;

use super::*;

pub fn environments(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|e| {
            let locked = if e["locked"].as_bool() == Some(true) { "locked" } else { "-" };
            vec![s(&e["name"]), s(&e["kind"]), s(&e["state"]), locked.into(), s(&e["owner"]), s(&e["blocked"])]
        })
        .collect();
    table(&["NAME", "KIND", "STATE", "LOCKED", "OWNER", "BLOCKED"], &rows);
    more(page);
}

pub fn environment(e: &Value) {
    kv(&[
        ("name", s(&e["name"])),
        ("kind", s(&e["kind"])),
        ("state", s(&e["state"])),
        ("locked", s(&e["locked"])),
        ("owner", s(&e["owner"])),
        ("blocked", s(&e["blocked"])),
        (
            "runner labels",
            if e["runner_labels"].as_array().is_some_and(|l| !l.is_empty()) {
                s(&e["runner_labels"])
            } else {
                "- (the built-in runner)".into()
            },
        ),
        ("version", s(&e["version"])),
    ]);
    let events = e["events"].as_array().cloned().unwrap_or_default();
    if !events.is_empty() {
        println!();
        calendar(&serde_json::json!({"items": events}));
    }
}

pub fn calendar(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|e| {
            let mut note = s(&e["state"]);
            if let Some(b) = e["blocked"].as_str() {
                note = format!("{note} (blocked: {b})");
            }
            let n = e["conflicts"].as_array().map(Vec::len).unwrap_or(0);
            if n > 0 {
                note = format!("{note}; {n} conflict(s)");
            }
            vec![s(&e["id"]), s(&e["kind"]), s(&e["start"]), s(&e["end"]), s(&e["title"]), s(&e["train_id"]), note]
        })
        .collect();
    table(&["ID", "KIND", "START", "END", "TITLE", "TRAIN", "STATE"], &rows);
    for e in items(page) {
        for c in e["conflicts"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            println!("conflict {}: {}", s(&e["id"]), s(c));
        }
    }
}

pub fn proposed_order(p: &Value) {
    for g in p["groups"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        println!("{}", s(g));
    }
}

pub fn line(l: &Value) {
    let state = if l["halted"] == true { "stopped" } else { "running" };
    kv(&[("line", state.into()), ("reason", s(&l["reason"])), ("by", s(&l["by"])), ("at", s(&l["at"]))]);
}

fn stages_text(p: &Value) -> String {
    p["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|st| {
            let mut t = s(&st["environment"]);
            if st["required"].as_bool() == Some(false) {
                t.push_str(" (optional)");
            }
            if st["freeze_tasks"].as_bool() == Some(true) {
                t.push_str(" (freezes tasks)");
            }
            t
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

pub fn paths(page: &Value) {
    let rows: Vec<Vec<String>> =
        items(page).iter().map(|p| vec![s(&p["id"]), s(&p["name"]), s(&p["state"]), stages_text(p)]).collect();
    table(&["ID", "NAME", "STATE", "STAGES"], &rows);
    more(page);
}

pub fn path(p: &Value) {
    kv(&[
        ("id", s(&p["id"])),
        ("name", s(&p["name"])),
        ("state", s(&p["state"])),
        ("release types", s(&p["release_types"])),
        ("stages", stages_text(p)),
        ("version", s(&p["version"])),
    ]);
}

pub fn turnovers(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|t| {
            let tasks = t["tasks"].as_array().map(Vec::len).unwrap_or(0).to_string();
            vec![s(&t["id"]), s(&t["title"]), s(&t["releases"]), s(&t["state"]), s(&t["developer"]), tasks]
        })
        .collect();
    table(&["ID", "TITLE", "RELEASES", "STATE", "DEVELOPER", "TASKS"], &rows);
    more(page);
}

pub fn turnover(t: &Value) {
    let artifacts: Vec<String> = t["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| format!("{}@{}", s(&a["name"]), s(&a["version"])))
        .collect();
    let stages: Vec<String> = t["stages"].as_array().into_iter().flatten().map(|st| s(&st["environment"])).collect();
    let (where_, stages) = if t["kind"] == "production_ready" {
        ("environments", stages.join(", "))
    } else {
        ("path", format!("{} ({})", s(&t["path_id"]), stages.join(" → ")))
    };
    kv(&[
        ("id", s(&t["id"])),
        ("title", s(&t["title"])),
        ("kind", s(&t["kind"])),
        ("state", s(&t["state"])),
        ("releases", s(&t["releases"])),
        ("train", s(&t["train_id"])),
        ("developer", s(&t["developer"])),
        (where_, stages),
        ("from", s(&t["from_turnover"])),
        ("accepted by", s(&t["accepted_by"])),
        ("rejection", s(&t["rejection"])),
        ("artifacts", if artifacts.is_empty() { "-".into() } else { artifacts.join(", ") }),
        ("work items", s(&t["work_items"])),
        ("frozen", s(&t["frozen"])),
        ("version", s(&t["version"])),
    ]);
    let tasks = t["tasks"].as_array().cloned().unwrap_or_default();
    if !tasks.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = tasks
            .iter()
            .map(|k| {
                let what = match (k["owner"].as_str(), k["action"]["kind"].as_str()) {
                    (Some(o), _) => format!("manual: {o}"),
                    (None, Some("command")) => format!("run: {}", command_line(&k["action"])),
                    (None, Some("http")) => format!("http: {} {}", s(&k["action"]["method"]), s(&k["action"]["url"])),
                    _ => "-".into(),
                };
                let rollback = if k["rollback"] == true { "rollback" } else { "-" };
                vec![
                    s(&k["sequence"]),
                    s(&k["id"]),
                    s(&k["title"]),
                    what,
                    s(&k["tier"]),
                    s(&k["release"]),
                    rollback.into(),
                ]
            })
            .collect();
        table(&["SEQ", "TASK", "TITLE", "WHAT", "TIER", "RELEASE", "ROLLBACK"], &rows);
    }
}

/// A command task's program and arguments as a shell would take them: arguments with spaces or quotes
/// (or empty ones) in single quotes.
fn command_line(action: &Value) -> String {
    let mut words = vec![s(&action["program"])];
    for a in action["args"].as_array().into_iter().flatten() {
        let a = a.as_str().map(str::to_string).unwrap_or_else(|| a.to_string());
        let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
        words.push(if plain { a } else { format!("'{}'", a.replace('\'', "'\\''")) });
    }
    words.join(" ")
}

/// One run on one line: group, id, title, state, how it ended, and the remote runner that ran it.
pub fn run_line(r: &Value) -> String {
    let how = match (r["owner"].as_str(), r["message"].as_str().filter(|m| !m.is_empty())) {
        (Some(o), None) if r["state"] == "waiting_for_owner" => format!(" (waiting for {o})"),
        (_, Some(m)) => format!(" ({m})"),
        _ => String::new(),
    };
    let on = r["runner"].as_str().map(|name| format!(" on runner {name}")).unwrap_or_default();
    format!("[{}] {} {}: {}{how}{on}", s(&r["sequence"]), s(&r["id"]), s(&r["title"]), s(&r["state"]))
}

pub fn deployments(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|d| {
            vec![
                s(&d["id"]),
                s(&d["turnover_id"]),
                s(&d["environment"]),
                s(&d["attempt"]),
                s(&d["state"]),
                s(&d["scheduled_for"]),
                s(&d["blocked"]),
            ]
        })
        .collect();
    table(&["ID", "TURNOVER", "ENV", "ATTEMPT", "STATE", "SCHEDULED FOR", "BLOCKED"], &rows);
    more(page);
}

pub fn deployment(d: &Value) {
    kv(&[
        ("id", s(&d["id"])),
        ("turnover", s(&d["turnover_id"])),
        ("environment", s(&d["environment"])),
        ("attempt", s(&d["attempt"])),
        ("state", s(&d["state"])),
        ("blocked", s(&d["blocked"])),
        ("scheduled for", s(&d["scheduled_for"])),
        ("started", s(&d["started_at"])),
        ("finished", s(&d["finished_at"])),
        (
            "early start",
            d["early_start"]
                .as_object()
                .map(|e| format!("by {} — {}", s(&e["by"]), s(&e["reason"])))
                .unwrap_or_else(|| "-".into()),
        ),
        ("rollback", if d["rollback"] == true { "yes".into() } else { "-".into() }),
    ]);
    for c in d["conflicts"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        println!("conflict: {}", s(c));
    }
    for r in d["runs"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        println!("  {}", run_line(r));
    }
}

pub fn run_log(v: &Value) {
    for l in items_named(v, "lines") {
        let stream = if l["stream"] == "stderr" { "!" } else { " " };
        println!("{} {stream} {}", s(&l["at"]), s(&l["text"]));
    }
}

fn items_named<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map(Vec::as_slice).unwrap_or(&[])
}

pub fn runbooks(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|r| {
            let n = r["tasks"].as_array().map(Vec::len).unwrap_or(0).to_string();
            vec![s(&r["id"]), s(&r["name"]), s(&r["state"]), s(&r["author"]), n, s(&r["applications"])]
        })
        .collect();
    table(&["ID", "NAME", "STATE", "AUTHOR", "TASKS", "APPLICATIONS"], &rows);
    more(page);
}

pub fn runbook(r: &Value) {
    kv(&[
        ("id", s(&r["id"])),
        ("name", s(&r["name"])),
        ("state", s(&r["state"])),
        ("author", s(&r["author"])),
        ("reviewed by", s(&r["reviewed_by"])),
        ("applications", s(&r["applications"])),
        ("environments", s(&r["environments"])),
    ]);
    for t in r["tasks"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        println!("  [{}] {} {}", s(&t["sequence"]), s(&t["id"]), s(&t["title"]));
    }
}

/// Where a variable applies, in words: `global`, `environment prod`, `application PAY`.
fn scope(v: &Value) -> String {
    match v["scope"]["kind"].as_str() {
        Some("environment") => format!("environment {}", s(&v["scope"]["environment"])),
        Some("application") => format!("application {}", s(&v["scope"]["application"])),
        other => other.unwrap_or("global").to_string(),
    }
}

pub fn variables(page: &Value) {
    let rows: Vec<Vec<String>> =
        items(page).iter().map(|v| vec![s(&v["id"]), s(&v["name"]), scope(v), s(&v["value"])]).collect();
    table(&["ID", "NAME", "SCOPE", "VALUE"], &rows);
    more(page);
}

pub fn variable(v: &Value) {
    kv(&[
        ("id", s(&v["id"])),
        ("name", s(&v["name"])),
        ("scope", scope(v)),
        ("value", s(&v["value"])),
        ("updated by", s(&v["updated_by"])),
        ("version", s(&v["version"])),
    ]);
}
