//! A train taken through its whole lifecycle over the API, with the refusals a release team would meet.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, level, train_body};

fn criterion_id(train: &Value, gate: &str, title: &str) -> String {
    train["gates"][gate]["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"] == title)
        .unwrap_or_else(|| panic!("no criterion '{title}' in {gate}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_train_goes_from_draft_to_closed_with_every_guard_enforced_on_sqlite() {
    draft_to_closed(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_train_goes_from_draft_to_closed_with_every_guard_enforced_on_postgres() {
    draft_to_closed(Backend::Postgres).await;
}

async fn draft_to_closed(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let rm = app.user("rita", &["release_manager"]).await;
    let alice = app.user("alice", &["developer"]).await;
    let bob = app.user("bob", &["release_engineer"]).await;
    let qa = app.user("quinn", &["release_engineer"]).await;
    let exec = app.user("eve", &["viewer", "product_owner"]).await;

    let policies = json!({
        "train": {"levels": [level(&["alice"], 1), level(&["bob"], 1)]},
        "executive": {"levels": [level(&["eve"], 1)]},
        "gate": {"levels": [level(&["quinn"], 1)]}
    });
    let t = app.post(&rm, "/api/v1/trains", train_body("2027.1", policies)).await.expect(201);
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(t["state"], "draft");
    assert_eq!(t["manager"], "rita");
    let base = format!("/api/v1/trains/{id}");

    // Out of order: construction cannot start from draft.
    let r = app.post(&rm, &format!("{base}/start-construction"), json!({})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.guards(), vec!["wrong_state"]);
    assert!(r.guard_text().contains("draft"), "{}", r.guard_text());

    // Submit: a train approval is requested of two levels.
    let t = app.post(&rm, &format!("{base}/submit"), json!({})).await.ok();
    assert_eq!(t["state"], "awaiting_train_approval");
    let ap = t["train_approval"]["id"].as_str().unwrap().to_string();
    let ap_path = format!("/api/v1/approvals/{ap}");

    // The requester cannot decide it (R2), and is not listed anyway.
    let r = app.post(&rm, &format!("{ap_path}/approve"), json!({})).await;
    assert_eq!(r.status, 409);
    assert!(r.guards().contains(&"own_request".to_string()), "{:?}", r.guards());
    // Level 2 waits for level 1.
    let r = app.post(&bob, &format!("{ap_path}/approve"), json!({})).await;
    assert_eq!(r.guards(), vec!["level_not_reached"]);
    // alice sees it as hers; bob does not yet.
    let mine = app.get(&alice, "/api/v1/approvals?mine=true").await.ok();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let mine = app.get(&bob, "/api/v1/approvals?mine=true").await.ok();
    assert!(mine["items"].as_array().unwrap().is_empty());

    let a = app.post(&alice, &format!("{ap_path}/approve"), json!({"comment": "scope is right"})).await.ok();
    assert_eq!(a["state"], "pending");
    assert_eq!(a["current_level"], 2);
    // One user decides once.
    let r = app.post(&alice, &format!("{ap_path}/approve"), json!({})).await;
    assert!(r.guards().contains(&"already_decided".to_string()));
    let a = app.post(&bob, &format!("{ap_path}/approve"), json!({})).await.ok();
    assert_eq!(a["state"], "approved");
    let t = app.get(&rm, &base).await.ok();
    assert_eq!(t["state"], "scoping");

    // Scoping gate: one criterion, and gate approval required.
    let t = app
        .post(&rm, &format!("{base}/gates/scoping/criteria"), json!({"title": "Scope signed off", "owner": "alice"}))
        .await
        .expect(201);
    let ec = criterion_id(&t, "scoping", "Scope signed off");
    let t = app
        .patch(
            &rm,
            &format!("{base}/gates/scoping"),
            json!({"approval_required": true}),
            t["version"].as_i64().unwrap(),
        )
        .await
        .ok();
    assert_eq!(t["gates"]["scoping"]["approval_required"], true);
    let r = app.post(&rm, &format!("{base}/start-construction"), json!({})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.guards(), vec!["criterion_open", "gate_approval_missing"]);
    assert!(r.guard_text().contains(&ec) && r.guard_text().contains("owner: alice"), "{}", r.guard_text());

    // Meeting needs evidence; bob does not own it.
    app.post(&alice, &format!("{base}/criteria/{ec}/meet"), json!({})).await.expect(422);
    let r = app.post(&qa, &format!("{base}/criteria/{ec}/meet"), json!({"evidence": {"note": "x"}})).await;
    assert_eq!(r.status, 200, "release engineers may meet criteria: {}", r.body);
    app.post(&rm, &format!("{base}/criteria/{ec}/reopen"), json!({})).await.ok();
    let t = app
        .post(
            &alice,
            &format!("{base}/criteria/{ec}/meet"),
            json!({"evidence": {"note": "signed", "link": "https://wiki/scope"}}),
        )
        .await
        .ok();
    let c = &t["gates"]["scoping"]["criteria"][0];
    assert_eq!(c["state"], "met");
    assert_eq!(c["evidence"]["link"], "https://wiki/scope");

    let t = app.post(&rm, &format!("{base}/gates/scoping/request-approval"), json!({})).await.ok();
    let gap = t["gates"]["scoping"]["approval"]["id"].as_str().unwrap().to_string();
    let r = app.post(&rm, &format!("{base}/start-construction"), json!({})).await;
    assert_eq!(r.guards(), vec!["gate_approval_not_granted"]);
    app.post(&qa, &format!("/api/v1/approvals/{gap}/approve"), json!({})).await.ok();
    let t = app.post(&rm, &format!("{base}/start-construction"), json!({})).await.ok();
    assert_eq!(t["state"], "construction");
    // The scoping gate is closed for edits now.
    let r = app.post(&rm, &format!("{base}/criteria/{ec}/reopen"), json!({})).await;
    assert_eq!(r.guards(), vec!["gate_closed"]);

    // Construction: a waived criterion passes the gate; waiving needs a reason.
    let t = app.post(&rm, &format!("{base}/gates/construction/criteria"), json!({"title": "Code freeze"})).await.ok();
    let ec2 = criterion_id(&t, "construction", "Code freeze");
    app.post(&rm, &format!("{base}/criteria/{ec2}/waive"), json!({"reason": "  "})).await.expect(422);
    app.post(&alice, &format!("{base}/criteria/{ec2}/waive"), json!({"reason": "no"})).await.expect(403);
    app.post(&rm, &format!("{base}/criteria/{ec2}/waive"), json!({"reason": "hotfix-only release"})).await.ok();
    let t = app.post(&rm, &format!("{base}/start-verification"), json!({})).await.ok();
    assert_eq!(t["state"], "verification");

    // Verification gate, then executive approval: one rejection first.
    let t = app
        .post(
            &rm,
            &format!("{base}/gates/verification/criteria"),
            json!({"title": "Load test passed", "owner": "quinn"}),
        )
        .await
        .ok();
    let ec3 = criterion_id(&t, "verification", "Load test passed");
    let r = app.post(&rm, &format!("{base}/request-executive-approval"), json!({})).await;
    assert_eq!(r.guards(), vec!["criterion_open"]);
    assert!(r.guard_text().contains("'Load test passed'") && r.guard_text().contains("owner: quinn"));
    app.post(&qa, &format!("{base}/criteria/{ec3}/meet"), json!({"evidence": {"note": "p99 180ms"}})).await.ok();
    let t = app.post(&rm, &format!("{base}/request-executive-approval"), json!({})).await.ok();
    assert_eq!(t["state"], "awaiting_executive_approval");
    let xap = t["executive_approval"]["id"].as_str().unwrap().to_string();
    let xpath = format!("/api/v1/approvals/{xap}");
    app.post(&exec, &format!("{xpath}/reject"), json!({"comment": "no"})).await.expect(422);
    app.post(&exec, &format!("{xpath}/reject"), json!({"comment": "too risky", "return_to": "deployment"}))
        .await
        .expect(422);
    app.post(&exec, &format!("{xpath}/reject"), json!({"comment": "rerun the load test", "return_to": "verification"}))
        .await
        .ok();
    let t = app.get(&rm, &base).await.ok();
    assert_eq!(t["state"], "verification");
    let t = app.post(&rm, &format!("{base}/request-executive-approval"), json!({})).await.ok();
    let xap2 = t["executive_approval"]["id"].as_str().unwrap().to_string();
    assert_ne!(xap, xap2);
    app.post(&exec, &format!("/api/v1/approvals/{xap2}/approve"), json!({})).await.ok();
    let t = app.get(&rm, &base).await.ok();
    assert_eq!(t["state"], "deployment");

    // Close: not by a developer; by a release engineer.
    app.post(&alice, &format!("{base}/close"), json!({})).await.expect(403);
    let t = app.post(&bob, &format!("{base}/close"), json!({})).await.ok();
    assert_eq!(t["state"], "closed");
    let r = app.post(&rm, &format!("{base}/cancel"), json!({"reason": "late"})).await;
    assert_eq!(r.guards(), vec!["wrong_state"]);

    // Every step is in the audit log, attributed, and the chain verifies.
    let ev = app.get(&rm, &format!("/api/v1/audit/events?object={id}&limit=500")).await.ok();
    let actions: Vec<&str> = ev["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in [
        "create",
        "submit",
        "train_approved",
        "add_criterion",
        "meet_criterion",
        "start_construction",
        "waive_criterion",
        "start_verification",
        "request_executive_approval",
        "executive_rejected",
        "executive_approved",
        "close",
    ] {
        assert!(actions.contains(&expected), "missing {expected} in {actions:?}");
    }
    let closed = ev["items"].as_array().unwrap().iter().find(|e| e["action"] == "close").unwrap();
    assert_eq!(closed["actor"], "bob");
    let v = app.get(&rm, "/api/v1/audit/verify").await.ok();
    assert_eq!(v["intact"], true);
}

#[tokio::test]
async fn a_train_without_train_approval_goes_straight_to_scoping_and_needs_an_executive_policy() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let t = app.post(&rm, "/api/v1/trains", train_body("no policies", json!({}))).await.ok();
    let base = format!("/api/v1/trains/{}", t["id"].as_str().unwrap());
    let r = app.post(&rm, &format!("{base}/submit"), json!({})).await;
    assert_eq!(r.guards(), vec!["executive_policy_missing"]);
    let policies = json!({"executive": {"levels": [level(&["eve"], 1)]}});
    app.patch(&rm, &base, json!({"approval_policies": policies}), t["version"].as_i64().unwrap()).await.ok();
    let t = app.post(&rm, &format!("{base}/submit"), json!({})).await.ok();
    assert_eq!(t["state"], "scoping");
    assert!(t["train_approval"].is_null());

    // The gates that need a gate approval can be named at creation; an unknown gate is refused.
    let mut body = train_body("gated", json!({}));
    body["gate_approvals"] = json!(["scoping", "verification"]);
    let t = app.post(&rm, "/api/v1/trains", body.clone()).await.ok();
    let needs: Vec<bool> = ["scoping", "construction", "verification"]
        .iter()
        .map(|g| t["gates"][g]["approval_required"] == true)
        .collect();
    assert_eq!(needs, vec![true, false, true], "{t}");
    body["gate_approvals"] = json!(["release"]);
    let r = app.post(&rm, "/api/v1/trains", body).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
}

#[tokio::test]
async fn copying_shifts_every_date_and_copies_criteria_without_decisions() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    let t = app
        .post(
            &rm,
            "/api/v1/trains",
            train_body("2027.1", json!({"executive": {"levels": [level(&["eve"], 1)], "override_allowed": true}})),
        )
        .await
        .ok();
    let id = t["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/trains/{id}");
    let t = app.post(&rm, &format!("{base}/gates/scoping/criteria"), json!({"title": "Scope agreed"})).await.ok();
    let ec = criterion_id(&t, "scoping", "Scope agreed");
    app.post(&rm, &format!("{base}/criteria/{ec}/meet"), json!({"evidence": {"note": "ok"}})).await.ok();
    app.post(
        &rm,
        &format!("{base}/milestones"),
        json!({"title": "Code complete", "due": "2027-02-10", "inherit": true}),
    )
    .await
    .ok();

    let c = app.post(&rm, &format!("{base}/copy"), json!({"start": "2027-04-05"})).await.expect(201);
    assert_eq!(c["title"], "Copy of 2027.1");
    assert_eq!(c["state"], "draft");
    assert_eq!(c["copied_from"], id);
    // 2027-01-04 -> 2027-04-05 is 91 days.
    assert_eq!(
        c["schedule"],
        json!({"start": "2027-04-05", "scoping_end": "2027-04-16", "construction_end": "2027-05-14", "verification_end": "2027-05-28", "production_date": "2027-06-05"})
    );
    assert_eq!(c["milestones"][0]["due"], "2027-05-12");
    assert_eq!(c["milestones"][0]["inherit"], true);
    let copied = &c["gates"]["scoping"]["criteria"][0];
    assert_eq!(copied["title"], "Scope agreed");
    assert_eq!(copied["state"], "open");
    assert!(copied["evidence"].is_null());
    assert_ne!(copied["id"], ec);
    assert_eq!(c["approval_policies"]["executive"]["override_allowed"], true);
}

#[tokio::test]
async fn cancelling_a_train_cancels_its_pending_approvals_and_override_is_the_managers_alone() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let rm2 = app.user("ralph", &["release_manager"]).await;
    app.user("alice", &["developer"]).await;
    app.user("eve", &["product_owner"]).await;
    let policies = json!({
        "train": {"levels": [level(&["alice"], 1)], "override_allowed": true},
        "executive": {"levels": [level(&["eve"], 1)]}
    });
    let t = app.post(&rm, "/api/v1/trains", train_body("A", policies.clone())).await.ok();
    let base = format!("/api/v1/trains/{}", t["id"].as_str().unwrap());
    let t = app.post(&rm, &format!("{base}/submit"), json!({})).await.ok();
    let ap = t["train_approval"]["id"].as_str().unwrap().to_string();
    // Override: not by another manager; a reason is required.
    let r = app.post(&rm2, &format!("/api/v1/approvals/{ap}/override"), json!({"reason": "urgent"})).await;
    assert_eq!(r.guards(), vec!["not_train_manager"]);
    app.post(&rm, &format!("/api/v1/approvals/{ap}/override"), json!({"reason": ""})).await.expect(422);
    let a =
        app.post(&rm, &format!("/api/v1/approvals/{ap}/override"), json!({"reason": "alice is on leave"})).await.ok();
    assert_eq!(a["state"], "overridden");
    assert_eq!(app.get(&rm, &base).await.ok()["state"], "scoping");

    // A second train: cancel while its approval is pending.
    let t = app.post(&rm, "/api/v1/trains", train_body("B", policies)).await.ok();
    let base = format!("/api/v1/trains/{}", t["id"].as_str().unwrap());
    let t = app.post(&rm, &format!("{base}/submit"), json!({})).await.ok();
    let ap = t["train_approval"]["id"].as_str().unwrap().to_string();
    app.post(&rm, &format!("{base}/cancel"), json!({"reason": ""})).await.expect(422);
    let t = app.post(&rm, &format!("{base}/cancel"), json!({"reason": "descoped"})).await.ok();
    assert_eq!(t["state"], "cancelled");
    assert_eq!(t["cancel_reason"], "descoped");
    let a = app.get(&rm, &format!("/api/v1/approvals/{ap}")).await.ok();
    assert_eq!(a["state"], "cancelled");
    let r = app.call(Some(&rm), Method::POST, &format!("/api/v1/approvals/{ap}/approve"), None).await;
    assert_eq!(r.status, 409);
}
