//! What the audit log and the sign-in machinery must hold against someone with database access or a
//! viewer's token: deployments are cross-checked exactly (the engine's lease lives in a record of its
//! own), verifications run one at a time and are shared, console sessions are capped and purged.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, level, train_body};

/// Plain SQL on the test server's database, as someone with database access would run it.
pub(crate) async fn sql(app: &TestApp, statement: &str) -> u64 {
    match &app.pg_url {
        Some(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client.execute(statement, &[]).await.unwrap()
        }
        None => {
            let conn = rusqlite::Connection::open(&app.db_path).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            conn.execute(statement, []).unwrap() as u64
        }
    }
}

/// One number a query gives (a count, a version).
pub(crate) async fn sql_number(app: &TestApp, query: &str) -> i64 {
    match &app.pg_url {
        Some(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client.query_one(query, &[]).await.unwrap().get::<_, i64>(0)
        }
        None => {
            let conn = rusqlite::Connection::open(&app.db_path).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            conn.query_row(query, [], |r| r.get::<_, i64>(0)).unwrap()
        }
    }
}

async fn verify(app: &TestApp, token: &str) -> Value {
    app.get(token, "/api/v1/audit/verify").await.ok()
}

async fn wait_for(app: &TestApp, token: &str, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = app.get(token, &format!("/api/v1/deployments/{id}")).await.ok();
        if pred(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "deployment {id} never got {what}: {d}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A turnover whose only task is a sign-off by rita, deployed into `test`: the deployment waits for her.
/// Returns (rita's token, erin's token, deployment id).
async fn deployment_waiting_for_rita(app: &TestApp) -> (String, String, String) {
    let rita = app.user("rita", &["release_manager"]).await;
    let erin = app.user("erin", &["release_engineer"]).await;
    let dan = app.user("dan", &["developer"]).await;
    app.user("eve", &["product_owner"]).await;
    app.post(&erin, "/api/v1/environments", json!({"name": "test", "kind": "test"})).await.ok();
    let p = app
        .post(&erin, "/api/v1/deployment-paths", json!({"name": "short", "stages": [{"environment": "test"}]}))
        .await
        .ok();
    let path = p["id"].as_str().unwrap().to_string();
    app.post(&erin, &format!("/api/v1/deployment-paths/{path}/activate"), json!({})).await.ok();
    let policies = json!({"executive": {"levels": [level(&["eve"], 1)]}});
    let t = app.post(&rita, "/api/v1/trains", train_body("T", policies)).await.ok();
    let rt = t["id"].as_str().unwrap().to_string();
    app.post(&rita, "/api/v1/applications", json!({"key": "PAY", "name": "Payments"})).await.ok();
    let body = json!({"title": "PAY 1", "application": "PAY", "train": rt, "schedule": {"start": "2027-01-05", "end": "2027-02-05"}});
    let r = app.post(&rita, "/api/v1/application-releases", body).await.ok();
    let ar = r["id"].as_str().unwrap().to_string();
    app.post(&rita, &format!("/api/v1/trains/{rt}/submit"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/trains/{rt}/start-construction"), json!({})).await.ok();
    app.post(&rita, &format!("/api/v1/application-releases/{ar}/begin-work"), json!({})).await.ok();
    let t = app.post(&dan, "/api/v1/turnovers", json!({"title": "build 42", "release": ar, "path": path})).await.ok();
    let to = t["id"].as_str().unwrap().to_string();
    let task = json!({"title": "Sign-off", "sequence": 1, "owner": "rita"});
    app.post(&dan, &format!("/api/v1/turnovers/{to}/tasks"), task).await.expect(201);
    let d = app.post(&erin, &format!("/api/v1/turnovers/{to}/deploy"), json!({})).await.expect(201);
    let id = d["id"].as_str().unwrap().to_string();
    wait_for(app, &rita, &id, "its manual run", |d| d["runs"][0]["state"] == "waiting_for_owner").await;
    (rita, erin, id)
}

/// Finding 5: a deployment edited in the database (who validated it, with the version moved on as the
/// engine's lease renewals used to move it) is reported, while the lease renewals themselves (no event)
/// leave the log intact.
async fn a_deployment_edited_without_an_event_is_reported(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let (rita, erin, id) = deployment_waiting_for_rita(&app).await;
    // While the run waits for its owner the engine renews its lease, without an event: twice past the
    // half-life of a 10-second lease, on the server's clock.
    for _ in 0..2 {
        app.advance(chrono::Duration::seconds(6));
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let lease =
        sql_number(&app, &format!("SELECT version FROM records WHERE kind = 'deployment_lease' AND id = '{id}'")).await;
    let deployment =
        sql_number(&app, &format!("SELECT version FROM records WHERE kind = 'deployment' AND id = '{id}'")).await;
    println!("{backend:?}: lease at version {lease}, deployment at version {deployment}");
    assert!(lease >= 2, "the engine renewed its lease in its own record: version {lease}");
    let renewed = verify(&app, &rita).await;
    assert_eq!(renewed["intact"], true, "lease renewals are no edit: {renewed}");

    let run =
        app.get(&rita, &format!("/api/v1/deployments/{id}")).await.ok()["runs"][0]["id"].as_str().unwrap().to_string();
    let body = json!({"done": true, "note": "checked"});
    app.post(&rita, &format!("/api/v1/deployments/{id}/runs/{run}/complete"), body).await.ok();
    wait_for(&app, &rita, &id, "succeeded", |d| d["state"] == "succeeded").await;
    app.post(&erin, &format!("/api/v1/deployments/{id}/validate"), json!({"passed": true, "note": "fine"})).await.ok();
    let before = verify(&app, &rita).await;
    assert_eq!(before["intact"], true, "{before}");

    // Someone with database access says rita validated it, and moves the version on.
    let n = sql(
        &app,
        &format!(
            "UPDATE records SET doc = replace(doc, '\"by\":\"erin\"', '\"by\":\"rita\"'), version = version + 1 \
             WHERE kind = 'deployment' AND id = '{id}'"
        ),
    )
    .await;
    assert_eq!(n, 1);
    let shown = app.get(&rita, &format!("/api/v1/deployments/{id}")).await.ok();
    assert_eq!(shown["validation"]["by"], "rita", "the edit took: {shown}");
    let after = verify(&app, &rita).await;
    println!("{backend:?}: after editing who validated deployment {id} and moving its version on: {after}");
    assert_eq!(after["intact"], false, "a deployment edited without an event must be reported: {after}");
    let m = &after["first_record_mismatch"];
    assert_eq!((m["kind"].as_str(), m["id"].as_str()), (Some("deployment"), Some(id.as_str())), "{after}");
}

#[tokio::test]
async fn a_deployment_edited_without_an_event_is_reported_on_sqlite() {
    a_deployment_edited_without_an_event_is_reported(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_deployment_edited_without_an_event_is_reported_on_postgres() {
    a_deployment_edited_without_an_event_is_reported(Backend::Postgres).await;
}

/// Finding 5, the run results: a manual run's note and who completed it rewritten, version kept.
#[tokio::test]
async fn a_run_result_edited_in_a_deployment_is_reported() {
    let app = TestApp::spawn().await;
    let (rita, _erin, id) = deployment_waiting_for_rita(&app).await;
    let run =
        app.get(&rita, &format!("/api/v1/deployments/{id}")).await.ok()["runs"][0]["id"].as_str().unwrap().to_string();
    app.post(&rita, &format!("/api/v1/deployments/{id}/runs/{run}/complete"), json!({"done": true, "note": "checked"}))
        .await
        .ok();
    wait_for(&app, &rita, &id, "succeeded", |d| d["state"] == "succeeded").await;
    assert_eq!(verify(&app, &rita).await["intact"], true);
    sql(
        &app,
        &format!(
            "UPDATE records SET doc = replace(doc, '\"note\":\"checked\"', '\"note\":\"never looked\"'), \
             version = version + 3 WHERE kind = 'deployment' AND id = '{id}'"
        ),
    )
    .await;
    let after = verify(&app, &rita).await;
    println!("after rewriting the note of run {run}: {after}");
    assert_eq!(after["intact"], false, "{after}");
    assert_eq!(after["first_record_mismatch"]["kind"], "deployment", "{after}");
}

/// Finding 8: many verifications asked for at once run one at a time (no two runs overlap) and share
/// their results; each still sees an edit made before it was asked for.
#[tokio::test]
async fn concurrent_verifications_share_one_run_and_still_see_an_earlier_edit() {
    let app = TestApp::spawn().await;
    let vic = app.user("vic", &["viewer"]).await;
    let rm = app.user("rita", &["release_manager"]).await;
    for i in 0..40 {
        app.post(&rm, "/api/v1/applications", json!({"key": format!("APP{i}"), "name": format!("App {i}")})).await.ok();
    }
    sql(&app, "UPDATE records SET doc = replace(doc, 'App 7', 'App 7x') WHERE kind = 'application' AND id = 'APP7'")
        .await;
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let (http, url, vic) = (app.http.clone(), format!("{}/api/v1/audit/verify", app.base), vic.clone());
            tokio::spawn(async move {
                let res = http.get(url).bearer_auth(vic).send().await.unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            })
        })
        .collect();
    // Each answer's run: when it started and ended.
    let mut runs = std::collections::BTreeSet::new();
    for c in calls {
        let (status, v) = c.await.unwrap();
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["intact"], false, "every answer sees the edit made before it was asked for: {v}");
        assert_eq!(v["first_record_mismatch"]["id"], "APP7", "{v}");
        let time = |f: &str| -> chrono::DateTime<chrono::Utc> {
            v[f].as_str().unwrap_or_else(|| panic!("no {f}: {v}")).parse().unwrap()
        };
        runs.insert((time("started_at"), time("verified_at")));
    }
    println!("12 concurrent verifications answered from {} runs: {runs:?}", runs.len());
    let runs: Vec<_> = runs.into_iter().collect();
    for pair in runs.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "two verifications ran at once: {:?} and {:?}", pair[0], pair[1]);
    }
    assert!(runs.len() < 12, "12 concurrent verifications shared nothing: {runs:?}");
}

/// A console sign-in with a pasted API token, as a browser does it: the form's cookie, then the post.
/// Returns the session cookie (`railyard_session=...`) when the sign-in opened one.
pub(crate) async fn console_sign_in(app: &TestApp, token: &str) -> Option<String> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(format!("{}/sign-in", app.base)).send().await.unwrap();
    let csrf = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("railyard_sign_in="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let res = http
        .post(format!("{}/sign-in", app.base))
        .header("cookie", format!("railyard_sign_in={csrf}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&token={token}"))
        .send()
        .await
        .unwrap();
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("railyard_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
}

/// The status of the dashboard for a session cookie (200 while it lives, a redirect once it ended).
async fn dashboard(app: &TestApp, cookie: &str) -> u16 {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    http.get(format!("{}/", app.base)).header("cookie", cookie).send().await.unwrap().status().as_u16()
}

/// Finding 17: one user's live console sessions are capped (the oldest ends, audited) and ended or
/// expired ones are purged (one audited event per purge), and the log stays intact.
async fn sessions_are_capped_and_purged(backend: Backend) {
    let app = TestApp::spawn_on(backend).await;
    let rita = app.user("rita", &["release_manager"]).await;
    let mut cookies = Vec::new();
    for _ in 0..25 {
        cookies.push(console_sign_in(&app, &rita).await.expect("a session"));
    }
    let live = "SELECT COUNT(*) FROM records WHERE kind = 'session' AND state = 'active' AND parent_id = 'rita'";
    let stored = "SELECT COUNT(*) FROM records WHERE kind = 'session' AND parent_id = 'rita'";
    let (live_n, stored_n) = (sql_number(&app, live).await, sql_number(&app, stored).await);
    println!("{backend:?}: after 25 sign-ins: {live_n} live sessions, {stored_n} stored");
    assert!(live_n <= 10, "25 sign-ins left {live_n} live sessions (at most 10 per user)");
    assert_eq!(dashboard(&app, &cookies[0]).await, 303, "the oldest session ended");
    assert_eq!(dashboard(&app, &cookies[24]).await, 200, "the newest session lives");
    let ended = app.get(&app.admin, "/api/v1/audit/events?object_kind=session&limit=500").await.ok();
    let by_limit = ended["items"].as_array().unwrap().iter().filter(|e| e["data"]["reason"] == "session_limit").count();
    assert_eq!(by_limit as i64, 25 - live_n, "each session the limit ended is in the log: {ended}");

    // Past their 12 hours every session expired; the next sign-in purges what ended or expired.
    app.advance(chrono::Duration::hours(13));
    let fresh = console_sign_in(&app, &rita).await.expect("a session");
    let stored_n = sql_number(&app, stored).await;
    println!("{backend:?}: after the sessions expired and one more sign-in: {stored_n} stored");
    assert_eq!(stored_n, 1, "ended and expired sessions are purged");
    assert_eq!(dashboard(&app, &fresh).await, 200);
    let purges = app.get(&app.admin, "/api/v1/audit/events?object_kind=session&limit=500").await.ok();
    let purge: Vec<&Value> = purges["items"].as_array().unwrap().iter().filter(|e| e["action"] == "purge").collect();
    assert!(!purge.is_empty(), "the purge is in the log: {purges}");
    let v = verify(&app, &rita).await;
    assert_eq!(v["intact"], true, "a purge the log lists is no tampering: {v}");

    // A session deleted in the database without an event is still reported.
    sql(&app, "DELETE FROM records WHERE kind = 'session' AND parent_id = 'rita'").await;
    let v = verify(&app, &rita).await;
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["first_record_mismatch"]["kind"], "session", "{v}");
}

#[tokio::test]
async fn sessions_are_capped_and_purged_on_sqlite() {
    sessions_are_capped_and_purged(Backend::Sqlite).await;
}

#[tokio::test]
async fn sessions_are_capped_and_purged_on_postgres() {
    sessions_are_capped_and_purged(Backend::Postgres).await;
}

/// The status of `GET /users/me` with a token.
async fn me(app: &TestApp, token: &str) -> u16 {
    app.get(token, "/api/v1/users/me").await.status.as_u16()
}

/// The revoke event of the bootstrap token, when there is one, and the events of its commit.
async fn bootstrap_revoked(app: &TestApp, reader: &str) -> Option<(Value, Vec<Value>)> {
    let tokens = app.get(reader, "/api/v1/audit/events?object_kind=token&limit=500").await.ok();
    let revoke = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "revoke" && e["data"]["user"] == "admin")?
        .clone();
    let commit = revoke["commit_seq"].as_i64().unwrap();
    let all = app.get(reader, &format!("/api/v1/audit/events?commit={commit}&limit=500")).await.ok();
    Some((revoke, all["items"].as_array().unwrap().clone()))
}

/// Finding 7: the bootstrap token is retired as soon as another user can act as an admin with a
/// credential of their own, however they got there, in the commit that made it so, audited with
/// `reason: bootstrap_replaced`; a change that leaves no one else able to act as admin keeps it.
#[tokio::test]
async fn the_bootstrap_token_is_retired_once_another_user_can_act_as_admin() {
    let mut problems = Vec::new();

    // The admin role granted to a user who already holds a token.
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    let u = app.get(&app.admin, "/api/v1/users/rita").await.ok();
    let version = u["version"].as_i64().unwrap();
    app.patch(&app.admin, "/api/v1/users/rita", json!({"roles": ["admin", "release_manager"]}), version).await.ok();
    let (bootstrap, promoted) = (me(&app, &app.admin).await, me(&app, &rita).await);
    println!("admin role granted to rita (with a token): bootstrap token -> {bootstrap}, rita -> {promoted}");
    if bootstrap != 401 {
        problems.push(format!("promoting a token holder to admin: the bootstrap token still answers {bootstrap}"));
    }
    match bootstrap_revoked(&app, &rita).await {
        Some((revoke, commit)) => {
            assert_eq!(revoke["data"]["reason"], "bootstrap_replaced", "{revoke}");
            assert!(
                commit.iter().any(|e| e["object_id"] == "rita" && e["action"] == "update"),
                "one commit: {commit:?}"
            );
        }
        None => problems.push("promoting a token holder to admin: no revoke event".into()),
    }

    // A password set for another admin, who has no token.
    let app = TestApp::spawn().await;
    app.post(&app.admin, "/api/v1/users", json!({"name": "ada", "roles": ["admin"]})).await.ok();
    assert_eq!(me(&app, &app.admin).await, 200, "an admin without any credential changes nothing");
    app.post(&app.admin, "/api/v1/users/ada/password", json!({"password": "correct horse battery staple"})).await.ok();
    let bootstrap = me(&app, &app.admin).await;
    println!("a password set for admin ada: bootstrap token -> {bootstrap}");
    if bootstrap != 401 {
        problems.push(format!("a password for another admin: the bootstrap token still answers {bootstrap}"));
    }

    // An admin created with a password in one change.
    let app = TestApp::spawn().await;
    let body = json!({"name": "ada", "roles": ["admin"], "password": "correct horse battery staple"});
    app.post(&app.admin, "/api/v1/users", body).await.ok();
    let bootstrap = me(&app, &app.admin).await;
    println!("admin ada created with a password: bootstrap token -> {bootstrap}");
    if bootstrap != 401 {
        problems.push(format!("an admin created with a password: the bootstrap token still answers {bootstrap}"));
    }

    // What keeps it: the admin user's own password, a password for a non-admin, the admin role for a
    // user with no credential; once that user gets a token, it goes.
    let app = TestApp::spawn().await;
    app.post(&app.admin, "/api/v1/users/admin/password", json!({"password": "correct horse battery staple"}))
        .await
        .ok();
    app.post(&app.admin, "/api/v1/users", json!({"name": "carol", "roles": ["developer"]})).await.ok();
    app.post(&app.admin, "/api/v1/users/carol/password", json!({"password": "correct horse battery staple"}))
        .await
        .ok();
    app.post(&app.admin, "/api/v1/users", json!({"name": "ada", "roles": ["viewer"]})).await.ok();
    let u = app.get(&app.admin, "/api/v1/users/ada").await.ok();
    app.patch(&app.admin, "/api/v1/users/ada", json!({"roles": ["admin"]}), u["version"].as_i64().unwrap()).await.ok();
    assert_eq!(me(&app, &app.admin).await, 200, "no one else can act as admin yet");
    let t = app.post(&app.admin, "/api/v1/tokens", json!({"user": "ada", "label": "ada"})).await.ok();
    assert_eq!(me(&app, &app.admin).await, 401, "ada's token retires it");
    let ada = t["token"].as_str().unwrap();
    let (revoke, _) = bootstrap_revoked(&app, ada).await.expect("a revoke event");
    assert_eq!(
        (revoke["data"]["reason"].as_str(), revoke["data"]["replaced_by"].as_str()),
        (Some("bootstrap_replaced"), t["id"].as_str())
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A console page for a session cookie: (status, body).
async fn console_page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = http.get(format!("{}{path}", app.base)).header("cookie", cookie).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Finding 8, the console: loading the audit page does not verify the whole log (it checks the chain
/// head, and shows the last full verification with its time); "Verify now" does, through the same
/// one-at-a-time gate as the API.
#[tokio::test]
async fn the_audit_page_checks_the_head_on_load_and_verifies_everything_on_request() {
    let app = TestApp::spawn().await;
    let vic = app.user("vic", &["viewer"]).await;
    let rm = app.user("rita", &["release_manager"]).await;
    for i in 0..10 {
        app.post(&rm, "/api/v1/applications", json!({"key": format!("APP{i}"), "name": format!("App {i}")})).await.ok();
    }
    let cookie = console_sign_in(&app, &vic).await.expect("a session");
    sql(&app, "UPDATE records SET doc = replace(doc, 'App 7', 'App 7x') WHERE kind = 'application' AND id = 'APP7'")
        .await;

    let (status, page) = console_page(&app, &cookie, "/audit").await;
    assert_eq!(status, 200, "{page}");
    println!("the audit page on load, after an edit of APP7:\n{}", chain_section(&page));
    let chain = chain_section(&page);
    assert!(!chain.contains("APP7"), "loading the page ran a full verification: {chain}");
    assert!(page.contains(r#"href="/audit?verify=now""#), "a way to verify now: {}", chain_section(&page));
    assert!(page.contains("head") && page.contains("intact"), "the head is checked: {}", chain_section(&page));

    let (_, verified) = console_page(&app, &cookie, "/audit?verify=now").await;
    println!("after Verify now:\n{}", chain_section(&verified));
    let chain = chain_section(&verified);
    assert!(chain.contains("broken") && chain.contains("application APP7: the record says"), "{chain}");
    // The last result is shown on the next load, with when it was computed.
    let (_, again) = console_page(&app, &cookie, "/audit").await;
    assert!(
        again.contains("application APP7") && again.contains("Last full verification"),
        "{}",
        chain_section(&again)
    );

    // The newest event deleted: the head check on load tells, without a full verification.
    sql(&app, "DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events)").await;
    let (_, headless) = console_page(&app, &cookie, "/audit").await;
    println!("after deleting the newest event:\n{}", chain_section(&headless));
    let chain = chain_section(&headless);
    assert!(chain.contains("Chain head: <strong>broken</strong>") && chain.contains("is missing"), "{chain}");
}

/// The chain section of the audit page (for messages).
fn chain_section(page: &str) -> String {
    let start = page.find(r#"id="chain""#).unwrap_or(0);
    let end = page[start..].find("</section>").map_or(page.len(), |e| start + e);
    page[start..end].to_string()
}
