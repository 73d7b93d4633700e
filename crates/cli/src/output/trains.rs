//! Printers for trains, approvals, the audit log, users and tokens, and the inbox.

use serde_json::Value;

use super::*;

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
        println!(
            "audit chain intact: {} events verified; head {}; {} records match the log",
            s(&v["events_checked"]),
            s(&v["head"]["expect"]),
            s(&v["records_checked"])
        );
        if v["expected"].is_object() {
            println!("expected head {} present: hash {}", s(&v["expected"]["seq"]), s(&v["expected"]["hash"]));
        }
    } else if v["first_broken_seq"].is_i64() {
        println!("audit chain BROKEN at event {}: {}", s(&v["first_broken_seq"]), s(&v["reason"]));
    } else {
        println!(
            "audit log does not explain the records ({} of {} differ): {}",
            s(&v["records_differing"]),
            s(&v["records_checked"]),
            s(&v["reason"])
        );
    }
}

pub fn audit_head(v: &Value) {
    println!("audit head: event {} hash {}", s(&v["seq"]), s(&v["hash"]));
    println!("keep it elsewhere; check later with: railyard audit verify --expect {}", s(&v["expect"]));
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

pub fn inbox(v: &Value) {
    let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
    let (approvals, criteria, milestones) = (list("approvals"), list("criteria"), list("milestones"));
    let runs = list("manual_runs");
    if runs.is_empty() && approvals.is_empty() && criteria.is_empty() && milestones.is_empty() {
        println!("nothing waits for you");
        return;
    }
    // Sections apart by one blank line.
    let mut sections = 0;
    let mut heading = |title: &str| {
        if sections > 0 {
            println!();
        }
        sections += 1;
        println!("{title}");
    };
    if !runs.is_empty() {
        heading("manual task runs to complete (railyard run complete DEPLOYMENT RUN --done)");
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|r| {
                vec![
                    s(&r["deployment"]),
                    s(&r["run"]),
                    s(&r["title"]),
                    format!("{} into {}", s(&r["turnover"]), s(&r["environment"])),
                ]
            })
            .collect();
        table(&["DEPLOYMENT", "RUN", "TITLE", "OF"], &rows);
    }
    if !approvals.is_empty() {
        heading("approvals to decide");
        approvals_table(&approvals);
    }
    if !criteria.is_empty() {
        heading("exit criteria you own");
        let rows: Vec<Vec<String>> = criteria
            .iter()
            .map(|c| vec![s(&c["id"]), s(&c["title"]), format!("{} {} gate", s(&c["train_id"]), s(&c["gate"]))])
            .collect();
        table(&["CRITERION", "TITLE", "WHERE"], &rows);
    }
    if !milestones.is_empty() {
        heading("milestones you own");
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
