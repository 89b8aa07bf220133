//! The lean stream path: a connection whose first request is
//! `GET /realtime/sse` is admitted by the same pipeline as every request,
//! then served straight on the socket — no HTTP framework buffers, the
//! hub writing events into the socket directly while the stream waits.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use nix::sys::socket::{self, MsgFlags};
use tokio::net::TcpStream;
use tracing::Instrument;

use super::admission::{self, admit, is_cors_origin, BrowserPolicy, SSE_PATH};
use super::conn::{reset, write_refusal, Transport};
use super::error::ApiError;
use super::liveness::{self, Blocked, Stalled};
use super::sse::{self, STREAM_HEADERS};
use super::{AppState, Metrics};
use spotlight_market::hub::{DirectWrite, QueueItem};

/// A stream request the lean path can take: its head, parsed.
pub(super) struct LeanRequest {
    headers: HeaderMap,
    path: String,
    query: String,
}

/// `GET /realtime/sse[?…]` over HTTP/1.x with nothing pipelined after it,
/// not an upgrade, and not from a `--cors-origin` (those go to the router,
/// whose CORS layer answers them).
pub(super) fn lean_request(head: &[u8], browser: &BrowserPolicy) -> Option<LeanRequest> {
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
pub(super) async fn lean_open<T: Transport>(
    tcp: T,
    peer: SocketAddr,
    state: &AppState,
    request: LeanRequest,
) -> Option<Opened<T>> {
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
    spotlight_telemetry::continue_trace(&span, &request.headers);
    admit_stream(tcp, peer, state, request, request_id)
        .instrument(span)
        .await
}

/// A stream let in: its transport, session and response head.
pub(super) struct Opened<T> {
    /// The connection.
    pub(super) tcp: T,
    /// The stream's session.
    pub(super) session: sse::StreamSession,
    /// The response head, to be written first.
    pub(super) head: Vec<u8>,
}

async fn admit_stream<T: Transport>(
    mut tcp: T,
    peer: SocketAddr,
    state: &AppState,
    request: LeanRequest,
    request_id: HeaderValue,
) -> Option<Opened<T>> {
    let start = Instant::now();
    let id_header = [(HeaderName::from_static("x-request-id"), request_id)];
    let head = admission::Head {
        method: &Method::GET,
        path: &request.path,
        query: &request.query,
        headers: &request.headers,
        peer,
        authority: request
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok()),
    };
    let opened = match admit(state, admission::RouteClass::STREAM, &head) {
        Ok(admitted) => match (admitted.stream, admitted.permit) {
            (Some(stream), Some(permit)) => sse::open(state, stream, permit)
                .await
                .map(|session| (session, admitted.headers)),
            _ => Err(ApiError::internal("stream was not admitted")),
        },
        Err(e) => Err(e),
    };
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
/// queue's overflow hook resets the socket) or a stall, or its client hangs up. Kept
/// small: thousands of these wait at once.
///
/// Not an `async fn`: the set-up runs here, and the future keeps only what
/// the stream needs (an `async fn` would also keep its arguments).
pub(super) fn lean_stream(
    opened: Opened<TcpStream>,
    state: &AppState,
) -> impl Future<Output = ()> + Send + '_ {
    let Opened {
        tcp,
        mut session,
        head,
    } = opened;
    let tcp = Arc::new(tcp);
    let stall = state.config.limits.stall_timeout;
    // Overflow resets the socket at once, whatever the writer is waiting for.
    let overflowed = tcp.clone();
    let writer = SocketWriter {
        fd: tcp.as_raw_fd(),
        _socket: tcp.clone(),
        metrics: state.metrics.clone(),
    };
    session.on_socket(
        tcp.as_raw_fd(),
        stall,
        Box::new(move || reset(&*overflowed)),
        Box::new(writer),
    );
    async move {
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
            Err(e) => cut_if_stalled(&e, &state.metrics, &*tcp),
        }
    }
}

/// How a lean stream that failed to write ends: a stall is counted and
/// the socket reset (its unsent bytes dropped); any other error has ended
/// the connection already.
pub(super) fn cut_if_stalled(e: &io::Error, metrics: &Metrics, socket: &impl std::os::fd::AsFd) {
    if let Some(why) = Stalled::of(e) {
        liveness::report(metrics, why);
        reset(socket);
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
/// (which only happen while the stream's own writer is parked); fails with
/// [`Stalled`] when the peer takes nothing for `stall` while it waits.
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

/// Waits until the socket takes bytes again, judging the peer's progress
/// meanwhile. Boxed: a stream only waits here when its socket is full, and
/// the timer would otherwise sit in every idle stream's state.
pub(super) fn writable(
    tcp: &TcpStream,
    stall: Duration,
) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>> {
    Box::pin(async move {
        let mut blocked = Blocked::new(tcp.as_raw_fd(), stall);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(ready) = tcp.poll_write_ready(cx) {
                return Poll::Ready(ready);
            }
            blocked
                .poll_stalled(cx)
                .map(|why| Err(Stalled(why).into_io()))
        })
        .await
    })
}

/// Flags of a direct send: never block; on Linux, no SIGPIPE for a closed
/// peer (elsewhere the Rust runtime already ignores SIGPIPE).
#[cfg(target_os = "linux")]
const SEND_FLAGS: MsgFlags = MsgFlags::MSG_DONTWAIT.union(MsgFlags::MSG_NOSIGNAL);
#[cfg(not(target_os = "linux"))]
const SEND_FLAGS: MsgFlags = MsgFlags::MSG_DONTWAIT;

/// A direct send on the socket `fd`: what fits now, never blocking
/// (`WouldBlock` when nothing does), tokio's readiness left as it was.
pub(super) fn send_now(fd: RawFd, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    let sent = match bufs {
        // One buffer (the usual case): a plain send, no iovec to import.
        [one] => socket::send(fd, one, SEND_FLAGS),
        _ => socket::sendmsg::<()>(fd, bufs, &[], SEND_FLAGS, None),
    };
    sent.map_err(io::Error::from)
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
        send_now(self.fd, bufs)
    }

    fn written(&self, item: &QueueItem) {
        self.metrics.delivered(item);
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
