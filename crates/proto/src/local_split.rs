//! A stream split into a reading and a writing half that live on one thread, as every driver
//! does (a current-thread runtime, one `LocalSet`). The halves share the stream through an
//! `Rc<RefCell<_>>`: each poll borrows it for the poll alone, and a poll of one half never
//! polls the other, so a borrow never meets another. `tokio::io::split` and
//! `futures::StreamExt::split` do the same across threads, paying a lock (and a waker) on
//! every poll of every frame.
//!
//! Like theirs, the stream is dropped (closed) when both halves are; the halves keep their
//! own wakers because the stream keeps separate read and write wakers (tokio's and a simulator's
//! TCP streams, tokio-tungstenite's WebSocket stream all do).

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The reading half of a stream split by [`split`].
#[derive(Debug)]
pub struct ReadHalf<S>(Rc<RefCell<S>>);

/// The writing half of a stream split by [`split`].
#[derive(Debug)]
pub struct WriteHalf<S>(Rc<RefCell<S>>);

/// Splits `stream` into halves that can be polled by different futures of one thread.
pub fn split<S: Unpin>(stream: S) -> (ReadHalf<S>, WriteHalf<S>) {
    let shared = Rc::new(RefCell::new(stream));
    (ReadHalf(Rc::clone(&shared)), WriteHalf(shared))
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadHalf<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteHalf<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_shutdown(cx)
    }
}

impl<S: Stream + Unpin> Stream for ReadHalf<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_next(cx)
    }
}

impl<S: Sink<T> + Unpin, T> Sink<T> for WriteHalf<S> {
    type Error = S::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), S::Error> {
        Pin::new(&mut *self.0.borrow_mut()).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn both_halves_work_at_once_and_the_stream_closes_when_both_are_dropped() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let (near, mut far) = tokio::io::duplex(64);
            let (mut rd, mut wr) = split(near);
            // A read waiting on one half does not stop a write on the other.
            let reading = async {
                let mut got = [0u8; 5];
                rd.read_exact(&mut got).await.map(|_| got)
            };
            let writing = async {
                wr.write_all(b"ping").await?;
                far.write_all(b"hello").await?;
                let mut got = [0u8; 4];
                far.read_exact(&mut got).await.map(|_| got)
            };
            let (read, written) = tokio::join!(reading, writing);
            assert_eq!(&read.expect("read"), b"hello");
            assert_eq!(&written.expect("written"), b"ping");
            // One half dropped: the stream stays open.
            drop(wr);
            far.write_all(b"x").await.expect("still open");
            let mut one = [0u8; 1];
            rd.read_exact(&mut one)
                .await
                .expect("read after the write half went");
            // Both dropped: the far end sees the end of the stream.
            drop(rd);
            let mut rest = Vec::new();
            assert_eq!(far.read_to_end(&mut rest).await.expect("eof"), 0);
        });
    }
}
