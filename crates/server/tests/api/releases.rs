//! Application releases on a train: membership, lifecycle, inherited milestones, development approval,
//! and R10's send back.

use serde_json::{Value, json};

use crate::common::{TestApp, level, train_body};

fn release_body(title: &str, app: &str, train: Option<&str>, start: &str, end: &str) -> Value {
    let mut b = json!({"title": title, "application": app, "schedule": {"start": start, "end": end}});
    if let Some(t) = train {
        b["train"] = json!(t);
    }
    b
}

#[tokio::test]
async fn releases_join_a_train_inherit_milestones_get_development_approval_and_can_be_sent_back() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let paula = app.user("paula", &["product_owner"]).await;
    let dave = app.user("dave", &["developer"]).await;
    let eve = app.user("eve", &["product_owner"]).await;
    let viewer = app.user("val", &["viewer"]).await;

    app.post(&paula, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.expect(201);
    app.post(&paula, "/api/v1/applications", json!({"key": "WEB", "name": "Web shop"})).await.expect(201);
    let r = app.post(&paula, "/api/v1/applications", json!({"key": "pay", "name": "x"})).await;
    assert_eq!(r.status, 422);
    app.post(&paula, "/api/v1/applications", json!({"key": "PAY", "name": "again"})).await.expect(409);
    app.post(&viewer, "/api/v1/applications", json!({"key": "VIEW", "name": "x"})).await.expect(403);

    let policies =
        json!({"executive": {"levels": [level(&["eve"], 1)]}, "development": {"levels": [level(&["dave"], 1)]}});
    let t = app.post(&rita, "/api/v1/trains", train_body("2027.1", policies)).await.ok();
    let rt = t["id"].as_str().unwrap().to_string();
    let tpath = format!("/api/v1/trains/{rt}");
    app.post(
        &rita,
        &format!("{tpath}/milestones"),
        json!({"title": "Code complete", "due": "2027-02-01", "inherit": true}),
    )
    .await
    .ok();
    let t = app
        .post(&rita, &format!("{tpath}/milestones"), json!({"title": "Internal review", "due": "2027-02-03"}))
        .await
        .ok();
    let inherited = t["milestones"][0]["id"].as_str().unwrap().to_string();

    // Dates outside the train's window are refused, naming the date.
    let r = app
        .post(
            &paula,
            "/api/v1/application-releases",
            release_body("PAY 2027.1", "PAY", Some(&rt), "2026-12-01", "2027-02-10"),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["errors"][0]["field"], "schedule.start");
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("2026-12-01"), "{}", r.body);
    let r = app
        .post(&paula, "/api/v1/application-releases", release_body("x", "NOPE", None, "2027-01-05", "2027-02-10"))
        .await;
    assert_eq!(r.body["errors"][0]["field"], "application");

    // A product owner's proposal waits; a release manager's is accepted at once.
    let ar1 = app
        .post(
            &paula,
            "/api/v1/application-releases",
            release_body("PAY 2027.1", "PAY", Some(&rt), "2027-01-05", "2027-02-10"),
        )
        .await
        .expect(201);
    assert_eq!(ar1["membership"]["state"], "proposed");
    let ar1 = ar1["id"].as_str().unwrap().to_string();
    let p1 = format!("/api/v1/application-releases/{ar1}");
    app.post(&paula, &format!("{p1}/accept"), json!({})).await.expect(403);
    let ar2 = app
        .post(
            &rita,
            "/api/v1/application-releases",
            release_body("WEB 2027.1", "WEB", Some(&rt), "2027-01-20", "2027-02-20"),
        )
        .await
        .ok();
    assert_eq!(ar2["membership"]["state"], "accepted");
    assert_eq!(ar2["product_owner"], "rita");
    let ar2 = ar2["id"].as_str().unwrap().to_string();
    let p2 = format!("/api/v1/application-releases/{ar2}");
    let r = app.post(&rita, &format!("{p1}/accept"), json!({})).await.ok();
    assert_eq!(r["membership"]["state"], "accepted");
    assert_eq!(r["membership"]["decided_by"], "rita");
    let members = app.get(&viewer, &format!("/api/v1/application-releases?train={rt}")).await.ok();
    assert_eq!(members["items"].as_array().unwrap().len(), 2);

    // Work begins only once the train is in construction.
    let r = app.post(&paula, &format!("{p1}/begin-work"), json!({})).await;
    assert_eq!(r.guards(), vec!["train_not_in_construction"]);
    app.post(&rita, &format!("{tpath}/submit"), json!({})).await.ok();
    app.post(&rita, &format!("{tpath}/start-construction"), json!({})).await.ok();
    let r1 = app.get(&paula, &p1).await.ok();
    let ms: Vec<&str> = r1["milestones"].as_array().unwrap().iter().map(|m| m["title"].as_str().unwrap()).collect();
    assert_eq!(ms, ["Code complete"], "only `inherit` milestones are copied");
    assert_eq!(r1["milestones"][0]["inherited_from"], inherited.as_str());

    // Moving the train milestone moves the copies not changed by hand.
    app.call_with(
        Some(&rita),
        reqwest::Method::PATCH,
        &format!("{p2}/milestones/{inherited}"),
        Some(json!({"due": "2027-02-05"})),
        None,
    )
    .await
    .ok();
    let t = app.get(&rita, &tpath).await.ok();
    app.patch(
        &rita,
        &format!("{tpath}/milestones/{inherited}"),
        json!({"due": "2027-02-08"}),
        t["version"].as_i64().unwrap(),
    )
    .await
    .ok();
    assert_eq!(app.get(&paula, &p1).await.ok()["milestones"][0]["due"], "2027-02-08");
    assert_eq!(app.get(&rita, &p2).await.ok()["milestones"][0]["due"], "2027-02-05");

    app.post(&paula, &format!("{p1}/begin-work"), json!({})).await.ok();
    app.post(&rita, &format!("{p2}/begin-work"), json!({})).await.ok();
    // Another product owner may not act on paula's release.
    let r = app.post(&eve, &format!("{p1}/request-development-approval"), json!({})).await;
    assert_eq!(r.guards(), vec!["not_product_owner"]);

    // start_verification counts the accepted releases.
    let r = app.post(&rita, &format!("{tpath}/start-verification"), json!({})).await;
    assert_eq!(r.guards(), vec!["release_not_development_approved", "release_not_development_approved"]);
    assert!(r.guard_text().contains(&ar1) && r.guard_text().contains(&ar2));

    // Development approval per release, by a listed approver (never the requester).
    let r = app.post(&paula, &format!("{p1}/request-development-approval"), json!({})).await.ok();
    assert_eq!(r["state"], "awaiting_development_approval");
    let dap = r["development_approval"]["id"].as_str().unwrap().to_string();
    let r = app.post(&rita, &format!("/api/v1/approvals/{dap}/approve"), json!({})).await;
    assert_eq!(r.guards(), vec!["not_an_approver"]);
    app.post(&dave, &format!("/api/v1/approvals/{dap}/reject"), json!({"comment": "tests missing"})).await.ok();
    assert_eq!(app.get(&paula, &p1).await.ok()["state"], "construction");
    let r = app.post(&paula, &format!("{p1}/request-development-approval"), json!({})).await.ok();
    let dap = r["development_approval"]["id"].as_str().unwrap().to_string();
    app.post(&dave, &format!("/api/v1/approvals/{dap}/approve"), json!({})).await.ok();
    assert_eq!(app.get(&paula, &p1).await.ok()["state"], "verification");
    let r = app.post(&rita, &format!("{p2}/request-development-approval"), json!({})).await.ok();
    let dap2 = r["development_approval"]["id"].as_str().unwrap().to_string();
    app.post(&dave, &format!("/api/v1/approvals/{dap2}/approve"), json!({})).await.ok();

    let t = app.post(&rita, &format!("{tpath}/start-verification"), json!({})).await.ok();
    assert_eq!(t["state"], "verification");
    // R9: no release is verified yet (none has a turnover validated through its path).
    let r = app.post(&rita, &format!("{tpath}/request-executive-approval"), json!({})).await;
    assert_eq!(r.guards(), vec!["release_not_verified", "release_not_verified"]);
    assert!(r.guard_text().contains("it has no turnover"), "{}", r.guard_text());
    let v = app.get(&rita, &format!("{p1}/verification")).await.ok();
    assert_eq!((v["verified"].as_bool(), v["turnover"].is_null()), (Some(false), true));

    // The verification gate requires approval; its approval is pending when a release is sent back.
    let t = app.get(&rita, &tpath).await.ok();
    let mut policies = t["approval_policies"].clone();
    policies["gate"] = json!({"levels": [level(&["eve"], 1)]});
    let t = app.patch(&rita, &tpath, json!({"approval_policies": policies}), t["version"].as_i64().unwrap()).await.ok();
    app.patch(
        &rita,
        &format!("{tpath}/gates/verification"),
        json!({"approval_required": true}),
        t["version"].as_i64().unwrap(),
    )
    .await
    .ok();
    let t = app.post(&rita, &format!("{tpath}/gates/verification/request-approval"), json!({})).await.ok();
    let xap = t["gates"]["verification"]["approval"]["id"].as_str().unwrap().to_string();

    // A release in verification cannot leave its train before it is sent back.
    let r = app.post(&paula, &format!("{p1}/remove"), json!({})).await;
    assert_eq!(r.guards(), vec!["wrong_state"]);

    // R10: send back moves the release and the train back and cancels the gate approval, in one commit.
    app.post(&paula, &format!("{p1}/send-back"), json!({})).await.expect(422);
    let r = app.post(&paula, &format!("{p1}/send-back"), json!({"reason": "fraud check fails in staging"})).await.ok();
    assert_eq!(r["state"], "construction");
    let t = app.get(&rita, &tpath).await.ok();
    assert_eq!(t["state"], "construction");
    assert_eq!(t["gates"]["verification"]["approval"]["state"], "cancelled");
    assert_eq!(app.get(&eve, &format!("/api/v1/approvals/{xap}")).await.ok()["state"], "cancelled");
    let ev = app.get(&rita, "/api/v1/audit/events?limit=500").await.ok();
    let items = ev["items"].as_array().unwrap();
    let sb = items.iter().find(|e| e["action"] == "send_back").unwrap();
    let same_commit: Vec<String> = items
        .iter()
        .filter(|e| e["commit_seq"] == sb["commit_seq"])
        .map(|e| format!("{} {}", e["object_id"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        same_commit,
        [
            format!("{ar1} send_back"),
            format!("{xap} cancel"),
            format!("{rt} gate_approval_decided"),
            format!("{rt} release_sent_back")
        ],
        "{same_commit:?}"
    );
    assert_eq!(app.get(&rita, "/api/v1/audit/verify").await.ok()["intact"], true);

    // Rejected proposals can be proposed again.
    let ar3 = app
        .post(
            &paula,
            "/api/v1/application-releases",
            release_body("PAY hotfix", "PAY", None, "2027-01-05", "2027-01-25"),
        )
        .await
        .ok();
    let p3 = format!("/api/v1/application-releases/{}", ar3["id"].as_str().unwrap());
    app.post(&paula, &format!("{p3}/propose"), json!({"train": rt})).await.ok();
    let r = app.post(&paula, &format!("{p3}/propose"), json!({"train": rt})).await;
    assert_eq!(r.guards(), vec!["already_on_a_train"]);
    app.post(&rita, &format!("{p3}/reject"), json!({})).await.expect(422);
    let r = app.post(&rita, &format!("{p3}/reject"), json!({"reason": "not in scope"})).await.ok();
    assert_eq!(r["membership"]["state"], "rejected");
    let r = app.post(&paula, &format!("{p3}/propose"), json!({"train": rt})).await.ok();
    assert_eq!(r["membership"]["state"], "proposed");
    // A product owner who became a manager still cannot accept their own proposal.
    let u = app.get(&app.admin, "/api/v1/users/paula").await.ok();
    app.patch(
        &app.admin,
        "/api/v1/users/paula",
        json!({"roles": ["product_owner", "release_manager"]}),
        u["version"].as_i64().unwrap(),
    )
    .await
    .ok();
    let r = app.post(&paula, &format!("{p3}/accept"), json!({})).await;
    assert_eq!(r.guards(), vec!["own_proposal"]);
}
