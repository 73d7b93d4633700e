//! A release page shows both directions of its dependencies: what it depends on and what depends on it,
//! each dependent with its state and whether this release holds it back; and its edit form is folded
//! until opened.

use serde_json::json;

use crate::common::{Browser, PASSWORD, TestApp};

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    let res = b.sign_in(name, PASSWORD).await;
    assert_eq!(res.status, 303, "{name} could not sign in: {}", res.body);
    b
}

/// The part of `body` from the heading with `id` to the next `<h2`/`<h3`.
fn part<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[start..];
    let end = rest[4..].find("<h2").or_else(|| rest[4..].find("<h3")).map_or(rest.len(), |e| e + 4);
    &rest[..end]
}

#[tokio::test]
async fn a_release_lists_its_dependents_with_their_state_and_whether_it_holds_them() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let mut ids = Vec::new();
    for key in ["DB", "PAY", "WEB"] {
        app.post(&rm, "/api/v1/applications", json!({"key": key, "name": key})).await;
        let body = json!({"title": format!("{key} 1"), "application": key,
            "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
        ids.push(app.post(&rm, "/api/v1/application-releases", body).await["id"].as_str().unwrap().to_string());
    }
    let (db, pay, web) = (&ids[0], &ids[1], &ids[2]);
    // PAY and WEB depend on DB; WEB also on PAY. WEB is then cancelled: DB no longer holds it.
    for (from, on) in [(pay, db), (web, db), (web, pay)] {
        app.post(&rm, &format!("/api/v1/application-releases/{from}/dependencies"), json!({"depends_on": on})).await;
    }
    app.post(&rm, &format!("/api/v1/application-releases/{web}/cancel"), json!({"reason": "merged into PAY"})).await;

    let rita = signed_in(&app, "rita").await;
    let page = rita.get(&format!("/releases/{db}")).await;
    let dependents = part(&page.body, "dependents");
    assert!(dependents.contains(&format!(r#"href="/releases/{pay}""#)), "{dependents}");
    assert!(dependents.contains(&format!(r#"href="/releases/{web}""#)), "{dependents}");
    let pay_row = dependents.split("<tr>").find(|r| r.contains(&format!("/releases/{pay}"))).unwrap();
    assert!(pay_row.contains("planning") && pay_row.contains("held"), "{pay_row}");
    let web_row = dependents.split("<tr>").find(|r| r.contains(&format!("/releases/{web}"))).unwrap();
    assert!(web_row.contains("cancelled") && !web_row.contains("held"), "{web_row}");
    assert!(page.body.contains("It depends on no other application release."), "{}", page.body);

    // PAY: depends on DB, and WEB depends on it.
    let page = rita.get(&format!("/releases/{pay}")).await;
    let deps = part(&page.body, "dependencies");
    assert!(deps.contains(&format!(r#"href="/releases/{db}""#)), "{deps}");
    assert!(part(&page.body, "dependents").contains(&format!(r#"href="/releases/{web}""#)));
    // WEB: nothing depends on it.
    let page = rita.get(&format!("/releases/{web}")).await;
    assert!(part(&page.body, "dependents").contains("No other application release depends on it."), "{}", page.body);
}

#[tokio::test]
async fn edit_forms_are_folded_until_opened() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.post(&rm, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await;
    let body =
        json!({"title": "PAY 1", "application": "PAY", "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
    let release = app.post(&rm, "/api/v1/application-releases", body).await["id"].as_str().unwrap().to_string();
    let rita = signed_in(&app, "rita").await;
    for (page, action) in [
        (format!("/releases/{release}"), format!("/releases/{release}/edit")),
        ("/applications/PAY".to_string(), "/applications/PAY/edit".to_string()),
    ] {
        let body = rita.get(&page).await.body;
        let form = body.find(&format!(r#"action="{action}""#)).unwrap_or_else(|| panic!("{page}: {body}"));
        let opened = body[..form].rfind("<details").unwrap_or_else(|| panic!("{page}: the form is not folded: {body}"));
        let tag = &body[opened..opened + body[opened..].find('>').unwrap()];
        assert_eq!(tag, r#"<details class="edit""#, "{page}: folded, not open");
        assert!(body[opened..form].contains("<summary><h2 id=\"edit\">"), "{page}: {}", &body[opened..form]);
        assert!(!body[opened..form].contains("</details>"), "{page}: the form is inside the fold");
    }

    // A refused edit (a date that is not one) leads back to the page with the form open.
    let page = rita.get(&format!("/releases/{release}")).await;
    let version = page.input_value(&format!(r#"action="/releases/{release}/edit""#), "version");
    let fields = [
        ("csrf", page.csrf()),
        ("version", version),
        ("title", "PAY 1".into()),
        ("product_owner", "rita".into()),
        ("release_type", "minor".into()),
        ("criticality", "medium".into()),
        ("start", "the fifth".into()),
        ("end", "2027-02-05".into()),
        ("allowed_paths", String::new()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = rita.post(&format!("/releases/{release}/edit"), &fields).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("schedule.start"), "the error names the field: {}", res.body);
    let back = format!("/releases/{release}?edit=open#edit");
    assert!(res.body.contains(&format!(r#"<a href="{back}">Back to the form</a>"#)), "{}", res.body);
    let again = rita.get(&format!("/releases/{release}?edit=open")).await.body;
    assert!(again.contains(r#"<details class="edit" open><summary><h2 id="edit">"#), "{again}");
}
