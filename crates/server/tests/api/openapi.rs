//! The OpenAPI document is generated from the code; this snapshot shows every change to it in review.
//! After an intended change, regenerate it with `UPDATE_SNAPSHOTS=1 scripts/test` and commit the file.

use reqwest::Method;

use crate::common::TestApp;

#[tokio::test]
async fn the_served_openapi_document_matches_the_snapshot() {
    let app = TestApp::spawn().await;
    let served = app.call(None, Method::GET, "/api/v1/openapi.json", None).await.ok();
    let text = serde_json::to_string_pretty(&served).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == text,
        "the OpenAPI document changed; if intended, run UPDATE_SNAPSHOTS=1 scripts/test and commit {}",
        path.display()
    );
    // It documents the bearer scheme and the problem type.
    assert!(served["components"]["securitySchemes"]["bearer"].is_object());
    assert!(served["components"]["schemas"]["Problem"].is_object());
    assert!(served["paths"]["/api/v1/trains/{id}/submit"]["post"].is_object());
}
