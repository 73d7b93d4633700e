//! The calendar in the person's time zone: their days begin at their midnight, an entry is on the day
//! of theirs it falls on, and its times are shown in their zone with its abbreviation.

use serde_json::json;

use crate::common::{Browser, PASSWORD, TestApp};

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    let res = b.sign_in(name, PASSWORD).await;
    assert_eq!(res.status, 303, "{name} could not sign in: {}", res.body);
    b
}

/// The week row of `environment` on a week page: what each of its seven day cells holds.
fn week_cells(body: &str, environment: &str) -> Vec<String> {
    let head = format!(r#"<th scope="row"><a href="/environments/{environment}/calendar"#);
    let at = body.find(&head).unwrap_or_else(|| panic!("no row of {environment}:\n{body}"));
    let row = &body[at..];
    let row = &row[..row.find("</tr>").unwrap_or(row.len())];
    let cells: Vec<String> = row.split("<td").skip(1).map(str::to_string).collect();
    assert_eq!(cells.len(), 7, "a week has seven days: {row}");
    cells
}

#[tokio::test]
async fn a_user_in_tokyo_sees_an_event_at_23_30_utc_on_the_next_day_with_jst_shown() {
    let app = TestApp::spawn().await;
    app.travel_to("2030-05-06");
    let erin = app.user("erin", &["release_engineer"]).await;
    app.user("kenji", &["viewer"]).await;
    app.user("uma", &["viewer"]).await;
    app.post(&erin, "/api/v1/environments", json!({"name": "staging", "kind": "staging"})).await;
    let event = json!({"kind": "blackout", "title": "Late freeze",
        "start": "2030-05-07T23:30:00Z", "end": "2030-05-07T23:50:00Z"});
    let env = app.post(&erin, "/api/v1/environments/staging/events", event).await;
    let id = env["events"][0]["id"].as_str().expect("an event id").to_string();

    let kenji = signed_in(&app, "kenji").await;
    let page = kenji.get("/users/kenji").await;
    let res = kenji.post("/users/kenji/time-zone", &[("csrf", &page.csrf()), ("time_zone", "Asia/Tokyo")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let uma = signed_in(&app, "uma").await;

    for path in ["/calendar?view=week&from=2030-05-06", "/environments/staging/calendar?view=week&from=2030-05-06"] {
        // Tokyo: Wednesday the 8th, 08:30 to 08:50 JST; the page names the zone.
        let page = kenji.get(path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let cells = week_cells(&page.body, "staging");
        let days: Vec<usize> = (0..7).filter(|i| cells[*i].contains(&id)).collect();
        assert_eq!(days, [2], "in Tokyo it is on Wednesday 2030-05-08: {cells:?}");
        assert!(cells[2].contains("05-08 08:30 JST") && cells[2].contains("05-08 08:50 JST"), "{}", cells[2]);
        assert!(page.body.contains("Asia/Tokyo") && page.body.contains("(JST)"), "the zone is shown: {}", page.body);
        assert!(!page.body.contains("Times are UTC"), "{}", page.body);

        // UTC (the default): Tuesday the 7th, 23:30 UTC.
        let page = uma.get(path).await;
        let cells = week_cells(&page.body, "staging");
        let days: Vec<usize> = (0..7).filter(|i| cells[*i].contains(&id)).collect();
        assert_eq!(days, [1], "in UTC it is on Tuesday 2030-05-07: {cells:?}");
        assert!(cells[1].contains("05-07 23:30 UTC"), "{}", cells[1]);
    }

    // The month grid too: the event is in the cell of the 8th for Tokyo, of the 7th for UTC.
    let cell_of = |body: &str, day: &str| -> String {
        let mark = format!(r#"<div class="day">{day}</div>"#);
        let at = body.find(&mark).unwrap_or_else(|| panic!("no day {day}:\n{body}"));
        let rest = &body[at..];
        rest[..rest.find("</td>").unwrap_or(rest.len())].to_string()
    };
    let page = kenji.get("/calendar?view=month&from=2030-05-01").await;
    assert!(cell_of(&page.body, "08").contains(&id) && !cell_of(&page.body, "07").contains(&id), "{}", page.body);
    let page = uma.get("/calendar?view=month&from=2030-05-01").await;
    assert!(cell_of(&page.body, "07").contains(&id) && !cell_of(&page.body, "08").contains(&id), "{}", page.body);
}
