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

async fn served() -> serde_json::Value {
    let app = TestApp::spawn().await;
    app.call(None, Method::GET, "/api/v1/openapi.json", None).await.ok()
}

/// Every operation of the document: (method, path template, operation).
fn operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

fn path_names(template: &str) -> Vec<String> {
    template.split('{').skip(1).filter_map(|s| s.split('}').next()).map(str::to_string).collect()
}

/// Client generators name a method after each operation id: every id is unique and says what the
/// operation does (`list_trains`, `submit_train`).
#[tokio::test]
async fn every_operation_has_its_own_id_named_for_what_it_does() {
    let doc = served().await;
    let ops = operations(&doc);
    let mut count = std::collections::BTreeMap::<String, usize>::new();
    for (_, _, op) in &ops {
        *count.entry(op["operationId"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    let shared: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    println!("{} operations, {} distinct operation ids; shared: {shared:?}", ops.len(), count.len());
    assert!(shared.is_empty(), "{} operation ids are shared by several operations: {shared:?}", shared.len());
    let id = |m: &str, p: &str| doc["paths"][p][m]["operationId"].as_str().unwrap_or_default().to_string();
    assert_eq!(id("get", "/api/v1/trains"), "list_trains");
    assert_eq!(id("post", "/api/v1/trains"), "create_train");
    assert_eq!(id("post", "/api/v1/trains/{id}/submit"), "submit_train");
    assert_eq!(id("get", "/api/v1/turnovers/{id}"), "get_turnover");
    assert_eq!(id("post", "/api/v1/application-releases/{id}/work-items/import"), "import_work_items");
}

/// Parameters are declared where the server reads them: a path parameter is in the path template, and
/// list filters are optional query parameters.
#[tokio::test]
async fn parameters_are_declared_where_the_server_reads_them() {
    let doc = served().await;
    let mut misplaced = Vec::new();
    for (method, path, op) in operations(&doc) {
        let template = path_names(&path);
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default();
            let inn = p["in"].as_str().unwrap_or_default();
            let in_template = template.iter().any(|t| t == name);
            match inn {
                "path" if !in_template => misplaced.push(format!("{method} {path}: {name} in path")),
                "path" if p["required"] != true => misplaced.push(format!("{method} {path}: {name} not required")),
                "query" if p["required"] == true => misplaced.push(format!("{method} {path}: query {name} required")),
                _ => {}
            }
        }
        for t in &template {
            let declared =
                op["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == *t && p["in"] == "path");
            if !declared {
                misplaced.push(format!("{method} {path}: path parameter {t} undeclared"));
            }
        }
    }
    println!("{} misplaced parameters", misplaced.len());
    for m in misplaced.iter().take(10) {
        println!("  {m}");
    }
    assert!(misplaced.is_empty(), "{} parameters are not where the server reads them: {misplaced:?}", misplaced.len());
    let trains = &doc["paths"]["/api/v1/trains"]["get"]["parameters"];
    for name in ["state", "release_type", "limit", "cursor"] {
        let p = trains.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap();
        assert_eq!((p["in"].as_str(), p["required"].as_bool().unwrap_or(false)), (Some("query"), false), "{p}");
    }
}

/// Every error an operation can answer is documented, as `application/problem+json` with the Problem
/// schema: 401 and 403 where a token is needed, 404 and 400 where the path names an object, 409 on every
/// change, 400, 413, 415 and 422 where a JSON body is read, 422 where query parameters are, and 428 where
/// `If-Match` is required.
#[tokio::test]
async fn every_error_an_operation_can_answer_is_documented_as_a_problem() {
    let doc = served().await;
    let mut missing = Vec::new();
    let mut not_problem = Vec::new();
    let ops = operations(&doc);
    for (method, path, op) in &ops {
        let params: Vec<&serde_json::Value> = op["parameters"].as_array().into_iter().flatten().collect();
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        let json_body = op["requestBody"]["content"]["application/json"].is_object();
        let mut expected: Vec<&str> = Vec::new();
        if secured {
            expected.extend(["401", "403"]);
            if method != "get" {
                expected.push("409");
            }
        }
        if !path_names(path).is_empty() {
            expected.extend(["400", "404"]);
        }
        if json_body {
            expected.extend(["400", "413", "415", "422"]);
        }
        if params.iter().any(|p| p["in"] == "query") {
            expected.push("422");
        }
        if params.iter().any(|p| p["name"] == "If-Match" && p["required"] == true) {
            expected.push("428");
        }
        for status in expected {
            if !op["responses"][status].is_object() {
                missing.push(format!("{method} {path} {status}"));
            }
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            let response = match response["$ref"].as_str() {
                Some(r) => &doc["components"]["responses"][r.trim_start_matches("#/components/responses/")],
                None => response,
            };
            if status.as_str() >= "400" {
                let content = response["content"].as_object();
                let ok = content.is_some_and(|c| {
                    c.len() == 1
                        && c.get("application/problem+json")
                            .is_some_and(|m| m["schema"]["$ref"] == "#/components/schemas/Problem")
                });
                if !ok {
                    not_problem.push(format!("{method} {path} {status}"));
                }
            }
        }
    }
    println!(
        "{} operations: {} error responses undocumented, {} documented without application/problem+json",
        ops.len(),
        missing.len(),
        not_problem.len()
    );
    assert!(
        missing.is_empty(),
        "{} error responses are undocumented, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        not_problem.is_empty(),
        "{} error responses are not problem+json, e.g. {:?}",
        not_problem.len(),
        &not_problem[..not_problem.len().min(10)]
    );
}

/// What client generators need of the document (the generated Python client's test in
/// crates/cli/tests/contract runs one): every response has a description, which OpenAPI requires; a
/// page's items refer to the component they are, so that a listed object and a fetched one are of one
/// type; an action's variants are named schemas chosen by `kind`.
#[tokio::test]
async fn client_generators_get_described_responses_and_named_item_types() {
    let doc = served().await;
    let mut undescribed = Vec::new();
    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            let response = match response["$ref"].as_str() {
                Some(r) => &doc["components"]["responses"][r.trim_start_matches("#/components/responses/")],
                None => response,
            };
            if response["description"].as_str().is_none_or(str::is_empty) {
                undescribed.push(format!("{method} {path} {status}"));
            }
        }
    }
    println!("{} responses without a description", undescribed.len());
    assert!(undescribed.is_empty(), "{} responses have no description: {undescribed:?}", undescribed.len());
    let ok = &doc["paths"]["/api/v1/trains/{id}"]["get"]["responses"]["200"];
    assert_eq!(ok["description"], "OK", "{ok}");

    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let pages: Vec<_> = schemas.iter().filter(|(name, _)| name.starts_with("Page_")).collect();
    assert!(pages.len() >= 10, "{} page schemas", pages.len());
    for (name, page) in pages {
        let items = &page["properties"]["items"]["items"];
        let item = name.trim_start_matches("Page_");
        assert_eq!(items["$ref"], format!("#/components/schemas/{item}"), "{name}'s items: {items}");
        assert!(schemas.contains_key(item), "{name} refers to no component {item}");
    }

    let action = &schemas["Action"];
    assert_eq!(action["discriminator"]["propertyName"], "kind", "{action}");
    for (kind, name) in [("command", "CommandAction"), ("http", "HttpAction")] {
        assert_eq!(action["discriminator"]["mapping"][kind], format!("#/components/schemas/{name}"), "{action}");
        assert_eq!(schemas[name]["properties"]["kind"]["enum"][0], kind, "{name}");
        assert!(schemas[name]["required"].as_array().unwrap().contains(&"kind".into()), "{name}");
    }
}
