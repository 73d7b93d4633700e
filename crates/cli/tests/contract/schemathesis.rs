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
//! No operation and no check is excluded.

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
    // An admin token of its own: the bootstrap token stops working once an admin token is created, and
    // the run creates some.
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/tokens", server.url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"label": "schemathesis", "user": "admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap_or_else(|| panic!("no token in {created}")).to_string();
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
        .env("NO_COLOR", "1");
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
