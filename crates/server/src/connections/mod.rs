//! Serving connections: a bound on how many are open at once, timeouts that close a connection which
//! sends nothing, and a shutdown that ends in bounded time whatever the clients do.
//!
//! - **At most [`ServeOptions::max_connections`] at once**, and at most a quarter of them from one
//!   client address (trusted proxies excepted, as they carry many clients). One more is accepted only to
//!   be told `503 Service Unavailable` with `Retry-After` and closed at once, so a flood of idle sockets
//!   can neither exhaust the server's memory nor leave a real client hanging in the listen queue, and
//!   one client cannot take every connection.
//! - **Idle and header timeouts.** A connection must send a whole request head within
//!   [`ServeOptions::idle_timeout`] of being opened, and of its previous response on a kept-alive
//!   connection; otherwise it is closed. A whole request body must arrive within
//!   [`ServeOptions::body_timeout`], however steadily it trickles ([`deadline`]). A client that opens
//!   sockets and sends nothing, or half a request, holds nothing for long.
//! - **A lingering close** ([`linger`]): an answer given before the body was read (413) reaches a
//!   client that writes its whole body before it reads.
//! - **Shutdown.** When the shutdown future completes, the listener closes, idle connections close, and
//!   requests in progress get [`ServeOptions::shutdown_grace`] to finish; connections still open then
//!   (a half-sent request, a stalled reader) are dropped. `serve` therefore returns within the grace
//!   period of the signal.

mod deadline;
mod linger;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use railyard_service::{ClientAddress, TrustedProxy};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How the server treats its connections. [`ServeOptions::default`] is what `railyard serve` uses unless
/// told otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Connections open at once; one more is answered 503 and closed. Default 1,024.
    pub max_connections: usize,
    /// How long a connection may take to send a request head, counted from its opening or from its
    /// previous response: a connection idle this long is closed. Default 30 s.
    pub idle_timeout: Duration,
    /// How long a whole request body may take to arrive. Default 120 s.
    pub body_timeout: Duration,
    /// How long requests in progress may take to finish once shutdown began. Default 10 s.
    pub shutdown_grace: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see [`ClientAddress`]). Default none.
    pub trusted_proxies: Vec<TrustedProxy>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_connections: 1024,
            idle_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(120),
            shutdown_grace: Duration::from_secs(10),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The answer to a connection over the limit. It is written before the request is read (there is no
/// room to read it), so it closes the connection.
fn busy(max: usize) -> Vec<u8> {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "code": "too_many_connections",
        "detail": format!("the server has its {max} connections open; try again in a moment"),
    })
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Accepts connections until `shutdown` completes, then closes them as [`ServeOptions`] says.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let busy: Arc<[u8]> = busy(options.max_connections).into();
    let trusted: Arc<[TrustedProxy]> = options.trusted_proxies.clone().into();
    let per_client = PerClient::new((options.max_connections / 4).max(1));
    let body_timeout = options.body_timeout;
    let graceful = GracefulShutdown::new();
    let mut open: JoinSet<()> = JoinSet::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(options.idle_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        while open.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let peer_ip = peer.ip().to_canonical();
        let client_slot = if trusted.iter().any(|t| t.contains(peer_ip)) {
            Some(ClientSlot::exempt())
        } else {
            per_client.take(peer_ip)
        };
        let (Ok(slot), Some(client_slot)) = (slots.clone().try_acquire_owned(), client_slot) else {
            open.spawn(refuse(stream, busy.clone()));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let trusted = trusted.clone();
        let service = router.clone().map_request(move |mut req: hyper::Request<_>| {
            let forwarded = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
            let client = ClientAddress::judge(peer.ip(), forwarded, &trusted);
            req.extensions_mut().insert(client);
            req.extensions_mut().insert(ConnectInfo(peer));
            req.map(|body| deadline::Deadline::new(body, body_timeout))
        });
        let conn =
            http.serve_connection(TokioIo::new(linger::Lingering::new(stream)), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        open.spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop((slot, client_slot));
        });
    }
    drop(listener);
    // Idle connections close at once; requests in progress get the grace period; then the rest are cut.
    if tokio::time::timeout(options.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::info!(left = open.len(), "connections still open after the shutdown grace period are closed");
    }
    open.shutdown().await;
    Ok(())
}

/// How many connections each client address has open.
type Counts = Arc<Mutex<HashMap<IpAddr, usize>>>;

struct PerClient {
    counts: Counts,
    limit: usize,
}

/// One connection of a client; the count goes down when it is dropped.
struct ClientSlot {
    counted: Option<(Counts, IpAddr)>,
}

impl ClientSlot {
    /// A slot that counts nothing (a trusted proxy's connection).
    fn exempt() -> Self {
        ClientSlot { counted: None }
    }
}

impl PerClient {
    fn new(limit: usize) -> Self {
        PerClient { counts: Arc::default(), limit }
    }

    /// A slot for `ip`; `None` when the client has its share open.
    fn take(&self, ip: IpAddr) -> Option<ClientSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(ip).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(ClientSlot { counted: Some((self.counts.clone(), ip)) })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        if let Some((counts, ip)) = &self.counted {
            let mut counts = counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(n) = counts.get_mut(ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.remove(ip);
                }
            }
        }
    }
}

/// Tells a connection over the limit that the server is busy, and closes it, lingering a moment so that
/// a client already sending its request still reads the answer (briefly: a flood of refused connections
/// must not hold descriptors for long).
async fn refuse(stream: TcpStream, answer: Arc<[u8]>) {
    let mut stream = linger::Lingering::with(stream, Duration::from_secs(1), 64 * 1024);
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        let _ = stream.write_all(&answer).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// The client address of a request, where the server judged it (see [`ClientAddress`]); the TCP peer
/// where only that is known (a server started with `into_make_service_with_connect_info`).
pub fn client_address(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<ClientAddress>()
        .map(|c| c.0)
        .or_else(|| extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_canonical()))
}
