//! A request body is bounded before it is read: a 30 MiB JSON array from a viewer is refused with 413
//! after at most the 1 MiB limit was read, and the server's memory does not grow by hundreds of MB
//! (it grew by about 500 MB when bodies up to 32 MiB were parsed into a generic JSON value first).

use serde_json::{Value, json};

use crate::server::{ADMIN_TOKEN, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_30_mib_json_array_from_a_viewer_is_refused_without_the_server_growing() {
    let server = Server::start();
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.url);
    let created = http
        .post(url("/api/v1/users"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "val", "roles": ["viewer"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let token: Value = http
        .post(url("/api/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"label": "test", "user": "val"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let viewer = token["token"].as_str().unwrap().to_string();

    // 30 MiB of empty objects: each costs a generic JSON value of 32 bytes or more once parsed.
    let size = 30 * 1024 * 1024;
    let mut body = String::with_capacity(size + 2);
    body.push('[');
    while body.len() < size {
        body.push_str("{},");
    }
    body.push_str("{}]");
    let before = server.memory_kib("VmHWM");
    let res = http
        .post(url("/api/v1/trains"))
        .bearer_auth(&viewer)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let problem: Value = res.json().await.unwrap_or(Value::Null);
    let after = server.memory_kib("VmHWM");
    let grown_mib = (after.saturating_sub(before)) / 1024;
    println!(
        "30 MiB array from a viewer: {status} {problem}; peak RSS {} MiB -> {} MiB (+{grown_mib} MiB)",
        before / 1024,
        after / 1024
    );
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["code"], "payload_too_large");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("1 MiB"), "{problem}");
    assert!(grown_mib < 64, "the server's peak memory grew by {grown_mib} MiB for a refused body");

    // The server still answers.
    let me = http.get(url("/api/v1/users/me")).bearer_auth(&viewer).send().await.unwrap();
    assert_eq!(me.status(), 200);
}
