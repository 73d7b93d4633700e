//! The role matrix: every endpoint, called by every role, lets in exactly the roles it should.
//! The expectations are written out here, independently of the code's matrix, and the test fails when
//! the OpenAPI document lists an endpoint this table does not cover.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, level, train_body};

const ALL: &[&str] = &["admin", "release_manager", "release_engineer", "product_owner", "developer", "viewer"];
const RM: &[&str] = &["admin", "release_manager"];
const RM_RE: &[&str] = &["admin", "release_manager", "release_engineer"];
const ACTORS: &[&str] = &["admin", "release_manager", "release_engineer", "product_owner", "developer"];
const ADMIN: &[&str] = &["admin"];
const RM_PO: &[&str] = &["admin", "release_manager", "product_owner"];
const RE: &[&str] = &["admin", "release_engineer"];
const BUILDERS: &[&str] = &["admin", "release_manager", "release_engineer", "developer"];

struct Row {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    allowed: &'static [&'static str],
}

fn row(method: Method, path: &'static str, body: Option<Value>, allowed: &'static [&'static str]) -> Row {
    Row { method, path, body, allowed }
}

fn matrix() -> Vec<Row> {
    use Method as M;
    let criterion = || Some(json!({"title": "c"}));
    vec![
        row(M::GET, "/api/v1/users", None, ALL),
        row(M::POST, "/api/v1/users", Some(json!({"name": "newbie", "roles": ["viewer"]})), ADMIN),
        row(M::GET, "/api/v1/users/me", None, ALL),
        row(M::GET, "/api/v1/me/inbox", None, ALL),
        row(M::GET, "/api/v1/users/{name}", None, ALL),
        row(M::PATCH, "/api/v1/users/{name}", Some(json!({"display_name": "X"})), ADMIN),
        row(M::POST, "/api/v1/users/{name}/password", Some(json!({"password": "correct horse battery"})), ADMIN),
        row(M::GET, "/api/v1/tokens", None, ALL),
        row(M::POST, "/api/v1/tokens", Some(json!({"label": "x"})), ALL),
        row(M::POST, "/api/v1/tokens/{token}/revoke", None, ALL),
        row(M::GET, "/api/v1/trains", None, ALL),
        row(M::POST, "/api/v1/trains", Some(train_body("made by role test", json!({}))), RM),
        row(M::GET, "/api/v1/trains/{id}", None, ALL),
        row(M::PATCH, "/api/v1/trains/{id}", Some(json!({"purpose": "p"})), RM),
        row(M::POST, "/api/v1/trains/{id}/copy", Some(json!({"start": "2028-01-03"})), RM),
        row(M::POST, "/api/v1/trains/{id}/submit", None, RM),
        row(M::POST, "/api/v1/trains/{id}/start-construction", None, RM),
        row(M::POST, "/api/v1/trains/{id}/start-verification", None, RM),
        row(M::POST, "/api/v1/trains/{id}/request-executive-approval", None, RM),
        row(M::POST, "/api/v1/trains/{id}/close", None, RM_RE),
        row(M::POST, "/api/v1/trains/{id}/cancel", Some(json!({"reason": "r"})), RM),
        row(M::PATCH, "/api/v1/trains/{id}/gates/{gate}", Some(json!({"approval_required": false})), RM),
        row(M::POST, "/api/v1/trains/{id}/gates/{gate}/request-approval", None, RM),
        row(M::POST, "/api/v1/trains/{id}/gates/{gate}/criteria", criterion(), RM),
        row(M::PATCH, "/api/v1/trains/{id}/criteria/{criterion}", Some(json!({"title": "c2"})), RM),
        row(M::DELETE, "/api/v1/trains/{id}/criteria/{criterion}", None, RM),
        row(M::POST, "/api/v1/trains/{id}/criteria/{criterion}/meet", Some(json!({"evidence": {"note": "n"}})), ACTORS),
        row(M::POST, "/api/v1/trains/{id}/criteria/{criterion}/waive", Some(json!({"reason": "r"})), RM),
        row(M::POST, "/api/v1/trains/{id}/criteria/{criterion}/reopen", None, ACTORS),
        row(M::POST, "/api/v1/trains/{id}/milestones", Some(json!({"title": "m", "due": "2027-02-01"})), RM),
        row(M::PATCH, "/api/v1/trains/{id}/milestones/{milestone}", Some(json!({"title": "m2"})), RM),
        row(M::DELETE, "/api/v1/trains/{id}/milestones/{milestone}", None, RM),
        row(M::POST, "/api/v1/trains/{id}/milestones/{milestone}/complete", None, ACTORS),
        row(M::POST, "/api/v1/trains/{id}/milestones/{milestone}/miss", None, ACTORS),
        row(M::GET, "/api/v1/approvals", None, ALL),
        row(M::GET, "/api/v1/approvals/{id}", None, ALL),
        row(M::POST, "/api/v1/approvals/{id}/approve", Some(json!({})), ACTORS),
        row(M::POST, "/api/v1/approvals/{id}/reject", Some(json!({"comment": "no"})), ACTORS),
        row(M::POST, "/api/v1/approvals/{id}/override", Some(json!({"reason": "r"})), RM),
        row(M::GET, "/api/v1/applications", None, ALL),
        row(M::POST, "/api/v1/applications", Some(json!({"key": "NEWAPP", "name": "x"})), RM_PO),
        row(M::GET, "/api/v1/applications/{key}", None, ALL),
        row(M::PATCH, "/api/v1/applications/{key}", Some(json!({"description": "d"})), RM_PO),
        row(M::POST, "/api/v1/applications/{key}/archive", None, RM_PO),
        row(M::GET, "/api/v1/application-releases", None, ALL),
        row(
            M::POST,
            "/api/v1/application-releases",
            Some(json!({"title": "r", "application": "FIX", "schedule": {"start": "2027-01-05", "end": "2027-01-06"}})),
            RM_PO,
        ),
        row(M::GET, "/api/v1/application-releases/{release}", None, ALL),
        row(M::GET, "/api/v1/application-releases/{release}/verification", None, ALL),
        row(M::PATCH, "/api/v1/application-releases/{release}", Some(json!({"title": "t"})), RM_PO),
        row(M::POST, "/api/v1/application-releases/{release}/propose", Some(json!({"train": "RT-1"})), RM_PO),
        row(M::POST, "/api/v1/application-releases/{release}/accept", None, RM),
        row(M::POST, "/api/v1/application-releases/{release}/reject", Some(json!({"reason": "r"})), RM),
        row(M::POST, "/api/v1/application-releases/{release}/remove", Some(json!({})), RM_PO),
        row(M::POST, "/api/v1/application-releases/{release}/begin-work", None, RM_PO),
        row(M::POST, "/api/v1/application-releases/{release}/request-development-approval", None, RM_PO),
        row(M::POST, "/api/v1/application-releases/{release}/send-back", Some(json!({"reason": "r"})), RM_PO),
        row(M::POST, "/api/v1/application-releases/{release}/cancel", Some(json!({"reason": "r"})), RM_PO),
        row(
            M::POST,
            "/api/v1/application-releases/{release}/milestones",
            Some(json!({"title": "m", "due": "2027-01-06"})),
            RM_PO,
        ),
        row(
            M::PATCH,
            "/api/v1/application-releases/{release}/milestones/{rmilestone}",
            Some(json!({"title": "m2"})),
            RM_PO,
        ),
        row(M::DELETE, "/api/v1/application-releases/{release}/milestones/{rmilestone}", None, RM_PO),
        row(M::POST, "/api/v1/application-releases/{release}/milestones/{rmilestone}/complete", None, ACTORS),
        row(M::POST, "/api/v1/application-releases/{release}/milestones/{rmilestone}/miss", None, ACTORS),
        row(
            M::POST,
            "/api/v1/application-releases/{release}/dependencies",
            Some(json!({"depends_on": "AR-999"})),
            RM_PO,
        ),
        row(M::DELETE, "/api/v1/application-releases/{release}/dependencies/{other}", None, RM_PO),
        row(M::GET, "/api/v1/trains/{id}/conflicts", None, ALL),
        row(M::GET, "/api/v1/trains/{id}/order", None, ALL),
        row(M::GET, "/api/v1/trains/{id}/timeline", None, ALL),
        row(M::GET, "/api/v1/application-releases/{release}/work-items", None, ALL),
        row(
            M::POST,
            "/api/v1/application-releases/{release}/work-items",
            Some(json!({"key": "K-1", "title": "t", "kind": "development_task"})),
            RM_PO,
        ),
        row(
            M::POST,
            "/api/v1/application-releases/{release}/work-items/import",
            Some(json!([{"key": "K-2", "title": "t", "kind": "development_task"}])),
            RM_PO,
        ),
        row(M::GET, "/api/v1/work-items/{item}", None, ALL),
        row(M::PATCH, "/api/v1/work-items/{item}", Some(json!({"status": "done"})), RM_PO),
        row(M::GET, "/api/v1/environments", None, ALL),
        row(M::POST, "/api/v1/environments", Some(json!({"name": "newenv", "kind": "test"})), RE),
        row(M::GET, "/api/v1/environments/{env}", None, ALL),
        row(M::PATCH, "/api/v1/environments/{env}", Some(json!({"description": "d"})), RE),
        row(M::POST, "/api/v1/environments/{env}/take-offline", None, RE),
        row(M::POST, "/api/v1/environments/{env}/bring-online", None, RE),
        row(
            M::POST,
            "/api/v1/environments/{env}/events",
            Some(
                json!({"kind": "blackout", "title": "b", "start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}),
            ),
            RM_RE,
        ),
        row(M::DELETE, "/api/v1/environments/{env}/events/{event}", None, RM_RE),
        row(M::GET, "/api/v1/environments/{env}/calendar", None, ALL),
        row(M::POST, "/api/v1/environments/{env}/decommission", None, RE),
        row(M::GET, "/api/v1/deployment-paths", None, ALL),
        row(M::POST, "/api/v1/deployment-paths", Some(json!({"name": "p", "stages": [{"environment": "fixenv"}]})), RE),
        row(M::GET, "/api/v1/deployment-paths/{path}", None, ALL),
        row(M::PATCH, "/api/v1/deployment-paths/{path}", Some(json!({"description": "d"})), RE),
        row(M::POST, "/api/v1/deployment-paths/{path}/activate", None, RE),
        row(M::POST, "/api/v1/deployment-paths/{path}/return-to-draft", None, RE),
        row(M::POST, "/api/v1/deployment-paths/{path}/retire", None, RE),
        row(M::GET, "/api/v1/turnovers", None, ALL),
        row(M::POST, "/api/v1/turnovers", Some(json!({"title": "t", "release": "AR-999", "path": "DP-999"})), BUILDERS),
        row(M::GET, "/api/v1/turnovers/{turnover}", None, ALL),
        row(M::PATCH, "/api/v1/turnovers/{turnover}", Some(json!({"title": "t2"})), BUILDERS),
        row(M::POST, "/api/v1/turnovers/{turnover}/cancel", Some(json!({"reason": "r"})), BUILDERS),
        row(M::POST, "/api/v1/turnovers/{turnover}/work-items", Some(json!({"work_items": []})), BUILDERS),
        row(M::DELETE, "/api/v1/turnovers/{turnover}/work-items/{item}", None, BUILDERS),
        row(
            M::POST,
            "/api/v1/turnovers/{turnover}/tasks",
            Some(json!({"title": "t", "sequence": 1, "owner": "eve"})),
            BUILDERS,
        ),
        row(M::PATCH, "/api/v1/turnovers/{turnover}/tasks/{task}", Some(json!({"title": "t2"})), BUILDERS),
        row(M::DELETE, "/api/v1/turnovers/{turnover}/tasks/{task}", None, BUILDERS),
        row(M::POST, "/api/v1/turnovers/{turnover}/tasks/reorder", Some(json!({"order": []})), BUILDERS),
        row(M::POST, "/api/v1/turnovers/{turnover}/tasks/copy", Some(json!({"from": "TO-999"})), BUILDERS),
        row(M::POST, "/api/v1/turnovers/{turnover}/deploy", None, RE),
        row(
            M::POST,
            "/api/v1/production-turnovers",
            Some(json!({"title": "t", "releases": ["AR-999"], "environments": ["fixenv"]})),
            BUILDERS,
        ),
        row(M::GET, "/api/v1/turnovers/{turnover}/proposed-order", None, ALL),
        row(M::POST, "/api/v1/turnovers/{turnover}/deliver", None, BUILDERS),
        row(M::POST, "/api/v1/turnovers/{turnover}/accept", None, RE),
        row(M::POST, "/api/v1/turnovers/{turnover}/reject", Some(json!({"comment": "c"})), RE),
        row(
            M::POST,
            "/api/v1/turnovers/{turnover}/schedule",
            Some(json!({"environment": "fixenv", "at": "2030-01-01T00:00:00Z"})),
            RE,
        ),
        row(M::POST, "/api/v1/turnovers/{turnover}/verify", Some(json!({"passed": true})), RE),
        row(
            M::POST,
            "/api/v1/turnovers/{turnover}/rollback",
            Some(json!({"environment": "fixenv", "reason": "r"})),
            RE,
        ),
        row(M::POST, "/api/v1/deployments/{deployment}/start", Some(json!({"override": true, "reason": "r"})), RM),
        row(M::GET, "/api/v1/line", None, ALL),
        row(M::POST, "/api/v1/line/halt", Some(json!({"reason": "r"})), RM),
        row(M::POST, "/api/v1/line/resume", Some(json!({"reason": "r"})), RM),
        row(M::GET, "/api/v1/deployments", None, ALL),
        row(M::GET, "/api/v1/deployments/{deployment}", None, ALL),
        row(M::POST, "/api/v1/deployments/{deployment}/retry", None, RE),
        row(M::POST, "/api/v1/deployments/{deployment}/abandon", None, RE),
        row(M::POST, "/api/v1/deployments/{deployment}/validate", Some(json!({"passed": true})), RE),
        row(M::POST, "/api/v1/deployments/{deployment}/runs/{run}/complete", Some(json!({"done": true})), ACTORS),
        row(M::GET, "/api/v1/deployments/{deployment}/runs/{run}/log", None, ALL),
        row(M::GET, "/api/v1/runbooks", None, ALL),
        row(M::POST, "/api/v1/runbooks", Some(json!({"name": "rb", "tasks": []})), BUILDERS),
        row(M::GET, "/api/v1/runbooks/{runbook}", None, ALL),
        row(M::POST, "/api/v1/runbooks/{runbook}/submit", None, BUILDERS),
        row(M::POST, "/api/v1/runbooks/{runbook}/accept", None, BUILDERS),
        row(M::POST, "/api/v1/runbooks/{runbook}/reject", Some(json!({"comment": "c"})), BUILDERS),
        row(M::POST, "/api/v1/runbooks/{runbook}/deactivate", None, BUILDERS),
        row(M::POST, "/api/v1/turnovers/{turnover}/tasks/from-runbook", Some(json!({"runbook": "RB-999"})), BUILDERS),
        row(M::POST, "/api/v1/turnovers/{turnover}/save-as-runbook", Some(json!({"name": "n"})), BUILDERS),
        row(M::GET, "/api/v1/audit/events", None, ALL),
        row(M::GET, "/api/v1/audit/verify", None, ALL),
        row(M::GET, "/api/v1/audit/head", None, ALL),
    ]
}

#[tokio::test]
async fn every_endpoint_lets_in_exactly_the_roles_of_the_matrix() {
    let app = TestApp::spawn().await;
    let mut tokens = vec![("admin".to_string(), app.admin.clone())];
    for role in &ALL[1..] {
        tokens.push((role.to_string(), app.user(&format!("u-{}", role.replace('_', "-")), &[role]).await));
    }
    app.user("eve", &["product_owner"]).await;
    // A fixture train with a pending approval, a criterion and a milestone.
    let rm = &tokens[1].1;
    let policies = json!({"train": {"levels": [level(&["eve"], 1)]}, "executive": {"levels": [level(&["eve"], 1)]}});
    let t = app.post(rm, "/api/v1/trains", train_body("fixture", policies)).await.ok();
    let id = t["id"].as_str().unwrap().to_string();
    app.post(rm, &format!("/api/v1/trains/{id}/gates/scoping/criteria"), json!({"title": "c"})).await.ok();
    let t =
        app.post(rm, &format!("/api/v1/trains/{id}/milestones"), json!({"title": "m", "due": "2027-02-01"})).await.ok();
    let ec = t["gates"]["scoping"]["criteria"][0]["id"].as_str().unwrap().to_string();
    let ms = t["milestones"][0]["id"].as_str().unwrap().to_string();
    let t = app.post(rm, &format!("/api/v1/trains/{id}/submit"), json!({})).await.ok();
    let ap = t["train_approval"]["id"].as_str().unwrap().to_string();

    app.post(rm, "/api/v1/applications", json!({"key": "FIX", "name": "Fixture"})).await.ok();
    let body = json!({"title": "fixture release", "application": "FIX", "schedule": {"start": "2027-01-05", "end": "2027-01-06"}});
    let r = app.post(rm, "/api/v1/application-releases", body).await.ok();
    let ar = r["id"].as_str().unwrap().to_string();
    let r = app
        .post(rm, &format!("/api/v1/application-releases/{ar}/milestones"), json!({"title": "m", "due": "2027-01-06"}))
        .await
        .ok();
    let rms = r["milestones"][0]["id"].as_str().unwrap().to_string();
    let w = app
        .post(
            rm,
            &format!("/api/v1/application-releases/{ar}/work-items"),
            json!({"key": "FIX-1", "title": "t", "kind": "development_task"}),
        )
        .await
        .ok();
    let wi = w["id"].as_str().unwrap().to_string();
    let eng = &tokens[2].1;
    app.post(eng, "/api/v1/environments", json!({"name": "fixenv", "kind": "test"})).await.ok();
    let e = app
        .post(
            eng,
            "/api/v1/environments/fixenv/events",
            json!({"kind": "blackout", "title": "b", "start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}),
        )
        .await
        .ok();
    let ce = e["events"][0]["id"].as_str().unwrap().to_string();
    let p = app
        .post(eng, "/api/v1/deployment-paths", json!({"name": "fixture", "stages": [{"environment": "fixenv"}]}))
        .await
        .ok();
    let dp = p["id"].as_str().unwrap().to_string();

    let rows = matrix();
    // Every operation of the OpenAPI document is in the table (and nothing else).
    let doc = app.call(None, Method::GET, "/api/v1/openapi.json", None).await.ok();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if path.starts_with("/api/v1/") {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let covered: BTreeSet<String> = rows.iter().map(|r| format!("{} {}", r.method, normalise(r.path))).collect();
    let documented: BTreeSet<String> = documented.iter().map(|d| normalise(d)).collect();
    assert_eq!(covered, documented, "the role matrix and the API's endpoints differ");

    let mut failures = Vec::new();
    for r in &rows {
        let path = r
            .path
            .replace("{id}", if r.path.starts_with("/api/v1/approvals") { &ap } else { &id })
            .replace("{name}", "eve")
            .replace("{token}", "TK-999999")
            .replace("{gate}", "scoping")
            .replace("{criterion}", &ec)
            .replace("{milestone}", &ms)
            .replace("{key}", "FIX")
            .replace("{release}", &ar)
            .replace("{rmilestone}", &rms)
            .replace("{other}", "AR-999")
            .replace("{item}", &wi)
            .replace("{env}", "fixenv")
            .replace("{event}", &ce)
            .replace("{path}", &dp)
            .replace("{turnover}", "TO-999")
            .replace("{task}", "TA-999")
            .replace("{deployment}", "DE-999")
            .replace("{run}", "R1")
            .replace("{runbook}", "RB-999");
        for (role, token) in &tokens {
            let res = app.call_with(Some(token), r.method.clone(), &path, r.body.clone(), Some(1_000_000)).await;
            let allowed = r.allowed.contains(&role.as_str());
            let let_in = res.status != 403 && res.status != 401;
            if allowed != let_in {
                failures.push(format!("{} {path} as {role}: {} ({})", r.method, res.status, res.body["detail"]));
            }
        }
        let anon = app.call(None, r.method.clone(), &path, r.body.clone()).await;
        if anon.status != 401 {
            failures.push(format!("{} {path} without a token: {}", r.method, anon.status));
        }
    }
    assert!(failures.is_empty(), "role matrix violations:\n{}", failures.join("\n"));
}

/// Path parameters renamed to `{}` so the table's names need not match the document's.
fn normalise(s: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for c in s.chars() {
        match c {
            '{' => {
                skip = true;
                out.push_str("{}");
            }
            '}' => skip = false,
            _ if !skip => out.push(c),
            _ => {}
        }
    }
    out
}
