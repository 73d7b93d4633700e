//! The turnover board's actions: redeploy after a failed validation, retry a failure, skip an optional
//! stage.

use super::*;

#[tokio::test]
async fn the_board_redeploys_after_a_failed_validation_retries_a_failure_and_skips_an_optional_stage() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    app.post(&w.erin, "/api/v1/environments", json!({"name": "qa", "kind": "test"})).await;
    let stages = json!([{"environment": "test"}, {"environment": "qa", "required": false}, {"environment": "staging"}]);
    let p = app.post(&w.erin, "/api/v1/deployment-paths", json!({"name": "with qa", "stages": stages})).await;
    let path = p["id"].as_str().unwrap().to_string();
    app.post(&w.erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await;
    let body = json!({"title": "PAY build 9", "release": w.release, "path": path});
    let to = app.post(&w.dan, "/api/v1/turnovers", body).await["id"].as_str().unwrap().to_string();
    // The task fails until a marker file exists: the first run fails, the retry succeeds.
    let dir = crate::common::tasks_dir();
    let marker = dir.path().join("fixed");
    let script = format!("test -f {0} || {{ touch {0}; exit 3; }}", marker.display());
    let action = json!({"kind": "command", "program": "/bin/sh", "args": ["-c", script], "timeout_secs": 30});
    app.post(
        &w.dan,
        &format!("/api/v1/turnovers/{to}/tasks"),
        json!({"title": "Install", "sequence": 1, "action": action}),
    )
    .await;
    let back = format!("/turnovers/{to}");

    let erin = signed_in(&app, "erin").await;
    let page = erin.get(&back).await;
    let csrf = page.csrf();
    let res = post(&erin, &format!("{back}/deploy"), &[("csrf", csrf.clone())]).await;
    let de1 = res.location().strip_prefix("/deployments/").unwrap().to_string();
    wait_for(&app, &w.erin, &de1, "failed", |d| d["state"] == "failed").await;
    // Retry from the board, back on the board.
    let page = erin.get(&back).await;
    assert!(
        page.body.contains(&format!("Retry {de1} in test")) && page.body.contains(&format!("Abandon {de1}")),
        "{}",
        page.body
    );
    let res =
        post(&erin, &format!("/deployments/{de1}/retry"), &[("csrf", csrf.clone()), ("back", back.clone())]).await;
    redirected_to(&res, &back);
    wait_for(&app, &w.erin, &de1, "succeeded", |d| d["state"] == "succeeded").await;
    assert!(has_event(&app.events_of(&de1).await, "retry", "erin"));

    // A failed validation needs a note (the field is named); with one, the stage is rejected and redeployed.
    let validate = format!("/deployments/{de1}/validate");
    let res =
        post(&erin, &validate, &[("csrf", csrf.clone()), ("back", back.clone()), ("outcome", "fail".into())]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("note: a failed validation needs a note"), "{}", res.body);
    let form =
        [("csrf", csrf.clone()), ("back", back.clone()), ("outcome", "fail".into()), ("note", "totals are off".into())];
    redirected_to(&post(&erin, &validate, &form).await, &back);
    let page = erin.get(&back).await;
    assert!(page.body.contains("Deploy to test again (attempt 2)"), "{}", page.body);
    let res = post(&erin, &format!("{back}/deploy"), &[("csrf", csrf.clone())]).await;
    let de2 = res.location().strip_prefix("/deployments/").unwrap().to_string();
    let d = wait_for(&app, &w.erin, &de2, "succeeded", |d| d["state"] == "succeeded").await;
    assert_eq!((d["environment"].as_str(), d["attempt"].as_u64()), (Some("test"), Some(2)));
    let form = [("csrf", csrf.clone()), ("back", back.clone()), ("outcome", "pass".into())];
    redirected_to(&post(&erin, &format!("/deployments/{de2}/validate"), &form).await, &back);

    // Validated in test: promote into qa, or skip the optional qa and go to staging.
    let page = erin.get(&back).await;
    assert!(page.body.contains("Deploy to qa (promote from test)"), "{}", page.body);
    assert!(page.body.contains("Skip qa and deploy to staging"), "{}", page.body);
    let res = post(&erin, &format!("{back}/deploy"), &[("csrf", csrf.clone()), ("skip", "qa".into())]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let de3 = res.location().strip_prefix("/deployments/").unwrap().to_string();
    assert_eq!(app.get(&w.erin, &format!("/api/v1/deployments/{de3}")).await["environment"], "staging");
    // A required stage is never skipped: the refusal names it.
    wait_for(&app, &w.erin, &de3, "succeeded", |d| d["state"] == "succeeded").await;
    let res = post(&erin, &format!("{back}/deploy"), &[("csrf", csrf), ("skip", "staging".into())]).await;
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("(stage_required)"), "{}", res.body);
}
