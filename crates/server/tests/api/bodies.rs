//! Request bodies are read straight into their types and within limits: a JSON array where an object is
//! expected, an over-long text, a list past its bound or a date outside the years 1900 to 2999 is refused
//! with 422 naming the field (and the limit), and changes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Reply, TestApp, level, train_body};

/// The problem's errors as "field: message" lines, for failure output.
fn errors(r: &Reply) -> String {
    r.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{}: {}", e["field"].as_str().unwrap_or_default(), e["message"].as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Whether the reply is a 422 naming `field` with a message that contains `needle`.
fn names(r: &Reply, field: &str, needle: &str) -> bool {
    r.status == 422
        && r.body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["field"] == field && e["message"].as_str().is_some_and(|m| m.contains(needle)))
}

#[tokio::test]
async fn a_json_array_where_an_object_is_expected_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let t = app.post(&rm, "/api/v1/trains", train_body("T", json!({}))).await.ok();
    let train = format!("/api/v1/trains/{}", t["id"].as_str().unwrap());
    let train_version = t["version"].as_i64().unwrap();
    let admin_version = app.get(&app.admin, "/api/v1/users/admin").await.ok()["version"].as_i64().unwrap();
    let events = app.event_count().await;

    // The whole body an array: serde would read it as the patch's fields by position.
    let r = app.patch(&app.admin, "/api/v1/users/admin", json!([null, null]), admin_version).await;
    println!("PATCH /users/admin [null,null]: {} {}", r.status, r.body);
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["code"], "invalid_input");
    assert!(r.body["detail"].as_str().unwrap().contains("expected"), "{}", r.body);

    let r = app
        .post(
            &rm,
            "/api/v1/trains",
            json!([
                "T2",
                "major",
                "",
                null,
                [],
                ["2027-01-04", "2027-01-15", "2027-02-12", "2027-02-26", "2027-03-06"]
            ]),
        )
        .await;
    println!("POST /trains [...]: {} {}", r.status, r.body);
    assert_eq!(r.status, 422, "{}", r.body);

    // A nested object given as an array: a train's schedule as its five dates, a criterion's evidence.
    let r = app
        .patch(
            &rm,
            &train,
            json!({"schedule": ["2027-01-04", "2027-01-15", "2027-02-12", "2027-02-26", "2027-03-06"]}),
            train_version,
        )
        .await;
    println!("PATCH train schedule [...]: {} {}", r.status, r.body);
    assert!(names(&r, "schedule", "expected"), "{} {}", r.status, r.body);
    let r = app.patch(&rm, &train, json!({"approval_policies": [null, null, null, null]}), train_version).await;
    println!("PATCH train approval_policies [...]: {} {}", r.status, r.body);
    assert!(names(&r, "approval_policies", "expected"), "{} {}", r.status, r.body);

    let admin = app.get(&app.admin, "/api/v1/users/admin").await.ok();
    assert_eq!(admin["version"].as_i64().unwrap(), admin_version, "the refused patch changed the user");
    assert_eq!(app.get(&rm, &train).await.ok()["version"].as_i64().unwrap(), train_version);
    assert_eq!(app.event_count().await, events, "a refused body wrote an event");
}

const NAME: usize = 201;
const TEXT: usize = 64 * 1024 + 1;

fn long(n: usize) -> String {
    "x".repeat(n)
}

fn many(n: usize, prefix: &str) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn task(action: Value) -> Value {
    json!({"title": "Deploy", "sequence": 1, "action": action})
}

/// Every request type, each text field past its limit (names and titles 200 characters, long texts
/// 64 KiB, links 2,048 characters) and each list past its bound: 422 naming the field and the limit,
/// before anything is looked up, and nothing is written.
#[tokio::test]
async fn every_text_and_list_of_every_request_has_a_limit_named_in_the_refusal() {
    let app = TestApp::spawn().await;
    let events = app.event_count().await;
    let name = long(NAME);
    let text = long(TEXT);
    let link = format!("https://example.com/{}", long(2048));
    let mut train = train_body("T", json!({}));
    let with = |mut v: Value, key: &str, x: Value| {
        v[key] = x;
        v
    };
    let cmd = |k: &str, x: Value| {
        let mut c = json!({"kind": "command", "program": "/bin/true"});
        c[k] = x;
        task(c)
    };
    let env: serde_json::Map<String, Value> = (0..257).map(|i| (format!("V{i}"), json!("1"))).collect();
    let reorder: Vec<Value> = (0..1001).map(|i| json!({"task": format!("T{i}"), "sequence": 1})).collect();
    let stages: Vec<Value> = (0..51).map(|i| json!({"environment": format!("env{i}")})).collect();
    let levels: Vec<Value> = (0..11).map(|_| level(&["eve"], 1)).collect();
    let approvers: Vec<String> = many(51, "user");
    let approvers: Vec<&str> = approvers.iter().map(String::as_str).collect();
    let release = json!({"title": "R", "application": "PAY", "schedule": {"start": "2027-01-04", "end": "2027-03-06"}});
    train["purpose"] = json!("Q1");
    #[rustfmt::skip]
    let cases: Vec<(Method, &str, Value, &str, &str)> = vec![
        (Method::POST, "/api/v1/trains", with(train.clone(), "title", json!(name)), "title", "200 characters"),
        (Method::POST, "/api/v1/trains", with(train.clone(), "purpose", json!(text)), "purpose", "64 KiB"),
        (Method::POST, "/api/v1/trains", with(train.clone(), "manager", json!(name)), "manager", "200 characters"),
        (Method::POST, "/api/v1/trains", with(train.clone(), "engineers", json!(many(101, "e"))), "engineers", "at most 100"),
        (Method::POST, "/api/v1/trains", with(train.clone(), "reserved_environments", json!(many(101, "e"))), "reserved_environments", "at most 100"),
        (Method::POST, "/api/v1/trains", with(train.clone(), "approval_policies", json!({"executive": {"levels": levels}})), "approval_policies.executive.levels", "at most 10"),
        (Method::POST, "/api/v1/trains", with(train.clone(), "approval_policies", json!({"train": {"levels": [level(&approvers, 1)]}})), "approval_policies.train.levels[0].approvers", "at most 50"),
        (Method::PATCH, "/api/v1/trains/RT-1", json!({"purpose": text}), "purpose", "64 KiB"),
        (Method::POST, "/api/v1/trains/RT-1/copy", json!({"start": "2027-06-07", "title": name}), "title", "200 characters"),
        (Method::POST, "/api/v1/trains/RT-1/cancel", json!({"reason": text}), "reason", "64 KiB"),
        (Method::POST, "/api/v1/trains/RT-1/gates/scoping/criteria", json!({"title": name}), "title", "200 characters"),
        (Method::POST, "/api/v1/trains/RT-1/gates/scoping/criteria", json!({"title": "C", "owner": name}), "owner", "200 characters"),
        (Method::PATCH, "/api/v1/trains/RT-1/criteria/EC-1", json!({"title": name}), "title", "200 characters"),
        (Method::POST, "/api/v1/trains/RT-1/criteria/EC-1/meet", json!({"evidence": {"note": text}}), "evidence.note", "64 KiB"),
        (Method::POST, "/api/v1/trains/RT-1/criteria/EC-1/meet", json!({"evidence": {"note": "ok", "link": link}}), "evidence.link", "2048 characters"),
        (Method::POST, "/api/v1/trains/RT-1/criteria/EC-1/waive", json!({"reason": text}), "reason", "64 KiB"),
        (Method::POST, "/api/v1/trains/RT-1/milestones", json!({"title": name, "due": "2027-02-01"}), "title", "200 characters"),
        (Method::PATCH, "/api/v1/trains/RT-1/milestones/MS-1", json!({"title": name}), "title", "200 characters"),
        (Method::POST, "/api/v1/approvals/AP-1/reject", json!({"comment": text}), "comment", "64 KiB"),
        (Method::POST, "/api/v1/approvals/AP-1/override", json!({"reason": text}), "reason", "64 KiB"),
        (Method::POST, "/api/v1/applications", json!({"key": "PAY", "name": name}), "name", "200 characters"),
        (Method::POST, "/api/v1/applications", json!({"key": "PAY", "name": "Pay", "description": text}), "description", "64 KiB"),
        (Method::PATCH, "/api/v1/applications/PAY", json!({"description": text}), "description", "64 KiB"),
        (Method::POST, "/api/v1/application-releases", with(release.clone(), "title", json!(name)), "title", "200 characters"),
        (Method::POST, "/api/v1/application-releases", with(release.clone(), "allowed_paths", json!(many(101, "DP-"))), "allowed_paths", "at most 100"),
        (Method::PATCH, "/api/v1/application-releases/AR-1", json!({"title": name}), "title", "200 characters"),
        (Method::POST, "/api/v1/application-releases/AR-1/propose", json!({"train": name}), "train", "200 characters"),
        (Method::POST, "/api/v1/application-releases/AR-1/reject", json!({"reason": text}), "reason", "64 KiB"),
        (Method::POST, "/api/v1/application-releases/AR-1/dependencies", json!({"depends_on": name}), "depends_on", "200 characters"),
        (Method::POST, "/api/v1/application-releases/AR-1/milestones", json!({"title": name, "due": "2027-02-01"}), "title", "200 characters"),
        (Method::POST, "/api/v1/application-releases/AR-1/work-items", json!({"key": "PAY-1", "title": name, "kind": "development_task"}), "title", "200 characters"),
        (Method::POST, "/api/v1/application-releases/AR-1/work-items", json!({"key": "PAY-1", "title": "W", "kind": "development_task", "link": link}), "link", "2048 characters"),
        (Method::PATCH, "/api/v1/work-items/WI-1", json!({"title": name}), "title", "200 characters"),
        (Method::PATCH, "/api/v1/work-items/WI-1", json!({"source": name}), "source", "200 characters"),
        (Method::POST, "/api/v1/environments", json!({"name": "staging", "kind": "staging", "description": text}), "description", "64 KiB"),
        (Method::PATCH, "/api/v1/environments/staging", json!({"description": text}), "description", "64 KiB"),
        (Method::POST, "/api/v1/environments/staging/take-offline", json!({"reason": text}), "reason", "64 KiB"),
        (Method::POST, "/api/v1/environments/staging/events", json!({"kind": "maintenance", "title": name, "start": "2027-01-04T10:00:00Z", "end": "2027-01-04T11:00:00Z"}), "title", "200 characters"),
        (Method::POST, "/api/v1/deployment-paths", json!({"name": name}), "name", "200 characters"),
        (Method::POST, "/api/v1/deployment-paths", json!({"name": "P", "description": text}), "description", "64 KiB"),
        (Method::POST, "/api/v1/deployment-paths", json!({"name": "P", "stages": stages}), "stages", "at most 50"),
        (Method::POST, "/api/v1/turnovers", json!({"title": name, "release": "AR-1", "path": "DP-1"}), "title", "200 characters"),
        (Method::POST, "/api/v1/turnovers", json!({"title": "T", "release": "AR-1", "path": "DP-1", "artifacts": [{"name": "api", "version": name}]}), "artifacts[0].version", "200 characters"),
        (Method::PATCH, "/api/v1/turnovers/TO-1", json!({"description": text}), "description", "64 KiB"),
        (Method::POST, "/api/v1/turnovers/TO-1/cancel", json!({"reason": text}), "reason", "64 KiB"),
        (Method::POST, "/api/v1/turnovers/TO-1/tasks", json!({"title": name, "sequence": 1}), "title", "200 characters"),
        (Method::POST, "/api/v1/turnovers/TO-1/tasks", cmd("program", json!(long(4097))), "action.program", "4096"),
        (Method::POST, "/api/v1/turnovers/TO-1/tasks", cmd("args", json!(many(257, "a"))), "action.args", "at most 256"),
        (Method::POST, "/api/v1/turnovers/TO-1/tasks", cmd("args", json!([text])), "action.args[0]", "64 KiB"),
        (Method::POST, "/api/v1/turnovers/TO-1/tasks", cmd("env", json!(env)), "action.env", "at most 256"),
        (Method::POST, "/api/v1/turnovers/TO-1/tasks", task(json!({"kind": "http", "method": "POST", "url": "https://example.com/", "body": text})), "action.body", "64 KiB"),
        (Method::POST, "/api/v1/turnovers/TO-1/tasks", task(json!({"kind": "http", "method": "GET", "url": link})), "action.url", "2048 characters"),
        (Method::PATCH, "/api/v1/turnovers/TO-1/tasks/T1", json!({"title": name}), "title", "200 characters"),
        (Method::POST, "/api/v1/turnovers/TO-1/tasks/reorder", json!({"order": reorder}), "order", "at most 1000"),
        (Method::POST, "/api/v1/turnovers/TO-1/work-items", json!({"work_items": many(1001, "WI-")}), "work_items", "at most 1000"),
        (Method::POST, "/api/v1/production-turnovers", json!({"title": name, "releases": ["AR-1"], "environments": ["prod"]}), "title", "200 characters"),
        (Method::POST, "/api/v1/turnovers/TO-1/reject", json!({"comment": text}), "comment", "64 KiB"),
        (Method::POST, "/api/v1/turnovers/TO-1/verify", json!({"passed": false, "note": text}), "note", "64 KiB"),
        (Method::POST, "/api/v1/turnovers/TO-1/rollback", json!({"environment": "prod", "reason": text}), "reason", "64 KiB"),
        (Method::POST, "/api/v1/deployments/D-1/start", json!({"override": true, "reason": text}), "reason", "64 KiB"),
        (Method::POST, "/api/v1/deployments/D-1/validate", json!({"passed": false, "note": text}), "note", "64 KiB"),
        (Method::POST, "/api/v1/deployments/D-1/runs/R1/complete", json!({"done": false, "note": text}), "note", "64 KiB"),
        (Method::POST, "/api/v1/line/halt", json!({"reason": text}), "reason", "64 KiB"),
        (Method::POST, "/api/v1/runbooks", json!({"name": name}), "name", "200 characters"),
        (Method::POST, "/api/v1/runbooks", json!({"name": "R", "tasks": [{"title": name, "sequence": 1, "owner": "admin"}]}), "tasks[0].title", "200 characters"),
        (Method::POST, "/api/v1/runbooks/RB-1/reject", json!({"comment": text}), "comment", "64 KiB"),
        (Method::POST, "/api/v1/turnovers/TO-1/save-as-runbook", json!({"name": name}), "name", "200 characters"),
        (Method::POST, "/api/v1/users", json!({"name": "zed", "display_name": name, "roles": ["viewer"]}), "display_name", "200 characters"),
        (Method::PATCH, "/api/v1/users/admin", json!({"email": name}), "email", "200 characters"),
        (Method::POST, "/api/v1/tokens", json!({"label": name}), "label", "200 characters"),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, field, limit) in &cases {
        let r = app.call_with(Some(&app.admin), method.clone(), path, Some(body.clone()), Some(1)).await;
        if !names(&r, field, limit) {
            wrong.push(format!("{method} {path} {field}: {} {}", r.status, errors(&r)));
        }
    }
    println!("{} of {} over-limit inputs not refused naming the field and limit:", wrong.len(), cases.len());
    for w in &wrong {
        println!("  {}", &w[..w.len().min(300)]);
    }
    assert!(
        wrong.is_empty(),
        "{} of {} over-limit inputs were not refused with the field and the limit",
        wrong.len(),
        cases.len()
    );
    assert_eq!(app.event_count().await, events, "an over-limit input wrote an event");
}

/// Dates and times outside the years 1900 to 2999 are refused wherever they come in: request bodies,
/// query parameters, and a train copy whose shift moves a date out of that range.
#[tokio::test]
async fn dates_outside_the_years_1900_to_2999_are_refused_wherever_they_come_in() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let t = app.post(&rm, "/api/v1/trains", train_body("T", json!({}))).await.ok();
    let id = t["id"].as_str().unwrap().to_string();
    let events = app.event_count().await;
    let mut early = train_body("Early", json!({}));
    early["schedule"]["start"] = json!("1899-12-31");
    let mut late = train_body("Late", json!({}));
    late["schedule"]["production_date"] = json!("3000-01-01");
    let release = json!({"title": "R", "application": "PAY", "schedule": {"start": "2027-01-04", "end": "3000-01-01"}});
    #[rustfmt::skip]
    let cases: Vec<(Method, String, Option<Value>, &str)> = vec![
        (Method::POST, "/api/v1/trains".into(), Some(early), "schedule.start"),
        (Method::POST, "/api/v1/trains".into(), Some(late), "schedule.production_date"),
        (Method::PATCH, format!("/api/v1/trains/{id}"), Some(json!({"schedule": {"start": "0001-01-01", "scoping_end": "2027-01-15",
            "construction_end": "2027-02-12", "verification_end": "2027-02-26", "production_date": "2027-03-06"}})), "schedule.start"),
        (Method::POST, format!("/api/v1/trains/{id}/milestones"), Some(json!({"title": "M", "due": "0001-01-01"})), "due"),
        (Method::PATCH, format!("/api/v1/trains/{id}/milestones/MS-1"), Some(json!({"due": "3000-06-01"})), "due"),
        (Method::POST, "/api/v1/application-releases".into(), Some(release), "schedule.end"),
        (Method::POST, "/api/v1/environments/staging/events".into(), Some(json!({"kind": "maintenance", "title": "M",
            "start": "1800-01-01T00:00:00Z", "end": "2027-01-04T11:00:00Z"})), "start"),
        (Method::POST, "/api/v1/turnovers/TO-1/schedule".into(), Some(json!({"environment": "prod", "at": "3001-01-01T00:00:00Z"})), "at"),
        (Method::GET, "/api/v1/audit/events?from=1899-12-31T23:00:00Z".into(), None, "from"),
        (Method::GET, "/api/v1/environments/staging/calendar?to=3000-01-01T00:00:00Z".into(), None, "to"),
        // A copy starting inside the range whose shift moves the production date past 2999.
        (Method::POST, format!("/api/v1/trains/{id}/copy"), Some(json!({"start": "2999-12-01"})), "start"),
        (Method::POST, format!("/api/v1/trains/{id}/copy"), Some(json!({"start": "1899-06-01"})), "start"),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, field) in &cases {
        let r = app.call_with(Some(&rm), method.clone(), path, body.clone(), Some(1)).await;
        let ok = names(&r, field, "1900") && names(&r, field, "2999");
        println!("{method} {path}: {} {}", r.status, &r.body.to_string()[..r.body.to_string().len().min(240)]);
        if !ok {
            wrong.push(format!("{method} {path} {field}: {} {}", r.status, errors(&r)));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} out-of-range dates not refused naming the field and the years:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    let copy = app.post(&rm, &format!("/api/v1/trains/{id}/copy"), json!({"start": "2999-12-01"})).await;
    assert!(
        copy.body["errors"][0]["message"].as_str().unwrap_or_default().contains("production_date"),
        "{}",
        copy.body
    );
    assert_eq!(app.event_count().await, events, "an out-of-range date wrote an event");
    let trains = app.get(&rm, "/api/v1/trains").await.ok();
    assert_eq!(trains["items"].as_array().unwrap().len(), 1);
}

/// The 1 MiB body limit is everyone's but the import's: a 2 MiB CSV export imports, and past the
/// import's own 32 MiB the answer is 413 naming that limit.
#[tokio::test]
async fn a_work_item_import_takes_files_past_the_1_mib_body_limit() {
    let app = TestApp::spawn().await;
    let paula = app.user("paula", &["product_owner"]).await;
    app.post(&paula, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    let release =
        json!({"title": "PAY 1", "application": "PAY", "schedule": {"start": "2027-01-05", "end": "2027-02-01"}});
    let ar = app.post(&paula, "/api/v1/application-releases", release).await.ok()["id"].as_str().unwrap().to_string();
    let send = |body: Vec<u8>| {
        app.http
            .post(format!("{}/api/v1/application-releases/{ar}/work-items/import", app.base))
            .bearer_auth(&paula)
            .header("Content-Type", "text/csv")
            .body(body)
            .send()
    };
    let mut csv = String::from("key,title,kind,status\n");
    let mut rows = 0;
    while csv.len() < 2 * 1024 * 1024 {
        rows += 1;
        csv.push_str(&format!("PAY-{rows},{},development_task,open\n", "Card form with 3DS and wallets ".repeat(6)));
    }
    let res = send(csv.into_bytes()).await.unwrap();
    let status = res.status().as_u16();
    let report: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], rows);

    let res = send(vec![b'x'; 32 * 1024 * 1024 + 1]).await.unwrap();
    let status = res.status().as_u16();
    let problem: Value = res.json().await.unwrap();
    assert_eq!((status, problem["code"].as_str()), (413, Some("payload_too_large")), "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("32 MiB"), "{problem}");
}
