//! Tasks edited, reordered, copied and removed from the turnover page; the turnover edited and cancelled.

use super::*;

/// A turnover of PAY 7 created over the API by dan, with two automated tasks; and another with one task.
async fn turnover_with_tasks(app: &TestApp, w: &World, dan: &str) -> (String, String) {
    let mut ids = Vec::new();
    for title in ["PAY build 8", "PAY hotfix"] {
        let body = json!({"title": title, "release": w.release, "path": w.path});
        ids.push(app.post(dan, "/api/v1/turnovers", body).await["id"].as_str().unwrap().to_string());
    }
    let sh = |s: &str| json!({"kind": "command", "program": "/bin/sh", "args": ["-c", s]});
    for (to, title, seq) in [(&ids[0], "Migrate", 1), (&ids[0], "Restart web", 2), (&ids[1], "Flush cache", 1)] {
        app.post(
            dan,
            &format!("/api/v1/turnovers/{to}/tasks"),
            json!({"title": title, "sequence": seq, "action": sh("true")}),
        )
        .await;
    }
    (ids[0].clone(), ids[1].clone())
}

#[tokio::test]
async fn tasks_are_edited_reordered_copied_and_removed_and_the_turnover_edited_and_cancelled_from_its_page() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (to, other) = turnover_with_tasks(&app, &w, &w.dan).await;
    let page_path = format!("/turnovers/{to}");
    let api = format!("/api/v1/turnovers/{to}");
    let task_id = |t: &Value, title: &str| {
        t["tasks"].as_array().unwrap().iter().find(|x| x["title"] == title).unwrap()["id"].as_str().unwrap().to_string()
    };

    let dan = signed_in(&app, "dan").await;
    let page = dan.get(&page_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let t = app.get(&w.erin, &api).await;
    let (migrate, restart) = (task_id(&t, "Migrate"), task_id(&t, "Restart web"));
    for text in [
        format!(r#"action="/turnovers/{to}/tasks/{migrate}/edit""#),
        format!(r#"name="seq-{restart}""#),
        format!(r#"<option value="{other}">"#),
    ] {
        assert!(
            page.body.contains(&text),
            "no {text:?} in:
{}",
            page.body
        );
    }

    // Edit: Migrate becomes a manual task of rita's in staging only, a rollback step.
    let res = post(
        &dan,
        &format!("/turnovers/{to}/tasks/{migrate}/edit"),
        &[
            ("csrf", csrf.clone()),
            ("title", "Migrate by hand".into()),
            ("kind", "manual".into()),
            ("owner", "rita".into()),
            ("sequence", "1".into()),
            ("retries", "0".into()),
            ("tier", "database".into()),
            ("environments", "staging".into()),
            ("rollback", "yes".into()),
        ],
    )
    .await;
    redirected_to(&res, &format!("/turnovers/{to}#tasks"));
    let t = app.get(&w.erin, &api).await;
    let m = t["tasks"].as_array().unwrap().iter().find(|x| x["id"] == migrate.as_str()).unwrap().clone();
    assert_eq!(
        (m["title"].as_str(), m["owner"].as_str(), m["action"].clone()),
        (Some("Migrate by hand"), Some("rita"), Value::Null),
        "{m}"
    );
    assert_eq!(
        (m["environments"].clone(), m["rollback"].clone(), m["tier"].as_str()),
        (json!(["staging"]), json!(true), Some("database"))
    );
    let page = dan.get(&page_path).await;
    assert!(page.body.contains("manual, by rita") && page.body.contains("rollback only"), "{}", page.body);

    // A bad field gets a 4xx page naming it, and changes nothing.
    let res = post(
        &dan,
        &format!("/turnovers/{to}/tasks"),
        &[
            ("csrf", csrf.clone()),
            ("title", "Smoke".into()),
            ("kind", "command".into()),
            ("program", "true".into()),
            ("sequence", "first".into()),
        ],
    )
    .await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("sequence") && res.body.contains("`first` is not a whole number"), "{}", res.body);
    let res = post(
        &dan,
        &format!("/turnovers/{to}/tasks"),
        &[
            ("csrf", csrf.clone()),
            ("title", "Smoke".into()),
            ("kind", "command".into()),
            ("program", "".into()),
            ("sequence", "3".into()),
        ],
    )
    .await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("action.program: must not be empty"), "{}", res.body);
    assert_eq!(app.get(&w.erin, &api).await["tasks"].as_array().map(Vec::len), Some(2));

    // Reorder: both in sequence 1 (parallel).
    let res = post(
        &dan,
        &format!("/turnovers/{to}/tasks/reorder"),
        &[("csrf", csrf.clone()), (&format!("seq-{migrate}"), "1".into()), (&format!("seq-{restart}"), "1".into())],
    )
    .await;
    redirected_to(&res, &format!("/turnovers/{to}#tasks"));
    let t = app.get(&w.erin, &api).await;
    assert!(t["tasks"].as_array().unwrap().iter().all(|x| x["sequence"] == 1), "{t}");
    assert!(dan.get(&page_path).await.body.contains("Sequence 1 (run in parallel)"));

    // Copy the other turnover's task; then remove Restart web.
    let res = post(
        &dan,
        &format!("/turnovers/{to}/tasks/copy"),
        &[("csrf", csrf.clone()), ("from", other.clone()), ("tasks", "".into())],
    )
    .await;
    redirected_to(&res, &format!("/turnovers/{to}#tasks"));
    let t = app.get(&w.erin, &api).await;
    assert!(t["tasks"].as_array().unwrap().iter().any(|x| x["title"] == "Flush cache"), "{t}");
    let res = post(&dan, &format!("/turnovers/{to}/tasks/{restart}/remove"), &[("csrf", csrf.clone())]).await;
    redirected_to(&res, &format!("/turnovers/{to}#tasks"));
    let t = app.get(&w.erin, &api).await;
    let titles: Vec<&str> = t["tasks"].as_array().unwrap().iter().map(|x| x["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Migrate by hand", "Flush cache"]);
    let events = app.events_of(&to).await;
    for action in ["edit_task", "reorder_tasks", "copy_tasks", "remove_task"] {
        assert!(has_event(&events, action, "dan"), "no {action} by dan: {events:?}");
    }

    // Edit the turnover with the version the form carries; a stale form is refused, not applied.
    let page = dan.get(&page_path).await;
    let version = app.get(&w.erin, &api).await["version"].as_i64().unwrap();
    assert!(page.body.contains(&format!(r#"<input type="hidden" name="version" value="{version}">"#)), "{}", page.body);
    assert!(page.body.contains(r#"<input name="title" required value="PAY build 8">"#), "pre-filled: {}", page.body);
    let edit = |title: &str, v: i64| {
        vec![
            ("csrf", csrf.clone()),
            ("version", v.to_string()),
            ("title", title.to_string()),
            ("developer", "dan".to_string()),
            ("description", "".to_string()),
            ("artifacts", "pay 8".to_string()),
        ]
    };
    let res = post(&dan, &format!("/turnovers/{to}/edit"), &edit("PAY build 8b", version)).await;
    redirected_to(&res, &page_path);
    let t = app.get(&w.erin, &api).await;
    assert_eq!((t["title"].as_str(), t["artifacts"][0]["version"].as_str()), (Some("PAY build 8b"), Some("8")));
    assert!(has_event(&app.events_of(&to).await, "update", "dan"));
    let res = post(&dan, &format!("/turnovers/{to}/edit"), &edit("PAY build 8c", version)).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("reload it and try again"), "{}", res.body);
    assert_eq!(app.get(&w.erin, &api).await["title"], "PAY build 8b");
    // An artifact line without a version names the field.
    let mut bad = edit("PAY build 8b", version + 1);
    bad[5].1 = "pay".to_string();
    let res = post(&dan, &format!("/turnovers/{to}/edit"), &bad).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("artifacts: line 1: give a name and a version"), "{}", res.body);

    // The list shows both turnovers of the train and filters by state; a bad state names the parameter.
    let list = dan.get(&format!("/turnovers?train={}", w.train)).await;
    assert!(
        list.body.contains(&format!(r#"href="/turnovers/{to}""#))
            && list.body.contains(&format!(r#"href="/turnovers/{other}""#)),
        "{}",
        list.body
    );
    let bad = dan.get("/turnovers?state=sideways").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("`state`") && bad.body.contains("sideways"), "{}", bad.body);

    // Cancelled with a reason: the list's cancelled filter shows it, and the page no longer offers forms.
    let res = post(
        &dan,
        &format!("/turnovers/{other}/cancel"),
        &[("csrf", csrf.clone()), ("reason", "folded into build 8".into())],
    )
    .await;
    redirected_to(&res, &format!("/turnovers/{other}"));
    let t = app.get(&w.erin, &format!("/api/v1/turnovers/{other}")).await;
    assert_eq!((t["state"].as_str(), t["cancel_reason"].as_str()), (Some("cancelled"), Some("folded into build 8")));
    assert!(has_event(&app.events_of(&other).await, "cancel", "dan"));
    let list = dan.get("/turnovers?state=cancelled").await;
    assert!(
        list.body.contains(&format!(r#"href="/turnovers/{other}""#))
            && !list.body.contains(&format!(r#"href="/turnovers/{to}""#)),
        "{}",
        list.body
    );
    let page = dan.get(&format!("/turnovers/{other}")).await;
    assert!(page.body.contains("cancelled: folded into build 8") && !page.body.contains("Add a task"), "{}", page.body);

    // A viewer is told the role cannot create turnovers, and sees no form on a turnover's page.
    let vic = signed_in(&app, "vic").await;
    let page = vic.get(&format!("/turnovers/new?release={}", w.release)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Your role does not create turnovers") && !page.body.contains(r#"action="/turnovers""#),
        "{}",
        page.body
    );
    let page = vic.get(&page_path).await;
    assert_eq!(
        page.body.matches(r#"method="post""#).count(),
        1,
        "only sign-out:
{}",
        page.body
    );
    // Without a release the form names the missing parameter.
    let page = dan.get("/turnovers/new").await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("`release`"), "{}", page.body);
}
