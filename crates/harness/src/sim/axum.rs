//! axum on a simulated host (feature `axum`): `axum::serve(host.listener, app)` is the whole
//! server side of a test, with the same `Router` the production binary serves.
//!
//! `axum::serve` gives hyper a tokio timer for its header read timeout (30 s from the first
//! read of a request's head until the head is complete), which wsim's ledger cannot see. So
//! that a run may still skip idle time, each accepted stream announces that deadline itself
//! ([`wsim_time::Timer`]) until the head's blank line has been read: the run never skips past
//! the moment hyper would give up on a head that a partition holds back.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::sim::net::{SimListener, SimStream};

/// hyper's default header read timeout, which `axum::serve` turns on.
const HYPER_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

impl axum::serve::Listener for SimListener {
    type Io = SimHttpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match SimListener::accept(self).await {
                Ok((stream, peer)) => return (SimHttpStream::new(stream), peer),
                // A simulated listener fails only while its host goes down; axum's own
                // listeners retry too.
                Err(e) => {
                    tracing::debug!(error = %e, "simulated accept failed; retrying");
                    wsim_time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        SimListener::local_addr(self)
    }
}

/// A connection accepted for axum: a [`SimStream`] that announces hyper's header read
/// deadline until the request head is complete.
#[derive(Debug)]
pub struct SimHttpStream {
    inner: SimStream,
    /// Armed for hyper's deadline until the head's end (`\r\n\r\n`) is read.
    head: Option<wsim_time::Timer>,
    /// The last bytes read, to find a blank line split across reads.
    tail: [u8; 3],
}

impl SimHttpStream {
    // The simulated host's clock, read where hyper reads it.
    #[allow(clippy::disallowed_methods)]
    fn new(inner: SimStream) -> Self {
        let mut head = wsim_time::Timer::new();
        head.arm_by(Some(wsim_time::Instant::now() + HYPER_HEADER_READ_TIMEOUT));
        SimHttpStream {
            inner,
            head: Some(head),
            tail: [0; 3],
        }
    }

    /// Watches `read` for the end of the request head.
    fn saw(&mut self, read: &[u8]) {
        if self.head.is_none() || read.is_empty() {
            return;
        }
        let mut window = self.tail.to_vec();
        window.extend_from_slice(read);
        if window.windows(4).any(|w| w == b"\r\n\r\n") {
            self.head = None;
        }
        let keep = window.len().min(3);
        self.tail = [0; 3];
        self.tail[3 - keep..].copy_from_slice(&window[window.len() - keep..]);
    }
}

impl AsyncRead for SimHttpStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.head.is_some() && matches!(polled, Poll::Ready(Ok(()))) {
            let read = buf.filled()[before..].to_vec();
            self.saw(&read);
        }
        polled
    }
}

impl AsyncWrite for SimHttpStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
