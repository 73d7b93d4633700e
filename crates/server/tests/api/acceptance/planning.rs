//! Steps 1 to 3 of the seed flow, up to construction: the train, its releases, their timelines.

use super::*;

// ---------------------------------------------------------------------------------------------------------
// 1. The release train: created, set up, approved, scoped.
// ---------------------------------------------------------------------------------------------------------

/// Ralph creates the train as a draft and sends it for approval at once: with no approvals defined yet it
/// cannot be (every train needs an executive approval, R4), so it stays a draft until step 3 sends it again.
pub(super) async fn create_the_train_and_send_it_for_approval(f: &mut Flow) {
    let provisional = json!({"start": "2027-01-11", "scoping_end": "2027-01-22", "construction_end": "2027-02-19",
        "verification_end": "2027-03-05", "production_date": "2027-03-13"});
    let t = f
        .post(
            "ralph",
            "/api/v1/trains",
            json!({"title": "Spring 2027", "release_type": "minor", "schedule": provisional}),
        )
        .await
        .expect(201);
    f.train = id(&t);
    assert_eq!((t["state"].as_str(), t["manager"].as_str()), (Some("draft"), Some("ralph")));
    let base = format!("/api/v1/trains/{}", f.train);

    // Scoping, out of order: construction cannot start from draft.
    let r = f.refused("ralph", &format!("{base}/start-construction"), json!({})).await;
    assert_eq!(r.guards(), ["wrong_state"]);
    assert!(r.guard_text().contains("draft"), "{}", r.guard_text());
    let r = f.refused("ralph", &format!("{base}/submit"), json!({})).await;
    assert_eq!(r.guards(), ["executive_policy_missing"]);
    assert_eq!(f.state(&base).await, "draft");
    f.expect_events(&f.train, &[("create", "ralph")]).await;
}

pub(super) async fn set_type_manager_purpose_and_schedule(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    // Only the manager hands the train over.
    let r = f.patch("rita", &base, &base, json!({"manager": "rita"})).await;
    assert_eq!(r.guards(), ["not_train_manager"]);
    let schedule = json!({"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
        "verification_end": "2027-02-26", "production_date": "2027-03-06"});
    let t = f
        .patch(
            "ralph",
            &base,
            &base,
            json!({"release_type": "major", "manager": "rita", "engineers": ["erin", "ed"],
                "purpose": "Checkout in several currencies", "schedule": schedule}),
        )
        .await
        .ok();
    assert_eq!(
        (t["release_type"].as_str(), t["manager"].as_str(), t["purpose"].as_str()),
        (Some("major"), Some("rita"), Some("Checkout in several currencies"))
    );
    assert_eq!(t["engineers"], json!(["erin", "ed"]));
    assert_eq!(t["schedule"], schedule);
    f.expect_events(&f.train, &[("update", "ralph")]).await;
}

/// Train, development and executive approvals; the train approval is requested and completed.
pub(super) async fn define_the_three_approvals(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let policies = json!({
        "train": {"levels": [level(&["vera"], 1)]},
        "development": {"levels": [level(&["dave"], 1)]},
        "executive": {"levels": [level(&["eve"], 1)]}
    });
    let t = f.patch("rita", &base, &base, json!({"approval_policies": policies})).await.ok();
    assert_eq!(t["approval_policies"]["executive"]["levels"][0]["approvers"], json!(["eve"]));

    let t = f.post("rita", &format!("{base}/submit"), json!({})).await.ok();
    assert_eq!(t["state"], "awaiting_train_approval");
    let ap = t["train_approval"]["id"].as_str().unwrap().to_string();
    let approval = format!("/api/v1/approvals/{ap}");
    // The requester does not decide her own request (R2).
    let r = f.refused("rita", &format!("{approval}/approve"), json!({})).await;
    assert!(r.guards().contains(&"own_request".to_string()), "{:?}", r.guards());
    let a = f.post("vera", &format!("{approval}/approve"), json!({"comment": "scope fits the quarter"})).await.ok();
    assert_eq!(a["state"], "approved");
    assert_eq!(f.state(&base).await, "scoping");
    f.expect_events(&f.train, &[("update", "rita"), ("submit", "rita"), ("train_approved", "vera")]).await;
    f.expect_events(&ap, &[("request", "rita"), ("approve", "vera"), ("approved", "vera")]).await;
}

/// An exit criterion for each stage gate; the scoping gate also needs approval to pass.
pub(super) async fn define_exit_criteria(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let t = f.get(&base).await;
    let mut policies = t["approval_policies"].clone();
    policies["gate"] = json!({"levels": [level(&["quinn"], 1)]});
    f.patch("rita", &base, &base, json!({"approval_policies": policies})).await.ok();
    for (name, gate, body) in [
        ("scope", "scoping", json!({"title": "Scope agreed with the product owners", "owner": "paula"})),
        ("code", "construction", json!({"title": "Code frozen, unit tests green", "owner": "dan"})),
        (
            "regression",
            "verification",
            json!({"title": "Regression suite passed", "owner": "quinn", "environment": "staging"}),
        ),
    ] {
        let t = f.post("rita", &format!("{base}/gates/{gate}/criteria"), body.clone()).await.expect(201);
        let c = t["gates"][gate]["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"] == body["title"])
            .unwrap()
            .clone();
        assert_eq!(c["state"], "open");
        f.criteria.insert(name, id(&c));
    }
    let t = f.patch("rita", &format!("{base}/gates/scoping"), &base, json!({"approval_required": true})).await.ok();
    assert_eq!(t["gates"]["scoping"]["approval_required"], true);
    assert_eq!(t["gates"]["verification"]["criteria"][0]["environment"], "staging");
    f.expect_events(
        &f.train,
        &[
            ("update", "rita"),
            ("add_criterion", "rita"),
            ("add_criterion", "rita"),
            ("add_criterion", "rita"),
            ("update_gate", "rita"),
        ],
    )
    .await;
}

/// Milestones for all application releases: "Code complete" is inherited by each, the go/no-go is the
/// train's own.
pub(super) async fn add_train_milestones(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let t = f
        .post(
            "rita",
            &format!("{base}/milestones"),
            json!({"title": "Code complete", "due": "2027-02-10", "owner": "dan", "inherit": true}),
        )
        .await
        .expect(201);
    f.code_complete = id(&t["milestones"][0]);
    let t = f
        .post("rita", &format!("{base}/milestones"), json!({"title": "Go/no-go", "due": "2027-03-01", "owner": "rita"}))
        .await
        .ok();
    assert_eq!(titles(&t["milestones"]), ["Code complete", "Go/no-go"]);
    assert_eq!(
        (t["milestones"][0]["inherit"].as_bool(), t["milestones"][1]["inherit"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(t["milestones"].as_array().unwrap().iter().all(|m| m["state"] == "open"));
    f.expect_events(&f.train, &[("add_milestone", "rita"), ("add_milestone", "rita")]).await;
}

/// The scoping criterion is met with evidence and the gate approved: the train moves to construction.
pub(super) async fn verify_the_scoping_criteria(f: &mut Flow) {
    let base = format!("/api/v1/trains/{}", f.train);
    let scope = f.criterion("scope").to_string();
    // Scoping, out of order: not before the gate is passed.
    let r = f.refused("rita", &format!("{base}/start-construction"), json!({})).await;
    assert_eq!(r.guards(), ["criterion_open", "gate_approval_missing"]);
    assert!(r.guard_text().contains(&scope) && r.guard_text().contains("owner: paula"), "{}", r.guard_text());
    assert_eq!(f.state(&base).await, "scoping");

    let evidence = json!({"evidence": {"note": "signed by both product owners", "link": "https://wiki/spring-scope"}});
    let t = f.post("paula", &format!("{base}/criteria/{scope}/meet"), evidence).await.ok();
    let c = &t["gates"]["scoping"]["criteria"][0];
    assert_eq!((c["state"].as_str(), c["evidence"]["link"].as_str()), (Some("met"), Some("https://wiki/spring-scope")));
    let t = f.post("rita", &format!("{base}/gates/scoping/request-approval"), json!({})).await.ok();
    let gap = t["gates"]["scoping"]["approval"]["id"].as_str().unwrap().to_string();
    let r = f.refused("rita", &format!("{base}/start-construction"), json!({})).await;
    assert_eq!(r.guards(), ["gate_approval_not_granted"]);
    f.post("quinn", &format!("/api/v1/approvals/{gap}/approve"), json!({})).await.ok();
    let t = f.post("rita", &format!("{base}/start-construction"), json!({})).await.ok();
    assert_eq!(t["state"], "construction");
    assert_eq!(t["gates"]["scoping"]["approval"]["state"], "approved");
    f.expect_events(
        &f.train,
        &[
            ("meet_criterion", "paula"),
            ("request_gate_approval", "rita"),
            ("gate_approval_decided", "quinn"),
            ("start_construction", "rita"),
        ],
    )
    .await;
    f.expect_events(&gap, &[("request", "rita"), ("approve", "quinn"), ("approved", "quinn")]).await;
}

// ---------------------------------------------------------------------------------------------------------
// 2. Application releases on the train.
// ---------------------------------------------------------------------------------------------------------

/// Paula proposes a release of each application to the train; rita accepts them.
pub(super) async fn create_application_releases(f: &mut Flow) {
    let window = json!({"start": "2027-01-15", "end": "2027-02-12"});
    let mut ids = Vec::new();
    for (title, app) in [("Ledger 4.2", "LEDGER"), ("Storefront 7.1", "SHOP")] {
        let r = f
            .post(
                "paula",
                "/api/v1/application-releases",
                json!({"title": title, "application": app, "train": f.train, "schedule": window}),
            )
            .await
            .expect(201);
        assert_eq!(
            (r["application"].as_str(), r["state"].as_str(), r["membership"]["state"].as_str()),
            (Some(app), Some("planning"), Some("proposed"))
        );
        ids.push(id(&r));
    }
    (f.db, f.web) = (ids[0].clone(), ids[1].clone());
    // A product owner proposes; a release manager accepts.
    f.post("paula", &format!("/api/v1/application-releases/{}/accept", f.db), json!({})).await.expect(403);
    for r in [&f.db, &f.web] {
        let a = f.post("rita", &format!("/api/v1/application-releases/{r}/accept"), json!({})).await.ok();
        assert_eq!(
            (a["membership"]["state"].as_str(), a["membership"]["decided_by"].as_str()),
            (Some("accepted"), Some("rita"))
        );
    }
    let members = f.get(&format!("/api/v1/application-releases?train={}", f.train)).await;
    assert_eq!(members["items"].as_array().unwrap().len(), 2);
    for r in [&f.db, &f.web] {
        // The train is in construction: accepted releases inherit its milestones at once (step 10).
        f.expect_events(
            r,
            &[("create", "paula"), ("propose", "paula"), ("accept", "rita"), ("inherit_milestones", "rita")],
        )
        .await;
    }
}

pub(super) async fn set_their_schedules(f: &mut Flow) {
    for (r, start, end) in [(&f.db, "2027-01-18", "2027-02-05"), (&f.web, "2027-01-25", "2027-02-12")] {
        let path = format!("/api/v1/application-releases/{r}");
        // Never outside the train's window.
        let bad = f.patch("paula", &path, &path, json!({"schedule": {"start": "2026-12-01", "end": end}})).await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert_eq!(bad.body["errors"][0]["field"], "schedule.start");
        let v = f.patch("paula", &path, &path, json!({"schedule": {"start": start, "end": end}})).await.ok();
        assert_eq!(v["schedule"], json!({"start": start, "end": end}));
        f.expect_events(r, &[("update", "paula")]).await;
    }
}

/// The storefront depends on the ledger: a cycle is refused, and the overlap is reported as a conflict.
pub(super) async fn note_dependencies(f: &mut Flow) {
    let (db, web) = (f.db.clone(), f.web.clone());
    f.post("paula", &format!("/api/v1/application-releases/{web}/dependencies"), json!({"depends_on": db})).await.ok();
    let r = f
        .refused("paula", &format!("/api/v1/application-releases/{db}/dependencies"), json!({"depends_on": web}))
        .await;
    assert_eq!(r.guards(), ["dependency_cycle"]);
    assert!(r.guard_text().contains(&format!("{db} → {web} → {db}")), "{}", r.guard_text());
    // The storefront starts on 2027-01-25, before the ledger ends on 2027-02-05 (R5).
    let c = f.get(&format!("/api/v1/trains/{}/conflicts", f.train)).await;
    assert_eq!(c["items"].as_array().unwrap().len(), 1, "{c}");
    assert_eq!(
        (c["items"][0]["dependent"].as_str(), c["items"][0]["dependency"].as_str()),
        (Some(web.as_str()), Some(db.as_str()))
    );
    let o = f.get(&format!("/api/v1/trains/{}/order", f.train)).await;
    let order: Vec<&str> = o["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(order, [db.as_str(), web.as_str()]);
    f.expect_events(&web, &[("add_dependency", "paula")]).await;
    f.expect_events(&db, &[]).await;
}

/// Each release carries the train's common milestone and gets its own; moving the common one moves the
/// copies.
pub(super) async fn add_and_inherit_milestones(f: &mut Flow) {
    for r in [&f.db, &f.web] {
        let v = f.get(&format!("/api/v1/application-releases/{r}")).await;
        assert_eq!(titles(&v["milestones"]), ["Code complete"], "only `inherit` milestones are copied");
        assert_eq!(v["milestones"][0]["inherited_from"], f.code_complete.as_str());
    }
    for (r, title, due) in [(&f.db, "Migration rehearsed", "2027-02-01"), (&f.web, "Checkout demo", "2027-02-08")] {
        let v = f
            .post("paula", &format!("/api/v1/application-releases/{r}/milestones"), json!({"title": title, "due": due}))
            .await
            .expect(201);
        assert_eq!(titles(&v["milestones"]), ["Code complete", title]);
    }
    let train = format!("/api/v1/trains/{}", f.train);
    f.patch("rita", &format!("{train}/milestones/{}", f.code_complete), &train, json!({"due": "2027-02-11"}))
        .await
        .ok();
    for r in [&f.db, &f.web] {
        assert_eq!(f.get(&format!("/api/v1/application-releases/{r}")).await["milestones"][0]["due"], "2027-02-11");
    }
    f.expect_events(&f.train, &[("edit_milestone", "rita")]).await;
    for r in [&f.db, &f.web] {
        f.expect_events(r, &[("add_milestone", "paula"), ("follow_milestone", "rita")]).await;
    }
}

/// Business requests and development tasks: the ledger's one by one, the storefront's imported.
pub(super) async fn associate_business_requests_and_development_tasks(f: &mut Flow) {
    for (key, title, kind) in [
        ("LEDGER-1", "Balances in several currencies", "business_request"),
        ("LEDGER-2", "Currency column in the ledger", "development_task"),
    ] {
        let w = f
            .post(
                "paula",
                &format!("/api/v1/application-releases/{}/work-items", f.db),
                json!({"key": key, "title": title, "kind": kind}),
            )
            .await
            .expect(201);
        assert_eq!(w["status"], "open");
        f.work_items.insert(key, id(&w));
    }
    let items = json!([
        {"key": "SHOP-7", "title": "Checkout in euros", "kind": "business_request", "source": "jira"},
        {"key": "SHOP-8", "title": "Currency picker", "kind": "development_task", "source": "jira"},
        {"key": "SHOP-9", "title": "Price rounding per currency", "kind": "development_task", "source": "jira"}
    ]);
    let res = f
        .app
        .http
        .post(format!("{}/api/v1/application-releases/{}/work-items/import", f.app.base, f.web))
        .bearer_auth(f.token("paula"))
        .header("Content-Type", "application/json")
        .body(items.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["created"], 3);
    let list = f.get(&format!("/api/v1/application-releases/{}/work-items", f.web)).await;
    for w in list["items"].as_array().unwrap() {
        let key = ["SHOP-7", "SHOP-8", "SHOP-9"].into_iter().find(|k| w["key"] == *k).unwrap();
        f.work_items.insert(key, id(w));
    }
    // Construction, out of order: no turnover before work on the release has begun (R6).
    let spec = json!({"title": "too early", "release": f.db, "path": f.path});
    let r = f.refused("dan", "/api/v1/turnovers", spec).await;
    assert_eq!(r.guards(), ["release_not_begun"]);
    for key in ["LEDGER-1", "LEDGER-2"] {
        f.expect_events(&f.work_items[key], &[("create", "paula")]).await;
    }
    for key in ["SHOP-7", "SHOP-8", "SHOP-9"] {
        f.expect_events(&f.work_items[key], &[("import_create", "paula")]).await;
    }
    f.expect_events(&f.web, &[("import_work_items", "paula")]).await;
    f.expect_events(&f.db, &[]).await;
}

// ---------------------------------------------------------------------------------------------------------
// 3. Construction.
// ---------------------------------------------------------------------------------------------------------

/// Work begins on both releases, the work items get done (but one), and code is complete.
pub(super) async fn construct(f: &mut Flow) {
    for r in [&f.db, &f.web] {
        let v = f.post("paula", &format!("/api/v1/application-releases/{r}/begin-work"), json!({})).await.ok();
        assert_eq!(v["state"], "construction");
    }
    for (key, status) in
        [("LEDGER-1", "done"), ("LEDGER-2", "done"), ("SHOP-7", "done"), ("SHOP-8", "done"), ("SHOP-9", "in_progress")]
    {
        let path = format!("/api/v1/work-items/{}", f.work_items[key]);
        let w = f.call("paula", Method::PATCH, &path, Some(json!({"status": status}))).await.ok();
        assert_eq!(w["status"], status);
        f.expect_events(&f.work_items[key], &[("update", "paula")]).await;
    }
    for r in [&f.db, &f.web] {
        let path = format!("/api/v1/application-releases/{r}/milestones/{}/complete", f.code_complete);
        let v = f.post("dan", &path, json!({})).await.ok();
        assert_eq!(v["milestones"][0]["state"], "completed");
        f.expect_events(r, &[("begin_work", "paula"), ("complete_milestone", "dan")]).await;
    }
}

/// The train's timeline and the application releases' bars, as a chart draws them.
pub(super) async fn monitor_status_on_the_timelines(f: &mut Flow) {
    let tl = f.get(&format!("/api/v1/trains/{}/timeline", f.train)).await;
    assert_eq!(tl["state"], "construction");
    let stages = tl["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(names, ["scoping", "construction", "verification", "deployment"]);
    assert_eq!(
        (stages[1]["planned_start"].as_str(), stages[1]["planned_end"].as_str()),
        (Some("2027-01-15"), Some("2027-02-12"))
    );
    assert!(stages[0]["actual_start"].is_string() && stages[0]["actual_end"].is_string(), "{}", stages[0]);
    assert!(stages[1]["actual_start"].is_string() && stages[1]["actual_end"].is_null(), "{}", stages[1]);
    assert!(stages[2]["actual_start"].is_null() && stages[3]["actual_start"].is_null());
    assert!(tl["gates"][0]["passed_at"].is_string() && tl["gates"][1]["passed_at"].is_null(), "{}", tl["gates"]);
    assert_eq!(titles(&tl["milestones"]), ["Code complete", "Go/no-go"]);
    let bars = tl["releases"].as_array().unwrap();
    let bar = |r: &str| bars.iter().find(|b| b["id"] == r).unwrap_or_else(|| panic!("no bar of {r}")).clone();
    let (db, web) = (bar(&f.db), bar(&f.web));
    assert_eq!((db["planned_start"].as_str(), db["planned_end"].as_str()), (Some("2027-01-18"), Some("2027-02-05")));
    for b in [&db, &web] {
        assert_eq!(b["state"], "construction");
        assert!(b["actual_start"].is_string() && b["actual_end"].is_null(), "{b}");
        assert_eq!(b["milestones"][0]["state"], "completed", "{b}");
        assert_eq!(b["milestones"][1]["state"], "open", "{b}");
    }
    assert_eq!(web["depends_on"], json!([f.db]));
    // Looking changes nothing.
    f.expect_events(&f.train, &[]).await;
}
