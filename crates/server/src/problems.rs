//! Documents the errors every operation can answer, from what the operation reads: each one is an
//! `application/problem+json` [`Problem`](crate::Problem) with a stable `code`. The rules follow the
//! extractors and the service, so a handler documents only its successes (and errors it adds itself):
//!
//! | status | when | codes |
//! |---|---|---|
//! | 400 | a path parameter that is not text, or a body that is not JSON | `invalid_input`, `malformed_json` |
//! | 401 | a token is needed | `unauthenticated` |
//! | 403 | a token is needed: its user's roles or the object may not allow it | `forbidden` |
//! | 404 | the path names an object, or the body names one | `not_found` |
//! | 409 | every change: a guard refuses it, the version is stale, the object exists | `action_refused`, `version_conflict`, `already_exists` |
//! | 413 | a body is read | `payload_too_large` |
//! | 415 | a JSON body is read | `malformed_json` |
//! | 422 | any parameter or body: every bad field is named | `invalid_input` |
//! | 428 | `If-Match` is required | `version_required` |
//! | 429 | a token is needed: too many failed sign-ins or bad tokens came from the client's address | `too_many_attempts` |
//! | 503 | always: the database is unavailable, or the server has all its connections open | `unavailable`, `too_many_connections` |
//!
//! Every response also gets a description, which OpenAPI requires: a success the handler did not
//! describe is described by its status's reason phrase.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{Content, Ref, RefOr, Required, Response};

const PROBLEM_JSON: &str = "application/problem+json";

/// The shared error responses, by status: their name under `components.responses`, and what they mean.
const RESPONSES: [(&str, &str, &str); 11] = [
    ("400", "BadRequest", "The URL or the body is malformed (`invalid_input`, `malformed_json`)."),
    ("401", "Unauthenticated", "No valid API token (`unauthenticated`); send `Authorization: Bearer <token>`."),
    ("403", "Forbidden", "The token's user may not do this (`forbidden`)."),
    ("404", "NotFound", "No such object (`not_found`)."),
    (
        "409",
        "Conflict",
        "Refused: every unmet guard is listed (`action_refused`), the version is stale (`version_conflict`), \
         or the object already exists (`already_exists`).",
    ),
    ("413", "PayloadTooLarge", "The body is larger than allowed (`payload_too_large`)."),
    ("415", "UnsupportedMediaType", "The body is not sent as JSON (`malformed_json`)."),
    ("422", "InvalidInput", "Invalid input: every bad field is named with what is allowed (`invalid_input`)."),
    ("428", "PreconditionRequired", "`If-Match` with the object's version is required (`version_required`)."),
    (
        "429",
        "TooManyAttempts",
        "Too many failed sign-ins or bad API tokens from this address or for this name (`too_many_attempts`); \
         `Retry-After` says in how many seconds to try again.",
    ),
    (
        "503",
        "Unavailable",
        "The database is unavailable (`unavailable`), or the server has all its connections open \
         (`too_many_connections`, with `Retry-After`).",
    ),
];

fn problem(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert(PROBLEM_JSON.to_string(), RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))));
    response
}

/// Adds the error responses `op` can answer (see the table above), each a reference to the shared
/// problem response of its status.
fn document(method: &str, path: &str, op: &mut Operation) {
    let params: Vec<_> = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .collect();
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let body_types: Vec<String> = match &op.request_body {
        Some(RefOr::T(b)) => b.content.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let json_body = body_types.iter().any(|t| t == "application/json");
    let mut statuses = vec!["503"];
    if secured {
        statuses.extend(["401", "403", "429"]);
        if method != "get" {
            statuses.push("409");
        }
    }
    if path.contains('{') {
        statuses.extend(["400", "404"]);
    }
    if !body_types.is_empty() {
        statuses.extend(["404", "413", "422"]);
    }
    if json_body {
        statuses.extend(["400", "415"]);
    }
    if !params.is_empty() {
        statuses.push("422");
    }
    if params
        .iter()
        .any(|p| p.name == "If-Match" && p.parameter_in == ParameterIn::Header && p.required == Required::True)
    {
        statuses.push("428");
    }
    for status in statuses {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| RefOr::T(Response::new("")));
    }
    // Every error answer is a problem document: the shared one of its status unless the handler said
    // something of its own about it.
    for (status, response) in op.responses.responses.iter_mut() {
        let Some((_, name, description)) = RESPONSES.iter().find(|(s, ..)| s == status) else { continue };
        if let RefOr::T(r) = response {
            *response = if r.description.is_empty() || r.description == *description {
                RefOr::Ref(Ref::from_response_name(*name))
            } else {
                RefOr::T(problem(&r.description))
            };
        }
    }
    // OpenAPI requires a description of every response (client generators refuse a document without
    // one): where the handler gave none, the status's reason phrase (`OK`, `Created`, `No Content`).
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(r) = response
            && r.description.is_empty()
        {
            let reason = status.parse().ok().and_then(|s| axum::http::StatusCode::from_u16(s).ok());
            r.description = reason.and_then(|s| s.canonical_reason()).unwrap_or("Answer").to_string();
        }
    }
}

/// Documents the errors of every operation of `doc`, and the shared problem responses they refer to.
pub fn document_errors(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ];
        for (method, op) in ops {
            if let Some(op) = op {
                document(method, path, op);
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    for (status, name, description) in RESPONSES {
        let mut response = problem(description);
        if status == "429" || status == "503" {
            let seconds = utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer);
            let mut header = utoipa::openapi::header::Header::new(seconds);
            header.description = Some("Seconds to wait before trying again.".to_string());
            response.headers.insert("Retry-After".to_string(), RefOr::T(header));
        }
        components.responses.insert(name.to_string(), RefOr::T(response));
    }
}
