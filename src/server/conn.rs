//! Connections: the accept loop and what each connection is served by.
//!
//! A connection whose first request is `GET /realtime/sse` is served straight
//! on the socket: the stream keeps no HTTP framework buffers (hyper holds two
//! 8 KiB buffers per connection), which is most of what an idle stream costs.
//! Every other connection goes to hyper and the router, with the bytes read
//! so far replayed. Both serve streams with the same [`sse::Session`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use axum::Router;
use bytes::{Buf, Bytes};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use nix::sys::socket::{self, MsgFlags};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;

use super::error::ApiError;
use super::params::Params;
use super::sse::{self, STREAM_HEADERS};
use super::{AppState, Metrics};
use crate::market::hub::{DirectWrite, QueueItem};
use crate::wire::{ErrorBody, ErrorDetail};

/// The route the lean path serves.
const SSE_PATH: &str = "/realtime/sse";
/// Largest request head read before deciding (larger ones go to hyper).
const MAX_HEAD: usize = 16 * 1024;
/// How long a new connection may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts until `shutdown`, then tells streams, stops accepting and waits
/// for every connection to finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    app: Router,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let tracker = TaskTracker::new();
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        tracker.spawn(connection(
            tcp,
            peer,
            state.clone(),
            app.clone(),
            graceful.watcher(),
        ));
    }
    drop(listener);
    state.shutdown.cancel();
    graceful.shutdown().await;
    tracker.close();
    tracker.wait().await;
    Ok(())
}

async fn connection(
    mut tcp: TcpStream,
    peer: SocketAddr,
    state: AppState,
    app: Router,
    watcher: Watcher,
) {
    // A connection that has not sent its request yet is dropped at shutdown.
    let head = tokio::select! {
        read = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut tcp)) => match read {
            Ok(Ok(Some(head))) => head,
            _ => return,
        },
        _ = state.shutdown.cancelled() => return,
    };
    if let Some(request) = lean_request(&head) {
        drop(head);
        lean_sse(tcp, peer, state, request).await;
        return;
    }
    let io = TokioIo::new(Rewind {
        prefix: Bytes::from(head),
        inner: tcp,
    });
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        tower::ServiceExt::oneshot(app.clone(), req.map(Body::new))
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(io, service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, %peer, "connection ended with an error");
    }
}

/// Reads until the end of the request head (or `MAX_HEAD` bytes). `None`
/// when the client closed before sending anything.
async fn read_head(tcp: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        if buf.len() >= MAX_HEAD || buf.windows(4).any(|w| w == b"\r\n\r\n") {
            return Ok(Some(buf));
        }
        buf.reserve(1024);
        if tcp.read_buf(&mut buf).await? == 0 {
            return Ok((!buf.is_empty()).then_some(buf));
        }
    }
}

/// A stream request the lean path can take: headers and query.
struct LeanRequest {
    headers: HeaderMap,
    query: String,
}

/// `GET /realtime/sse[?…]` over HTTP/1.x with nothing pipelined after it.
fn lean_request(head: &[u8]) -> Option<LeanRequest> {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut slots);
    let httparse::Status::Complete(len) = req.parse(head).ok()? else {
        return None;
    };
    let (path, query) = req.path?.split_once('?').unwrap_or((req.path?, ""));
    if req.method != Some("GET") || path != SSE_PATH || len != head.len() {
        return None;
    }
    let mut headers = HeaderMap::new();
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        headers.append(name, HeaderValue::from_bytes(h.value).ok()?);
    }
    if headers.contains_key("upgrade") {
        return None;
    }
    Some(LeanRequest {
        headers,
        query: query.to_string(),
    })
}

async fn lean_sse(mut tcp: TcpStream, peer: SocketAddr, state: AppState, request: LeanRequest) {
    let start = Instant::now();
    let request_id = request
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), String::from);
    let decision = state.auth.check_rate(peer.ip());
    let mut extra: Vec<(&str, String)> = state
        .auth
        .rate_headers(decision)
        .iter()
        .map(|(k, v)| (*k, v.to_string()))
        .collect();
    extra.push(("x-request-id", request_id));
    let opened = match decision.wait {
        Some(wait) => {
            let (error, secs) = super::auth::too_many_requests(wait);
            extra.push(("retry-after", secs.to_string()));
            Err(error)
        }
        None => match state.auth.denies(&request.headers) {
            Some(e) => Err(e),
            None => sse::open(
                &state,
                &request.headers,
                &Params::from_query(&request.query),
            ),
        },
    };
    let mut session = match opened {
        Ok(s) => s,
        Err(e) => {
            state
                .metrics
                .observe_http(SSE_PATH, e.status.as_u16(), start);
            let _ = write_error(&mut tcp, &e, &extra).await;
            return;
        }
    };
    let mut head = format!("HTTP/1.1 200 OK\r\n{STREAM_HEADERS}connection: close\r\n");
    for (k, v) in &extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    state.metrics.observe_http(SSE_PATH, 200, start);
    let tcp = Arc::new(tcp);
    session.attach(Box::new(SocketWriter {
        fd: tcp.as_raw_fd(),
        _socket: tcp.clone(),
        metrics: state.metrics.clone(),
    }));
    if write_all(&tcp, head.as_bytes()).await.is_err() {
        return;
    }
    while let Some(chunk) = session.next_chunk().await {
        if write_all(&tcp, &chunk).await.is_err() {
            return;
        }
    }
    drop(session);
    let _ = socket::shutdown(tcp.as_raw_fd(), socket::Shutdown::Write);
}

/// Writes all of `buf` to a socket shared with the hub's direct writes
/// (which only happen while the stream's own writer is parked).
async fn write_all(tcp: &TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        tcp.writable().await?;
        match tcp.try_write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A lean stream's socket as the hub's direct writer.
///
/// It sends on the descriptor itself rather than through tokio's readiness
/// wrapper: a fan-out touches a thousand of these in a row, and each level
/// of indirection is a cache miss. Tokio's readiness is left as it was; a
/// `WouldBlock` here hands the stream to its writer, whose first try finds
/// the socket full through tokio and then waits for it properly.
struct SocketWriter {
    /// `_socket`'s descriptor, valid (never reused) while it is held.
    fd: RawFd,
    _socket: Arc<TcpStream>,
    metrics: Arc<Metrics>,
}

impl DirectWrite for SocketWriter {
    fn try_write(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
        let sent = match bufs {
            // One event (the usual case): a plain send, no iovec to import.
            [one] => socket::send(self.fd, one, flags),
            _ => socket::sendmsg::<()>(self.fd, bufs, &[], flags, None),
        };
        sent.map_err(io::Error::from)
    }

    fn written(&self, item: &QueueItem) {
        self.metrics.delivered(item);
    }
}

async fn write_error(
    tcp: &mut TcpStream,
    e: &ApiError,
    extra: &[(&str, String)],
) -> io::Result<()> {
    let body = serde_json::to_vec(&ErrorBody {
        error: ErrorDetail {
            code: e.code.to_string(),
            message: e.message.clone(),
        },
    })
    .unwrap_or_default();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncache-control: no-store\r\ncontent-length: {}\r\nconnection: close\r\n",
        e.status.as_u16(),
        e.status.canonical_reason().unwrap_or(""),
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).await?;
    tcp.write_all(&body).await?;
    tcp.shutdown().await
}

/// A stream that first yields bytes already read from it.
struct Rewind {
    prefix: Bytes,
    inner: TcpStream,
}

impl AsyncRead for Rewind {
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

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_stream_request_takes_the_lean_path() {
        let lean = lean_request(
            b"GET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ab:3\r\n\r\n",
        )
        .unwrap();
        assert_eq!(lean.query, "symbols=SPY");
        assert_eq!(lean.headers["last-event-id"], "ab:3");
        for other in [
            &b"GET /api/history?symbol=SPY HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"POST /realtime/sse HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /realtime/sse HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\n\r\n",
            b"GET /realtime/sse HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n",
            b"GET /realtime/sse HTTP/1.1\r\nHost: x\r\n",
            b"GET /realtime/sseX HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                lean_request(other).is_none(),
                "{:?}",
                String::from_utf8_lossy(other)
            );
        }
    }
}
