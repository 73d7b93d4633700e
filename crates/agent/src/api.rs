//! The three calls of the runner protocol over HTTP(S). The token goes to the configured server only
//! (redirects are not followed), answers are read up to [`MAX_ANSWER_BYTES`], and every failure is one
//! of a few kinds the runner acts on.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::wire::{ClaimAnswer, ClaimRequest, Heartbeat, RunReport};
use railyard_runner::OutputLine;

/// The largest answer read from a server.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;
/// How long a claim or a result may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a call did not do what it asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// `401`: the token is unknown or the runner was revoked.
    TokenRefused,
    /// `409 lease_lost`: the runner no longer holds the run.
    LeaseLost,
    /// Another answer the runner cannot retry its way out of (`400`, `403`, `404`, `422`, a redirect...):
    /// the status and the server's explanation.
    Refused { status: u16, message: String },
    /// The server could not be reached, timed out, was unavailable (`5xx`, `429`), had a conflicting
    /// write (`409 version_conflict`), or answered something unreadable: worth trying again.
    Unavailable(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::TokenRefused => f.write_str("the server refused the runner's token (401)"),
            CallError::LeaseLost => f.write_str("the runner no longer holds the run (409 lease_lost)"),
            CallError::Refused { status, message } => write!(f, "{message} ({status})"),
            CallError::Unavailable(why) => f.write_str(why),
        }
    }
}

/// A server, as one runner talks to it.
pub(crate) struct Api {
    http: reqwest::Client,
    base: Url,
    token: String,
}

impl Api {
    pub fn new(base: Url, token: String) -> Result<Api, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("railyard-runner/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Api { http, base, token })
    }

    /// The server's address, for messages.
    pub fn server(&self) -> &str {
        self.base.as_str()
    }

    /// `POST /api/v1/runner/claim`; it may wait `request.wait_ms` for a run before it is answered.
    pub async fn claim(&self, request: &ClaimRequest<'_>) -> Result<ClaimAnswer, CallError> {
        let url = self.url(&["api", "v1", "runner", "claim"])?;
        self.post(url, request, CALL_TIMEOUT + Duration::from_millis(request.wait_ms)).await
    }

    /// `POST /api/v1/runner/runs/{claim}/heartbeat`, answered within `timeout`.
    pub async fn heartbeat(&self, claim: &str, lines: &[OutputLine], timeout: Duration) -> Result<(), CallError> {
        let url = self.url(&["api", "v1", "runner", "runs", claim, "heartbeat"])?;
        let _: Value = self.post(url, &Heartbeat { lines }, timeout).await?;
        Ok(())
    }

    /// `POST /api/v1/runner/runs/{claim}/result`.
    pub async fn result(&self, claim: &str, report: &RunReport) -> Result<(), CallError> {
        let url = self.url(&["api", "v1", "runner", "runs", claim, "result"])?;
        let _: Value = self.post(url, report, CALL_TIMEOUT).await?;
        Ok(())
    }

    /// The server's base URL with these path segments added (each percent-encoded as needed).
    fn url(&self, segments: &[&str]) -> Result<Url, CallError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| CallError::Refused { status: 0, message: "the server URL cannot take a path".into() })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        url: Url,
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<T, CallError> {
        let sent = self.http.post(url).bearer_auth(&self.token).json(body).timeout(timeout).send().await;
        // reqwest's errors name the URL, never the token.
        let mut answer =
            sent.map_err(|e| CallError::Unavailable(format!("cannot reach {}: {}", self.base, causes(&e))))?;
        let status = answer.status();
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            match answer.chunk().await {
                Ok(Some(chunk)) if bytes.len() + chunk.len() > MAX_ANSWER_BYTES => {
                    return Err(CallError::Unavailable(format!(
                        "the server's answer is larger than {} MiB; not read",
                        MAX_ANSWER_BYTES / (1024 * 1024)
                    )));
                }
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    return Err(CallError::Unavailable(format!("the server's answer was cut off: {}", causes(&e))));
                }
            }
        }
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| CallError::Unavailable(format!("the server's answer ({status}) could not be read: {e}")));
        }
        Err(failure(status, &bytes))
    }
}

/// An error and its causes, as one sentence: reqwest's own says only which request failed.
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// What an answer that is not a success means for the runner.
pub(crate) fn failure(status: StatusCode, body: &[u8]) -> CallError {
    let problem: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = problem["code"].as_str().unwrap_or_default();
    match status.as_u16() {
        401 => CallError::TokenRefused,
        409 if code == "lease_lost" => CallError::LeaseLost,
        // Another write to the same deployment (another run's result) came first: the same call succeeds
        // when tried again.
        409 if code == "version_conflict" => {
            CallError::Unavailable(format!("the server had a conflicting write: {}", explain(&problem, body)))
        }
        408 | 429 | 500..=599 => {
            CallError::Unavailable(format!("the server is unavailable ({status}): {}", explain(&problem, body)))
        }
        300..=399 => CallError::Refused {
            status: status.as_u16(),
            message: "the server answered with a redirect, which a runner does not follow (its token goes to the \
                      configured server only); start it with --server set to the server's final address"
                .into(),
        },
        s => CallError::Refused { status: s, message: explain(&problem, body) },
    }
}

/// The server's explanation: its problem's `detail` and each bad field, or the start of its answer.
fn explain(problem: &Value, body: &[u8]) -> String {
    let Some(detail) = problem["detail"].as_str() else {
        let text = String::from_utf8_lossy(body);
        let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
        return if text.trim().is_empty() { "no explanation".into() } else { text };
    };
    let mut message: String = detail.chars().take(1000).collect();
    for e in problem["errors"].as_array().into_iter().flatten().take(20) {
        let (field, why) = (e["field"].as_str().unwrap_or_default(), e["message"].as_str().unwrap_or_default());
        message.push_str(&format!("; {field}: {why}"));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fail(status: u16, body: Value) -> CallError {
        failure(StatusCode::from_u16(status).unwrap(), body.to_string().as_bytes())
    }

    #[test]
    fn answers_map_to_what_the_runner_does() {
        assert_eq!(fail(401, json!({"code": "unauthorized"})), CallError::TokenRefused);
        assert_eq!(fail(409, json!({"code": "lease_lost", "detail": "gone"})), CallError::LeaseLost);
        assert!(matches!(fail(409, json!({"code": "conflict"})), CallError::Refused { status: 409, .. }));
        assert!(matches!(fail(409, json!({"code": "version_conflict"})), CallError::Unavailable(_)));
        assert!(matches!(fail(503, json!({})), CallError::Unavailable(_)));
        assert!(matches!(fail(429, json!({})), CallError::Unavailable(_)));
        assert!(
            matches!(fail(302, json!({})), CallError::Refused { status: 302, message } if message.contains("redirect"))
        );
        let unknown = fail(
            422,
            json!({"code": "invalid_input", "detail": "the input is not valid",
                   "errors": [{"field": "labels", "message": "'mars' is not one of this runner's labels"}]}),
        );
        assert_eq!(
            unknown,
            CallError::Refused {
                status: 422,
                message: "the input is not valid; labels: 'mars' is not one of this runner's labels".into()
            }
        );
        let html = failure(StatusCode::FORBIDDEN, b"<html>\nno\n</html>");
        assert_eq!(html, CallError::Refused { status: 403, message: "<html>no</html>".into() });
    }

    #[test]
    fn claims_are_path_segments_of_the_servers_url() {
        let api = Api::new(Url::parse("http://127.0.0.1:8080/railyard/").unwrap(), "t".into()).unwrap();
        let url = api.url(&["api", "v1", "runner", "runs", "DE-5:R1:1/../x", "heartbeat"]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/railyard/api/v1/runner/runs/DE-5:R1:1%2F..%2Fx/heartbeat");
    }
}
