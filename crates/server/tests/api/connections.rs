//! What one client can hold: its share of the connections, and a request body only for so long.

use std::sync::Arc;
use std::time::{Duration, Instant};

use railyard_server::ServeOptions;
use railyard_service::Service;
use railyard_store_sqlite::SqliteStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// A server with these options on a fresh SQLite file; its address and admin token.
async fn serve(options: ServeOptions) -> (String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("r.db")).unwrap());
    let service = Service::new(store);
    let admin = service.bootstrap_admin(None).await.unwrap().token().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(railyard_server::serve_with(listener, service, options, std::future::pending()));
    (addr, admin, dir)
}

/// A connection from the loopback address `from` (127.0.0.x).
async fn connect_from(from: &str, to: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to.parse().unwrap()).await.unwrap()
}

/// What the server sends until it closes the connection, or `None` if it is still open after `wait`.
async fn until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&got).into_owned())
}

async fn healthz(stream: &mut TcpStream) -> String {
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    until_closed(stream, Duration::from_secs(30)).await.expect("an answer")
}

#[tokio::test]
async fn one_client_gets_a_quarter_of_the_connections_and_others_are_still_served() {
    let (addr, _, _dir) = serve(ServeOptions { max_connections: 40, ..ServeOptions::default() }).await;
    // One client opens 15 connections and sends nothing: 10 (a quarter of 40) are held, the rest are
    // told the server is busy and closed.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..15 {
        let mut s = connect_from("127.0.0.1", &addr).await;
        match until_closed(&mut s, Duration::from_millis(300)).await {
            Some(text) => {
                assert!(text.starts_with("HTTP/1.1 503") && text.contains("too_many_connections"), "{text}");
                refused += 1;
            }
            None => held.push(s),
        }
    }
    assert_eq!((held.len(), refused), (10, 5));
    // Another client is served.
    let mut other = connect_from("127.0.0.2", &addr).await;
    assert!(healthz(&mut other).await.starts_with("HTTP/1.1 200"));
    // Once the first client lets one go, it may open one again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect_from("127.0.0.1", &addr).await;
    assert!(healthz(&mut again).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_at_its_deadline() {
    let options = ServeOptions { body_timeout: Duration::from_secs(2), ..ServeOptions::default() };
    let (addr, admin, _dir) = serve(options).await;
    let mut s = connect_from("127.0.0.1", &addr).await;
    let head = format!(
        "POST /api/v1/trains HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // A byte every half second: each arrives well within any per-read timeout, but the whole body would
    // take over eight minutes.
    let started = Instant::now();
    let (mut reader, mut writer) = s.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..1000 {
            if writer.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let answer = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    trickle.abort();
    assert!(answer.is_ok(), "the connection was still open 60 s into a trickled body");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 4"), "{text}");
    assert!(text.contains("did not arrive within 2 s"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(60));
}
