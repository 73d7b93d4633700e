//! The REST client the commands share: base URL, bearer token, and errors that carry the server's
//! explanation (its `detail`, every unmet guard, every bad field).

use std::fmt;

use reqwest::{Method, StatusCode};
use serde_json::Value;

enum Payload {
    None,
    Json(Value),
    Raw(Vec<u8>, String),
}

pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// A failed request, printed for a person.
#[derive(Debug)]
pub enum ClientError {
    /// The server answered with a problem report: its lines are the unmet guards and the bad fields as
    /// printed; `fields` are the bad fields as sent (`errors[].field` and `.message`), for a caller that
    /// names them in its own terms (the CLI names its flags).
    Problem { status: StatusCode, code: String, detail: String, lines: Vec<String>, fields: Vec<FieldProblem> },
    /// The server could not be reached or answered something unreadable.
    Transport(String),
}

/// One bad field of a request, as the server named it (`schedule.start`, `body`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Problem { status, code, detail, lines, .. } => {
                write!(f, "{detail} ({} {code})", status.as_u16())?;
                for l in lines {
                    write!(f, "\n  - {l}")?;
                }
                Ok(())
            }
            ClientError::Transport(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ClientError {}

impl Client {
    pub fn new(base: &str, token: Option<String>) -> Self {
        Client { base: base.trim_end_matches('/').to_string(), token, http: reqwest::Client::new() }
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ClientError> {
        self.send(Method::GET, path, query, None, None).await
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> Result<Value, ClientError> {
        self.send(Method::POST, path, &[], body, None).await
    }

    pub async fn patch(&self, path: &str, body: Value, version: i64) -> Result<Value, ClientError> {
        self.send(Method::PATCH, path, &[], Some(body), Some(version)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, ClientError> {
        self.send(Method::DELETE, path, &[], None, None).await
    }

    /// POSTs a file as it is, with its content type.
    pub async fn post_file(&self, path: &str, bytes: Vec<u8>, content_type: &str) -> Result<Value, ClientError> {
        self.send_body(Method::POST, path, &[], Payload::Raw(bytes, content_type.to_string()), None).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
        version: Option<i64>,
    ) -> Result<Value, ClientError> {
        let payload = match body {
            Some(b) => Payload::Json(b),
            None => Payload::None,
        };
        self.send_body(method, path, query, payload, version).await
    }

    async fn send_body(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Payload,
        version: Option<i64>,
    ) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).query(query);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(v) = version {
            req = req.header("If-Match", format!("\"{v}\""));
        }
        match body {
            Payload::Json(b) => req = req.json(&b),
            Payload::Raw(bytes, content_type) => req = req.header("Content-Type", content_type).body(bytes),
            Payload::None => {}
        }
        let res = req
            .send()
            .await
            .map_err(|e| ClientError::Transport(format!("cannot reach the Railyard server at {}: {e}", self.base)))?;
        let status = res.status();
        let text =
            res.text().await.map_err(|e| ClientError::Transport(format!("the server's answer was cut off: {e}")))?;
        let value: Value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        if status.is_success() {
            return Ok(value);
        }
        let detail = value["detail"].as_str().map(str::to_string).unwrap_or_else(|| value.to_string());
        let code = value["code"].as_str().unwrap_or("error").to_string();
        let mut lines: Vec<String> = Vec::new();
        for g in value["guards"].as_array().into_iter().flatten() {
            lines.push(format!(
                "{} [{}]",
                g["message"].as_str().unwrap_or_default(),
                g["code"].as_str().unwrap_or_default()
            ));
        }
        let mut fields = Vec::new();
        for e in value["errors"].as_array().into_iter().flatten() {
            let field = e["field"].as_str().unwrap_or_default().to_string();
            let message = e["message"].as_str().unwrap_or_default().to_string();
            lines.push(format!("{field}: {message}"));
            fields.push(FieldProblem { field, message });
        }
        if !lines.is_empty() && value["guards"].is_array() {
            // The detail repeats the guards; keep the headline only.
            let headline = detail.split(" refused: ").next().unwrap_or(&detail).to_string();
            return Err(ClientError::Problem { status, code, detail: format!("{headline} refused"), lines, fields });
        }
        Err(ClientError::Problem { status, code, detail, lines, fields })
    }
}
