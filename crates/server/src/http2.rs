//! HTTP/2 connections (a TLS handshake that chose `h2`), driven with the
//! `h2` crate so that each stream can be judged on its own: every stream
//! is a request through the same router as HTTP/1.1 ([`route`]), and a
//! response stream the peer gives no flow-control window for the stall
//! time, or whose queue overflows, is reset (`RST_STREAM`, `CANCEL`) while
//! the connection's other streams go on. A connection with no stream for
//! the header timeout is closed (`GOAWAY`), one whose peer stops
//! answering pings at once.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, Response};
use axum::Router;
use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Ping, PingPong, Reason, RecvStream, SendStream};
use http_body::{Body as _, Frame};
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::conn::route;
use super::liveness::{self, Stall};
use super::AppState;

/// Concurrent streams one HTTP/2 connection may open (a browser's tabs
/// share one connection: each dashboard holds one or two streams).
pub const H2_MAX_STREAMS: u32 = 100;

/// Bytes a stream may have buffered for sending before its body is not
/// polled further (past it the stream's own queue conflates, then
/// overflows and the stream is reset; a stream given no window for the
/// stall time is reset too).
pub const H2_SEND_BUFFER: usize = 64 * 1024;

/// Streams a peer may open and reset before the server has accepted them
/// (rapid reset, CVE-2023-44487): past it the connection is closed.
pub const H2_PENDING_RESETS: usize = 20;

/// Streams the server may reset for a peer's protocol errors before the
/// connection is closed.
pub const H2_ERROR_RESETS: usize = 256;

/// The header list an HTTP/2 peer may send: beyond the request head
/// bound ([`super::conn::MAX_HEAD`], answered with the JSON 431 as on
/// HTTP/1.1), up to this the h2 layer holds it; past it h2 refuses alone.
pub const H2_HEADER_LIST: u32 = 64 * 1024;

/// A connection's keep-alive ping: one goes out this often, and the
/// connection is closed when its answer takes longer than this.
pub const H2_KEEP_ALIVE: Duration = Duration::from_secs(20);

/// Serves one HTTP/2 connection on `io` to its end.
pub(super) async fn serve<T>(io: T, peer: SocketAddr, fd: RawFd, state: &AppState, app: Router)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let idle_after = state.config.limits.header_timeout;
    let handshake = settings().handshake::<_, Bytes>(io);
    let Ok(Ok(mut conn)) = tokio::time::timeout(idle_after, handshake).await else {
        return;
    };
    let mut alive = pin!(keep_alive(conn.ping_pong()));
    let mut idle = pin!(tokio::time::sleep(idle_after));
    let shared = Arc::new(Shared {
        app,
        peer,
        fd,
        state: state.clone(),
    });
    let mut streams = JoinSet::new();
    let mut closing = false;
    loop {
        tokio::select! {
            accepted = conn.accept() => match accepted {
                Some(Ok((req, respond))) => {
                    streams.spawn(stream(shared.clone(), Box::new(req), respond));
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, %peer, "HTTP/2 connection ended with an error");
                    break;
                }
                None => break,
            },
            Some(_) = streams.join_next() => {
                if streams.is_empty() {
                    idle.as_mut().reset(tokio::time::Instant::now() + idle_after);
                }
            }
            () = &mut idle, if streams.is_empty() && !closing => {
                closing = true;
                conn.graceful_shutdown();
            }
            () = state.shutdown.cancelled(), if !closing => {
                closing = true;
                conn.graceful_shutdown();
            }
            () = &mut alive => {
                tracing::debug!(%peer, "HTTP/2 peer stopped answering pings: connection closed");
                break;
            }
        }
    }
}

/// The HTTP/2 settings (docs/operations.md says why each).
fn settings() -> h2::server::Builder {
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(H2_MAX_STREAMS)
        .max_header_list_size(H2_HEADER_LIST)
        .max_send_buffer_size(H2_SEND_BUFFER)
        .max_pending_accept_reset_streams(H2_PENDING_RESETS)
        .max_local_error_reset_streams(Some(H2_ERROR_RESETS));
    builder
}

/// Resolves when the peer has not answered a ping within
/// [`H2_KEEP_ALIVE`] (one goes out every [`H2_KEEP_ALIVE`]).
async fn keep_alive(pings: Option<PingPong>) {
    let Some(mut pings) = pings else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(H2_KEEP_ALIVE).await;
        let answered = tokio::time::timeout(H2_KEEP_ALIVE, pings.ping(Ping::opaque())).await;
        if !matches!(answered, Ok(Ok(_))) {
            return;
        }
    }
}

/// What the streams of one connection share.
struct Shared {
    app: Router,
    peer: SocketAddr,
    fd: RawFd,
    state: AppState,
}

/// Why a response body stopped before its end.
enum Cut {
    /// No flow-control window for the stall time.
    Stalled,
    /// The stream's queue overflowed.
    Overflowed,
    /// The body failed.
    Failed,
    /// The peer reset the stream, or the connection is gone.
    Gone,
}

/// One stream: its request routed, its response sent, the stream reset
/// when the response's body is cut. (The request is boxed and routed in a
/// function of its own so that a long-lived stream does not keep the
/// space of its request and of the router's future.)
async fn stream(
    shared: Arc<Shared>,
    req: Box<Request<RecvStream>>,
    mut respond: SendResponse<Bytes>,
) {
    let cut = CancellationToken::new();
    // Boxed: the router's future is large and done with once the head is out.
    let answered = Box::pin(answer(&shared, *req, &mut respond, &cut)).await;
    let Some((body, mut send)) = answered else {
        return;
    };
    let state = &shared.state;
    match pipe(body, &mut send, &cut, state.config.limits.stall_timeout).await {
        Ok(()) | Err(Cut::Gone) => {}
        Err(Cut::Stalled) => {
            liveness::report(&state.metrics, Stall::NoWindow);
            send.send_reset(Reason::CANCEL);
        }
        Err(Cut::Overflowed) => send.send_reset(Reason::CANCEL),
        Err(Cut::Failed) => send.send_reset(Reason::INTERNAL_ERROR),
    }
}

/// Routes the request and sends the response's head: the body still to
/// send and its stream (`None`: nothing more to send).
async fn answer(
    shared: &Shared,
    req: Request<RecvStream>,
    respond: &mut SendResponse<Bytes>,
    cut: &CancellationToken,
) -> Option<(Body, SendStream<Bytes>)> {
    let head_only = req.method() == Method::HEAD;
    let (app, peer, fd) = (&shared.app, shared.peer, shared.fd);
    let routed = route(app, req.map(Upload), peer, fd, Some(cut.clone()));
    let response = tokio::select! {
        response = routed => response,
        // The peer gave up on the request.
        _ = poll_fn(|cx| respond.poll_reset(cx)) => return None,
    };
    let (mut head, body) = response.into_parts();
    let ends = head_only || body.is_end_stream();
    prepare(&mut head.headers, &body, ends);
    let send = respond
        .send_response(Response::from_parts(head, ()), ends)
        .ok()?;
    (!ends).then_some((body, send))
}

/// Fields HTTP/2 forbids (RFC 9113 §8.2.2).
const CONNECTION_FIELDS: [HeaderName; 5] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// A response head for HTTP/2: connection fields dropped, `Date` and (a
/// body of known size) `Content-Length` added, as hyper does.
fn prepare(headers: &mut HeaderMap, body: &Body, ends: bool) {
    for name in &CONNECTION_FIELDS {
        headers.remove(name);
    }
    headers.remove(header::TE);
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now()))
    {
        headers.entry(header::DATE).or_insert(date);
    }
    if !ends {
        if let Some(len) = body.size_hint().exact() {
            headers
                .entry(header::CONTENT_LENGTH)
                .or_insert_with(|| HeaderValue::from(len));
        }
    }
}

/// Sends `body` on the stream. A chunk goes out only when the stream has
/// room ([`H2_SEND_BUFFER`] at most buffered): a peer that opens no window
/// for `stall` is cut, and so is a stream whose queue overflowed (`cut`:
/// cancelled before the queue closes, which ends the body).
async fn pipe(
    body: Body,
    send: &mut SendStream<Bytes>,
    cut: &CancellationToken,
    stall: Duration,
) -> Result<(), Cut> {
    let mut body = pin!(body);
    loop {
        let frame = tokio::select! {
            biased;
            _ = poll_fn(|cx| send.poll_reset(cx)) => return Err(Cut::Gone),
            frame = body.frame() => frame,
        };
        let Some(frame) = frame else {
            if cut.is_cancelled() {
                return Err(Cut::Overflowed);
            }
            return send.send_data(Bytes::new(), true).map_err(|_| Cut::Gone);
        };
        let data = match frame.map_err(|_| Cut::Failed)?.into_data() {
            Ok(data) => data,
            Err(frame) => match frame.into_trailers() {
                Ok(trailers) => {
                    send.reserve_capacity(0);
                    return send.send_trailers(trailers).map_err(|_| Cut::Gone);
                }
                Err(_) => continue,
            },
        };
        if data.is_empty() {
            continue;
        }
        // A claim of one byte: h2 raises it to what is buffered.
        send.reserve_capacity(1);
        if send.capacity() == 0 {
            // Boxed: a stream waits for window rarely, and should not
            // carry the wait's state all its life.
            Box::pin(room(send, cut, stall)).await?;
        }
        send.send_data(data, false).map_err(|_| Cut::Gone)?;
    }
}

/// Waits until the stream may buffer more, at most `stall`.
async fn room(
    send: &mut SendStream<Bytes>,
    cut: &CancellationToken,
    stall: Duration,
) -> Result<(), Cut> {
    let deadline = tokio::time::sleep(stall);
    let capacity = poll_fn(|cx| loop {
        match ready!(send.poll_capacity(cx)) {
            Some(Ok(0)) => continue,
            Some(Ok(_)) => return Poll::Ready(Ok(())),
            Some(Err(_)) | None => return Poll::Ready(Err(Cut::Gone)),
        }
    });
    tokio::select! {
        biased;
        () = cut.cancelled() => Err(Cut::Overflowed),
        got = capacity => got,
        () = deadline => Err(Cut::Stalled),
    }
}

/// A request body arriving on an HTTP/2 stream: each chunk read gives its
/// window back to the peer.
struct Upload(RecvStream);

impl http_body::Body for Upload {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        match ready!(self.0.poll_data(cx)) {
            Some(Ok(data)) => {
                let _ = self.0.flow_control().release_capacity(data.len());
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Some(Err(e)) => Poll::Ready(Some(Err(e))),
            None => Poll::Ready(
                ready!(self.0.poll_trailers(cx))
                    .transpose()
                    .map(|t| t.map(Frame::trailers)),
            ),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }
}
