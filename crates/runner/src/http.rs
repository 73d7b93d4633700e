//! Running an HTTP action: one request with placeholders filled in, its status compared with the
//! expected ones, its body reported as output lines.

use std::error::Error as _;
use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, Url};

use crate::action::HttpAction;
use crate::command::stopped;
use crate::outcome::{Outcome, RunStatus, Stream};
use crate::output::{Capture, Splitter};
use crate::placeholder::{Encoding, substitute};
use crate::{RunContext, RunOptions};

pub(crate) async fn run(
    action: &HttpAction,
    ctx: &RunContext,
    capture: &mut Capture<'_>,
    options: &RunOptions,
    started_at: DateTime<Utc>,
) -> Outcome {
    let request = match prepare(action, ctx) {
        Ok(r) => r,
        Err(message) => return Outcome::new(RunStatus::CouldNotStart, message, started_at),
    };
    let client = match client() {
        Ok(c) => c,
        Err(e) => return Outcome::new(RunStatus::CouldNotStart, format!("no HTTP client: {e}"), started_at),
    };
    let Prepared { method, url, headers, body } = request;
    let target = describe(&url);
    let mut builder = client.request(method, url).headers(headers);
    if let Some(body) = body {
        builder = builder.body(body);
    }

    let mut http_status = None;
    let mut lines = Splitter::new(Stream::Stdout);
    let timeout = Duration::from_secs(action.timeout_secs);
    let mut stop = options.stop.clone();
    let result = tokio::select! {
        r = tokio::time::timeout(timeout, exchange(builder, &mut lines, capture, &mut http_status)) => Some(r),
        _ = stopped(&mut stop) => None,
    };
    let Some(result) = result else {
        let mut outcome = Outcome::new(RunStatus::Stopped, "stopped: the server shut down while it ran", started_at);
        outcome.http_status = http_status;
        return outcome;
    };
    let mut outcome = Outcome::new(RunStatus::Failed, String::new(), started_at);
    outcome.http_status = http_status;
    match (result, http_status) {
        (Err(_elapsed), None) => {
            outcome.status = RunStatus::TimedOut;
            outcome.message = format!("no response from {target} within the {} s timeout", action.timeout_secs);
        }
        (Err(_elapsed), Some(status)) => {
            outcome.status = RunStatus::TimedOut;
            outcome.message =
                format!("answered {status} but the body did not end within the {} s timeout", action.timeout_secs);
        }
        (Ok(Err(e)), None) => (outcome.status, outcome.message) = request_error(&e, &target),
        (Ok(Err(e)), Some(status)) => {
            outcome.message = format!("answered {status} but the body could not be read: {}", innermost(&e));
        }
        (Ok(Ok(())), Some(status)) => {
            let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason());
            let answered = match reason {
                Some(reason) => format!("answered {status} {reason}"),
                None => format!("answered {status}"),
            };
            if action.accepts(status) {
                outcome.status = RunStatus::Succeeded;
                outcome.message = answered;
            } else {
                outcome.message = format!("{answered}; expected {}", action.expected_text());
            }
        }
        (Ok(Ok(())), None) => outcome.message = "no response".to_string(),
    }
    outcome.finished_at = Utc::now();
    outcome
}

struct Prepared {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<String>,
}

/// The request with placeholders filled in; `Err` says what is unusable.
fn prepare(action: &HttpAction, ctx: &RunContext) -> Result<Prepared, String> {
    let unknown = |name: String, place: &str| format!("unknown placeholder ${{{name}}} in the {place}");
    let method = Method::from_bytes(action.method.as_bytes())
        .map_err(|_| format!("'{}' is not an HTTP method", action.method))?;
    let url = substitute(&action.url, &ctx.env, Encoding::Url).map_err(|n| unknown(n, "URL"))?;
    let url = Url::parse(&url).map_err(|e| format!("'{url}' is not a valid URL: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("URL scheme '{}' is not supported; use http or https", url.scheme()));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &action.headers {
        let value =
            substitute(value, &ctx.env, Encoding::Plain).map_err(|n| unknown(n, &format!("header '{name}'")))?;
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("'{name}' is not a header name"))?;
        let value =
            HeaderValue::from_str(&value).map_err(|_| format!("the value of header '{name}' is not a header value"))?;
        headers.append(header, value);
    }
    let body = match &action.body {
        Some(body) => Some(substitute(body, &ctx.env, Encoding::Plain).map_err(|n| unknown(n, "body"))?),
        None => None,
    };
    Ok(Prepared { method, url, headers, body })
}

/// One client for every run, so connections are pooled. Redirects are followed (up to 10); proxies
/// from the environment are not used.
fn client() -> Result<&'static Client, String> {
    static CLIENT: OnceLock<Result<Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| Client::builder().user_agent("railyard-runner").build().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// Sends the request and reports the body; the status is recorded as soon as it is known.
async fn exchange(
    request: reqwest::RequestBuilder,
    lines: &mut Splitter,
    capture: &mut Capture<'_>,
    status: &mut Option<u16>,
) -> Result<(), reqwest::Error> {
    let mut response = request.send().await?;
    *status = Some(response.status().as_u16());
    while let Some(chunk) = response.chunk().await? {
        lines.push(&chunk, capture);
        if capture.truncated() {
            capture.stop_reading(); // nothing more will be kept: stop reading
            return Ok(());
        }
    }
    lines.finish(capture);
    Ok(())
}

/// `host:port` of a URL, for messages.
fn describe(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// A failed request in words: "connection refused by 127.0.0.1:9".
fn request_error(e: &reqwest::Error, target: &str) -> (RunStatus, String) {
    if chain_text(e).contains("scheme is not http") {
        // Nothing was sent: the build has no TLS.
        return (RunStatus::CouldNotStart, "https is not supported by this build of Railyard (no TLS)".to_string());
    }
    (RunStatus::Failed, request_error_text(e, target))
}

fn request_error_text(e: &reqwest::Error, target: &str) -> String {
    let chain = chain_text(e);
    if let Some(io) = io_error(e) {
        match io.kind() {
            io::ErrorKind::ConnectionRefused => return format!("connection refused by {target}"),
            io::ErrorKind::ConnectionReset => return format!("connection reset by {target}"),
            _ => {}
        }
    }
    if chain.contains("dns error") || chain.contains("failed to lookup address") {
        let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
        return format!("could not resolve host '{host}'");
    }
    if e.is_connect() {
        return format!("could not connect to {target}: {}", innermost(e));
    }
    format!("request to {target} failed: {}", innermost(e))
}

fn io_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = err.source();
    }
    None
}

fn chain_text(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut current = e.source();
    while let Some(err) = current {
        text.push_str(": ");
        text.push_str(&err.to_string());
        current = err.source();
    }
    text
}

/// The deepest cause, which is usually the one that says what went wrong.
fn innermost(e: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}
