//! The audit page's data, readable, and its export: the filtered log as CSV and JSON, exactly the
//! events the filters select (read back with a real CSV parser), values with commas, quotes and line
//! breaks intact, several pages of the log in one download, and what a non-admin may not see hidden.

use serde_json::{Value, json};

use crate::common::{Browser, PASSWORD, TestApp};

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    let res = b.sign_in(name, PASSWORD).await;
    assert_eq!(res.status, 303, "{name} could not sign in: {}", res.body);
    b
}

fn train_body(title: &str) -> Value {
    json!({
        "title": title, "release_type": "minor",
        "schedule": {"start": "2027-01-04", "scoping_end": "2027-01-15", "construction_end": "2027-02-12",
            "verification_end": "2027-02-26", "production_date": "2027-03-06"},
        "approval_policies": {"executive": {"levels": [{"approvers": ["rita"], "required": 1}]}}
    })
}

/// The export's rows read with the `csv` crate: the header, then each row as the header's fields.
fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, ["seq", "at", "actor", "object_kind", "object_id", "action", "data", "hash"]);
    r.records().map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(str::to_string)).collect()).collect()
}

async fn download(b: &Browser, path: &str, content_type: &str) -> String {
    let res = b.http.get(format!("{}{path}", b.base)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with(content_type), "{path}: {ct}");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    res.text().await.unwrap()
}

#[tokio::test]
async fn the_filtered_log_exports_as_csv_and_json_with_exactly_its_events() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    let a = app.post(&rm, "/api/v1/trains", train_body("Spring")).await["id"].as_str().unwrap().to_string();
    app.post(&rm, "/api/v1/trains", train_body("Summer")).await;
    let reason = "Budget cut, \"for now\"\nsee the minutes; 50% later";
    app.post(&rm, &format!("/api/v1/trains/{a}/cancel"), json!({"reason": reason})).await;
    let expected = app.events_of(&a).await;
    assert!(expected.len() >= 2, "{expected:?}");
    let seqs: Vec<i64> = expected.iter().map(|e| e["seq"].as_i64().unwrap()).collect();

    let rita = signed_in(&app, "rita").await;
    let page = rita.get(&format!("/audit?object={a}")).await;
    assert!(page.body.contains(&format!(r#"href="/audit/export.csv?object={a}""#)), "{}", page.body);
    assert!(page.body.contains(&format!(r#"href="/audit/export.json?object={a}""#)), "{}", page.body);
    // The data reads as fields, not raw JSON.
    assert!(page.body.contains("<dt>reason</dt>"), "{}", page.body);
    assert!(!page.body.contains(r#"{&quot;reason&quot;"#) && !page.body.contains(r#"{"reason""#), "{}", page.body);

    let rows = csv_rows(&download(&rita, &format!("/audit/export.csv?object={a}"), "text/csv").await);
    let got: Vec<i64> = rows.iter().map(|r| r["seq"].parse().unwrap()).collect();
    assert_eq!(got, seqs, "exactly the filtered events, in order");
    for (row, e) in rows.iter().zip(&expected) {
        assert_eq!(row["object_id"], a);
        assert_eq!(
            (row["actor"].as_str(), row["action"].as_str()),
            (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap())
        );
        assert_eq!(row["hash"], e["hash"].as_str().unwrap());
        let data: Value = serde_json::from_str(&row["data"]).unwrap();
        assert_eq!(data, e["data"]);
    }
    let cancel = rows.iter().find(|r| r["action"] == "cancel").unwrap_or_else(|| panic!("no cancel event: {rows:?}"));
    let data: Value = serde_json::from_str(&cancel["data"]).unwrap();
    assert_eq!(data["reason"], reason, "{rows:?}");
    assert_eq!(data["reason"], reason, "commas, quotes and the line break survive");

    let json: Value =
        serde_json::from_str(&download(&rita, &format!("/audit/export.json?object={a}"), "application/json").await)
            .unwrap();
    let items = json.as_array().expect("a JSON array");
    assert_eq!(items.iter().map(|e| e["seq"].as_i64().unwrap()).collect::<Vec<_>>(), seqs);
    assert_eq!(items.iter().find(|e| e["action"] == "cancel").unwrap()["data"]["reason"], reason);
    assert_eq!(items[0]["object_kind"], "train");
    assert!(items[0]["at"].as_str().unwrap().ends_with('Z'));

    // A filter that matches nothing: a header alone, an empty array.
    assert_eq!(csv_rows(&download(&rita, "/audit/export.csv?object=RT-999", "text/csv").await).len(), 0);
    assert_eq!(download(&rita, "/audit/export.json?object=RT-999", "application/json").await.trim(), "[\n]");
    // A bad filter is a page naming it, not a broken download.
    let res = rita.get("/audit/export.csv?from=someday").await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.contains("from"), "{}", res.body);
}

#[tokio::test]
async fn a_log_of_several_pages_exports_whole() {
    let app = TestApp::spawn().await;
    let rm = app.user("rita", &["release_manager"]).await;
    // More events than one page of the log (500).
    for i in 0..510 {
        app.post(&rm, "/api/v1/trains", train_body(&format!("Train {i}"))).await;
    }
    let total = app.event_count().await;
    assert!(total > 510, "{total}");
    let rita = signed_in(&app, "rita").await;
    let rows = csv_rows(&download(&rita, "/audit/export.csv?actor=rita", "text/csv").await);
    let trains = rows.iter().filter(|r| r["object_kind"] == "train" && r["action"] == "create").count();
    assert_eq!(trains, 510, "every train rita created, across pages");
    assert_eq!(rows.len(), 511, "and her sign-in");
    let seqs: Vec<i64> = rows.iter().map(|r| r["seq"].parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, none twice");
    let json: Value = serde_json::from_str(&download(&rita, "/audit/export.json", "application/json").await).unwrap();
    // Everything up to the export itself (reading adds no event).
    assert!(json.as_array().unwrap().len() as u64 >= total, "{}", json.as_array().unwrap().len());
}

#[tokio::test]
async fn a_non_admins_export_hides_the_details_of_failed_sign_ins() {
    let app = TestApp::spawn().await;
    app.user("vic", &["viewer"]).await;
    let stranger = app.browser();
    let res = stranger.sign_in("vic", "not the password at all").await;
    assert_ne!(res.status, 303, "{}", res.body);

    let vic = signed_in(&app, "vic").await;
    let rows = csv_rows(&download(&vic, "/audit/export.csv?object=password", "text/csv").await);
    let failed: Vec<_> = rows.iter().filter(|r| r["action"] == "sign_in_failed").collect();
    assert_eq!(failed.len(), 1, "{rows:?}");
    let data: Value = serde_json::from_str(&failed[0]["data"]).unwrap();
    assert!(data.get("name").is_none() && data.get("client").is_none(), "{data}");
    let json: Value =
        serde_json::from_str(&download(&vic, "/audit/export.json?object=password", "application/json").await).unwrap();
    let text = json.to_string();
    assert!(!text.contains("\"client\"") && !text.contains("\"nonce\""), "{text}");

    let admin = app.browser();
    assert_eq!(admin.sign_in_with_token(&app.admin).await.status, 303);
    let rows = csv_rows(&download(&admin, "/audit/export.csv?object=password", "text/csv").await);
    let data: Value = serde_json::from_str(&rows[0]["data"]).unwrap();
    assert_eq!((data["name"].as_str(), data["reason"].as_str()), (Some("vic"), Some("wrong_password")), "{data}");
}

#[tokio::test]
async fn a_day_in_the_filters_is_a_day_in_the_persons_time_zone() {
    let app = TestApp::spawn().await;
    // 16:00 UTC on January 10th is already 01:00 on the 11th in Tokyo.
    app.travel_to("2027-01-10");
    app.advance(chrono::Duration::hours(4));
    let rm = app.user("rita", &["release_manager"]).await;
    app.user("kenji", &["viewer"]).await;
    app.call(&app.admin, reqwest::Method::PATCH, "/api/v1/users/kenji", Some(json!({"time_zone": "Asia/Tokyo"}))).await;
    let train = app.post(&rm, "/api/v1/trains", train_body("Spring")).await["id"].as_str().unwrap().to_string();
    let count = |text: String| csv_rows(&text).len();

    let kenji = signed_in(&app, "kenji").await;
    let page = kenji.get("/audit").await;
    assert!(page.body.contains("From (a date, your time, Asia/Tokyo, or an RFC 3339 time)"), "{}", page.body);
    let on = |day: &str, bound: &str| format!("/audit/export.csv?object={train}&{bound}={day}");
    assert_eq!(count(download(&kenji, &on("2027-01-11", "from"), "text/csv").await), 1, "his 11th holds it");
    assert_eq!(count(download(&kenji, &on("2027-01-10", "to"), "text/csv").await), 0, "his 10th ended before");
    let rita = signed_in(&app, "rita").await;
    assert_eq!(count(download(&rita, &on("2027-01-10", "to"), "text/csv").await), 1, "in UTC it is still the 10th");
    assert_eq!(count(download(&rita, &on("2027-01-11", "from"), "text/csv").await), 0);
}
