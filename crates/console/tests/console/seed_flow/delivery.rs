//! Steps 4 to 8 of the seed through the console: test and staging, executive approval, production-ready
//! turnovers, acceptance, the deployment into production, verification and closing the train.

use super::*;

// ---------------------------------------------------------------------------------------------------------
// 4. Through test and staging: deploy, validate, promote; the manual run done by its owner; one release
//    sent back to construction and brought forward again; verification starts.
// ---------------------------------------------------------------------------------------------------------

pub(super) async fn deploy_and_validate_through_test_and_staging(f: &mut Flow) {
    for (t, manual) in [(f.to_db.clone(), Some("paula")), (f.to_web.clone(), None), (f.to_notify.clone(), None)] {
        let d = f.deploy_and_validate(&t, "test", manual).await;
        f.assert_did(&d, "validate", "quinn").await;
        f.assert_did(&t, "deploy", "erin").await;
        assert_eq!(f.turnover_state(&t).await, "in_flight");
    }
    assert_eq!(f.log("test"), ["migrate ledger", "migrate shop", "deploy storefront", "deploy notifications"]);
    // Promoted: the turnover page offers the next stage.
    let p = f.as_("erin").get(&format!("/turnovers/{}", f.to_db)).await;
    assert!(p.body.contains("Deploy to staging (promote from test)"), "{}", p.body);
    f.deploy_and_validate(&f.to_notify, "staging", None).await;
    assert_eq!(f.turnover_state(&f.to_notify).await, "completed");

    // The ledger fails validation in staging (from its turnover's page); dan fixes its migration task and
    // it is redeployed, and passes.
    let to_db = f.to_db.clone();
    let page = format!("/turnovers/{to_db}");
    let failed = f.deploy_and_run(&to_db, "staging", Some("paula")).await;
    let fields = [("back", page.as_str()), ("outcome", "fail"), ("note", "balances off by a cent")];
    let res = submit(f.as_("quinn"), &page, &format!("/deployments/{failed}/validate"), &fields).await;
    assert_eq!(res.location(), page, "back to the turnover's page");
    assert_eq!(f.state(&format!("/api/v1/deployments/{failed}")).await, "rejected");
    let t = f.api(&format!("/api/v1/turnovers/{to_db}")).await;
    let task = t["tasks"][0]["id"].as_str().unwrap().to_string();
    let args = f.sh_args("migrate ledger, rounding fixed");
    let fields = [
        ("title", "Migrate ledger schema"),
        ("kind", "command"),
        ("program", "/bin/sh"),
        ("args", args.as_str()),
        ("timeout_secs", "30"),
        ("owner", ""),
        ("sequence", "1"),
        ("tier", "database"),
        ("retries", "0"),
    ];
    submit(f.as_("dan"), &page, &format!("{page}/tasks/{task}/edit"), &fields).await;
    let p = f.as_("erin").get(&page).await;
    assert!(p.body.contains("Deploy to staging again (attempt 2)"), "{}", p.body);
    let d = f.deploy_and_validate(&to_db, "staging", Some("paula")).await;
    assert_eq!(f.api(&format!("/api/v1/deployments/{d}")).await["attempt"], 2);
    assert_eq!(f.log("staging").last().map(String::as_str), Some("migrate ledger, rounding fixed"));
    assert_eq!(f.turnover_state(&to_db).await, "completed");
    f.assert_did(&failed, "validate", "quinn").await;
    for r in [&f.db, &f.notify] {
        assert_eq!(f.api(&format!("/api/v1/application-releases/{r}/verification")).await["verified"], true);
    }
}

/// The storefront, validated in test only, goes back to construction from its turnover's page (R10):
/// its turnover returns to draft. It gets one more work item and a changed task, is development-approved
/// again (from the train page this time), and goes through test and staging.
pub(super) async fn send_one_release_back_to_construction_and_forward_again(f: &mut Flow) {
    let (web, to_web) = (f.web.clone(), f.to_web.clone());
    let page = format!("/turnovers/{to_web}");
    let fields = [("back", page.as_str()), ("reason", "checkout must show VAT per line")];
    let res = submit(f.as_("paula"), &page, &format!("/releases/{web}/send-back"), &fields).await;
    assert_eq!(res.location(), page, "back to the turnover's page");
    assert_eq!(f.release_state(&web).await, "construction");
    assert_eq!(f.turnover_state(&to_web).await, "draft");
    f.assert_did(&web, "send_back", "paula").await;
    f.assert_did(&to_web, "back_to_draft", "paula").await;

    // Forward again: a new work item, done, linked; the deploy task changed.
    let release_page = format!("/releases/{web}");
    let fields = [
        ("kind", "development_task"),
        ("key", "SHOP-3"),
        ("title", "VAT per line"),
        ("status", "done"),
        ("link", ""),
        ("source", ""),
    ];
    submit(f.as_("paula"), &release_page, &format!("{release_page}/work-items"), &fields).await;
    let list = f.api(&format!("/api/v1/application-releases/{web}/work-items")).await;
    let item = list["items"].as_array().unwrap().iter().find(|w| w["key"] == "SHOP-3").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    submit(f.as_("dan"), &page, &format!("{page}/work-items"), &[("work_item", &item)]).await;
    let t = f.api(&format!("/api/v1/turnovers/{to_web}")).await;
    let task = t["tasks"].as_array().unwrap().iter().find(|x| x["title"] == "Deploy storefront").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let args = f.sh_args("deploy storefront with VAT");
    let fields = [
        ("title", "Deploy storefront"),
        ("kind", "command"),
        ("program", "/bin/sh"),
        ("args", args.as_str()),
        ("timeout_secs", "30"),
        ("owner", ""),
        ("sequence", "2"),
        ("tier", "web"),
        ("retries", "0"),
    ];
    submit(f.as_("dan"), &page, &format!("{page}/tasks/{task}/edit"), &fields).await;
    f.assert_did(&to_web, "edit_task", "dan").await;
    development_approval(f, &web, &format!("/trains/{}", f.train)).await;

    for env in ["test", "staging"] {
        f.deploy_and_validate(&to_web, env, None).await;
    }
    assert_eq!(f.log("staging").last().map(String::as_str), Some("deploy storefront with VAT"));
    assert_eq!(f.turnover_state(&to_web).await, "completed");
    assert_eq!(f.api(&format!("/api/v1/application-releases/{web}/verification")).await["verified"], true);
}

pub(super) async fn start_verification(f: &mut Flow) {
    let base = format!("/trains/{}", f.train);
    submit(f.as_("rita"), &base, &format!("{base}/start-verification"), &[]).await;
    assert_eq!(f.train_state().await, "verification");
    f.assert_did(&f.train, "start_verification", "rita").await;
}

// ---------------------------------------------------------------------------------------------------------
// 5. Executive approval: the verification gate met; the executive rejects once, then approves.
// ---------------------------------------------------------------------------------------------------------

pub(super) async fn executive_approval(f: &mut Flow) {
    let base = format!("/trains/{}", f.train);
    let regression = f.criteria["regression"].clone();
    let fields = [("note", "412 passed in staging"), ("link", "")];
    submit(f.as_("quinn"), &base, &format!("{base}/criteria/{regression}/meet"), &fields).await;
    f.assert_did(&f.train, "meet_criterion", "quinn").await;

    submit(f.as_("rita"), &base, &format!("{base}/request-executive-approval"), &[]).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(t["state"], "awaiting_executive_approval");
    let first = t["executive_approval"]["id"].as_str().unwrap().to_string();
    let fields =
        [("back", "/"), ("comment", "wait for the payment provider's certificate"), ("return_to", "verification")];
    submit(f.as_("eve"), "/", &format!("/approvals/{first}/reject"), &fields).await;
    assert_eq!(f.train_state().await, "verification");
    f.assert_did(&first, "reject", "eve").await;
    f.assert_did(&f.train, "executive_rejected", "eve").await;

    submit(f.as_("rita"), &base, &format!("{base}/request-executive-approval"), &[]).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    let second = t["executive_approval"]["id"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    let fields = [("back", base.as_str()), ("comment", "certificate in place")];
    let res = submit(f.as_("eve"), &base, &format!("/approvals/{second}/approve"), &fields).await;
    assert_eq!(res.location(), base);
    assert_eq!(f.train_state().await, "deployment");
    f.assert_did(&second, "approve", "eve").await;
    f.assert_did(&f.train, "executive_approved", "eve").await;
}

// ---------------------------------------------------------------------------------------------------------
// 6. The production-ready turnover: from the storefront's validated turnover, spanning the three
//    releases, the other turnovers' tasks copied in, the proposed order applied.
// ---------------------------------------------------------------------------------------------------------

pub(super) async fn production_ready_turnover(f: &mut Flow) {
    let new = format!("/turnovers/new-production?train={}&from={}", f.train, f.to_web);
    let p = f.as_("erin").get(&format!("/turnovers/{}", f.to_web)).await;
    assert!(
        p.body.contains(&new.replace('&', "&amp;")),
        "the turnover page links to a production-ready one:\n{}",
        p.body
    );
    let fields = [
        ("title", "Spring 2027 go-live"),
        ("releases", f.db.as_str()),
        ("releases", f.web.as_str()),
        ("releases", f.notify.as_str()),
        ("environments", "prod"),
        ("from", f.to_web.as_str()),
        ("developer", "erin"),
        ("description", "everything of the train, database first"),
        ("artifacts", ""),
    ];
    let res = submit(f.as_("erin"), &new, "/production-turnovers", &fields).await;
    f.prod = res.location().strip_prefix("/turnovers/").expect("to the turnover's page").to_string();
    let page = format!("/turnovers/{}", f.prod);
    let t = f.api(&format!("/api/v1{page}")).await;
    assert_eq!((t["kind"].as_str(), t["state"].as_str()), (Some("production_ready"), Some("draft")), "{t}");
    assert_eq!(t["tasks"].as_array().unwrap().len(), 2, "the storefront's tasks came with it: {t}");

    for from in [f.to_db.clone(), f.to_notify.clone()] {
        let res = submit(f.as_("erin"), &page, &format!("{page}/tasks/copy"), &[("from", &from), ("tasks", "")]).await;
        assert_eq!(res.location(), format!("{page}#tasks"));
    }
    let t = f.api(&format!("/api/v1{page}")).await;
    assert_eq!(t["tasks"].as_array().unwrap().len(), 5, "{t}");

    // The proposed order (releases by dependency, then tiers), applied with its button.
    let action = format!("{page}/tasks/reorder");
    let p = open(f.as_("erin"), &page, &action).await;
    let section = between(&p.body, r#"id="proposed-order""#, "</section>").expect("the proposed order").to_string();
    assert!(section.contains("Apply this order"), "{section}");
    let mut order = Vec::new();
    let mut rest = section.as_str();
    while let Some(name) = between(rest, r#"name=""#, "\"") {
        let value = between(rest, r#"value=""#, "\"").unwrap_or_default();
        if name.starts_with("seq-") {
            order.push((name.to_string(), value.to_string()));
        }
        rest = &rest[rest.find(r#"value=""#).unwrap() + 7..];
    }
    assert_eq!(order.len(), 5, "{section}");
    let fields: Vec<(&str, &str)> = order.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    send(f.as_("erin"), &p, &action, &fields).await;
    let t = f.api(&format!("/api/v1{page}")).await;
    let mut tasks: Vec<(u64, String)> = t["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["sequence"].as_u64().unwrap(), x["title"].as_str().unwrap().to_string()))
        .collect();
    tasks.sort();
    let first = &tasks[0].1;
    assert!(first == "Migrate ledger schema", "the ledger's database task runs first: {tasks:?}");
    assert!(f.as_("erin").get(&page).await.body.contains("The tasks are in this order."));
    for action in ["create", "copy_tasks", "reorder_tasks"] {
        f.assert_did(&f.prod, action, "erin").await;
    }
}

// ---------------------------------------------------------------------------------------------------------
// 7. Delivered to release engineering; accepted by another engineer than its maker.
// ---------------------------------------------------------------------------------------------------------

pub(super) async fn acceptance_by_release_engineering(f: &mut Flow) {
    let page = format!("/turnovers/{}", f.prod);
    submit(f.as_("erin"), &page, &format!("{page}/deliver"), &[]).await;
    assert_eq!(f.turnover_state(&f.prod).await, "delivered");
    // Neither its maker nor the developer is offered the acceptance.
    for who in ["erin", "dan"] {
        let p = f.as_(who).get(&page).await;
        assert!(!p.body.contains(&format!(r#"action="{page}/accept""#)), "{who} may not accept it");
    }
    // Ed sends it back once; erin adds the rollback of the migrations and delivers it again.
    let fields = [("comment", "add the rollback of the ledger migration")];
    submit(f.as_("ed"), &page, &format!("{page}/reject"), &fields).await;
    let t = f.api(&format!("/api/v1{page}")).await;
    assert_eq!(
        (t["state"].as_str(), t["rejection"].as_str()),
        (Some("draft"), Some("add the rollback of the ledger migration"))
    );
    let args = f.sh_args("roll back ledger");
    let fields = [
        ("title", "Roll back ledger schema"),
        ("kind", "command"),
        ("program", "/bin/sh"),
        ("args", args.as_str()),
        ("timeout_secs", "30"),
        ("owner", ""),
        ("sequence", "1"),
        ("tier", "database"),
        ("retries", "0"),
        ("rollback", "yes"),
        ("release", f.db.as_str()),
    ];
    submit(f.as_("erin"), &page, &format!("{page}/tasks"), &fields).await;
    let t = f.api(&format!("/api/v1{page}")).await;
    assert!(
        t["tasks"].as_array().unwrap().iter().any(|x| x["rollback"] == true && x["release"] == f.db.as_str()),
        "{t}"
    );
    submit(f.as_("erin"), &page, &format!("{page}/deliver"), &[]).await;
    submit(f.as_("ed"), &page, &format!("{page}/accept"), &[]).await;
    let t = f.api(&format!("/api/v1{page}")).await;
    assert_eq!((t["state"].as_str(), t["accepted_by"].as_str()), (Some("accepted"), Some("ed")));
    f.assert_did(&f.prod, "deliver", "erin").await;
    f.assert_did(&f.prod, "reject", "ed").await;
    f.assert_did(&f.prod, "accept", "ed").await;
}

// ---------------------------------------------------------------------------------------------------------
// 8. Scheduled into the locked production for the next full hour (the form's default); the train's
//    manager starts it early with the override and a reason; it runs; verified; the train closes.
// ---------------------------------------------------------------------------------------------------------

pub(super) async fn deployment_into_locked_production(f: &mut Flow) {
    let page = format!("/turnovers/{}", f.prod);
    let action = format!("{page}/schedule");
    let p = open(f.as_("erin"), &page, &action).await;
    let form = between(&p.body, &format!(r#"action="{action}""#), "</form>").unwrap_or_default().to_string();
    let at = between(between(&form, r#"name="at""#, ">").unwrap_or_default(), r#"value=""#, "\"")
        .expect("the schedule form proposes a time")
        .to_string();
    assert_eq!(at.len(), "2027-03-13T10:00".len(), "a datetime-local to the minute: {at}");
    send(f.as_("erin"), &p, &action, &[("environment", "prod"), ("at", &at), ("window_minutes", "60")]).await;
    let list = f.api(&format!("/api/v1/deployments?turnover={}", f.prod)).await;
    let d = &list["items"][0];
    assert_eq!((d["state"].as_str(), d["environment"].as_str()), (Some("scheduled"), Some("prod")), "{list}");
    f.prod_deployment = d["id"].as_str().unwrap().to_string();
    let dpage = format!("/deployments/{}", f.prod_deployment);
    let board = f.as_("erin").get(&page).await;
    assert!(board.body.contains(&format!(r#"href="{dpage}""#)), "the board links to the deployment");
    // Only the manager is offered the early start.
    let p = f.as_("erin").get(&dpage).await;
    assert!(
        !p.body.contains(&format!(r#"action="{dpage}/start""#)) && p.body.contains("Only the train's manager (rita)")
    );
    let fields = [("override", "yes"), ("reason", "the payment provider is ready an hour early")];
    let res = submit(f.as_("rita"), &dpage, &format!("{dpage}/start"), &fields).await;
    assert_eq!(res.location(), dpage);
    f.assert_did(&f.prod_deployment, "start_early", "rita").await;

    f.complete_manual_run("paula", &f.prod_deployment).await;
    let p = f.settled("rita", &f.prod_deployment, "succeeded").await;
    assert!(p.body.contains("Check ledger balances"), "{}", p.body);
    let mut log = f.log("prod");
    assert_eq!(
        log.first().map(String::as_str),
        Some("migrate ledger, rounding fixed"),
        "the ledger's database task first: {log:?}"
    );
    log.sort();
    assert_eq!(
        log,
        ["deploy notifications", "deploy storefront with VAT", "migrate ledger, rounding fixed", "migrate shop"]
    );
    assert_eq!(f.turnover_state(&f.prod).await, "deployed");
}

pub(super) async fn verify_and_close_the_train(f: &mut Flow) {
    let page = format!("/turnovers/{}", f.prod);
    let fields = [("environment", ""), ("outcome", "pass"), ("note", "orders in euros flowing")];
    submit(f.as_("erin"), &page, &format!("{page}/verify"), &fields).await;
    assert_eq!(f.turnover_state(&f.prod).await, "verified");
    for r in [&f.db, &f.web, &f.notify] {
        assert_eq!(f.release_state(r).await, "released");
        f.assert_did(r, "released", "erin").await;
    }
    let base = format!("/trains/{}", f.train);
    submit(f.as_("rita"), &base, &format!("{base}/close"), &[]).await;
    assert_eq!(f.train_state().await, "closed");
    for r in [&f.db, &f.web, &f.notify] {
        assert_eq!(f.release_state(r).await, "closed", "what rode on the train closes with it");
    }
    f.assert_did(&f.train, "close", "rita").await;
    let t = f.api(&format!("/api/v1{base}")).await;
    let history: Vec<&str> = t["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(
        history,
        [
            "submit",
            "train_approved",
            "start_construction",
            "start_verification",
            "request_executive_approval",
            "executive_rejected",
            "request_executive_approval",
            "executive_approved",
            "close"
        ]
    );
    for (action, actor) in [
        ("submit", "rita"),
        ("train_approved", "vera"),
        ("gate_approval_decided", "quinn"),
        ("executive_approved", "eve"),
    ] {
        f.assert_did(&f.train, action, actor).await;
    }
    let verified = f.api("/api/v1/audit/verify").await;
    assert_eq!(verified["intact"], true, "{verified}");
    // The train's page says so, and offers nothing more.
    let p = f.as_("rita").get(&base).await;
    assert!(p.body.contains("This train is closed."), "{}", p.body);
    assert!(!p.body.contains(&format!(r#"action="{base}/close""#)));
}
