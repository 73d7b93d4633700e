//! The train page's timeline: a Gantt chart drawn as SVG on the server.

use serde_json::json;

use crate::common::{PASSWORD, TestApp};

#[tokio::test]
async fn the_train_page_draws_the_timeline_with_stages_releases_dependencies_and_today() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("eve", &["product_owner"]).await;
    app.user("vic", &["viewer"]).await;
    let (train, _) = app.train_awaiting(&rm, "eve").await;
    let mut ids = Vec::new();
    for key in ["PAY", "WEB"] {
        app.post(&rm, "/api/v1/applications", json!({"key": key, "name": key})).await;
        let body = json!({"title": format!("{key} 2"), "application": key, "train": train,
            "schedule": {"start": "2027-01-10", "end": "2027-02-10"}});
        ids.push(app.post(&rm, "/api/v1/application-releases", body).await["id"].as_str().unwrap().to_string());
    }
    let dep = format!("/api/v1/application-releases/{}/dependencies", ids[1]);
    app.post(&rm, &dep, json!({"depends_on": ids[0]})).await;
    let milestone = json!({"title": "Code freeze", "due": "2027-02-05"});
    app.post(&rm, &format!("/api/v1/trains/{train}/milestones"), milestone).await;

    let browser = app.browser();
    browser.sign_in("vic", PASSWORD).await;
    let page = browser.get(&format!("/trains/{train}")).await;
    assert_eq!(page.status, 200);
    let svg = page.body.split("<svg").nth(1).and_then(|s| s.split("</svg>").next()).expect("an svg chart");
    assert!(svg.contains(&format!("Timeline of train {train}")), "{svg}");
    // Four stage rows and two release rows, each with its planned bar.
    assert_eq!(svg.matches(r##"fill="#dfe8f3""##).count(), 4, "{svg}");
    assert_eq!(svg.matches(r##"fill="#e8f0e0""##).count(), 2, "{svg}");
    for label in ["scoping", "construction", "verification", "deployment", &format!("PAY {}", ids[0])] {
        assert!(svg.contains(label), "no {label} in the chart");
    }
    // The dependency arrow, the milestone, the gates and today's line.
    assert!(svg.contains(&format!("{} depends on {}", ids[1], ids[0])) && svg.contains("marker-end"), "{svg}");
    assert!(svg.contains("Milestone Code freeze, due 2027-02-05"), "{svg}");
    assert!(svg.contains("scoping gate, planned 2027-01-15"), "{svg}");
    assert!(svg.contains("today "), "{svg}");
    // Both releases run at the same dates, so WEB starts before PAY, which it depends on, ends (R5);
    // neither has a validated turnover yet (R9).
    let conflicts = page.body.split(r#"id="conflicts""#).nth(1).expect("a conflicts section");
    assert!(conflicts.contains(&format!("{}</a> WEB 2 starts 2027-01-10 but depends on", ids[1])), "{conflicts}");
    assert_eq!(page.body.matches("no validated turnover yet").count(), 2, "{}", page.body);
}
