//! A tiny HTTP/1.1 server on 127.0.0.1:0 for the tests: each connection's request is handed to the
//! test (as text) and answered as the test says.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How to answer one request.
pub struct Reply {
    /// Wait this long before answering at all.
    pub delay: Duration,
    pub status: u16,
    pub body: Vec<u8>,
    /// Send the headers and the first byte of the body, then stall this long.
    pub stall_body: Option<Duration>,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Reply { delay: Duration::ZERO, status, body: body.into(), stall_body: None }
    }
}

/// Starts the server; returns its address and the requests it receives (head and body as text).
pub async fn start<F>(reply: F) -> (SocketAddr, mpsc::UnboundedReceiver<String>)
where
    F: Fn(&str) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("address");
    let (tx, rx) = mpsc::unbounded_channel();
    let reply = Arc::new(reply);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (reply, tx) = (reply.clone(), tx.clone());
            tokio::spawn(async move {
                let _ = serve(stream, &*reply, &tx).await;
            });
        }
    });
    (addr, rx)
}

async fn serve<F: Fn(&str) -> Reply>(
    mut stream: TcpStream,
    reply: &F,
    tx: &mpsc::UnboundedSender<String>,
) -> std::io::Result<()> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(pos) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let request = String::from_utf8_lossy(&data).into_owned();
    let answer = reply(&request);
    let _ = tx.send(request);
    tokio::time::sleep(answer.delay).await;
    let head =
        format!("HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", answer.status, answer.body.len());
    stream.write_all(head.as_bytes()).await?;
    if let Some(stall) = answer.stall_body {
        stream.write_all(&answer.body[..1]).await?;
        tokio::time::sleep(stall).await;
        stream.write_all(&answer.body[1..]).await?;
    } else {
        stream.write_all(&answer.body).await?;
    }
    stream.shutdown().await
}
