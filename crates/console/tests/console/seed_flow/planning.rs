//! Steps 1 to 3 of the seed through the console: the train, its application releases, construction.

use super::*;

// ---------------------------------------------------------------------------------------------------------
// 1. The release train: created with its type, manager, purpose, schedule and approvals; exit criteria
//    and a milestone inherited by the releases; submitted and approved; scoping verified.
// ---------------------------------------------------------------------------------------------------------

pub(super) async fn create_the_train_and_send_it_for_approval(f: &mut Flow) {
    assert!(f.as_("rita").get("/trains").await.body.contains(r#"href="/trains/new""#), "the list links to a new train");
    let mut fields = vec![
        ("title", "Spring 2027"),
        ("release_type", "minor"),
        ("purpose", "Multi-currency checkout"),
        ("manager", "rita"),
        ("engineers", "erin, quinn"),
        ("train_approvers", "vera"),
        ("train_required", "1"),
        ("development_approvers", "dave"),
        ("development_required", "1"),
        ("executive_approvers", "eve"),
        ("executive_required", "1"),
        ("gate_approvers", "quinn"),
        ("gate_required", "1"),
        ("scoping_gate_approval", "on"),
    ];
    fields.extend(DATES);
    let res = submit(f.as_("rita"), "/trains/new", "/trains", &fields).await;
    f.train = res.location().strip_prefix("/trains/").expect("to the train's page").to_string();
    let base = format!("/trains/{}", f.train);
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(
        (t["state"].as_str(), t["manager"].as_str(), t["release_type"].as_str(), t["purpose"].as_str()),
        (Some("draft"), Some("rita"), Some("minor"), Some("Multi-currency checkout"))
    );
    assert_eq!(t["schedule"]["production_date"], "2027-03-13");
    for (kind, who) in [("train", "vera"), ("development", "dave"), ("executive", "eve")] {
        assert_eq!(t["approval_policies"][kind]["levels"][0]["approvers"][0], who, "{t}");
    }

    // An exit criterion on each gate: scope (paula), code (dan), regression in staging (quinn).
    for (key, gate, title, owner, environment) in [
        ("scope", "scoping", "Scope signed off", "paula", ""),
        ("code", "construction", "CI green on the release branches", "dan", ""),
        ("regression", "verification", "Regression suite passes", "quinn", "staging"),
    ] {
        let fields = [("title", title), ("owner", owner), ("environment", environment)];
        let res = submit(f.as_("rita"), &base, &format!("{base}/gates/{gate}/criteria"), &fields).await;
        assert_eq!(res.location(), format!("{base}#gates"));
        let t = f.api(&format!("/api/v1{base}")).await;
        let c = &t["gates"][gate]["criteria"][0];
        assert_eq!((c["title"].as_str(), c["owner"].as_str()), (Some(title), Some(owner)), "{t}");
        f.criteria.insert(key, c["id"].as_str().unwrap().to_string());
    }
    // A milestone every release inherits.
    let fields = [("title", "Code complete"), ("due", "2027-02-10"), ("owner", "dan"), ("inherit", "on")];
    submit(f.as_("rita"), &base, &format!("{base}/milestones"), &fields).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(
        (t["milestones"][0]["title"].as_str(), t["milestones"][0]["inherit"].as_bool()),
        (Some("Code complete"), Some(true))
    );

    // Submitted; vera approves from her dashboard.
    submit(f.as_("rita"), &base, &format!("{base}/submit"), &[]).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(t["state"], "awaiting_train_approval");
    let approval = t["train_approval"]["id"].as_str().unwrap().to_string();
    let res = submit(
        f.as_("vera"),
        "/",
        &format!("/approvals/{approval}/approve"),
        &[("back", "/"), ("comment", "scope and dates are fine")],
    )
    .await;
    assert_eq!(res.location(), "/");
    assert_eq!(f.train_state().await, "scoping");
    f.assert_did(&approval, "approve", "vera").await;
    for action in ["create", "add_criterion", "add_milestone", "submit"] {
        f.assert_did(&f.train, action, "rita").await;
    }
}

pub(super) async fn verify_the_scoping_criteria(f: &mut Flow) {
    let base = format!("/trains/{}", f.train);
    let scope = f.criteria["scope"].clone();
    let fields = [("note", "signed by both product owners"), ("link", "https://wiki.example/spring-scope")];
    submit(f.as_("paula"), &base, &format!("{base}/criteria/{scope}/meet"), &fields).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    let c = &t["gates"]["scoping"]["criteria"][0];
    assert_eq!(
        (c["state"].as_str(), c["evidence"]["link"].as_str()),
        (Some("met"), Some("https://wiki.example/spring-scope"))
    );
    f.assert_did(&f.train, "meet_criterion", "paula").await;
    // The scoping gate needs a gate approval: rita requests it, quinn gives it on the train page.
    assert_eq!(t["gates"]["scoping"]["approval_required"], true);
    let res = submit(f.as_("rita"), &base, &format!("{base}/gates/scoping/request-approval"), &[]).await;
    assert_eq!(res.location(), format!("{base}#approvals"));
    let t = f.api(&format!("/api/v1{base}")).await;
    let gap = t["gates"]["scoping"]["approval"]["id"].as_str().unwrap().to_string();
    let fields = [("back", base.as_str()), ("comment", "scope is clear")];
    submit(f.as_("quinn"), &base, &format!("/approvals/{gap}/approve"), &fields).await;
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(t["gates"]["scoping"]["approval"]["state"], "approved", "{t}");
    f.assert_did(&gap, "approve", "quinn").await;
    f.assert_did(&f.train, "request_gate_approval", "rita").await;
}

// ---------------------------------------------------------------------------------------------------------
// 2. Application releases: one for each application, on the train, with a dependency, milestones and
//    work items.
// ---------------------------------------------------------------------------------------------------------

pub(super) async fn create_application_releases(f: &mut Flow) {
    let train_page = format!("/trains/{}", f.train);
    let new = format!("/releases/new?train={}", f.train);
    assert!(f.as_("paula").get(&train_page).await.body.contains(&format!(r#"href="{new}""#)));
    // Paula proposes the ledger and the storefront; rita creates notifications (accepted at once).
    let mut ids = Vec::new();
    for (who, app, title, start, end) in [
        ("paula", "LEDGER", "Ledger 4.2", "2027-01-18", "2027-02-01"),
        ("paula", "SHOP", "Storefront 7.1", "2027-02-02", "2027-02-12"),
        ("rita", "NOTIFY", "Notifications 2.0", "2027-01-18", "2027-02-12"),
    ] {
        let fields = [
            ("application", app),
            ("title", title),
            ("product_owner", "paula"),
            ("release_type", ""),
            ("criticality", "high"),
            ("start", start),
            ("end", end),
            ("allowed_paths", ""),
            ("train", f.train.as_str()),
        ];
        let res = submit(f.as_(who), &new, "/releases", &fields).await;
        let id = res.location().strip_prefix("/releases/").expect("to the release's page").to_string();
        let r = f.api(&format!("/api/v1/application-releases/{id}")).await;
        let membership = if who == "rita" { "accepted" } else { "proposed" };
        assert_eq!(
            (r["application"].as_str(), r["state"].as_str(), r["membership"]["state"].as_str()),
            (Some(app), Some("planning"), Some(membership)),
            "{r}"
        );
        ids.push(id);
    }
    (f.db, f.web, f.notify) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    for r in [&f.db, &f.web] {
        let page = format!("/releases/{r}");
        submit(f.as_("rita"), &page, &format!("{page}/accept"), &[]).await;
        let v = f.api(&format!("/api/v1/application-releases/{r}")).await;
        assert_eq!(
            (v["membership"]["state"].as_str(), v["membership"]["decided_by"].as_str()),
            (Some("accepted"), Some("rita"))
        );
        f.assert_did(r, "accept", "rita").await;
    }

    // The storefront depends on the ledger.
    let web_page = format!("/releases/{}", f.web);
    submit(f.as_("paula"), &web_page, &format!("{web_page}/dependencies"), &[("depends_on", f.db.as_str())]).await;
    let v = f.api(&format!("/api/v1/application-releases/{}", f.web)).await;
    assert_eq!(v["dependencies"][0].as_str(), Some(f.db.as_str()), "{v}");

    // A milestone and work items of each.
    for (r, milestone, due, items) in [
        (
            f.db.clone(),
            "Migration rehearsed",
            "2027-01-28",
            vec![
                ("LEDGER-1", "business_request", "Balances in several currencies"),
                ("LEDGER-2", "development_task", "Currency column"),
            ],
        ),
        (
            f.web.clone(),
            "Checkout demo",
            "2027-02-08",
            vec![
                ("SHOP-1", "business_request", "Checkout in euros"),
                ("SHOP-2", "development_task", "Currency picker"),
            ],
        ),
        (
            f.notify.clone(),
            "Templates translated",
            "2027-02-05",
            vec![("NOTIFY-1", "development_task", "Receipts per currency")],
        ),
    ] {
        let page = format!("/releases/{r}");
        let paula = f.as_("paula");
        submit(paula, &page, &format!("{page}/milestones"), &[("title", milestone), ("due", due), ("owner", "")]).await;
        for (key, kind, title) in items {
            let fields =
                [("kind", kind), ("key", key), ("title", title), ("status", "open"), ("link", ""), ("source", "jira")];
            let res = submit(paula, &page, &format!("{page}/work-items"), &fields).await;
            assert_eq!(res.location(), format!("{page}#work-items"));
        }
        let v = f.api(&format!("/api/v1/application-releases/{r}")).await;
        assert!(v["milestones"].as_array().unwrap().iter().any(|m| m["title"] == milestone), "{v}");
        let list = f.api(&format!("/api/v1/application-releases/{r}/work-items")).await;
        for w in list["items"].as_array().unwrap() {
            let key = WORK_ITEMS.iter().find(|k| w["key"] == **k).copied().unwrap_or_else(|| panic!("{w}"));
            f.work_items.insert(key, w["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(f.work_items.len(), 5);
    // The viewer sees the train and its releases, and no form but the header's sign-out.
    for page in [train_page.clone(), format!("/releases/{}", f.web)] {
        let p = f.as_("vic").get(&page).await;
        assert_eq!(p.status, 200, "{}", p.body);
        assert!(p.body.contains("Storefront 7.1"), "{}", p.body);
        assert_eq!(p.body.matches(r#"method="post""#).count(), 1, "vic on {page}:\n{}", p.body);
    }
    let members = f.api(&format!("/api/v1/application-releases?train={}", f.train)).await;
    assert_eq!(members["items"].as_array().unwrap().len(), 3);
}

/// The work items' keys, the ones created above and the one added after the storefront went back.
pub(super) const WORK_ITEMS: [&str; 6] = ["LEDGER-1", "LEDGER-2", "SHOP-1", "SHOP-2", "NOTIFY-1", "SHOP-3"];

// ---------------------------------------------------------------------------------------------------------
// 3. Construction: started, work begun and done, turnovers with work items and tasks, the development
//    gate verified, development approval.
// ---------------------------------------------------------------------------------------------------------

pub(super) async fn complete_construction(f: &mut Flow) {
    let base = format!("/trains/{}", f.train);
    submit(f.as_("rita"), &base, &format!("{base}/start-construction"), &[]).await;
    assert_eq!(f.train_state().await, "construction");
    f.assert_did(&f.train, "start_construction", "rita").await;
    for r in [f.db.clone(), f.web.clone(), f.notify.clone()] {
        // The train's common milestone was inherited.
        let v = f.api(&format!("/api/v1/application-releases/{r}")).await;
        assert!(
            v["milestones"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["title"] == "Code complete" && m["inherited_from"].is_string()),
            "{v}"
        );
        let page = format!("/releases/{r}");
        submit(f.as_("paula"), &page, &format!("{page}/begin-work"), &[]).await;
        assert_eq!(f.release_state(&r).await, "construction");
        f.assert_did(&r, "begin_work", "paula").await;
    }
    // The work gets done: paula sets each work item's status on the release page.
    for (key, r) in
        [("LEDGER-1", &f.db), ("LEDGER-2", &f.db), ("SHOP-1", &f.web), ("SHOP-2", &f.web), ("NOTIFY-1", &f.notify)]
    {
        let page = format!("/releases/{r}");
        let action = format!("{page}/work-items/{}/status", f.work_items[key]);
        let p = open(f.as_("paula"), &page, &action).await;
        let version = p.input_value(&format!(r#"action="{action}""#), "version");
        send(f.as_("paula"), &p, &action, &[("version", &version), ("status", "done")]).await;
        assert_eq!(f.api(&format!("/api/v1/work-items/{}", f.work_items[key])).await["status"], "done");
    }
    // Dan completes the inherited milestone he owns, on the ledger's page.
    let page = format!("/releases/{}", f.db);
    let v = f.api(&format!("/api/v1/application-releases/{}", f.db)).await;
    let code = v["milestones"].as_array().unwrap().iter().find(|m| m["title"] == "Code complete").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    submit(f.as_("dan"), &page, &format!("{page}/milestones/{code}/complete"), &[]).await;
    let v = f.api(&format!("/api/v1/application-releases/{}", f.db)).await;
    assert!(v["milestones"].as_array().unwrap().iter().any(|m| m["id"] == code.as_str() && m["state"] == "completed"));
    f.assert_did(&f.db, "complete_milestone", "dan").await;
}

pub(super) async fn create_turnovers_with_work_items_and_tasks(f: &mut Flow) {
    let mut ids = Vec::new();
    for (r, title, artifacts) in [
        (&f.db, "Ledger 4.2 build 318", "ledger-migrations 4.2.318"),
        (&f.web, "Storefront 7.1 build 1207", "storefront 7.1.1207 sha256:5e1f"),
        (&f.notify, "Notifications 2.0 build 77", "notify 2.0.77"),
    ] {
        let release_page = format!("/releases/{r}");
        let new = format!("/turnovers/new?release={r}");
        let p = f.as_("dan").get(&release_page).await;
        assert!(p.body.contains(&format!(r#"href="{new}""#)), "the release page links to a new turnover");
        let fields = [
            ("release", r.as_str()),
            ("title", title),
            ("path", f.path.as_str()),
            ("developer", "dan"),
            ("description", ""),
            ("artifacts", artifacts),
        ];
        let res = submit(f.as_("dan"), &new, "/turnovers", &fields).await;
        let id = res.location().strip_prefix("/turnovers/").expect("to the turnover's page").to_string();
        let t = f.api(&format!("/api/v1/turnovers/{id}")).await;
        assert_eq!((t["state"].as_str(), t["developer"].as_str()), (Some("draft"), Some("dan")), "{t}");
        ids.push(id);
    }
    (f.to_db, f.to_web, f.to_notify) = (ids[0].clone(), ids[1].clone(), ids[2].clone());

    // The done work items each delivers.
    for (t, keys) in [
        (&f.to_db, vec!["LEDGER-1", "LEDGER-2"]),
        (&f.to_web, vec!["SHOP-1", "SHOP-2"]),
        (&f.to_notify, vec!["NOTIFY-1"]),
    ] {
        let page = format!("/turnovers/{t}");
        for key in &keys {
            let res =
                submit(f.as_("dan"), &page, &format!("{page}/work-items"), &[("work_item", &f.work_items[key])]).await;
            assert_eq!(res.location(), format!("{page}#work-items"));
        }
        let v = f.api(&format!("/api/v1/turnovers/{t}")).await;
        let want: Vec<&str> = keys.iter().map(|k| f.work_items[k].as_str()).collect();
        let got: Vec<&str> = v["work_items"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
        assert_eq!(got, want);
    }

    // The deployment tasks: automated echo tasks, and one manual task owned by paula.
    f.add_command_task(&f.to_db, "Migrate ledger schema", "1", "database", "migrate ledger").await;
    let page = format!("/turnovers/{}", f.to_db);
    let fields = [
        ("title", "Check ledger balances"),
        ("kind", "manual"),
        ("owner", "paula"),
        ("sequence", "2"),
        ("tier", "database"),
        ("retries", "0"),
    ];
    submit(f.as_("dan"), &page, &format!("{page}/tasks"), &fields).await;
    f.add_command_task(&f.to_web, "Migrate shop schema", "1", "database", "migrate shop").await;
    f.add_command_task(&f.to_web, "Deploy storefront", "2", "web", "deploy storefront").await;
    f.add_command_task(&f.to_notify, "Deploy notifications", "1", "app", "deploy notifications").await;
    let titles = |v: &Value| -> Vec<String> {
        v["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap().to_string()).collect()
    };
    let db = f.api(&format!("/api/v1/turnovers/{}", f.to_db)).await;
    assert_eq!(titles(&db), ["Migrate ledger schema", "Check ledger balances"]);
    assert_eq!(db["tasks"][1]["owner"], "paula");
    assert_eq!(
        titles(&f.api(&format!("/api/v1/turnovers/{}", f.to_web)).await),
        ["Migrate shop schema", "Deploy storefront"]
    );
    for t in [&f.to_db, &f.to_web, &f.to_notify] {
        f.assert_did(t, "create", "dan").await;
        f.assert_did(t, "link_work_items", "dan").await;
        f.assert_did(t, "add_task", "dan").await;
    }

    // The development gate's criterion, met by dan.
    let base = format!("/trains/{}", f.train);
    let code = f.criteria["code"].clone();
    submit(
        f.as_("dan"),
        &base,
        &format!("{base}/criteria/{code}/meet"),
        &[("note", "CI run 5121 green"), ("link", "")],
    )
    .await;
    let t = f.api(&format!("/api/v1{base}")).await;
    assert_eq!(t["gates"]["construction"]["criteria"][0]["state"], "met");
}

/// Paula requests development approval on each release's page; dave approves from his dashboard.
pub(super) async fn send_for_development_approval(f: &mut Flow) {
    for r in [f.db.clone(), f.web.clone(), f.notify.clone()] {
        development_approval(f, &r, "/").await;
    }
}

pub(super) async fn development_approval(f: &Flow, r: &str, from: &str) {
    let page = format!("/releases/{r}");
    submit(f.as_("paula"), &page, &format!("{page}/request-development-approval"), &[]).await;
    let v = f.api(&format!("/api/v1/application-releases/{r}")).await;
    assert_eq!(v["state"], "awaiting_development_approval");
    let ap = v["development_approval"]["id"].as_str().unwrap().to_string();
    let res =
        submit(f.as_("dave"), from, &format!("/approvals/{ap}/approve"), &[("back", from), ("comment", "reviewed")])
            .await;
    assert_eq!(res.location(), from);
    assert_eq!(f.release_state(r).await, "verification");
    f.assert_did(r, "request_development_approval", "paula").await;
    f.assert_did(r, "development_approved", "dave").await;
    f.assert_did(&ap, "approve", "dave").await;
}
