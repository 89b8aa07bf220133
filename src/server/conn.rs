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
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use bytes::{Buf, Bytes};
use futures::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use nix::sys::socket::{self, MsgFlags};
use std::panic::AssertUnwindSafe;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::admission::{self, admit, is_cors_origin, BrowserPolicy, SSE_PATH};
use super::error::ApiError;
use super::sse::{self, STREAM_HEADERS};
use super::{AppState, Metrics};
use crate::market::hub::{DirectWrite, QueueItem};

/// Largest request head (both paths): beyond it, 431.
const MAX_HEAD: usize = 16 * 1024;

/// Accepts until `shutdown`, then tells streams, stops accepting and waits
/// for every connection to finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    app: Router,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let tracker = TaskTracker::new();
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
        let permit = state.admission.connection();
        let metrics = state.metrics.clone();
        let served = connection(tcp, peer, state.clone(), app.clone());
        tracker.spawn(async move {
            // A panic ends this connection only: logged, counted.
            if let Err(panic) = AssertUnwindSafe(served).catch_unwind().await {
                metrics.panicked();
                tracing::error!(%peer, panic = panic_message(&*panic), "connection ended by a panic");
            }
            drop(permit);
        });
    }
    drop(listener);
    state.shutdown.cancel();
    tracker.close();
    tracker.wait().await;
    Ok(())
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not text)")
}

async fn connection(mut tcp: TcpStream, peer: SocketAddr, state: AppState, app: Router) {
    let limits = &state.config.limits;
    // A connection that has not sent its request yet is dropped at shutdown.
    // Every phase is boxed: a task is as large as its largest phase, and
    // thousands of streams wait in the last one.
    let read = Box::pin(async {
        tokio::select! {
            read = tokio::time::timeout(limits.header_timeout, read_head(&mut tcp)) => Some(read),
            _ = state.shutdown.cancelled() => None,
        }
    })
    .await;
    let Some(read) = read else {
        return;
    };
    let head = match read {
        Ok(Ok(Head::Complete(head))) => head,
        Ok(Ok(Head::Closed)) | Ok(Err(_)) => return,
        Ok(Ok(Head::TooLarge)) => {
            let e = ApiError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "header_too_large",
                format!("the request head is over {} KiB", MAX_HEAD / 1024),
            );
            let _ = write_refusal(&mut tcp, &e, &[]).await;
            return;
        }
        Err(_) => {
            let e = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "the request head did not arrive within {:?} (--header-timeout)",
                    limits.header_timeout
                ),
            );
            let _ = write_refusal(&mut tcp, &e, &[]).await;
            return;
        }
    };
    if let Some(request) = lean_request(&head, &state.config.browser) {
        drop(head);
        // Boxed: admission's state is transient, the stream should not carry it.
        if let Some(opened) = Box::pin(lean_open(tcp, peer, &state, request)).await {
            Box::pin(lean_stream(opened, peer, &state)).await;
        }
        return;
    }
    // Boxed: its state is large, and the lean streams should not pay for it.
    Box::pin(routed(tcp, head, peer, state, app)).await;
}

/// Serves a connection with hyper and the router, the bytes read so far
/// replayed first.
async fn routed(tcp: TcpStream, head: Vec<u8>, peer: SocketAddr, state: AppState, app: Router) {
    let limits = &state.config.limits;
    let kill = CancellationToken::new();
    let fd = tcp.as_raw_fd();
    let io = TokioIo::new(Rewind {
        prefix: Bytes::from(head),
        inner: tcp,
        stall: limits.stall_timeout,
        stall_timer: None,
        metrics: state.metrics.clone(),
    });
    let request_kill = kill.clone();
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(request_kill.clone());
        tower::ServiceExt::oneshot(app.clone(), req.map(Body::new))
    });
    // With upgrades: the voice WebSocket takes the connection over.
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD.max(8192))
        .serve_connection(io, service)
        .with_upgrades();
    let mut conn = pin!(conn);
    let mut draining = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                break;
            }
            // Shutdown: finish the request in flight, then close.
            _ = state.shutdown.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            // A stream's queue overflowed: reset the socket now (the
            // connection, which owns the descriptor, is still alive here).
            _ = async {
                kill.cancelled().await;
                // SAFETY: the connection that owns `fd` is alive while this
                // branch runs (select! drops the other branch afterwards).
                reset(&unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
            } => break,
        }
    }
}

/// Drops what the socket still has to send and resets it: a client that
/// fell too far behind is gone at once, its buffers freed.
fn reset(socket: &impl AsFd) {
    let fd = socket.as_fd();
    let _ = socket::setsockopt(
        &fd,
        socket::sockopt::Linger,
        &nix::libc::linger {
            l_onoff: 1,
            l_linger: 0,
        },
    );
    let _ = socket::shutdown(fd.as_raw_fd(), socket::Shutdown::Both);
}

/// What [`read_head`] found.
enum Head {
    /// A whole request head (and whatever followed it in the same reads).
    Complete(Vec<u8>),
    /// Closed before a head.
    Closed,
    /// No end of head within [`MAX_HEAD`].
    TooLarge,
}

/// Reads until the end of the request head — a blank line, `CRLF CRLF` or
/// bare `LF LF` as hyper accepts — scanning only the new bytes of each read.
async fn read_head(tcp: &mut TcpStream) -> io::Result<Head> {
    let mut buf = Vec::with_capacity(1024);
    let mut scanned = 0;
    loop {
        if head_end(&buf, scanned).is_some() {
            return Ok(Head::Complete(buf));
        }
        if buf.len() >= MAX_HEAD {
            return Ok(Head::TooLarge);
        }
        // The end may straddle reads: rescan the last three bytes.
        scanned = buf.len().saturating_sub(3);
        buf.reserve(1024);
        if tcp.read_buf(&mut buf).await? == 0 {
            return Ok(if buf.is_empty() {
                Head::Closed
            } else {
                Head::Complete(buf)
            });
        }
    }
}

/// Where the head ends (after its blank line), looking from `from` on.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(pos) = memchr_lf(&buf[i..]) {
        let lf = i + pos;
        if buf.get(lf + 1) == Some(&b'\n') {
            return Some(lf + 2);
        }
        if buf.get(lf + 1) == Some(&b'\r') && buf.get(lf + 2) == Some(&b'\n') {
            return Some(lf + 3);
        }
        i = lf + 1;
    }
    None
}

fn memchr_lf(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|b| *b == b'\n')
}

/// A stream request the lean path can take: its head, parsed.
struct LeanRequest {
    headers: HeaderMap,
    path: String,
    query: String,
}

/// `GET /realtime/sse[?…]` over HTTP/1.x with nothing pipelined after it,
/// not an upgrade, and not from a `--cors-origin` (those go to the router,
/// whose CORS layer answers them).
fn lean_request(head: &[u8], browser: &BrowserPolicy) -> Option<LeanRequest> {
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
    if let Some(origin) = headers.get("origin").and_then(|o| o.to_str().ok()) {
        if is_cors_origin(origin, browser) {
            return None;
        }
    }
    Some(LeanRequest {
        headers,
        path: path.to_string(),
        query: query.to_string(),
    })
}

/// Admits and subscribes a stream: the socket, the session and the
/// response head to write; `None` once a refusal has been written.
async fn lean_open(
    tcp: TcpStream,
    peer: SocketAddr,
    state: &AppState,
    request: LeanRequest,
) -> Option<Opened> {
    let request_id = request
        .headers
        .get("x-request-id")
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .unwrap_or(HeaderValue::from_static("-"))
        });
    let uri = if request.query.is_empty() {
        request.path.clone()
    } else {
        format!("{}?{}", request.path, request.query)
    };
    // The access-log span covers admission and the response head, as the
    // router's does; it is not kept for the stream's life (a span held by
    // thousands of idle streams costs more than the streams themselves).
    let span = super::access_span("GET", &uri, request_id.to_str().unwrap_or("-"));
    admit_stream(tcp, peer, state, request, request_id)
        .instrument(span)
        .await
}

/// A stream let in: its socket, session and response head.
struct Opened {
    tcp: TcpStream,
    session: sse::Session,
    head: Vec<u8>,
}

async fn admit_stream(
    mut tcp: TcpStream,
    peer: SocketAddr,
    state: &AppState,
    request: LeanRequest,
    request_id: HeaderValue,
) -> Option<Opened> {
    let start = Instant::now();
    let id_header = [(HeaderName::from_static("x-request-id"), request_id)];
    let head = admission::Head {
        method: &Method::GET,
        path: &request.path,
        query: &request.query,
        headers: &request.headers,
        peer,
    };
    let opened = admit(state, &head).and_then(|admitted| {
        let (Some(stream), Some(permit)) = (admitted.stream, admitted.permit) else {
            return Err(ApiError::internal("stream was not admitted"));
        };
        let session = sse::open(state, stream, permit)?;
        Ok((session, admitted.headers))
    });
    let (session, headers) = match opened {
        Ok(s) => s,
        Err(e) => {
            state
                .metrics
                .observe_http(SSE_PATH, e.status.as_u16(), start);
            tracing::debug!(status = e.status.as_u16(), latency = ?start.elapsed(), "finished processing request");
            let _ = write_refusal(&mut tcp, &e, &id_header).await;
            return None;
        }
    };
    let mut head = format!("HTTP/1.1 200 OK\r\n{STREAM_HEADERS}connection: close\r\n").into_bytes();
    for (name, value) in headers.iter().chain(&id_header) {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    state.metrics.observe_http(SSE_PATH, 200, start);
    tracing::debug!(status = 200, latency = ?start.elapsed(), "finished processing request");
    Some(Opened { tcp, session, head })
}

/// Writes an admitted stream until it ends, is closed for overflow (the
/// queue resets the socket) or a stall, or its client hangs up. Kept
/// small: thousands of these wait at once.
async fn lean_stream(opened: Opened, peer: SocketAddr, state: &AppState) {
    let Opened {
        tcp,
        mut session,
        head,
    } = opened;
    let tcp = Arc::new(tcp);
    session.attach(Box::new(SocketWriter {
        fd: tcp.as_raw_fd(),
        socket: tcp.clone(),
        metrics: state.metrics.clone(),
    }));
    let stall = state.config.limits.stall_timeout;
    let written = async {
        write_all(&tcp, &head, stall).await?;
        drop(head);
        while let Some(chunk) = session.next_chunk().await {
            write_all(&tcp, &chunk, stall).await?;
        }
        Ok::<_, io::Error>(())
    };
    let outcome = tokio::select! {
        w = written => w,
        // A client that hangs up is gone now, not at the next write.
        _ = hung_up(&tcp) => Ok(()),
    };
    match outcome {
        Ok(()) => {
            let _ = socket::shutdown(tcp.as_raw_fd(), socket::Shutdown::Write);
        }
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {
            state.metrics.stalled();
            tracing::info!(%peer, "stream closed: no write progress within --stall-timeout");
            reset(&tcp);
        }
        Err(_) => {}
    }
}

/// Resolves when the client closes its side (or the socket fails); what a
/// stream client sends is read and ignored. Polls read readiness directly:
/// the future is one reference, not a waiter node.
fn hung_up(tcp: &TcpStream) -> impl Future<Output = ()> + '_ {
    std::future::poll_fn(move |cx| loop {
        match tcp.poll_read_ready(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(_)) => return Poll::Ready(()),
            Poll::Ready(Ok(())) => {}
        }
        match tcp.try_read(&mut [0u8; 64]) {
            Ok(0) => return Poll::Ready(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return Poll::Ready(()),
        }
    })
}

/// Writes all of `buf` to a socket shared with the hub's direct writes
/// (which only happen while the stream's own writer is parked); `TimedOut`
/// when the socket takes nothing for `stall`.
async fn write_all(tcp: &TcpStream, mut buf: &[u8], stall: Duration) -> io::Result<()> {
    while !buf.is_empty() {
        match tcp.try_write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => writable(tcp, stall).await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Waits until the socket takes bytes again, at most `stall`. Boxed: a
/// stream only waits here when its socket is full, and the timer would
/// otherwise sit in every idle stream's state.
fn writable(
    tcp: &TcpStream,
    stall: Duration,
) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>> {
    Box::pin(async move {
        let ready = std::future::poll_fn(|cx| tcp.poll_write_ready(cx));
        tokio::time::timeout(stall, ready)
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
    })
}

/// Flags of a direct send: never block; on Linux, no SIGPIPE for a closed
/// peer (elsewhere the Rust runtime already ignores SIGPIPE).
#[cfg(target_os = "linux")]
const SEND_FLAGS: MsgFlags = MsgFlags::MSG_DONTWAIT.union(MsgFlags::MSG_NOSIGNAL);
#[cfg(not(target_os = "linux"))]
const SEND_FLAGS: MsgFlags = MsgFlags::MSG_DONTWAIT;

/// A lean stream's socket as the hub's direct writer.
///
/// It sends on the descriptor itself rather than through tokio's readiness
/// wrapper: a fan-out touches a thousand of these in a row, and each level
/// of indirection is a cache miss. Tokio's readiness is left as it was; a
/// `WouldBlock` here hands the stream to its writer, whose first try finds
/// the socket full through tokio and then waits for it properly.
struct SocketWriter {
    /// `socket`'s descriptor, valid (never reused) while it is held.
    fd: RawFd,
    socket: Arc<TcpStream>,
    metrics: Arc<Metrics>,
}

impl DirectWrite for SocketWriter {
    fn try_write(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let flags = SEND_FLAGS;
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

    fn abort(&self) {
        reset(&*self.socket);
    }
}

/// Writes a refusal as raw HTTP/1.1 (the same bytes the router would
/// send) and closes the connection.
async fn write_refusal(
    tcp: &mut TcpStream,
    e: &ApiError,
    extra: &[(HeaderName, HeaderValue)],
) -> io::Result<()> {
    tcp.write_all(&e.to_http1(extra)).await?;
    tcp.shutdown().await
}

/// A connection that first yields bytes already read from it, and fails a
/// write that makes no progress for `stall` (the socket is then reset).
struct Rewind {
    prefix: Bytes,
    inner: TcpStream,
    stall: Duration,
    stall_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    metrics: Arc<Metrics>,
}

impl Rewind {
    /// Passes a write's outcome on, timing how long it has been pending.
    fn progress(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if polled.is_ready() {
            self.stall_timer = None;
            return polled;
        }
        let stall = self.stall;
        let timer = self
            .stall_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.metrics.stalled();
        let _ = self.inner.set_zero_linger();
        Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
    }
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
        let none = BrowserPolicy::default();
        let lean = lean_request(
            b"GET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ab:3\r\n\r\n",
            &none,
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
                lean_request(other, &none).is_none(),
                "{:?}",
                String::from_utf8_lossy(other)
            );
        }
    }
}

#[cfg(test)]
mod head_tests {
    use super::head_end;

    #[test]
    fn heads_end_at_a_blank_line_with_either_line_ending() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\n", 0), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\n", 0), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n", 0), None);
        // Scanning from late in the buffer still finds an end that began earlier.
        let buf = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(head_end(buf, buf.len() - 3), Some(buf.len()));
    }
}
