//! HTTP actions against the test server.

use std::time::{Duration, Instant};

use railyard_runner::{Action, HttpAction, Limits, RunContext, RunStatus, Stream, VecSink, run};

use super::http_server::{Reply, start};
use super::run_with;

fn get(addr: std::net::SocketAddr, path: &str) -> HttpAction {
    HttpAction::new("GET", format!("http://{addr}{path}"))
}

#[tokio::test]
async fn an_expected_status_succeeds_and_the_body_is_output() {
    let (addr, mut requests) = start(|_| Reply::new(200, "deployed\nversion 1.4.2\n")).await;
    let (outcome, sink) = run_with(Action::Http(get(addr, "/health")), &RunContext::default()).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    assert_eq!(outcome.http_status, Some(200));
    assert_eq!(outcome.message, "answered 200 OK");
    assert_eq!(sink.texts(Stream::Stdout), ["deployed", "version 1.4.2"]);
    let request = requests.recv().await.expect("request");
    assert!(request.starts_with("GET /health HTTP/1.1\r\n"), "{request}");
}

#[tokio::test]
async fn an_unexpected_status_fails_and_names_what_was_expected() {
    let (addr, _requests) =
        start(|request| if request.starts_with("GET /broken") { Reply::new(500, "boom") } else { Reply::new(200, "") })
            .await;
    let (outcome, sink) = run_with(Action::Http(get(addr, "/broken")), &RunContext::default()).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(outcome.http_status, Some(500));
    assert_eq!(outcome.message, "answered 500 Internal Server Error; expected 2xx");
    assert_eq!(sink.texts(Stream::Stdout), ["boom"]);

    let mut exact = get(addr, "/fine");
    exact.expected_status = vec![201, 202];
    let (outcome, _) = run_with(Action::Http(exact.clone()), &RunContext::default()).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(outcome.message, "answered 200 OK; expected 201, 202");
    exact.expected_status = vec![200];
    let (outcome, _) = run_with(Action::Http(exact), &RunContext::default()).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
}

#[tokio::test]
async fn a_refused_connection_fails_with_the_address() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let (outcome, _) = run_with(Action::Http(get(addr, "/hook")), &RunContext::default()).await;
    assert_eq!(outcome.status, RunStatus::Failed, "{outcome:?}");
    assert_eq!(outcome.http_status, None);
    assert_eq!(outcome.message, format!("connection refused by {addr}"));
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let (addr, _requests) = start(|request| {
        let mut reply = Reply::new(200, "slow body");
        if request.starts_with("GET /slow-head") {
            reply.delay = Duration::from_secs(10);
        } else {
            reply.stall_body = Some(Duration::from_secs(10));
        }
        reply
    })
    .await;
    let mut action = get(addr, "/slow-head");
    action.timeout_secs = 1;
    let begin = Instant::now();
    let (outcome, _) = run_with(Action::Http(action.clone()), &RunContext::default()).await;
    // Below the server's 10 s delay: the 1 s timeout ended it (the margin is for a busy CI machine).
    assert!(begin.elapsed() < Duration::from_secs(8), "took {:?}", begin.elapsed());
    assert_eq!(outcome.status, RunStatus::TimedOut);
    assert_eq!(outcome.http_status, None);
    assert_eq!(outcome.message, format!("no response from {addr} within the 1 s timeout"));

    action.url = format!("http://{addr}/slow-body");
    let (outcome, _) = run_with(Action::Http(action), &RunContext::default()).await;
    assert_eq!(outcome.status, RunStatus::TimedOut);
    assert_eq!(outcome.http_status, Some(200));
    assert_eq!(outcome.message, "answered 200 but the body did not end within the 1 s timeout");
}

#[tokio::test]
async fn placeholders_are_substituted_in_the_url_headers_and_body() {
    let (addr, mut requests) = start(|_| Reply::new(204, "")).await;
    let mut action = HttpAction::new(
        "POST",
        format!("http://{addr}/deploy/${{RAILYARD_TURNOVER}}?env=${{RAILYARD_ENVIRONMENT}}&keep=${{OTHER}}"),
    );
    action.headers.insert("X-Turnover".into(), "${RAILYARD_TURNOVER}".into());
    action.headers.insert("Content-Type".into(), "application/json".into());
    action.body = Some(r#"{"turnover":"${RAILYARD_TURNOVER}","env":"${RAILYARD_ENVIRONMENT}"}"#.into());
    let ctx = RunContext::new().with("RAILYARD_TURNOVER", "TO-7").with("RAILYARD_ENVIRONMENT", "staging east");
    let (outcome, _) = run_with(Action::Http(action.clone()), &ctx).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    assert_eq!(outcome.message, "answered 204 No Content");
    let request = requests.recv().await.expect("request");
    assert!(request.starts_with("POST /deploy/TO-7?env=staging%20east&keep=${OTHER} HTTP/1.1\r\n"), "{request}");
    assert!(request.to_lowercase().contains("\r\nx-turnover: to-7\r\n"), "{request}");
    assert!(request.ends_with(r#"{"turnover":"TO-7","env":"staging east"}"#), "{request}");

    action.body = Some("${RAILYARD_DEPLOYMENT}".into());
    let (outcome, _) = run_with(Action::Http(action), &ctx).await;
    assert_eq!(outcome.status, RunStatus::CouldNotStart);
    assert_eq!(outcome.message, "unknown placeholder ${RAILYARD_DEPLOYMENT} in the body");
}

#[tokio::test]
async fn a_huge_response_body_is_capped() {
    let (addr, _requests) = start(|_| Reply::new(200, "x".repeat(99).repeat(30_000) + "\n")).await;
    let mut sink = VecSink::new();
    let limits = Limits { max_output_bytes: 64 * 1024, ..Limits::default() };
    let outcome = run(&Action::Http(get(addr, "/big")), &RunContext::default(), &mut sink, &limits).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    assert!(outcome.truncated);
    // One mark at the end; the body past the cap was not even read, and the mark says so.
    let mark = sink.lines.last().map(|l| l.text.as_str()).unwrap_or_default();
    assert!(mark.starts_with("[output cut: "), "{mark}");
    assert!(mark.ends_with(", and the rest was not read; a run keeps at most 64 KiB and 20,000 lines]"), "{mark}");
    assert_eq!(sink.lines.iter().filter(|l| l.text.starts_with("[output cut")).count(), 1);
    let kept: usize = sink.lines.iter().filter(|l| !l.text.starts_with("[output cut")).map(|l| l.text.len()).sum();
    assert!(kept <= 64 * 1024, "kept {kept} bytes");
}

#[tokio::test]
async fn an_unresolvable_host_fails_with_its_name() {
    // `.invalid` never resolves (RFC 2606); the lookup may still take a moment.
    let mut action = HttpAction::new("HEAD", "http://railyard-runner-test.invalid/");
    action.timeout_secs = 10;
    let (outcome, _) = run_with(Action::Http(action), &RunContext::default()).await;
    assert!(matches!(outcome.status, RunStatus::Failed | RunStatus::TimedOut), "{outcome:?}");
    if outcome.status == RunStatus::Failed {
        assert_eq!(outcome.message, "could not resolve host 'railyard-runner-test.invalid'");
    }
}
