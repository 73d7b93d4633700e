//! Failed sign-ins and bad API tokens are limited per client address and per user name: past the limit
//! the answer is 429 with `Retry-After`, before any password is hashed; once the window passes the right
//! credentials work again. Failed sign-ins (not the limited ones) are in the audit log, whose details
//! only admins see. The server's clock is moved forward to pass the window (no waiting, no race).

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{PASSWORD, Page, TestApp};

/// The default limits (see `railyard_service::SignInLimits`): 5 failures per user name and 20 per client
/// address within a 60-second window.
const PER_NAME: usize = 5;
const PER_ADDRESS: usize = 20;

#[track_caller]
fn retry_after(page: &Page) -> i64 {
    let v =
        page.headers.get("retry-after").unwrap_or_else(|| panic!("no Retry-After on {}: {}", page.status, page.body));
    let secs: i64 = v.to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "Retry-After {secs} is not within the 60-second window");
    secs
}

#[tokio::test]
async fn wrong_passwords_for_one_name_are_limited_and_the_right_one_works_after_the_window() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    app.user("carol", &["developer"]).await;
    let browser = app.browser();
    for i in 0..PER_NAME {
        let res = browser.sign_in("rita", &format!("wrong password {i}")).await;
        assert_eq!(res.status, 401, "attempt {i}: {}", res.body);
    }
    // The next attempt is refused before the password is looked at: even the right one.
    let limited = browser.sign_in("rita", PASSWORD).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    let wait = retry_after(&limited);
    assert!(limited.body.contains("Too many failed sign-ins"), "{}", limited.body);
    assert!(limited.body.contains(r#"action="/sign-in""#), "the sign-in form is still there: {}", limited.body);
    assert_eq!(browser.get("/").await.location(), "/sign-in");

    // Another user at the same address is not held by rita's limit.
    let other = app.browser();
    assert_eq!(other.sign_in("carol", PASSWORD).await.location(), "/");

    app.advance(chrono::Duration::seconds(wait + 1));
    let res = browser.sign_in("rita", PASSWORD).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/"), "{}", res.body);
}

#[tokio::test]
async fn wrong_sign_ins_from_one_address_are_limited_across_names() {
    let app = TestApp::spawn().await;
    app.user("carol", &["developer"]).await;
    let browser = app.browser();
    for i in 0..PER_ADDRESS {
        let res = browser.sign_in(&format!("nobody{i}"), "no such user at all").await;
        assert_eq!(res.status, 401, "attempt {i}: {}", res.body);
    }
    let limited = browser.sign_in("carol", PASSWORD).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    let wait = retry_after(&limited);
    // Pasting a token is limited the same way.
    let form = browser.get("/sign-in").await;
    let res = browser.post("/sign-in", &[("csrf", &form.csrf()), ("token", "ry_not_a_token")]).await;
    assert_eq!(res.status, 429, "{}", res.body);

    app.advance(chrono::Duration::seconds(wait + 1));
    assert_eq!(browser.sign_in("carol", PASSWORD).await.location(), "/");
}

#[tokio::test]
async fn bad_api_tokens_from_one_address_are_limited_with_a_problem_and_retry_after() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", &["release_manager"]).await;
    for i in 0..PER_ADDRESS {
        let (status, body) = app.call(&format!("ry_{i:064}"), Method::GET, "/api/v1/users/me", None).await;
        assert_eq!(status, 401, "attempt {i}: {body}");
    }
    // Past the limit a bad token is answered 429 with the seconds to wait; a valid one still works, so
    // one client cannot lock out everyone who shares its address.
    let res =
        app.api.get(format!("{}/api/v1/users/me", app.base)).bearer_auth("ry_one_more_guess").send().await.unwrap();
    assert_eq!(res.status(), 429);
    let wait: i64 = res.headers().get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "too_many_attempts", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("seconds"), "{body}");
    let (status, me) = app.call(&rita, Method::GET, "/api/v1/users/me", None).await;
    assert_eq!((status, me["name"].as_str()), (200, Some("rita")), "a valid token while the address is limited");

    // Once the window has passed, a bad token is a plain 401 again.
    app.advance(chrono::Duration::seconds(wait + 1));
    let (status, body) = app.call("ry_after_the_window", Method::GET, "/api/v1/users/me", None).await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn failed_sign_ins_are_in_the_audit_log_with_details_for_admins_only() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    let viewer = app.user("vic", &["viewer"]).await;
    let browser = app.browser();
    browser.sign_in("rita", "not the password at all").await;
    browser.sign_in("mallory", PASSWORD).await;
    let form = browser.get("/sign-in").await;
    browser.post("/sign-in", &[("csrf", &form.csrf()), ("token", "ry_guessed")]).await;

    let failed = |v: &Value| -> Vec<Value> {
        v["items"].as_array().unwrap().iter().filter(|e| e["action"] == "sign_in_failed").cloned().collect()
    };
    let seen = failed(&app.get(&app.admin, "/api/v1/audit/events?object_kind=sign_in&limit=500").await);
    let summary: Vec<(String, String, String)> = seen
        .iter()
        .map(|e| {
            let d = &e["data"];
            (
                d["name"].as_str().unwrap_or("").into(),
                d["client"].as_str().unwrap_or("").into(),
                d["reason"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("rita".to_string(), "127.0.0.1".to_string(), "wrong_password".to_string()),
            ("mallory".into(), "127.0.0.1".into(), "unknown_user".into()),
            ("".into(), "127.0.0.1".into(), "invalid_token".into()),
        ],
        "{seen:?}"
    );
    let text = serde_json::to_string(&seen).unwrap();
    assert!(!text.contains(PASSWORD) && !text.contains("not the password") && !text.contains("ry_guessed"), "{text}");

    // A viewer reads the audit log, but not who tried which name from where.
    let theirs = failed(&app.get(&viewer, "/api/v1/audit/events?object_kind=sign_in&limit=500").await);
    assert_eq!(theirs.len(), 3, "{theirs:?}");
    let text = serde_json::to_string(&theirs).unwrap();
    assert!(!text.contains("mallory") && !text.contains("127.0.0.1"), "a viewer sees the details: {text}");

    // Attempts refused by the limit are not recorded: an attack cannot flood the log.
    for _ in 0..20 {
        browser.sign_in("rita", "still wrong").await;
    }
    let all = failed(&app.get(&app.admin, "/api/v1/audit/events?object_kind=sign_in&limit=500").await);
    let rita = all.iter().filter(|e| e["data"]["name"] == "rita").count();
    assert_eq!(rita, PER_NAME, "{all:?}");
}

/// Every order of the fields of a JSON object, as text (serde_json may keep keys sorted or in order).
fn orderings(fields: &[(&str, Value)]) -> Vec<String> {
    if fields.len() <= 1 {
        return vec![fields.iter().map(|(k, v)| format!("{}:{v}", Value::from(*k))).collect()];
    }
    let mut out = Vec::new();
    for i in 0..fields.len() {
        let mut rest = fields.to_vec();
        let (k, v) = rest.remove(i);
        for tail in orderings(&rest) {
            out.push(format!("{}:{v},{tail}", Value::from(k)));
        }
    }
    out
}

/// Finding 6: a viewer sees a failed sign-in's hash and every field but its data. The data must not be
/// recoverable from the hash: even knowing the name tried, the address and the five reasons, no guess
/// of the data recomputes the hash. (The admin's copy of the data does, so the arithmetic is right.)
#[tokio::test]
async fn a_viewer_cannot_confirm_a_guess_of_a_failed_sign_ins_hidden_details() {
    let app = TestApp::spawn().await;
    app.user("rita", &["release_manager"]).await;
    let viewer = app.user("vic", &["viewer"]).await;
    // A password typed into the name field: the classic leak.
    let typed = "Tr0ub4dor&3 rita";
    app.browser().sign_in(typed, "rita").await;

    let failed = |v: &Value| -> Value {
        v["items"].as_array().unwrap().iter().find(|e| e["action"] == "sign_in_failed").cloned().expect("the event")
    };
    let theirs = failed(&app.get(&viewer, "/api/v1/audit/events?object_kind=sign_in&limit=500").await);
    let admins = failed(&app.get(&app.admin, "/api/v1/audit/events?object_kind=sign_in&limit=500").await);
    assert_eq!(admins["data"]["name"], typed, "{admins}");
    assert!(!theirs.to_string().contains("Tr0ub4dor"), "{theirs}");

    let at: chrono::DateTime<chrono::Utc> = theirs["at"].as_str().unwrap().parse().unwrap();
    let hash_with = |data: &str| {
        railyard_store::event_hash(
            theirs["seq"].as_i64().unwrap(),
            theirs["commit_seq"].as_i64().unwrap(),
            &at,
            theirs["actor"].as_str().unwrap(),
            theirs["object_kind"].as_str().unwrap(),
            theirs["object_id"].as_str().unwrap(),
            theirs["action"].as_str().unwrap(),
            data,
            theirs["prev_hash"].as_str().unwrap(),
            "",
        )
    };
    assert_eq!(hash_with(&admins["data"].to_string()), theirs["hash"], "the admin's data gives the hash");

    let mut tried = 0;
    let mut confirmed = Vec::new();
    for reason in ["unknown_user", "disabled_user", "no_password", "wrong_password", "invalid_token"] {
        for method in ["password", "token"] {
            for client in ["127.0.0.1", "::1", "unknown"] {
                for name in [Some(typed), None] {
                    let mut fields =
                        vec![("client", json!(client)), ("reason", json!(reason)), ("method", json!(method))];
                    if let Some(n) = name {
                        fields.push(("name", json!(n)));
                    }
                    for text in orderings(&fields) {
                        tried += 1;
                        let data = format!("{{{text}}}");
                        if hash_with(&data) == theirs["hash"] {
                            confirmed.push(data);
                        }
                    }
                }
            }
        }
    }
    println!("a viewer's {tried} guesses of the hidden data: {} confirmed by the hash: {confirmed:?}", confirmed.len());
    assert!(confirmed.is_empty(), "the hash confirms a viewer's guess of the hidden details: {confirmed:?}");
}
