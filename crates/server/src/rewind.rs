//! The transport hyper serves an HTTP/1.1 connection on: the bytes read
//! before the connection was handed over are replayed first, and a write
//! whose peer takes nothing for the stall time fails (the socket is then
//! reset) — on plaintext TCP and TLS alike.

use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::conn::{zero_linger, Transport};
use super::liveness::{self, Blocked, Stalled};
use super::Metrics;

/// A connection that first yields bytes already read from it, and fails a
/// write whose peer takes nothing for `stall` (the socket is then reset).
pub(super) struct Rewind<T> {
    prefix: Bytes,
    inner: T,
    stall: Duration,
    /// Set while a write waits on a full socket (boxed: most never do).
    blocked: Option<Box<Blocked>>,
    metrics: Arc<Metrics>,
}

impl<T: Transport> Rewind<T> {
    /// `inner`, with `prefix` (read from it already) to be read first.
    pub(super) fn new(inner: T, prefix: Vec<u8>, stall: Duration, metrics: Arc<Metrics>) -> Self {
        Rewind {
            prefix: Bytes::from(prefix),
            inner,
            stall,
            blocked: None,
            metrics,
        }
    }

    /// Passes a write's outcome on; while the socket stays full, judges
    /// the peer's progress (the socket is reset when it takes nothing).
    fn progress<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if polled.is_ready() {
            self.blocked = None;
            return polled;
        }
        let (fd, stall): (RawFd, _) = (self.inner.fd(), self.stall);
        let blocked = self
            .blocked
            .get_or_insert_with(|| Box::new(Blocked::new(fd, stall)));
        let why = ready!(blocked.poll_stalled(cx));
        liveness::report(&self.metrics, why);
        zero_linger(fd);
        Poll::Ready(Err(Stalled(why).into_io()))
    }
}

impl<T: Transport> AsyncRead for Rewind<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: Transport> AsyncWrite for Rewind<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.progress(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.progress(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.progress(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
