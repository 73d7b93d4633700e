//! Steps 3 to 8 of the seed flow: turnovers, pre-production, approvals, production, closing.

use super::*;

/// Dan packages each release's build as a turnover on the standard path.
pub(super) async fn create_turnovers(f: &mut Flow) {
    let mut ids = Vec::new();
    for (r, title, artifact) in [
        (&f.db, "Ledger 4.2 build 318", json!({"name": "ledger-migrations", "version": "4.2.318"})),
        (
            &f.web,
            "Storefront 7.1 build 1207",
            json!({"name": "storefront", "version": "7.1.1207", "digest": "sha256:5e1f"}),
        ),
    ] {
        let t = f
            .post(
                "dan",
                "/api/v1/turnovers",
                json!({"title": title, "release": r, "path": f.path, "artifacts": [artifact]}),
            )
            .await
            .expect(201);
        assert_eq!(
            (t["state"].as_str(), t["kind"].as_str(), t["developer"].as_str()),
            (Some("draft"), Some("standard"), Some("dan"))
        );
        let envs: Vec<&str> =
            t["stages"].as_array().unwrap().iter().map(|s| s["environment"].as_str().unwrap()).collect();
        assert_eq!(envs, ["test", "staging"]);
        ids.push(id(&t));
    }
    (f.to_db, f.to_web) = (ids[0].clone(), ids[1].clone());
    for t in [&f.to_db, &f.to_web] {
        f.expect_events(t, &[("create", "dan")]).await;
    }
}

/// Only done work items of the turnover's own release are linked (R7).
pub(super) async fn associate_completed_work_items(f: &mut Flow) {
    let w = |k: &str| f.work_items[k].clone();
    let r = f
        .refused(
            "dan",
            &format!("/api/v1/turnovers/{}/work-items", f.to_web),
            json!({"work_items": [w("SHOP-8"), w("SHOP-9")]}),
        )
        .await;
    assert_eq!(r.guards(), ["work_item_not_done"]);
    assert!(r.guard_text().contains("SHOP-9"), "{}", r.guard_text());
    let r = f
        .refused("dan", &format!("/api/v1/turnovers/{}/work-items", f.to_db), json!({"work_items": [w("SHOP-7")]}))
        .await;
    assert_eq!(r.guards(), ["work_item_elsewhere"]);
    assert!(r.guard_text().contains(&f.web), "{}", r.guard_text());
    for (t, keys) in [(&f.to_db, ["LEDGER-1", "LEDGER-2"]), (&f.to_web, ["SHOP-7", "SHOP-8"])] {
        let items: Vec<String> = keys.iter().map(|k| w(k)).collect();
        let v = f.post("dan", &format!("/api/v1/turnovers/{t}/work-items"), json!({"work_items": items})).await.ok();
        assert_eq!(v["work_items"], json!(items));
        f.expect_events(t, &[("link_work_items", "dan")]).await;
    }
}

/// Automation tasks (real processes) and manual tasks with their owners, in sequence.
pub(super) async fn add_deployment_tasks(f: &mut Flow) {
    let tasks = [
        (
            &f.to_db,
            json!({"title": "Migrate ledger schema", "sequence": 1, "tier": "database", "action": f.sh("migrate ledger")}),
        ),
        (&f.to_db, json!({"title": "Check ledger balances", "sequence": 2, "owner": "paula"})),
        (
            &f.to_web,
            json!({"title": "Migrate shop schema", "sequence": 1, "tier": "database", "action": f.sh("migrate shop")}),
        ),
        (
            &f.to_web,
            json!({"title": "Deploy storefront", "sequence": 2, "tier": "web", "action": f.sh("deploy storefront")}),
        ),
        (&f.to_web, json!({"title": "Smoke-test checkout", "sequence": 3, "owner": "quinn"})),
    ];
    for (t, body) in tasks {
        f.post("dan", &format!("/api/v1/turnovers/{t}/tasks"), body).await.expect(201);
    }
    let db = f.get(&format!("/api/v1/turnovers/{}", f.to_db)).await;
    assert_eq!(titles(&db["tasks"]), ["Migrate ledger schema", "Check ledger balances"]);
    let web = f.get(&format!("/api/v1/turnovers/{}", f.to_web)).await;
    assert_eq!(titles(&web["tasks"]), ["Migrate shop schema", "Deploy storefront", "Smoke-test checkout"]);
    assert_eq!(web["tasks"][2]["owner"], "quinn");
    f.expect_events(&f.to_db, &[("add_task", "dan"), ("add_task", "dan")]).await;
    f.expect_events(&f.to_web, &[("add_task", "dan"), ("add_task", "dan"), ("add_task", "dan")]).await;
}

/// The development (construction) gate's criterion is met by its owner.
pub(super) async fn verify_the_development_gate(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let code = f.criterion("code").to_string();
    // Construction, out of order: verification cannot start with the gate open and no release approved.
    let r = f.refused("rita", &format!("{base}/start-verification"), json!({})).await;
    assert_eq!(r.guards(), ["criterion_open", "release_not_development_approved", "release_not_development_approved"]);
    assert!(r.guard_text().contains(&f.db) && r.guard_text().contains(&f.web), "{}", r.guard_text());
    let t = f
        .post(
            "dan",
            &format!("{base}/criteria/{code}/meet"),
            json!({"evidence": {"note": "CI run 5121 green", "link": "https://ci/5121"}}),
        )
        .await
        .ok();
    assert_eq!(t["gates"]["construction"]["criteria"][0]["state"], "met");
    assert_eq!(f.state(&base).await, "construction");
    f.expect_events(&f.train, &[("meet_criterion", "dan")]).await;
}

/// Construction is complete: each release is development-approved, and the train moves to verification.
pub(super) async fn send_for_development_approval(f: &mut Flow) {
    for r in [&f.db, &f.web] {
        let path = format!("/api/v1/application-releases/{r}");
        let v = f.post("paula", &format!("{path}/request-development-approval"), json!({})).await.ok();
        assert_eq!(v["state"], "awaiting_development_approval");
        let ap = v["development_approval"]["id"].as_str().unwrap().to_string();
        let r2 = f.refused("rita", &format!("/api/v1/approvals/{ap}/approve"), json!({})).await;
        assert_eq!(r2.guards(), ["not_an_approver"]);
        f.post("dave", &format!("/api/v1/approvals/{ap}/approve"), json!({"comment": "reviewed"})).await.ok();
        assert_eq!(f.state(&path).await, "verification");
        f.expect_events(r, &[("request_development_approval", "paula"), ("development_approved", "dave")]).await;
    }
    let t = f.post("rita", &format!("/api/v1/trains/{}/start-verification", f.train), json!({})).await.ok();
    assert_eq!(t["state"], "verification");
    f.expect_events(&f.train, &[("start_verification", "rita")]).await;
}

// ---------------------------------------------------------------------------------------------------------
// 4. Deploy and validate through the pre-production environments.
// ---------------------------------------------------------------------------------------------------------

/// Both turnovers into test: the engine runs the automation tasks, the owners complete the manual ones,
/// QA validates.
pub(super) async fn deploy_and_validate_through_test_and_staging(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    // Verification, out of order: no executive approval before the gate is passed and the releases verified.
    let r = f.refused("rita", &format!("{base}/request-executive-approval"), json!({})).await;
    assert_eq!(r.guards(), ["criterion_open", "release_not_verified", "release_not_verified"]);
    let missing = format!("turnover {} has no validated deployment in test, staging", f.to_db);
    assert!(r.guard_text().contains(&missing), "{}", r.guard_text());
    // Developers do not deploy.
    f.post("dan", &format!("/api/v1/turnovers/{}/deploy", f.to_db), json!({})).await.expect(403);

    let d = f.post("erin", &format!("/api/v1/turnovers/{}/deploy", f.to_db), json!({})).await.expect(201);
    assert_eq!((d["environment"].as_str(), d["attempt"].as_u64()), (Some("test"), Some(1)));
    let db_test = format!("/api/v1/deployments/{}", id(&d));
    let d = f
        .wait_for(&db_test, "its manual run", |d| run(d, "Check ledger balances")["state"] == "waiting_for_owner")
        .await;
    assert_eq!(run(&d, "Migrate ledger schema")["state"], "succeeded");
    assert_eq!(f.log("test"), ["migrate ledger"]);
    let check = run(&d, "Check ledger balances");
    assert_eq!(check["owner"], "paula");
    let complete = format!("{db_test}/runs/{}/complete", check["id"].as_str().unwrap());
    let r = f.denied("dan", &complete, json!({"done": true})).await;
    assert_eq!(r.guards(), ["not_run_owner"]);
    f.post("paula", &complete, json!({"done": true, "note": "balances match"})).await.ok();
    let d = f.wait_for(&db_test, "success", |d| d["state"] == "succeeded").await;
    assert_eq!(run(&d, "Check ledger balances")["completed_by"], "paula");
    let r = f.refused("erin", &format!("/api/v1/turnovers/{}/deploy", f.to_db), json!({})).await;
    assert_eq!(r.guards(), ["awaiting_validation"]);
    f.post("quinn", &format!("{db_test}/validate"), json!({"passed": true})).await.ok();

    let d = f.deploy_and_run(&f.to_web, "test", "Smoke-test checkout", "quinn").await;
    assert_eq!(run(&d, "Deploy storefront")["state"], "succeeded");
    assert_eq!(f.log("test"), ["migrate ledger", "migrate shop", "deploy storefront"]);
    let web_test = format!("/api/v1/deployments/{}", id(&d));
    f.post("quinn", &format!("{web_test}/validate"), json!({"passed": true, "note": "checkout works"})).await.ok();

    for (t, r, dep) in [(&f.to_db, &f.db, &db_test), (&f.to_web, &f.web, &web_test)] {
        assert_eq!(f.state(&format!("/api/v1/turnovers/{t}")).await, "in_flight");
        assert_eq!(f.state(dep).await, "validated");
        let v = f.verified(r).await;
        assert_eq!((v["verified"].as_bool(), v["missing"].clone()), (Some(false), json!(["staging"])), "{v}");
        f.expect_events(t, &[("deploy", "erin")]).await;
    }
    let dep = db_test.rsplit('/').next().unwrap();
    f.expect_events_include(
        dep,
        &[
            ("start", "system"),
            ("start_group", "system"),
            ("finish_run", "system"),
            ("manual_run_ready", "system"),
            ("complete_run", "paula"),
            ("succeed", "system"),
            ("validate", "quinn"),
        ],
    )
    .await;
}

/// Validated in test, both turnovers are promoted to staging, the next stage of their path.
pub(super) async fn promote(f: &mut Flow) {
    for (t, manual, owner) in
        [(&f.to_db, "Check ledger balances", "paula"), (&f.to_web, "Smoke-test checkout", "quinn")]
    {
        let d = f.deploy_and_run(t, "staging", manual, owner).await;
        assert_eq!(d["attempt"], 1);
        f.expect_events_include(
            &id(&d),
            &[("schedule", "erin"), ("start", "system"), ("complete_run", owner), ("succeed", "system")],
        )
        .await;
        // Still in flight: a promotion is a new deployment of the same turnover.
        assert_eq!(f.state(&format!("/api/v1/turnovers/{t}")).await, "in_flight");
        f.expect_events(t, &[]).await;
    }
    assert_eq!(f.log("staging"), ["migrate ledger", "migrate shop", "deploy storefront"]);
}

/// The ledger fails validation in staging; dan fixes its migration and it is redeployed and passes.
pub(super) async fn fix_and_redeploy_a_failed_validation(f: &mut Flow) {
    let list = f.get(&format!("/api/v1/deployments?turnover={}&environment=staging", f.to_db)).await;
    let failed = id(&list["items"][0]);
    let path = format!("/api/v1/deployments/{failed}");
    f.post("quinn", &format!("{path}/validate"), json!({"passed": false})).await.expect(422);
    f.post("quinn", &format!("{path}/validate"), json!({"passed": false, "note": "balances off by a cent"})).await.ok();
    assert_eq!(f.state(&path).await, "rejected");
    assert_eq!(f.verified(&f.db).await["missing"], json!(["staging"]));

    let t = f.get(&format!("/api/v1/turnovers/{}", f.to_db)).await;
    let task = id(&t["tasks"][0]);
    let fixed = json!({"action": f.sh("migrate ledger, rounding fixed")});
    f.call("dan", Method::PATCH, &format!("/api/v1/turnovers/{}/tasks/{task}", f.to_db), Some(fixed)).await.ok();
    let d = f.deploy_and_run(&f.to_db, "staging", "Check ledger balances", "paula").await;
    assert_eq!(d["attempt"], 2, "redeployed into staging");
    assert_eq!(f.log("staging").last().unwrap(), "migrate ledger, rounding fixed");
    f.post("quinn", &format!("/api/v1/deployments/{}/validate", id(&d)), json!({"passed": true})).await.ok();
    assert_eq!(f.state(&format!("/api/v1/turnovers/{}", f.to_db)).await, "completed");
    let v = f.verified(&f.db).await;
    assert_eq!((v["verified"].as_bool(), v["turnover"].as_str()), (Some(true), Some(f.to_db.as_str())), "{v}");
    f.expect_events(&f.to_db, &[("edit_task", "dan"), ("complete", "quinn")]).await;
    f.expect_events_include(&failed, &[("validate", "quinn")]).await;
}

/// While the storefront awaits validation in staging, paula sends it back to construction (R10): its
/// turnover returns to draft and the train to construction. It then goes through construction again, is
/// development-approved, and its turnover goes through test and staging once more.
pub(super) async fn send_one_release_back_to_construction_and_forward_again(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let (web, to_web) = (f.web.clone(), f.to_web.clone());
    let release = format!("/api/v1/application-releases/{web}");
    f.post("paula", &format!("{release}/send-back"), json!({})).await.expect(422);
    let v = f
        .post("paula", &format!("{release}/send-back"), json!({"reason": "checkout must show VAT per line"}))
        .await
        .ok();
    assert_eq!(v["state"], "construction");
    assert_eq!(f.state(&format!("/api/v1/turnovers/{to_web}")).await, "draft");
    assert_eq!(f.state(&base).await, "construction");
    assert_eq!(f.state(&format!("/api/v1/application-releases/{}", f.db)).await, "verification");
    // Construction again, out of order: no executive approval from construction, nor with the storefront
    // unverified (the regression criterion is still open, too).
    let r = f.refused("rita", &format!("{base}/request-executive-approval"), json!({})).await;
    assert_eq!(r.guards(), ["wrong_state", "criterion_open", "release_not_verified"]);
    assert!(r.guard_text().contains("is construction") && r.guard_text().contains(&web), "{}", r.guard_text());
    f.expect_events(&web, &[("send_back", "paula")]).await;
    f.expect_events(&to_web, &[("back_to_draft", "paula")]).await;
    f.expect_events(&f.train, &[("release_sent_back", "paula")]).await;

    // Forward again: the new work item is done and linked, the task changed, development approved.
    let w = f
        .post(
            "paula",
            &format!("{release}/work-items"),
            json!({"key": "SHOP-10", "title": "VAT per line", "kind": "development_task", "status": "done"}),
        )
        .await
        .expect(201);
    f.post("dan", &format!("/api/v1/turnovers/{to_web}/work-items"), json!({"work_items": [id(&w)]})).await.ok();
    let t = f.get(&format!("/api/v1/turnovers/{to_web}")).await;
    let deploy = id(&t["tasks"][1]);
    let body = json!({"action": f.sh("deploy storefront with VAT")});
    f.call("dan", Method::PATCH, &format!("/api/v1/turnovers/{to_web}/tasks/{deploy}"), Some(body)).await.ok();
    let v = f.post("paula", &format!("{release}/request-development-approval"), json!({})).await.ok();
    let ap = v["development_approval"]["id"].as_str().unwrap().to_string();
    f.post("dave", &format!("/api/v1/approvals/{ap}/approve"), json!({})).await.ok();
    assert_eq!(f.state(&release).await, "verification");
    f.post("rita", &format!("{base}/start-verification"), json!({})).await.ok();
    assert_eq!(f.state(&base).await, "verification");
    assert_eq!(f.verified(&web).await["verified"], false, "validated before it went back: that no longer counts");

    // Through test and staging again.
    let d = f.deploy_and_run(&to_web, "test", "Smoke-test checkout", "quinn").await;
    f.post("quinn", &format!("/api/v1/deployments/{}/validate", id(&d)), json!({"passed": true})).await.ok();
    let d = f.deploy_and_run(&to_web, "staging", "Smoke-test checkout", "quinn").await;
    f.post("quinn", &format!("/api/v1/deployments/{}/validate", id(&d)), json!({"passed": true})).await.ok();
    assert_eq!(f.log("staging").last().unwrap(), "deploy storefront with VAT");
    assert_eq!(f.state(&format!("/api/v1/turnovers/{to_web}")).await, "completed");
    assert_eq!(f.verified(&web).await["verified"], true);
    f.expect_events(&web, &[("request_development_approval", "paula"), ("development_approved", "dave")]).await;
    f.expect_events(
        &to_web,
        &[("link_work_items", "dan"), ("edit_task", "dan"), ("deploy", "erin"), ("complete", "quinn")],
    )
    .await;
    f.expect_events(&f.train, &[("start_verification", "rita")]).await;
}

// ---------------------------------------------------------------------------------------------------------
// 5. Executive approval.
// ---------------------------------------------------------------------------------------------------------

/// The verification gate is met; the executive first rejects back to verification, then approves.
pub(super) async fn executive_approval(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let regression = f.criterion("regression").to_string();
    f.post(
        "quinn",
        &format!("{base}/criteria/{regression}/meet"),
        json!({"evidence": {"note": "412 passed in staging"}}),
    )
    .await
    .ok();
    let t = f.post("rita", &format!("{base}/request-executive-approval"), json!({})).await.ok();
    assert_eq!(t["state"], "awaiting_executive_approval");
    let first = t["executive_approval"]["id"].as_str().unwrap().to_string();
    // Executive approval, out of order: the train cannot close, and nobody but the executive decides.
    let r = f.refused("rita", &format!("{base}/close"), json!({})).await;
    assert_eq!(r.guards(), ["wrong_state"]);
    assert!(r.guard_text().contains("awaiting_executive_approval"), "{}", r.guard_text());
    let r = f.refused("dave", &format!("/api/v1/approvals/{first}/approve"), json!({})).await;
    assert_eq!(r.guards(), ["not_an_approver"]);

    f.post("eve", &format!("/api/v1/approvals/{first}/reject"), json!({"comment": "no"})).await.expect(422);
    f.post(
        "eve",
        &format!("/api/v1/approvals/{first}/reject"),
        json!({"comment": "wait for the payment provider's certificate", "return_to": "verification"}),
    )
    .await
    .ok();
    assert_eq!(f.state(&base).await, "verification");
    let t = f.post("rita", &format!("{base}/request-executive-approval"), json!({})).await.ok();
    let second = t["executive_approval"]["id"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    f.post("eve", &format!("/api/v1/approvals/{second}/approve"), json!({"comment": "certificate in place"}))
        .await
        .ok();
    assert_eq!(f.state(&base).await, "deployment");
    f.expect_events(
        &f.train,
        &[
            ("meet_criterion", "quinn"),
            ("request_executive_approval", "rita"),
            ("executive_rejected", "eve"),
            ("request_executive_approval", "rita"),
            ("executive_approved", "eve"),
        ],
    )
    .await;
    f.expect_events(&first, &[("request", "rita"), ("reject", "eve"), ("rejected", "eve")]).await;
    f.expect_events(&second, &[("request", "rita"), ("approve", "eve"), ("approved", "eve")]).await;
}

// ---------------------------------------------------------------------------------------------------------
// 6–8. Into production.
// ---------------------------------------------------------------------------------------------------------

/// One production-ready turnover spans both releases: made from the storefront's validated turnover, the
/// ledger's tasks copied in, and reordered as proposed, every database task first.
pub(super) async fn production_ready_turnovers(f: &mut Flow) {
    let t = f
        .post(
            "erin",
            "/api/v1/production-turnovers",
            json!({"title": "Spring 2027 go-live", "releases": [f.db, f.web], "environments": ["prod"], "from": f.to_web}),
        )
        .await
        .expect(201);
    f.prod = id(&t);
    let base = format!("/api/v1/turnovers/{}", f.prod);
    assert_eq!((t["kind"].as_str(), t["state"].as_str()), (Some("production_ready"), Some("draft")));
    assert_eq!(titles(&t["tasks"]), ["Migrate shop schema", "Deploy storefront", "Smoke-test checkout"]);
    let t = f.post("erin", &format!("{base}/tasks/copy"), json!({"from": [f.to_db]})).await.ok();
    assert_eq!(t["tasks"].as_array().unwrap().len(), 5);

    let p = f.get(&format!("{base}/proposed-order")).await;
    let groups: Vec<&str> = p["groups"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert!(groups[0].starts_with("sequence 1: database tasks of") && groups[0].contains(&f.db), "{groups:?}");
    let t = f.post("erin", &format!("{base}/tasks/reorder"), json!({"order": p["order"]})).await.ok();
    assert_eq!(
        titles(&t["tasks"]),
        [
            "Migrate ledger schema",
            "Check ledger balances",
            "Migrate shop schema",
            "Deploy storefront",
            "Smoke-test checkout"
        ]
    );
    let sequences: Vec<u64> = t["tasks"].as_array().unwrap().iter().map(|k| k["sequence"].as_u64().unwrap()).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "one after the other: {sequences:?}");

    // Deployment, out of order: nothing goes into locked production by hand, nor is scheduled unaccepted.
    let r = f.refused("erin", &format!("{base}/deploy"), json!({})).await;
    assert!(r.guards().contains(&"production_ready".to_string()), "{:?}", r.guards());
    let r = f.refused("erin", &format!("{base}/schedule"), json!({"environment": "prod", "at": at(60)})).await;
    assert_eq!(r.guards(), ["not_accepted"]);
    f.expect_events(&f.prod, &[("create", "erin"), ("copy_tasks", "erin"), ("reorder_tasks", "erin")]).await;
}

/// Delivered to release engineering: its maker cannot accept it; ed rejects it once, then accepts it.
pub(super) async fn acceptance_by_release_engineering(f: &mut Flow) {
    let base = format!("/api/v1/turnovers/{}", f.prod);
    assert_eq!(f.post("erin", &format!("{base}/deliver"), json!({})).await.ok()["state"], "delivered");
    let r = f.refused("erin", &format!("{base}/accept"), json!({})).await;
    assert_eq!(r.guards(), ["own_turnover"]);
    let t =
        f.post("ed", &format!("{base}/reject"), json!({"comment": "add the rollback of the migrations"})).await.ok();
    assert_eq!(
        (t["state"].as_str(), t["rejection"].as_str()),
        (Some("draft"), Some("add the rollback of the migrations"))
    );
    let rollback = json!({"title": "Roll back ledger schema", "sequence": 1, "tier": "database", "rollback": true,
        "release": f.db, "action": f.sh("roll back ledger")});
    f.post("erin", &format!("{base}/tasks"), rollback).await.expect(201);
    f.post("erin", &format!("{base}/deliver"), json!({})).await.ok();
    let t = f.post("ed", &format!("{base}/accept"), json!({})).await.ok();
    assert_eq!((t["state"].as_str(), t["accepted_by"].as_str()), (Some("accepted"), Some("ed")));
    // Accepted means frozen (R12).
    let task = id(&t["tasks"][0]);
    let r = f.call("erin", Method::PATCH, &format!("{base}/tasks/{task}"), Some(json!({"title": "changed"}))).await;
    assert_eq!(r.guards(), ["wrong_state", "frozen"]);
    f.expect_events(
        &f.prod,
        &[("deliver", "erin"), ("reject", "ed"), ("add_task", "erin"), ("deliver", "erin"), ("accept", "ed")],
    )
    .await;
}

/// Scheduled an hour ahead into the locked production environment, the engine starts it on time (the
/// test moves the server's clock to it); the automation tasks run database first, the manual ones wait
/// for their owners.
pub(super) async fn scheduled_deployment_into_locked_production(f: &mut Flow) {
    let base = format!("/api/v1/turnovers/{}", f.prod);
    let d = f
        .post("erin", &format!("{base}/schedule"), json!({"environment": "prod", "at": f.app.at(3600)}))
        .await
        .expect(201);
    assert_eq!(
        (d["state"].as_str(), d["trigger"].as_str(), d["environment"].as_str()),
        (Some("scheduled"), Some("scheduled"), Some("prod"))
    );
    f.prod_deployment = id(&d);
    let path = format!("/api/v1/deployments/{}", f.prod_deployment);
    // Deployment, out of order: not before its time without the manager's override (R11).
    let r = f.refused("erin", &format!("{path}/start"), json!({})).await;
    assert_eq!(r.guards(), ["before_scheduled_time"]);
    f.app.advance(chrono::Duration::minutes(61));

    for (manual, owner) in [("Check ledger balances", "paula"), ("Smoke-test checkout", "quinn")] {
        let d = f.wait_for(&path, manual, |d| run(d, manual)["state"] == "waiting_for_owner").await;
        let r = run(&d, manual)["id"].as_str().unwrap().to_string();
        f.post(owner, &format!("{path}/runs/{r}/complete"), json!({"done": true, "note": "fine in prod"})).await.ok();
    }
    let d = f.wait_for(&path, "success", |d| d["state"] == "succeeded").await;
    assert!(time(&d["started_at"]) >= time(&d["scheduled_for"]), "never before its time: {d}");
    assert_eq!(f.log("prod"), ["migrate ledger, rounding fixed", "migrate shop", "deploy storefront with VAT"]);
    assert_eq!(f.state(&base).await, "deployed");
    f.expect_events(&f.prod, &[("deploying", "system"), ("deployed", "system")]).await;
    f.expect_events_include(
        &f.prod_deployment,
        &[
            ("schedule", "erin"),
            ("start", "system"),
            ("complete_run", "paula"),
            ("complete_run", "quinn"),
            ("succeed", "system"),
        ],
    )
    .await;
}

/// Verified in production: both releases are released.
pub(super) async fn verification(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    // Deployment, out of order: the train does not close before its production turnover is verified (R14).
    let r = f.refused("rita", &format!("{base}/close"), json!({})).await;
    assert_eq!(r.guards(), ["turnover_open"]);
    assert!(r.guard_text().contains(&f.prod), "{}", r.guard_text());
    let t = f
        .post(
            "erin",
            &format!("/api/v1/turnovers/{}/verify", f.prod),
            json!({"passed": true, "note": "orders in euros flowing"}),
        )
        .await
        .ok();
    assert_eq!(t["state"], "verified");
    for r in [&f.db, &f.web] {
        assert_eq!(f.state(&format!("/api/v1/application-releases/{r}")).await, "released");
        f.expect_events(r, &[("released", "erin")]).await;
    }
    f.expect_events(&f.prod, &[("verified", "erin")]).await;
}

/// Rita closes the train; what rode on it closes with it, and the whole history is in the audit log.
pub(super) async fn close_the_train(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let t = f.post("rita", &format!("{base}/close"), json!({})).await.ok();
    assert_eq!(t["state"], "closed");
    assert_eq!(f.state(&format!("/api/v1/turnovers/{}", f.prod)).await, "closed");
    for r in [&f.db, &f.web] {
        assert_eq!(f.state(&format!("/api/v1/application-releases/{r}")).await, "closed");
    }
    let tl = f.get(&format!("{base}/timeline")).await;
    assert!(
        tl["stages"].as_array().unwrap().iter().all(|s| s["actual_start"].is_string() && s["actual_end"].is_string()),
        "{tl}"
    );
    f.expect_events(&f.train, &[("close", "rita")]).await;
    let history: Vec<&str> = t["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(
        history,
        [
            "submit",
            "train_approved",
            "start_construction",
            "start_verification",
            "release_sent_back",
            "start_verification",
            "request_executive_approval",
            "executive_rejected",
            "request_executive_approval",
            "executive_approved",
            "close"
        ]
    );
    assert_eq!(f.get("/api/v1/audit/verify").await["intact"], true);
}
