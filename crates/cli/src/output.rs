//! Human output: aligned tables and short summaries. `--output json` prints the server's answer instead.

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

fn kv(pairs: &[(&str, String)]) {
    let w = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in pairs {
        println!("{k:<w$}  {v}");
    }
}

pub fn json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()));
}

fn items(page: &Value) -> &[Value] {
    page["items"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn more(page: &Value) {
    if let Some(c) = page["next_cursor"].as_str() {
        println!("(more: --cursor {c})");
    }
}

pub fn trains(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|t| {
            vec![
                s(&t["id"]),
                s(&t["title"]),
                s(&t["release_type"]),
                s(&t["state"]),
                s(&t["schedule"]["start"]),
                s(&t["schedule"]["production_date"]),
                s(&t["manager"]),
            ]
        })
        .collect();
    table(&["ID", "TITLE", "TYPE", "STATE", "START", "PRODUCTION", "MANAGER"], &rows);
    more(page);
}

fn policy_text(p: &Value) -> String {
    if p.is_null() {
        return "-".into();
    }
    let levels: Vec<String> = p["levels"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, l)| format!("L{}: {} of {}", i + 1, s(&l["required"]), s(&l["approvers"])))
        .collect();
    let over = if p["override_allowed"].as_bool() == Some(true) { " (override allowed)" } else { "" };
    format!("{}{over}", levels.join("; "))
}

pub fn train(t: &Value) {
    let sch = &t["schedule"];
    kv(&[
        ("id", s(&t["id"])),
        ("title", s(&t["title"])),
        ("state", s(&t["state"])),
        ("type", s(&t["release_type"])),
        ("purpose", s(&t["purpose"])),
        ("manager", s(&t["manager"])),
        ("engineers", s(&t["engineers"])),
        (
            "schedule",
            format!(
                "start {}, scoping end {}, construction end {}, verification end {}, production {}",
                s(&sch["start"]),
                s(&sch["scoping_end"]),
                s(&sch["construction_end"]),
                s(&sch["verification_end"]),
                s(&sch["production_date"])
            ),
        ),
        ("train approval", policy_text(&t["approval_policies"]["train"])),
        ("development approval", policy_text(&t["approval_policies"]["development"])),
        ("executive approval", policy_text(&t["approval_policies"]["executive"])),
        ("gate approval", policy_text(&t["approval_policies"]["gate"])),
        ("version", s(&t["version"])),
    ]);
    println!();
    for g in t["gate_status"].as_array().into_iter().flatten() {
        let name = s(&g["gate"]);
        let gate = &t["gates"][&name];
        let approval = if gate["approval_required"].as_bool() == Some(true) {
            match gate["approval"].as_object() {
                Some(a) => format!(", approval {} {}", s(&a["id"]), s(&a["state"])),
                None => ", approval required".into(),
            }
        } else {
            String::new()
        };
        let passed = if g["passed"].as_bool() == Some(true) { "passed" } else { "not passed" };
        println!("{name} gate: {passed}{approval}");
        for c in gate["criteria"].as_array().into_iter().flatten() {
            let owner = c["owner"].as_str().map(|o| format!(" (owner {o})")).unwrap_or_default();
            println!("  {:<6} {:<7} {}{owner}", s(&c["id"]), s(&c["state"]), s(&c["title"]));
        }
    }
    milestones(t);
}

pub fn approvals(page: &Value) {
    approvals_table(items(page));
    more(page);
}

fn approvals_table(list: &[Value]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|a| {
            let level = a["current_level"].as_u64().map(|l| l.to_string()).unwrap_or_else(|| "-".into());
            vec![
                s(&a["id"]),
                s(&a["kind"]),
                s(&a["train_id"]),
                s(&a["gate"]),
                s(&a["state"]),
                level,
                s(&a["waiting_for"]),
                s(&a["requested_by"]),
            ]
        })
        .collect();
    table(&["ID", "KIND", "TRAIN", "GATE", "STATE", "LEVEL", "WAITING FOR", "REQUESTED BY"], &rows);
}

pub fn approval(a: &Value) {
    kv(&[
        ("id", s(&a["id"])),
        ("kind", s(&a["kind"])),
        ("train", s(&a["train_id"])),
        ("gate", s(&a["gate"])),
        ("state", s(&a["state"])),
        ("requested by", s(&a["requested_by"])),
        ("current level", s(&a["current_level"])),
        ("waiting for", s(&a["waiting_for"])),
    ]);
    for (i, l) in a["levels"].as_array().into_iter().flatten().enumerate() {
        println!("level {}: {} of {}", i + 1, s(&l["required"]), s(&l["approvers"]));
    }
    for d in a["decisions"].as_array().into_iter().flatten() {
        let comment = d["comment"].as_str().map(|c| format!(": {c}")).unwrap_or_default();
        println!("  {} {} at level {}{comment}", s(&d["user"]), s(&d["verdict"]), s(&d["level"]));
    }
    if let Some(r) = a["override_reason"].as_str() {
        println!("  overridden by {}: {r}", s(&a["overridden_by"]));
    }
}

pub fn events(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|e| {
            vec![
                s(&e["seq"]),
                s(&e["commit_seq"]),
                s(&e["at"]),
                s(&e["actor"]),
                format!("{} {}", s(&e["object_kind"]), s(&e["object_id"])),
                s(&e["action"]),
            ]
        })
        .collect();
    table(&["SEQ", "COMMIT", "AT", "ACTOR", "OBJECT", "ACTION"], &rows);
    more(page);
}

pub fn chain(v: &Value) {
    if v["intact"].as_bool() == Some(true) {
        println!("audit chain intact: {} events verified; head {}", s(&v["events_checked"]), s(&v["head_hash"]));
    } else {
        println!("audit chain BROKEN at event {}: {}", s(&v["first_broken_seq"]), s(&v["reason"]));
    }
}

pub fn users(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|u| {
            let state = if u["active"].as_bool() == Some(true) { "active" } else { "disabled" };
            vec![s(&u["name"]), s(&u["display_name"]), s(&u["email"]), s(&u["roles"]), state.into()]
        })
        .collect();
    table(&["NAME", "DISPLAY NAME", "EMAIL", "ROLES", "STATE"], &rows);
    more(page);
}

pub fn user(u: &Value) {
    kv(&[
        ("name", s(&u["name"])),
        ("display name", s(&u["display_name"])),
        ("email", s(&u["email"])),
        ("roles", s(&u["roles"])),
        ("active", s(&u["active"])),
    ]);
}

pub fn tokens(page: &Value) {
    let rows: Vec<Vec<String>> = items(page)
        .iter()
        .map(|t| vec![s(&t["id"]), s(&t["user"]), s(&t["label"]), s(&t["state"]), s(&t["created_at"])])
        .collect();
    table(&["ID", "USER", "LABEL", "STATE", "CREATED"], &rows);
}

pub fn token(t: &Value) {
    println!("token {} for {} ({})", s(&t["id"]), s(&t["user"]), s(&t["state"]));
    if let Some(secret) = t["token"].as_str() {
        println!("secret (shown once): {secret}");
    }
}

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

/// The milestones of a train or an application release, overdue ones marked.
pub fn milestones(o: &Value) {
    let ms = o["milestones"].as_array().cloned().unwrap_or_default();
    if ms.is_empty() {
        return;
    }
    println!();
    let overdue: Vec<String> = o["overdue_milestones"].as_array().into_iter().flatten().map(s).collect();
    let rows: Vec<Vec<String>> = ms
        .iter()
        .map(|m| {
            let mut state = s(&m["state"]);
            if overdue.contains(&s(&m["id"])) {
                state.push_str(" (overdue)");
            }
            let from = m["inherited_from"].as_str().map(|f| format!("from train ({f})")).unwrap_or_else(|| {
                if m["inherit"].as_bool() == Some(true) { "inherited by releases".into() } else { "-".into() }
            });
            vec![s(&m["id"]), s(&m["title"]), s(&m["due"]), state, s(&m["owner"]), from]
        })
        .collect();
    table(&["MILESTONE", "TITLE", "DUE", "STATE", "OWNER", "INHERIT"], &rows);
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

pub fn conflicts(v: &Value) {
    let list = items(v);
    if list.is_empty() {
        println!("no schedule conflicts");
        return;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                format!("{} '{}'", s(&c["dependent"]), s(&c["dependent_title"])),
                s(&c["dependent_start"]),
                format!("{} '{}'", s(&c["dependency"]), s(&c["dependency_title"])),
                s(&c["dependency_end"]),
            ]
        })
        .collect();
    table(&["DEPENDENT", "STARTS", "DEPENDS ON", "WHICH ENDS"], &rows);
}

pub fn order(v: &Value) {
    let rows: Vec<Vec<String>> = items(v)
        .iter()
        .map(|e| vec![s(&e["position"]), s(&e["id"]), s(&e["application"]), s(&e["title"]), s(&e["depends_on"])])
        .collect();
    table(&["#", "ID", "APP", "TITLE", "DEPENDS ON"], &rows);
}

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
        .map(|e| vec![s(&e["id"]), s(&e["kind"]), s(&e["start"]), s(&e["end"]), s(&e["title"]), s(&e["train_id"])])
        .collect();
    table(&["EVENT", "KIND", "START", "END", "TITLE", "TRAIN"], &rows);
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

pub fn inbox(v: &Value) {
    let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
    let (approvals, criteria, milestones) = (list("approvals"), list("criteria"), list("milestones"));
    if approvals.is_empty() && criteria.is_empty() && milestones.is_empty() {
        println!("nothing waits for you");
        return;
    }
    if !approvals.is_empty() {
        println!("approvals to decide");
        approvals_table(&approvals);
    }
    if !criteria.is_empty() {
        println!("\nexit criteria you own");
        let rows: Vec<Vec<String>> = criteria
            .iter()
            .map(|c| vec![s(&c["id"]), s(&c["title"]), format!("{} {} gate", s(&c["train_id"]), s(&c["gate"]))])
            .collect();
        table(&["CRITERION", "TITLE", "WHERE"], &rows);
    }
    if !milestones.is_empty() {
        println!("\nmilestones you own");
        let rows: Vec<Vec<String>> = milestones
            .iter()
            .map(|m| {
                let due = if m["overdue"].as_bool() == Some(true) {
                    format!("{} (overdue)", s(&m["due"]))
                } else {
                    s(&m["due"])
                };
                vec![s(&m["id"]), s(&m["title"]), due, format!("{} '{}'", s(&m["owner_id"]), s(&m["owner_title"]))]
            })
            .collect();
        table(&["MILESTONE", "TITLE", "DUE", "OF"], &rows);
    }
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
    kv(&[
        ("id", s(&t["id"])),
        ("title", s(&t["title"])),
        ("state", s(&t["state"])),
        ("releases", s(&t["releases"])),
        ("train", s(&t["train_id"])),
        ("developer", s(&t["developer"])),
        ("path", format!("{} ({})", s(&t["path_id"]), stages.join(" → "))),
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
                    (None, Some("command")) => {
                        format!("run: {} {}", s(&k["action"]["program"]), s(&k["action"]["args"]))
                    }
                    (None, Some("http")) => format!("http: {} {}", s(&k["action"]["method"]), s(&k["action"]["url"])),
                    _ => "-".into(),
                };
                vec![s(&k["sequence"]), s(&k["id"]), s(&k["title"]), what, s(&k["tier"])]
            })
            .collect();
        table(&["SEQ", "TASK", "TITLE", "WHAT", "TIER"], &rows);
    }
}

fn day(v: &Value) -> String {
    v.as_str().map(|t| t.chars().take(10).collect()).unwrap_or_else(|| "-".into())
}

fn span(from: &Value, to: &Value) -> String {
    format!("{} .. {}", day(from), day(to))
}

pub fn timeline(t: &Value) {
    println!("{} '{}' is {} (today {})\n", s(&t["train_id"]), s(&t["title"]), s(&t["state"]), s(&t["today"]));
    let list = |k: &str| t[k].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = list("stages")
        .iter()
        .map(|st| {
            vec![
                s(&st["stage"]),
                span(&st["planned_start"], &st["planned_end"]),
                span(&st["actual_start"], &st["actual_end"]),
            ]
        })
        .collect();
    table(&["STAGE", "PLANNED", "ACTUAL"], &rows);
    println!();
    let rows: Vec<Vec<String>> = list("gates")
        .iter()
        .map(|g| vec![format!("{} gate", s(&g["gate"])), s(&g["planned"]), day(&g["passed_at"])])
        .collect();
    table(&["GATE", "PLANNED", "PASSED"], &rows);
    let releases = list("releases");
    if !releases.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = releases
            .iter()
            .map(|r| {
                vec![
                    s(&r["id"]),
                    s(&r["application"]),
                    s(&r["state"]),
                    span(&r["planned_start"], &r["planned_end"]),
                    span(&r["actual_start"], &r["actual_end"]),
                    s(&r["depends_on"]),
                ]
            })
            .collect();
        table(&["RELEASE", "APP", "STATE", "PLANNED", "ACTUAL", "DEPENDS ON"], &rows);
    }
    let ms = list("milestones");
    if !ms.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = ms
            .iter()
            .map(|m| {
                let state = if m["overdue"].as_bool() == Some(true) {
                    format!("{} (overdue)", s(&m["state"]))
                } else {
                    s(&m["state"])
                };
                vec![s(&m["id"]), s(&m["title"]), s(&m["due"]), state]
            })
            .collect();
        table(&["MILESTONE", "TITLE", "DUE", "STATE"], &rows);
    }
}
