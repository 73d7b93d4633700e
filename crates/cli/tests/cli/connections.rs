//! What clients that hold connections can cost the server: a bounded number of connections, closed when
//! they send nothing, and a shutdown that a half-sent request cannot hold up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::spawn_serve;

/// Kills the server when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Waits for the server's address line.
fn address(rx: &std::sync::mpsc::Receiver<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("the address line");
        if let Some(rest) = line.strip_prefix("Railyard is listening on http://") {
            return rest.split_whitespace().next().unwrap().to_string();
        }
    }
}

/// What a connection reads until the server closes it or `wait` passes: `None` when it is still open.
fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(String::from_utf8_lossy(&got).into_owned());
            }
            Err(_) => return None,
        }
    }
}

/// `n` connections, from the loopback addresses 127.0.0.1 to 127.0.0.8 in turn.
fn connect_many(n: usize, addr: &str) -> Vec<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
    runtime.block_on(async {
        let mut all = Vec::with_capacity(n);
        for i in 0..n {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(format!("127.0.0.{}:0", i % 8 + 1).parse().unwrap()).unwrap();
            let stream = socket.connect(addr.parse().unwrap()).await.unwrap().into_std().unwrap();
            stream.set_nonblocking(false).unwrap();
            all.push(stream);
        }
        all
    })
}

fn healthz(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    read_until_closed(&mut s, Duration::from_secs(30)).expect("an answer")
}

#[test]
fn idle_connections_are_bounded_and_closed_when_they_send_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (child, rx) = spawn_serve(&dir.path().join("r.db"), &["--max-connections", "50", "--idle-timeout", "15"]);
    let server = Killed(child);
    let addr = address(&rx);
    let pid = server.0.id();
    assert!(healthz(&addr).starts_with("HTTP/1.1 200"));
    let before = rss_kib(pid);

    // 2,000 connections from eight client addresses (so that the limit of 50 binds before each client's
    // share of a quarter of it) open and send nothing. Those over the limit are told so at once and
    // closed; the others stay open for now.
    let mut idle: Vec<Option<TcpStream>> = connect_many(2000, &addr).into_iter().map(Some).collect();
    let mut refused = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while refused < 1950 && Instant::now() < deadline {
        for slot in idle.iter_mut() {
            let Some(s) = slot else { continue };
            if let Some(text) = read_until_closed(s, Duration::from_millis(1)) {
                assert!(text.starts_with("HTTP/1.1 503"), "a connection closed without the 503: '{text}'");
                assert!(text.contains("retry-after: 1") && text.contains("too_many_connections"), "{text}");
                refused += 1;
                *slot = None;
            }
        }
    }
    let during = rss_kib(pid);
    let held: Vec<TcpStream> = idle.into_iter().flatten().collect();
    assert!((1950..=1960).contains(&refused), "{refused} of 2,000 refused with a limit of 50");

    // Within the idle timeout (15 s) and a wide margin, the server closes every one it held.
    let deadline = Instant::now() + Duration::from_secs(60);
    for mut s in held {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(10));
        assert!(read_until_closed(&mut s, left).is_some(), "an idle connection was still open 60 s later");
    }
    // The server answers again, and holding the connections did not cost it much memory.
    assert!(healthz(&addr).starts_with("HTTP/1.1 200"));
    let grew_mib = during.saturating_sub(before) / 1024;
    assert!(grew_mib < 50, "2,000 idle connections raised RSS by {grew_mib} MiB ({before} KiB before)");
}

#[test]
fn a_half_sent_request_does_not_keep_sigterm_from_stopping_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (child, rx) = spawn_serve(&dir.path().join("r.db"), &[]);
    let mut server = Killed(child);
    let child = &mut server.0;
    let addr = address(&rx);
    // One client sends half a request head, another a head and half its body; both then wait.
    let mut head = TcpStream::connect(&addr).unwrap();
    head.write_all(b"POST /api/v1/trains HTTP/1.1\r\nHost: x\r\nContent-Le").unwrap();
    let mut body = TcpStream::connect(&addr).unwrap();
    body.write_all(b"POST /api/v1/trains HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ti")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let sent = Instant::now();
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    // The server stops within its 10 s grace period (the bound here is wide for a busy machine).
    let deadline = sent + Duration::from_secs(60);
    let exited = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let Some(status) = exited else {
        panic!("the server was still running 60 s after SIGTERM, held by two half-sent requests");
    };
    assert!(status.success(), "the server exited with {status}");
    let said: Vec<String> = rx.try_iter().collect();
    assert!(said.iter().any(|l| l == "Railyard stopped."), "{said:?}");
    // Both clients see their connection closed.
    assert!(read_until_closed(&mut head, Duration::from_secs(5)).is_some());
    assert!(read_until_closed(&mut body, Duration::from_secs(5)).is_some());
}

/// A server whose standard output and error nobody reads any more (a log pipe whose reader went away,
/// `railyard serve | head -1`) keeps serving: what it says is dropped, it never dies of it.
#[test]
fn a_server_whose_output_nobody_reads_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let db = dir.path().join("r.db");
    let mut child = Command::new(crate::common::BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database"])
        .arg(format!("sqlite://{}", db.display()))
        .env_remove("RAILYARD_ADMIN_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Both pipes closed before the server has said anything: every line it prints meets a closed pipe.
    drop(child.stdout.take());
    drop(child.stderr.take());
    let server = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answer = None;
    while Instant::now() < deadline && answer.is_none() {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            answer = text.lines().next().map(str::to_string);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut server = server;
    let exited = server.0.try_wait().unwrap();
    assert_eq!(exited, None, "the server died of its closed output (answer before: {answer:?})");
    assert_eq!(answer.as_deref(), Some("HTTP/1.1 200 OK"), "the server did not answer");
}
