//! Times in the person's time zone: each user keeps an IANA time zone (UTC by default), set by
//! themselves or by an admin, through the console's settings form or the API, and audited. Every
//! time the console shows is in that zone with its abbreviation; a time typed into a form is read in it.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::common::{Browser, PASSWORD, TestApp};

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    let res = b.sign_in(name, PASSWORD).await;
    assert_eq!(res.status, 303, "{name} could not sign in: {}", res.body);
    b
}

/// Sets `name`'s time zone through their own settings form; returns the answer's status.
async fn set_own_zone(b: &Browser, name: &str, zone: &str) -> (u16, String) {
    let page = b.get(&format!("/users/{name}")).await;
    assert!(page.body.contains(r#"action="/users/"#) && page.body.contains("/time-zone"), "{}", page.body);
    let res = b.post(&format!("/users/{name}/time-zone"), &[("csrf", &page.csrf()), ("time_zone", zone)]).await;
    (res.status.as_u16(), res.body)
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn a_user_in_tokyo_and_one_in_new_york_see_the_same_milestone_at_their_own_local_times() {
    let app = TestApp::spawn().await;
    // January: neither Tokyo (+9, no summer time) nor New York (-5, EST) is on summer time.
    app.travel_to("2027-01-10");
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("kenji", &["viewer"]).await;
    app.user("nora", &["viewer"]).await;
    let body = json!({
        "title": "Spring release", "release_type": "major",
        "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"},
        "approval_policies": {"executive": {"levels": [{"approvers": ["rita"], "required": 1}]}}
    });
    let train = app.post(&rm, "/api/v1/trains", body).await["id"].as_str().unwrap().to_string();
    let rita = signed_in(&app, "rita").await;
    let csrf = rita.get(&format!("/trains/{train}")).await.csrf();
    let res = rita
        .post(&format!("/trains/{train}/milestones"), &[("csrf", &csrf), ("title", "Kick-off"), ("due", "2027-01-10")])
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let t = app.get(&rm, &format!("/api/v1/trains/{train}")).await;
    let ms = t["milestones"][0]["id"].as_str().unwrap().to_string();
    let res = rita.post(&format!("/trains/{train}/milestones/{ms}/complete"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let t = app.get(&rm, &format!("/api/v1/trains/{train}")).await;
    let done = at(t["milestones"][0]["decided_at"].as_str().expect("the milestone has its completion time"));

    // Each sets their own zone; the API shows it, and the audit log has the change by its owner.
    let kenji = signed_in(&app, "kenji").await;
    let nora = signed_in(&app, "nora").await;
    assert_eq!(set_own_zone(&kenji, "kenji", "Asia/Tokyo").await.0, 303);
    assert_eq!(set_own_zone(&nora, "nora", "America/New_York").await.0, 303);
    assert_eq!(app.get(&app.admin, "/api/v1/users/kenji").await["time_zone"], "Asia/Tokyo");
    let events = app.events_of("kenji").await;
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "update" && e["actor"] == "kenji" && e["data"]["time_zone"] == "Asia/Tokyo"),
        "{events:?}"
    );

    let tokyo = (done + Duration::hours(9)).format("%Y-%m-%d %H:%M JST").to_string();
    let new_york = (done - Duration::hours(5)).format("%Y-%m-%d %H:%M EST").to_string();
    let utc = done.format("%Y-%m-%d %H:%M UTC").to_string();
    let page = kenji.get(&format!("/trains/{train}")).await;
    assert!(page.body.contains(&tokyo), "kenji sees {tokyo}: {}", page.body);
    assert!(!page.body.contains(&new_york) && !page.body.contains(&utc), "{}", page.body);
    let page = nora.get(&format!("/trains/{train}")).await;
    assert!(page.body.contains(&new_york), "nora sees {new_york}: {}", page.body);
    assert!(!page.body.contains(&tokyo), "{}", page.body);
    // rita kept the default: UTC, named.
    assert!(rita.get(&format!("/trains/{train}")).await.body.contains(&utc));
}

#[tokio::test]
async fn a_time_typed_into_a_form_is_read_in_the_persons_zone_and_stored_as_the_right_instant() {
    let app = TestApp::spawn().await;
    let erin = app.user("erin", &["release_engineer"]).await;
    app.user("nora", &["viewer"]).await;
    app.post(&erin, "/api/v1/environments", json!({"name": "staging", "kind": "staging"})).await;
    // An admin sets erin's zone over the API; nora's through the console's form for her.
    let (status, v) = app
        .call(&app.admin, reqwest::Method::PATCH, "/api/v1/users/erin", Some(json!({"time_zone": "Asia/Tokyo"})))
        .await;
    assert_eq!((status, v["time_zone"].as_str()), (200, Some("Asia/Tokyo")), "{v}");
    let admin = app.browser();
    assert_eq!(admin.sign_in_with_token(&app.admin).await.status, 303);
    let page = admin.get("/users/nora").await;
    let res = admin.post("/users/nora/time-zone", &[("csrf", &page.csrf()), ("time_zone", "America/New_York")]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/users/nora#settings"), "{}", res.body);

    let b = signed_in(&app, "erin").await;
    let page = b.get("/environments/staging").await;
    assert!(page.body.contains("Start (your time, Asia/Tokyo)"), "the form names the zone: {}", page.body);
    let form = [
        ("csrf", page.csrf()),
        ("kind", "maintenance".to_string()),
        ("title", "Patch night".to_string()),
        ("start", "2030-05-06T10:00".to_string()),
        ("end", "2030-05-06T12:30".to_string()),
        ("train", String::new()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = b.post("/environments/staging/events", &form).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let env = app.get(&app.admin, "/api/v1/environments/staging").await;
    let ev = &env["events"][0];
    assert_eq!(
        (ev["start"].as_str(), ev["end"].as_str()),
        (Some("2030-05-06T01:00:00Z"), Some("2030-05-06T03:30:00Z")),
        "{ev}"
    );
    assert!(b.get("/environments/staging").await.body.contains("2030-05-06 10:00 JST"));
    // In May New York is on summer time: four hours behind UTC.
    let nora = signed_in(&app, "nora").await;
    assert!(nora.get("/environments/staging").await.body.contains("2030-05-05 21:00 EDT"));
}

#[tokio::test]
async fn an_unknown_zone_is_refused_naming_the_field_and_an_example_and_only_admins_set_anothers() {
    let app = TestApp::spawn().await;
    let vic = app.user("vic", &["viewer"]).await;
    app.user("nora", &["viewer"]).await;
    let (status, v) =
        app.call(&vic, reqwest::Method::PATCH, "/api/v1/users/vic", Some(json!({"time_zone": "Mars/Olympus"}))).await;
    assert_eq!(status, 422, "{v}");
    let text = v.to_string();
    assert!(text.contains("time_zone") && text.contains("Mars/Olympus") && text.contains("Europe/Berlin"), "{text}");
    // Their own zone, yes; someone else's, or anything else of their own, no.
    let (status, _) =
        app.call(&vic, reqwest::Method::PATCH, "/api/v1/users/vic", Some(json!({"time_zone": "Europe/Berlin"}))).await;
    assert_eq!(status, 200);
    let (status, _) =
        app.call(&vic, reqwest::Method::PATCH, "/api/v1/users/nora", Some(json!({"time_zone": "Europe/Berlin"}))).await;
    assert_eq!(status, 403);
    let (status, _) =
        app.call(&vic, reqwest::Method::PATCH, "/api/v1/users/vic", Some(json!({"roles": ["admin"]}))).await;
    assert_eq!(status, 403);
    assert_eq!(app.get(&app.admin, "/api/v1/users/nora").await["time_zone"], "UTC", "the default");
    // An admin may give a new user their zone from the start, in the console's form.
    let admin = app.browser();
    assert_eq!(admin.sign_in_with_token(&app.admin).await.status, 303);
    let csrf = admin.get("/users").await.csrf();
    let new = [("csrf", csrf.as_str()), ("name", "tomo"), ("roles", "viewer"), ("time_zone", "Asia/Tokyo")];
    assert_eq!(admin.post("/users", &new).await.status, 303);
    assert_eq!(app.get(&app.admin, "/api/v1/users/tomo").await["time_zone"], "Asia/Tokyo");
    let bad = [("csrf", csrf.as_str()), ("name", "lost"), ("roles", "viewer"), ("time_zone", "Nowhere")];
    let res = admin.post("/users", &bad).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("time_zone"), "{}", res.body);
    assert_eq!(app.call(&app.admin, reqwest::Method::GET, "/api/v1/users/lost", None).await.0, 404);

    let b = signed_in(&app, "vic").await;
    let (status, body) = set_own_zone(&b, "vic", "Europe/Atlantis").await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("time_zone: &#39;Europe/Atlantis&#39; is not a time zone")
            || body.contains("time_zone: 'Europe/Atlantis' is not a time zone"),
        "{body}"
    );
    assert!(body.contains("Europe/Berlin"), "{body}");
    assert_eq!(app.get(&app.admin, "/api/v1/users/vic").await["time_zone"], "Europe/Berlin", "unchanged");
    let csrf = b.get("/users/vic").await.csrf();
    let res = b.post("/users/nora/time-zone", &[("csrf", &csrf), ("time_zone", "Asia/Tokyo")]).await;
    assert_eq!(res.status, 403, "{}", res.body);
}
