//! Connections: the accept loop and what each connection is served by
//! (the lean stream path is in [`super::lean`]).
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
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use axum::Router;
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use nix::sys::socket;
use std::panic::AssertUnwindSafe;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::error::ApiError;
use super::lean::Opened;
use super::rewind::Rewind;
use super::sse::SocketFd;
use super::AppState;

/// Largest request head (both paths): beyond it, 431.
pub(super) const MAX_HEAD: usize = 16 * 1024;

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
        tune(&tcp, &state.config.limits);
        let permit = state.admission.connection();
        let (state, app) = (state.clone(), app.clone());
        // The connection's future is made inside the task, not moved into
        // it: a future captured and then awaited is stored twice.
        tracker.spawn(async move {
            let metrics = state.metrics.clone();
            // TLS boxed: a plaintext connection's task stays its size.
            let served = match state.config.tls.clone() {
                None => {
                    let plain = http1_connection(tcp, peer, state, app);
                    AssertUnwindSafe(plain).catch_unwind().await
                }
                Some(tls) => {
                    let secure = super::https::connection(tcp, peer, state, app, tls);
                    AssertUnwindSafe(Box::pin(secure)).catch_unwind().await
                }
            };
            // A panic ends this connection only: logged, counted.
            if let Err(panic) = served {
                metrics.panicked();
                tracing::error!(%peer, panic = panic_message(&*panic), "connection ended by a panic");
            }
            drop(permit);
        });
    }
    drop(listener);
    state.shutdown.cancel();
    state.metrics.set_draining(true);
    state.admission.voice.dismiss(true);
    // Streams end in waves across the drain window, not all at once.
    let (waves, hub) = (state.waves.clone(), state.hub.clone());
    let metrics = state.metrics.clone();
    let drain = state.config.drain;
    // Not tracked: with no stream left, nothing waits for the last wave.
    tokio::spawn(async move { waves.run(drain, &hub, &metrics).await });
    tracker.close();
    tracker.wait().await;
    Ok(())
}

/// Socket options of every accepted connection: no Nagle delay, and at
/// most `--stream-sndbuf` of kernel send buffer (what a stalled peer can
/// pin). No `TCP_USER_TIMEOUT`: while a slow reader's window stays too
/// small for the next queued segment the kernel counts it as unanswered
/// probing and would abort a peer that is still reading; liveness is
/// judged by progress instead ([`super::liveness`]).
fn tune(tcp: &TcpStream, limits: &super::admission::Limits) {
    let _ = tcp.set_nodelay(true);
    if limits.stream_sndbuf > 0 {
        let _ = socket::setsockopt(tcp, socket::sockopt::SndBuf, &limits.stream_sndbuf);
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not text)")
}

/// How an HTTP/1.x connection is carried: plaintext TCP or TLS over it.
/// Both are served the same way ([`http1_connection`]); only a lean
/// stream's writing differs.
pub(super) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The TCP socket's descriptor (valid while the transport is held).
    fn fd(&self) -> RawFd;

    /// Writes an admitted lean stream on this transport until it ends.
    fn lean_stream(
        opened: Opened<Self>,
        state: &AppState,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>
    where
        Self: Sized;
}

impl Transport for TcpStream {
    fn fd(&self) -> RawFd {
        self.as_raw_fd()
    }

    fn lean_stream(
        opened: Opened<Self>,
        state: &AppState,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(super::lean::lean_stream(opened, state))
    }
}

/// Serves an HTTP/1.x connection: a lean stream when its first request
/// is one, hyper and the router otherwise.
pub(super) async fn http1_connection<T: Transport>(
    mut tcp: T,
    peer: SocketAddr,
    state: AppState,
    app: Router,
) {
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
            let _ = write_refusal(&mut tcp, &head_too_large(), &[]).await;
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
    // A head hyper would refuse with a bare 400 gets the JSON error here.
    if let Err(why) = check_head(&head) {
        let e = ApiError::bad_request(format!("malformed request head: {why}"));
        let _ = write_refusal(&mut tcp, &e, &[]).await;
        return;
    }
    let lean = super::lean::lean_request(&head, &state.config.browser);
    if let Some(request) = lean {
        drop(head);
        // Boxed: admission's state is transient, the stream should not carry
        // it. Bound with `let`, not matched in place: a value matched by
        // `if let` lives (in the task) until the end of its block.
        let opened = Box::pin(super::lean::lean_open(tcp, peer, &state, request)).await;
        let Some(opened) = opened else { return };
        T::lean_stream(opened, &state).await;
        return;
    }
    // Boxed: its state is large, and the lean streams should not pay for it.
    Box::pin(routed(tcp, head, peer, state, app)).await;
}

/// Serves a connection with hyper and the router, the bytes read so far
/// replayed first.
async fn routed<T: Transport>(
    tcp: T,
    head: Vec<u8>,
    peer: SocketAddr,
    state: AppState,
    app: Router,
) {
    let limits = &state.config.limits;
    let kill = CancellationToken::new();
    let fd = tcp.fd();
    let io = TokioIo::new(Rewind::new(
        tcp,
        head,
        limits.stall_timeout,
        state.metrics.clone(),
    ));
    let service = service(app, peer, fd, Some(kill.clone()));
    // With upgrades: the voice WebSocket takes the connection over.
    let conn = http1(limits).serve_connection(io, service).with_upgrades();
    let conn = pin!(conn);
    drive(
        conn,
        |c| c.graceful_shutdown(),
        peer,
        &state,
        Some((&kill, fd)),
    )
    .await;
}

/// The HTTP/1.1 settings of every connection hyper serves.
pub(super) fn http1(limits: &super::admission::Limits) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD.max(8192));
    builder
}

/// What every request on a connection hyper serves goes through: the
/// router, told the peer, the socket's descriptor and how to end the
/// request's stream when its queue overflows (HTTP/1.1: reset the
/// connection).
pub(super) fn service(
    app: Router,
    peer: SocketAddr,
    fd: std::os::fd::RawFd,
    kill: Option<CancellationToken>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send + 'static,
> + Clone
       + Send
       + 'static {
    hyper::service::service_fn(move |req: Request<Incoming>| {
        route(&app, req, peer, fd, kill.clone()).map(Ok)
    })
}

/// One request through the router, whatever carried it (hyper's HTTP/1.1
/// or [`super::http2`]'s streams): an HTTP/2 header list is bounded here
/// with the answer an HTTP/1.1 head gets, and the request is told its
/// peer, socket and `kill` token.
pub(super) fn route<B>(
    app: &Router,
    mut req: Request<B>,
    peer: SocketAddr,
    fd: std::os::fd::RawFd,
    kill: Option<CancellationToken>,
) -> impl Future<Output = axum::response::Response> + Send + 'static
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    // HTTP/1.1 heads were bounded as they were read.
    if req.version() == axum::http::Version::HTTP_2 && header_list_size(&req) > MAX_HEAD {
        let refused = axum::response::IntoResponse::into_response(head_too_large());
        return futures::future::Either::Left(std::future::ready(refused));
    }
    req.extensions_mut().insert(ConnectInfo(peer));
    if let Some(kill) = kill {
        req.extensions_mut().insert(kill);
    }
    req.extensions_mut().insert(SocketFd(fd));
    let routed = tower::ServiceExt::oneshot(app.clone(), req.map(Body::new));
    futures::future::Either::Right(routed.map(|r| match r {
        Ok(response) => response,
        Err(never) => match never {},
    }))
}

/// A request head over [`MAX_HEAD`] (431).
fn head_too_large() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "header_too_large",
        format!("the request head is over {} KiB", MAX_HEAD / 1024),
    )
}

/// An HTTP/2 header list's size as RFC 9113 counts it (each field's name
/// and value plus 32), the target included.
fn header_list_size<B>(req: &Request<B>) -> usize {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    req.headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum::<usize>()
        + target
}

/// Runs a hyper connection to its end: at shutdown it finishes what is in
/// flight and closes (`graceful`); when `kill` is cancelled (a stream's
/// queue overflowed) the socket `fd` is reset at once.
pub(super) async fn drive<C, E>(
    mut conn: Pin<&mut C>,
    graceful: impl Fn(Pin<&mut C>),
    peer: SocketAddr,
    state: &AppState,
    kill: Option<(&CancellationToken, std::os::fd::RawFd)>,
) where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    // The signals are polled only when they wake the task, not each time
    // the connection does (a stream's every event would poll them).
    let mut signals = FuturesUnordered::new();
    signals.push(Signal::Shutdown.when(&state.shutdown));
    if let Some((kill, fd)) = kill {
        signals.push(Signal::Kill(fd).when(kill));
    }
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                break;
            }
            Some(signal) = signals.next() => match signal {
                // Shutdown: finish the request in flight, then close.
                Signal::Shutdown => graceful(conn.as_mut()),
                // A stream's queue overflowed: reset the socket now (the
                // connection, which owns the descriptor, is still alive).
                Signal::Kill(fd) => {
                    // SAFETY: the connection that owns `fd` is alive here
                    // (it is dropped after this function returns).
                    reset(&unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) });
                    break;
                }
            },
        }
    }
}

/// What ends or winds down a connection [`drive`] runs.
enum Signal {
    Shutdown,
    Kill(std::os::fd::RawFd),
}

impl Signal {
    /// The signal, once `token` is cancelled.
    fn when(self, token: &CancellationToken) -> impl Future<Output = Signal> {
        let cancelled = token.clone().cancelled_owned();
        async move {
            cancelled.await;
            self
        }
    }
}

/// Drops what the socket still has to send and resets it: a client that
/// fell too far behind is gone at once, its buffers freed.
pub(super) fn reset(socket: &impl AsFd) {
    let fd = socket.as_fd();
    zero_linger(fd.as_raw_fd());
    let _ = socket::shutdown(fd.as_raw_fd(), socket::Shutdown::Both);
}

/// Makes closing the socket `fd` reset it (what is unsent is dropped).
pub(super) fn zero_linger(fd: RawFd) {
    // SAFETY: callers pass the descriptor of a socket they hold.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let _ = socket::setsockopt(
        &fd,
        socket::sockopt::Linger,
        &nix::libc::linger {
            l_onoff: 1,
            l_linger: 0,
        },
    );
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
async fn read_head(tcp: &mut (impl AsyncRead + Unpin)) -> io::Result<Head> {
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

/// Whether a complete head parses as HTTP/1.x with a usable body length.
pub fn check_head(head: &[u8]) -> Result<(), String> {
    let mut slots = [httparse::EMPTY_HEADER; 100];
    let mut req = httparse::Request::new(&mut slots);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("it ends before its blank line".into()),
        Err(e) => return Err(e.to_string()),
    }
    if !req.path.is_some_and(|p| p.starts_with('/') || p == "*") {
        return Err("the target is not a path".into());
    }
    let mut length: Option<u64> = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or("Content-Length is not a number")?;
            if length.is_some_and(|l| l != n) {
                return Err("two different Content-Length values".into());
            }
            length = Some(n);
        }
    }
    Ok(())
}

/// Where the head ends (after its blank line), looking from `from` on.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(pos) = buf[i..].iter().position(|b| *b == b'\n') {
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

/// Writes a refusal as raw HTTP/1.1 (the same bytes the router would
/// send) and closes the connection.
pub(super) async fn write_refusal(
    tcp: &mut (impl AsyncWrite + Unpin),
    e: &ApiError,
    extra: &[(HeaderName, HeaderValue)],
) -> io::Result<()> {
    tcp.write_all(&e.to_http1(extra)).await?;
    tcp.shutdown().await
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
