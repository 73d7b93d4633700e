//! A lingering close. When the server answers before it has read a request's body (a 413 for a body
//! over the limit, say), closing the socket with that body still arriving makes the kernel reset the
//! connection, and a client that writes its whole body before it reads (most HTTP libraries do) sees
//! "connection reset" or "broken pipe" instead of the answer. So when the connection closes, the server
//! first ends its side (FIN: the answer is complete), then reads and throws away what the client still
//! sends, until the client closes too, [`LINGER_BYTES`] arrived or [`LINGER_TIME`] passed.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// The most a closing connection reads and throws away.
pub const LINGER_BYTES: usize = 64 * 1024 * 1024;
/// The longest a closing connection waits for the client to stop sending.
pub const LINGER_TIME: Duration = Duration::from_secs(5);

/// A stream whose shutdown lingers (see the module's documentation).
pub struct Lingering<S> {
    inner: S,
    state: Close,
    time: Duration,
    bytes: usize,
}

enum Close {
    Open,
    /// Our side is shut; draining what the client still sends.
    Draining {
        deadline: Pin<Box<Sleep>>,
        drained: usize,
    },
    Done,
}

impl<S> Lingering<S> {
    /// Lingers up to [`LINGER_TIME`] and [`LINGER_BYTES`].
    pub fn new(inner: S) -> Self {
        Lingering::with(inner, LINGER_TIME, LINGER_BYTES)
    }

    /// Lingers up to `time` and `bytes`.
    pub fn with(inner: S, time: Duration, bytes: usize) -> Self {
        Lingering { inner, state: Close::Open, time, bytes }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Lingering<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Lingering<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                Close::Open => {
                    ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
                    let deadline = Box::pin(tokio::time::sleep(this.time));
                    this.state = Close::Draining { deadline, drained: 0 };
                }
                Close::Draining { deadline, drained } => {
                    if deadline.as_mut().poll(cx).is_ready() || *drained >= this.bytes {
                        this.state = Close::Done;
                        continue;
                    }
                    let mut scratch = [0u8; 16 * 1024];
                    let mut buf = ReadBuf::new(&mut scratch);
                    match ready!(Pin::new(&mut this.inner).poll_read(cx, &mut buf)) {
                        Ok(()) if !buf.filled().is_empty() => *drained += buf.filled().len(),
                        // The client closed (or the connection failed): nothing more to wait for.
                        _ => this.state = Close::Done,
                    }
                }
                Close::Done => return Poll::Ready(Ok(())),
            }
        }
    }
}
