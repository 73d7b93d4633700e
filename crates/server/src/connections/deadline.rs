//! A deadline for a whole request body: a client that sends its body a byte at a time cannot hold a
//! connection (and the handler waiting for the body) longer than this, however steadily it trickles.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project_lite::pin_project! {
    /// A request body that fails once its deadline passes.
    pub struct Deadline<B> {
        #[pin]
        inner: B,
        #[pin]
        sleep: Sleep,
        limit: Duration,
    }
}

impl<B> Deadline<B> {
    pub fn new(inner: B, limit: Duration) -> Self {
        Deadline { inner, sleep: tokio::time::sleep(limit), limit }
    }
}

impl<B> Body for Deadline<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.sleep.poll(cx).is_ready() {
            let why = format!("the request body did not arrive within {} s", this.limit.as_secs());
            return Poll::Ready(Some(Err(why.into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
