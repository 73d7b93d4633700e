//! The OpenAPI document tells clients the truth. Schemathesis (from PyPI, pinned; `scripts/test`
//! installs it into `target/schemathesis-venv`) reads the served document and sends a real
//! `railyard serve` thousands of generated requests with an admin token, positive and negative
//! (schema-violating), checking every answer:
//!
//! - `not_a_server_error`: no 5xx;
//! - `status_code_conformance`: every status is documented for its operation;
//! - `content_type_conformance`: every answer has the documented content type;
//! - `response_schema_conformance`: every body matches the documented schema;
//! - `negative_data_rejection`: a request that violates the document is refused with a 4xx.
//!
//! The run is deterministic (`--generation-deterministic`, which also keeps no example database) and bounded
//! (`--max-examples`, one worker: Python 3.11's AST parser is not safe across Hypothesis's threads).
//! No operation and no check is excluded. Only the cases that would take the run's own access away
//! are left out (`python/schemathesis_hooks.py`): revoking the token it sends, changing its own user.
//! Schemathesis reuses the ids it saw in answers, and a run that revoked its own token saw only 401
//! and 429 from then on.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::server::{ADMIN_TOKEN, Server};

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,negative_data_rejection";

fn schemathesis() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/schemathesis-venv/bin/schemathesis");
    assert!(
        venv.exists(),
        "schemathesis is not installed at {}: run scripts/test, which installs the pinned version into \
         target/schemathesis-venv (python3 -m venv, pip install)",
        venv.display()
    );
    venv
}

#[tokio::test]
async fn the_api_answers_as_its_openapi_document_says_under_schemathesis() {
    let exe = schemathesis();
    let server = Server::start_with(true);
    // Schemathesis acts as an admin of its own: the bootstrap token is for the first start only, and
    // goes as soon as another user can act as an admin (which the generated requests do, granting the
    // admin role to users who hold tokens).
    let (token, token_id) = admin_of_its_own(&server.url).await;
    let hooks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contract/python/schemathesis_hooks.py");
    let work = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut cmd = Command::new(&exe);
    cmd.current_dir(work.path())
        .args(["run", &format!("{}/api/v1/openapi.json", server.url)])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", &CHECKS.split_whitespace().collect::<String>()])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", "20", "--workers", "1", "--generation-deterministic"])
        .args(["--request-timeout", "30", "--no-color"])
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", &hooks)
        .env("RAILYARD_CONTRACT_USER", CONTRACT_USER)
        .env("RAILYARD_CONTRACT_TOKEN_ID", &token_id);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout.rfind("SUMMARY").map(|i| &stdout[i..]).unwrap_or(&stdout);
    println!("schemathesis ran for {} s:\n{summary}", started.elapsed().as_secs());
    assert!(out.status.success(), "schemathesis found failures ({}):\n{stdout}\n{stderr}", out.status);
    // The admin token still works: the run did not lock itself out half way.
    let me =
        reqwest::Client::new().get(format!("{}/api/v1/users/me", server.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 200, "the admin token stopped working during the run");
}

/// The run's own admin user.
const CONTRACT_USER: &str = "contract";

/// An admin user for the run, and its token and the token's id (made with the bootstrap token, which
/// this retires).
async fn admin_of_its_own(url: &str) -> (String, String) {
    let http = reqwest::Client::new();
    let user = serde_json::json!({"name": CONTRACT_USER, "roles": ["admin"], "display_name": "Contract test"});
    let res = http.post(format!("{url}/api/v1/users")).bearer_auth(ADMIN_TOKEN).json(&user).send().await.unwrap();
    assert!(res.status().is_success(), "create the contract user: {}", res.status());
    let body = serde_json::json!({"user": CONTRACT_USER, "label": "schemathesis"});
    let res = http.post(format!("{url}/api/v1/tokens")).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
    assert!(res.status().is_success(), "a token for the contract user: {}", res.status());
    let v: serde_json::Value = res.json().await.unwrap();
    let token = v["token"].as_str().expect("the new token").to_string();
    (token, v["id"].as_str().expect("the new token's id").to_string())
}
