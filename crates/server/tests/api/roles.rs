//! The role matrix: every endpoint, called by every role, lets in exactly the roles it should.
//! The expectations are written out here, independently of the code's matrix, and the test fails when
//! the OpenAPI document lists an endpoint this table does not cover.
//!
//! Then the object level (`railyard_domain::access`, "Who may act on whose object"): the person an
//! object belongs to may act on it, another user of the same role may not (403 with a guard naming who
//! may), and a role over it may.

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
/// Variables: release engineers (global, environment), product owners (their applications' only: the
/// object-level rule), admins.
const RE_PO: &[&str] = &["admin", "release_engineer", "product_owner"];
/// The runner protocol: runner tokens only; every user's token is refused.
const RUNNERS_ONLY: &[&str] = &[];

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
        row(M::GET, "/api/v1/actions", None, ALL),
        row(M::GET, "/api/v1/me/inbox", None, ALL),
        row(M::GET, "/api/v1/users/{name}", None, ALL),
        row(M::GET, "/api/v1/users/{name}/actions", None, ALL),
        row(M::PATCH, "/api/v1/users/{name}", Some(json!({"display_name": "X"})), ADMIN),
        row(M::POST, "/api/v1/users/{name}/password", Some(json!({"password": "correct horse battery"})), ADMIN),
        row(M::GET, "/api/v1/tokens", None, ALL),
        row(M::POST, "/api/v1/tokens", Some(json!({"label": "x"})), ALL),
        row(M::POST, "/api/v1/tokens/{token}/revoke", None, ALL),
        row(M::GET, "/api/v1/trains", None, ALL),
        row(M::POST, "/api/v1/trains", Some(train_body("made by role test", json!({}))), RM),
        row(M::GET, "/api/v1/trains/{id}", None, ALL),
        row(M::GET, "/api/v1/trains/{id}/actions", None, ALL),
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
        row(M::GET, "/api/v1/approvals/{id}/actions", None, ALL),
        row(M::POST, "/api/v1/approvals/{id}/approve", Some(json!({})), ACTORS),
        row(M::POST, "/api/v1/approvals/{id}/reject", Some(json!({"comment": "no"})), ACTORS),
        row(M::POST, "/api/v1/approvals/{id}/override", Some(json!({"reason": "r"})), RM),
        row(M::GET, "/api/v1/applications", None, ALL),
        row(M::POST, "/api/v1/applications", Some(json!({"key": "NEWAPP", "name": "x"})), RM_PO),
        row(M::GET, "/api/v1/applications/{key}", None, ALL),
        row(M::GET, "/api/v1/applications/{key}/actions", None, ALL),
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
        row(M::GET, "/api/v1/application-releases/{release}/actions", None, ALL),
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
        row(M::GET, "/api/v1/environments/{env}/actions", None, ALL),
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
        row(M::GET, "/api/v1/deployment-paths/{path}/actions", None, ALL),
        row(M::PATCH, "/api/v1/deployment-paths/{path}", Some(json!({"description": "d"})), RE),
        row(M::POST, "/api/v1/deployment-paths/{path}/activate", None, RE),
        row(M::POST, "/api/v1/deployment-paths/{path}/return-to-draft", None, RE),
        row(M::POST, "/api/v1/deployment-paths/{path}/retire", None, RE),
        row(M::GET, "/api/v1/turnovers", None, ALL),
        row(M::POST, "/api/v1/turnovers", Some(json!({"title": "t", "release": "AR-999", "path": "DP-999"})), BUILDERS),
        row(M::GET, "/api/v1/turnovers/{turnover}", None, ALL),
        row(M::GET, "/api/v1/turnovers/{turnover}/actions", None, ALL),
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
        row(M::GET, "/api/v1/deployments/{deployment}/actions", None, ALL),
        row(M::POST, "/api/v1/deployments/{deployment}/retry", None, RE),
        row(M::POST, "/api/v1/deployments/{deployment}/abandon", None, RE),
        row(M::POST, "/api/v1/deployments/{deployment}/validate", Some(json!({"passed": true})), RE),
        row(M::POST, "/api/v1/deployments/{deployment}/runs/{run}/complete", Some(json!({"done": true})), ACTORS),
        row(M::GET, "/api/v1/deployments/{deployment}/runs/{run}/log", None, ALL),
        row(M::GET, "/api/v1/inventory", None, ALL),
        row(M::GET, "/api/v1/inventory/{key}/{env}", None, ALL),
        row(M::GET, "/api/v1/runbooks", None, ALL),
        row(M::POST, "/api/v1/runbooks", Some(json!({"name": "rb", "tasks": []})), BUILDERS),
        row(M::GET, "/api/v1/runbooks/{runbook}", None, ALL),
        row(M::GET, "/api/v1/runbooks/{runbook}/actions", None, ALL),
        row(M::POST, "/api/v1/runbooks/{runbook}/submit", None, BUILDERS),
        row(M::POST, "/api/v1/runbooks/{runbook}/accept", None, BUILDERS),
        row(M::POST, "/api/v1/runbooks/{runbook}/reject", Some(json!({"comment": "c"})), BUILDERS),
        row(M::POST, "/api/v1/runbooks/{runbook}/deactivate", None, BUILDERS),
        row(M::POST, "/api/v1/turnovers/{turnover}/tasks/from-runbook", Some(json!({"runbook": "RB-999"})), BUILDERS),
        row(M::POST, "/api/v1/turnovers/{turnover}/save-as-runbook", Some(json!({"name": "n"})), BUILDERS),
        row(M::GET, "/api/v1/variables", None, ALL),
        row(M::POST, "/api/v1/variables", Some(json!({"name": "ROLE_TEST", "value": "v"})), RE_PO),
        row(M::GET, "/api/v1/variables/{variable}", None, ALL),
        row(M::PATCH, "/api/v1/variables/{variable}", Some(json!({"value": "v2"})), RE_PO),
        row(M::DELETE, "/api/v1/variables/{variable}", None, RE_PO),
        row(M::GET, "/api/v1/secrets", None, ALL),
        row(M::POST, "/api/v1/secrets", Some(json!({"name": "ROLE_TEST", "value": "v123"})), RE_PO),
        row(M::GET, "/api/v1/secrets/{secret}", None, ALL),
        row(M::PATCH, "/api/v1/secrets/{secret}", Some(json!({"value": "v234"})), RE_PO),
        row(M::DELETE, "/api/v1/secrets/{secret}", None, RE_PO),
        row(M::GET, "/api/v1/runners", None, ALL),
        row(M::POST, "/api/v1/runners", Some(json!({"name": "role-test", "labels": ["x"]})), RE),
        row(M::GET, "/api/v1/runners/actions", None, ALL),
        row(M::GET, "/api/v1/runners/{runner}", None, ALL),
        row(M::POST, "/api/v1/runners/{runner}/revoke", None, RE),
        row(M::POST, "/api/v1/runner/claim", Some(json!({"capacity": 0})), RUNNERS_ONLY),
        row(M::POST, "/api/v1/runner/runs/{claim}/heartbeat", Some(json!({})), RUNNERS_ONLY),
        row(
            M::POST,
            "/api/v1/runner/runs/{claim}/result",
            Some(json!({"status": "succeeded", "finished_at": "2030-01-01T00:00:00Z"})),
            RUNNERS_ONLY,
        ),
        row(M::GET, "/api/v1/audit/events", None, ALL),
        row(M::GET, "/api/v1/audit/verify", None, ALL),
        row(M::GET, "/api/v1/audit/head", None, ALL),
    ]
}

#[tokio::test]
async fn every_endpoint_lets_in_exactly_the_roles_of_the_matrix() {
    let app = TestApp::spawn().await;
    let mut tokens = Vec::new();
    for role in &ALL[1..] {
        tokens.push((role.to_string(), app.user(&format!("u-{}", role.replace('_', "-")), &[role]).await));
    }
    app.user("eve", &["product_owner"]).await;
    // The admin of the matrix is one the bootstrap admin made last: its token retires the bootstrap
    // token (which is for the first start only), and creating tokens for the admin must not end the
    // matrix's admin token midway.
    tokens.insert(0, ("admin".to_string(), app.user("u-admin", &["admin"]).await));
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
    let v = app.post(eng, "/api/v1/variables", json!({"name": "FIXTURE", "value": "v"})).await.ok();
    let var = v["id"].as_str().unwrap().to_string();
    let v = app.post(eng, "/api/v1/secrets", json!({"name": "FIXTURE", "value": "v123"})).await.ok();
    let secret = v["id"].as_str().unwrap().to_string();
    app.post(eng, "/api/v1/runners", json!({"name": "fixrunner", "labels": ["fix"]})).await.ok();

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
            .replace("{runbook}", "RB-999")
            .replace("{variable}", &var)
            .replace("{secret}", &secret)
            .replace("{runner}", "fixrunner")
            .replace("{claim}", "DE-999:R1:1");
        for (role, token) in &tokens {
            let res = app.call_with(Some(token), r.method.clone(), &path, r.body.clone(), Some(1_000_000)).await;
            let allowed = r.allowed.contains(&role.as_str());
            // The role matrix only: a 403 naming guards is an object-level refusal (the fixture's
            // objects belong to someone else), covered by `object_level_rules_...` below.
            let role_refusal = res.status == 403 && res.guards().is_empty();
            let let_in = !role_refusal && res.status != 401;
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

/// A 403 refusal by an object-level rule: its code, the guard's code, and who may, named.
#[track_caller]
fn denied(r: crate::common::Reply, guard: &str, names: &[&str]) {
    assert_eq!(r.status, 403, "expected 403 {guard}: {}", r.body);
    assert_eq!(r.body["code"], "forbidden", "{}", r.body);
    assert_eq!(r.guards(), vec![guard.to_string()], "{}", r.body);
    for n in names {
        assert!(r.guard_text().contains(n), "the refusal names {n}: {}", r.guard_text());
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The people of the object-level cases, with their tokens.
struct People {
    rita: String,
    rob: String,
    erin: String,
    dan: String,
    dora: String,
    paula: String,
    pete: String,
}

async fn people(app: &TestApp) -> People {
    let p = People {
        rita: app.user("rita", &["release_manager"]).await,
        rob: app.user("rob", &["release_manager"]).await,
        erin: app.user("erin", &["release_engineer"]).await,
        dan: app.user("dan", &["developer"]).await,
        dora: app.user("dora", &["developer"]).await,
        paula: app.user("paula", &["product_owner"]).await,
        pete: app.user("pete", &["product_owner"]).await,
    };
    app.user("eve", &["product_owner"]).await;
    p
}

/// A train of rita's (executive approval by eve) with a scoping criterion and a milestone owned by
/// paula; the train, the criterion, the milestone.
async fn paulas_train(app: &TestApp, p: &People) -> (String, String, String) {
    let policies = json!({"executive": {"levels": [level(&["eve"], 1)]}});
    let rt = id_of(&app.post(&p.rita, "/api/v1/trains", train_body("T", policies)).await.ok());
    let base = format!("/api/v1/trains/{rt}");
    let t = app
        .post(&p.rita, &format!("{base}/gates/scoping/criteria"), json!({"title": "Scope", "owner": "paula"}))
        .await
        .ok();
    let ec = t["gates"]["scoping"]["criteria"][0]["id"].as_str().unwrap().to_string();
    let t = app
        .post(&p.rita, &format!("{base}/milestones"), json!({"title": "m", "due": "2027-02-01", "owner": "paula"}))
        .await
        .ok();
    let ms = t["milestones"][0]["id"].as_str().unwrap().to_string();
    (rt, ec, ms)
}

fn release_body(po: Option<&str>) -> Value {
    let mut b =
        json!({"title": "PAY 1", "application": "PAY", "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
    if let Some(po) = po {
        b["product_owner"] = json!(po);
    }
    b
}

/// Runbooks: the author submits and deactivates; another developer may not; engineers and managers
/// review, and keep the library.
#[tokio::test]
async fn object_level_a_runbook_is_its_authors_to_submit_and_deactivate() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let tasks = json!([{"title": "Restart", "sequence": 1, "owner": "dan"}]);
    let rb = id_of(&app.post(&p.dan, "/api/v1/runbooks", json!({"name": "restart", "tasks": tasks})).await.ok());
    let rb2 = id_of(&app.post(&p.dan, "/api/v1/runbooks", json!({"name": "restart 2", "tasks": tasks})).await.ok());
    let before = app.event_count().await;
    let r = app.post(&p.dora, &format!("/api/v1/runbooks/{rb}/submit"), json!({})).await;
    denied(r, "not_runbook_author", &["dan"]);
    assert_eq!(app.event_count().await, before, "a refusal changes nothing");
    app.post(&p.dan, &format!("/api/v1/runbooks/{rb}/submit"), json!({})).await.ok();
    app.post(&p.erin, &format!("/api/v1/runbooks/{rb2}/submit"), json!({})).await.ok();
    let r = app.post(&p.dora, &format!("/api/v1/runbooks/{rb}/accept"), json!({})).await;
    denied(r, "not_reviewer", &["release engineers"]);
    app.post(&p.erin, &format!("/api/v1/runbooks/{rb}/accept"), json!({})).await.ok();
    app.post(&p.rob, &format!("/api/v1/runbooks/{rb2}/accept"), json!({})).await.ok();
    let r = app.post(&p.dora, &format!("/api/v1/runbooks/{rb}/deactivate"), json!({})).await;
    denied(r, "not_runbook_author", &["dan"]);
    let r = app.post(&p.dan, &format!("/api/v1/runbooks/{rb}/deactivate"), json!({})).await.ok();
    assert_eq!(r["state"], "inactive");
    let r = app.post(&p.erin, &format!("/api/v1/runbooks/{rb2}/deactivate"), json!({})).await.ok();
    assert_eq!(r["state"], "inactive", "release engineers keep the runbook library");
}

/// A train: its manager hands it over, another manager may not. A criterion and a milestone: their
/// owner decides them; another product owner or a developer may not; a release manager (and, for a
/// criterion, a release engineer) may.
#[tokio::test]
async fn object_level_a_train_is_its_managers_and_criteria_and_milestones_their_owners() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let (rt, ec, ms) = paulas_train(&app, &p).await;
    let base = format!("/api/v1/trains/{rt}");
    let v = app.get(&p.rita, &base).await.ok()["version"].as_i64().unwrap();
    denied(app.patch(&p.rob, &base, json!({"manager": "rob"}), v).await, "not_train_manager", &["rita"]);
    let evidence = json!({"evidence": {"note": "signed"}});
    let meet = format!("{base}/criteria/{ec}/meet");
    denied(app.post(&p.pete, &meet, evidence.clone()).await, "not_owner", &["paula"]);
    denied(app.post(&p.dan, &meet, evidence.clone()).await, "not_owner", &["paula"]);
    app.post(&p.paula, &meet, evidence.clone()).await.ok();
    app.post(&p.erin, &format!("{base}/criteria/{ec}/reopen"), json!({})).await.ok();
    app.post(&p.rob, &meet, evidence).await.ok();
    let complete = format!("{base}/milestones/{ms}/complete");
    denied(app.post(&p.pete, &complete, json!({})).await, "not_owner", &["paula"]);
    denied(app.post(&p.erin, &complete, json!({})).await, "not_owner", &["paula"]);
    app.post(&p.paula, &complete, json!({})).await.ok();
    app.patch(&p.rita, &base, json!({"manager": "rob"}), v + 4).await.ok();
}

/// An application release: its product owner acts on it, another product owner may not, a release
/// manager may; a product owner names only themselves as a release's product owner.
#[tokio::test]
async fn object_level_an_application_release_is_its_product_owners() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let (rt, _, _) = paulas_train(&app, &p).await;
    app.post(&p.rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    let before = app.event_count().await;
    let r = app.post(&p.pete, "/api/v1/application-releases", release_body(Some("paula"))).await;
    denied(r, "names_another_product_owner", &["paula", "release manager"]);
    assert_eq!(app.event_count().await, before, "no release was created");
    let ar = id_of(&app.post(&p.paula, "/api/v1/application-releases", release_body(None)).await.ok());
    let other = app.post(&p.rita, "/api/v1/application-releases", release_body(Some("pete"))).await.ok();
    assert_eq!(other["product_owner"], "pete", "a release manager names the product owner");
    let arp = format!("/api/v1/application-releases/{ar}");
    let v = app.get(&p.paula, &arp).await.ok()["version"].as_i64().unwrap();
    denied(app.patch(&p.pete, &arp, json!({"title": "mine now"}), v).await, "not_product_owner", &["paula"]);
    denied(app.post(&p.pete, &format!("{arp}/propose"), json!({"train": rt})).await, "not_product_owner", &["paula"]);
    let ms = json!({"title": "demo", "due": "2027-01-20"});
    denied(app.post(&p.pete, &format!("{arp}/milestones"), ms.clone()).await, "not_product_owner", &["paula"]);
    let r = app.patch(&p.paula, &arp, json!({"product_owner": "pete"}), v).await;
    denied(r, "names_another_product_owner", &["pete"]);
    app.patch(&p.rob, &arp, json!({"title": "PAY 1 (rob)"}), v).await.ok();
    app.post(&p.paula, &format!("{arp}/milestones"), ms).await.ok();
    app.post(&p.paula, &format!("{arp}/propose"), json!({"train": rt})).await.ok();
}

/// Turnovers: a developer names only themselves as developer and changes only their own; release
/// engineers and managers name anyone and change any.
#[tokio::test]
async fn object_level_a_turnover_is_its_developers() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let (rt, ec, _) = paulas_train(&app, &p).await;
    let base = format!("/api/v1/trains/{rt}");
    app.post(&p.rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    let ar = id_of(&app.post(&p.paula, "/api/v1/application-releases", release_body(None)).await.ok());
    let arp = format!("/api/v1/application-releases/{ar}");
    app.post(&p.paula, &format!("{arp}/propose"), json!({"train": rt})).await.ok();
    app.post(&p.rita, &format!("{arp}/accept"), json!({})).await.ok();
    app.post(&p.paula, &format!("{base}/criteria/{ec}/meet"), json!({"evidence": {"note": "ok"}})).await.ok();
    app.post(&p.erin, "/api/v1/environments", json!({"name": "test", "kind": "test"})).await.ok();
    let path = json!({"name": "p", "stages": [{"environment": "test"}]});
    let path = id_of(&app.post(&p.erin, "/api/v1/deployment-paths", path).await.ok());
    app.post(&p.erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await.ok();
    app.post(&p.rita, &format!("{base}/submit"), json!({})).await.ok();
    app.post(&p.rita, &format!("{base}/start-construction"), json!({})).await.ok();
    app.post(&p.paula, &format!("{arp}/begin-work"), json!({})).await.ok();
    let spec = |dev: &str| json!({"title": "build 1", "release": ar, "path": path, "developer": dev});

    let before = app.event_count().await;
    let r = app.post(&p.dan, "/api/v1/turnovers", spec("dora")).await;
    denied(r, "names_another_developer", &["dora", "release engineer"]);
    assert_eq!(app.event_count().await, before, "no turnover was created");
    let to = id_of(&app.post(&p.dan, "/api/v1/turnovers", spec("dan")).await.expect(201));
    let by_erin = app.post(&p.erin, "/api/v1/turnovers", spec("dora")).await.expect(201);
    assert_eq!(by_erin["developer"], "dora", "a release engineer names the developer");
    let tp = format!("/api/v1/turnovers/{to}");
    let task = json!({"title": "migrate", "sequence": 1, "owner": "dan"});
    denied(app.post(&p.dora, &format!("{tp}/tasks"), task.clone()).await, "not_developer", &["dan"]);
    denied(app.post(&p.dora, &format!("{tp}/cancel"), json!({"reason": "mine"})).await, "not_developer", &["dan"]);
    let r = app.call(Some(&p.dan), reqwest::Method::PATCH, &tp, Some(json!({"developer": "dora"}))).await;
    denied(r, "names_another_developer", &["dora"]);
    app.post(&p.dan, &format!("{tp}/tasks"), task.clone()).await.expect(201);
    let check = json!({"title": "check", "sequence": 2, "owner": "erin"});
    app.post(&p.erin, &format!("{tp}/tasks"), check).await.expect(201);
    let r = app.call(Some(&p.rita), reqwest::Method::PATCH, &tp, Some(json!({"developer": "dora"}))).await.ok();
    assert_eq!(r["developer"], "dora", "a release manager hands a turnover to another developer");
    denied(app.post(&p.dan, &format!("{tp}/tasks"), task).await, "not_developer", &["dora"]);
}
