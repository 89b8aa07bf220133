//! `GET /realtime/sse`: live bars with exact resume.

use std::convert::Infallible;
use std::os::fd::RawFd;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::BytesMut;
use rand::Rng;
use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::admission::{StreamPermit, Ticket};
use super::error::{quote, ApiError};
use super::liveness::{self, Progress};
use super::params::Params;
use super::AppState;
use crate::Metrics;
use spotlight_market::hub::{Caught, DirectWrite, Resume, Start, SubscribeError, Subscription};
use spotlight_market::time::now_ms;
use spotlight_market::{symbol, Timeframe};
use spotlight_wire::{EventId, Hello, Ping, Reset, ResetReason, Shutdown};
use std::sync::Arc;

/// Largest chunk handed to the socket at once.
const MAX_CHUNK: usize = 64 * 1024;
/// Missed events read from the ring per step: small, because a resuming
/// client that stops reading holds one step until it is closed.
const CATCH_UP_CHUNK: usize = 8 * 1024;

/// Handler (connections hyper serves): the stream admission let in,
/// streamed as the body.
pub async fn sse(
    State(state): State<AppState>,
    Extension(ticket): Extension<Ticket>,
    kill: Option<Extension<CancellationToken>>,
    socket: Option<Extension<SocketFd>>,
) -> Result<Response, ApiError> {
    let Some((Some(request), Some(permit))) = ticket.take().map(|a| (a.stream, a.permit)) else {
        return Err(ApiError::internal("stream was not admitted"));
    };
    let mut session = open(&state, request, permit).await?;
    if let Some(Extension(kill)) = kill {
        session.on_overflow(Box::new(move || kill.cancel()));
    }
    if let Some(Extension(SocketFd(fd))) = socket {
        session.watch_progress(fd, state.config.limits.stall_timeout);
    }
    let body = Body::from_stream(futures::stream::unfold(session, |mut s| async move {
        s.next_chunk()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), s))
    }));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let h = response.headers_mut();
    for line in STREAM_HEADERS.split("\r\n").filter(|l| !l.is_empty()) {
        if let Some((name, value)) = line.split_once(": ") {
            h.insert(
                header::HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
    }
    Ok(response)
}

/// The descriptor of the socket a request came in on (set by the
/// connection layer; valid while the request's connection is served).
#[derive(Debug, Clone, Copy)]
pub struct SocketFd(pub RawFd);

/// The response head fields of every stream, as raw header lines.
pub const STREAM_HEADERS: &str = "content-type: text/event-stream\r\ncache-control: no-cache, no-transform\r\nx-accel-buffering: no\r\n";

/// What a stream asks for: symbols (every symbol when empty), timeframe,
/// where to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRequest {
    /// Symbols, checked, without duplicates.
    pub symbols: Vec<String>,
    /// Timeframe.
    pub timeframe: Timeframe,
    /// Where to start.
    pub resume: Resume,
}

impl StreamRequest {
    /// Reads a stream request from its query and headers.
    pub fn parse(
        headers: &HeaderMap,
        query: &str,
        max_symbols: usize,
    ) -> Result<StreamRequest, ApiError> {
        let params = Params::from_query(query);
        let mut symbols: Vec<String> = Vec::new();
        for s in params.get("symbols").unwrap_or("").split(',') {
            let s = s.trim();
            if s.is_empty() || symbols.iter().any(|known| known == s) {
                continue;
            }
            symbol::check(s)
                .map_err(|e| ApiError::bad_request(format!("parameter `symbols`: {e}")))?;
            if symbols.len() == max_symbols {
                return Err(ApiError::bad_request(format!(
                    "parameter `symbols`: at most {max_symbols} symbols (--max-symbols)"
                )));
            }
            symbols.push(s.to_string());
        }
        let timeframe = params
            .parse::<Timeframe>("timeframe")?
            .unwrap_or(Timeframe::M1);
        let resume = resume_from(headers, &params)?;
        Ok(StreamRequest {
            symbols,
            timeframe,
            resume,
        })
    }
}

/// Subscribes an admitted stream: the session to write. On a bus, a resume
/// older than this instance's ring is served from the shared log first.
pub async fn open(
    state: &AppState,
    mut request: StreamRequest,
    permit: StreamPermit,
) -> Result<StreamSession, ApiError> {
    let from_log = state.market().backlog(&mut request).await;
    let resume = request.resume;
    let sub = state
        .hub
        .subscribe(&request.symbols, request.timeframe, &resume)
        .map_err(|e| match e {
            SubscribeError::UnknownSymbol(_) => ApiError::not_found(e.to_string()),
            SubscribeError::AheadOfHead { .. } => ApiError::bad_request(e.to_string()),
        })?;
    let outcome = match (&resume, sub.start) {
        (Resume::Live, _) => None,
        (_, Start::Resumed) => Some("resumed"),
        (_, Start::Reset(ResetReason::EpochChanged)) => Some("reset_epoch"),
        (_, _) => Some("reset_gap"),
    };
    if let Some(outcome) = outcome {
        state
            .metrics
            .sse
            .resumes
            .with_label_values(&[outcome])
            .inc();
    }
    let span = spotlight_telemetry::span(|| {
        tracing::info_span!(
            "sse.connection",
            symbols = %request.symbols.join(","),
            timeframe = %request.timeframe,
            resume = outcome.unwrap_or("live"),
            epoch = %sub.epoch(),
            head_seq = sub.head,
        )
    });
    let mut session = StreamSession::new(sub, state, permit);
    session._span = span;
    if let Some(frames) = from_log {
        session.append_backlog(frames);
    }
    Ok(session)
}

/// `Last-Event-ID` wins over `sinceSeq`: a browser reconnects to the same URL
/// with the header set to the last event it saw.
fn resume_from(headers: &HeaderMap, params: &Params) -> Result<Resume, ApiError> {
    if let Some(v) = headers.get("last-event-id") {
        let s = v
            .to_str()
            .map_err(|_| ApiError::bad_request("Last-Event-ID is not text"))?
            .trim();
        if !s.is_empty() {
            let id: EventId = s
                .parse()
                .map_err(|e| ApiError::bad_request(format!("Last-Event-ID {}: {e}", quote(s))))?;
            return Ok(Resume::After {
                epoch: id.epoch,
                seq: id.seq,
            });
        }
    }
    match params.get("sinceSeq") {
        None => Ok(Resume::Live),
        Some(s) => {
            let seq = s.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "parameter `sinceSeq`={}: expected a whole number",
                    quote(s)
                ))
            })?;
            Ok(Resume::After {
                epoch: params.get("epoch").map(String::from),
                seq,
            })
        }
    }
}

/// One client's stream: preamble, backlog, then live events, pings and
/// the shutdown notice.
pub struct StreamSession {
    sub: Subscription,
    preamble: Option<Bytes>,
    /// Ticks every [`liveness::tick`]: the socket is looked at on each,
    /// a ping goes out on every `per_beat`-th.
    heartbeat: Interval,
    ticks: u32,
    per_beat: u32,
    /// The peer's progress, when the stream knows its socket.
    progress: Option<Progress>,
    /// The shutdown waves, and the one this stream ends in.
    waves: Arc<super::drain::Waves>,
    wave: u8,
    /// The shutdown's drain window (for the `retry:` it suggests).
    drain: Duration,
    done: bool,
    metrics: Arc<Metrics>,
    opened: std::time::Instant,
    _permit: StreamPermit,
    /// The connection's trace span (only with `--otlp-endpoint`): it ends
    /// when the stream does.
    _span: tracing::Span,
}

impl Drop for StreamSession {
    fn drop(&mut self) {
        self.metrics.sse.connections.dec();
        self.metrics
            .sse
            .connection_duration
            .observe(self.opened.elapsed().as_secs_f64());
    }
}

impl StreamSession {
    fn new(sub: Subscription, state: &AppState, permit: StreamPermit) -> StreamSession {
        let period = state.config.heartbeat.max(MIN_HEARTBEAT);
        let heartbeat_ms = period.as_millis() as u64;
        let mut buf = b"retry: 2000\n: spotlight stream open\n\n".to_vec();
        let hello = Hello {
            epoch: sub.epoch().to_string(),
            seq: sub.head,
            server_time: now_ms(),
            symbols: sub.symbols.clone(),
            timeframe: sub.timeframe(),
            resumed: sub.start == Start::Resumed,
            heartbeat_ms,
            source: state.config.source.clone(),
        };
        spotlight_wire::write_sse(&mut buf, "hello", None, &hello);
        let metrics = state.metrics.clone();
        metrics.sse.connections.inc();
        metrics.sse.connections_total.inc();
        metrics.sse.events_sent.with_label_values(&["hello"]).inc();
        if let Start::Reset(reason) = sub.start {
            metrics.sse.events_sent.with_label_values(&["reset"]).inc();
            let reset = Reset {
                reason,
                epoch: sub.epoch().to_string(),
                head_seq: sub.head,
                low_seq: sub.low,
            };
            spotlight_wire::write_sse(&mut buf, "reset", None, &reset);
        }
        let stall = state.config.limits.stall_timeout;
        let (tick, per_beat) = liveness::tick(period, stall);
        // The first ping comes at a random point of the second half of the
        // period: streams opened together (a reconnect wave, a load test)
        // do not all ping at once, ever after. Ticks fall on a shared grid,
        // so thousands of streams wake the server a few times a second,
        // not once per stream.
        let mut rng = rand::rng();
        let first = tick.mul_f64(rng.random_range(0.5..=1.0));
        let mut heartbeat = interval_at(liveness::on_grid(Instant::now() + first, tick), tick);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Skip);
        StreamSession {
            sub,
            preamble: Some(Bytes::from(buf)),
            heartbeat,
            ticks: per_beat / 2 + rng.random_range(0..per_beat.div_ceil(2)),
            per_beat,
            progress: None,
            waves: state.waves.clone(),
            wave: state.waves.assign() as u8,
            drain: state.config.drain,
            done: false,
            metrics,
            opened: std::time::Instant::now(),
            _permit: permit,
            _span: tracing::Span::none(),
        }
    }

    /// Sends `frames` (missed events read from elsewhere than the ring)
    /// right after the preamble.
    fn append_backlog(&mut self, frames: Vec<Bytes>) {
        self.metrics
            .sse
            .events_sent
            .with_label_values(&["bar"])
            .inc_by(frames.len() as u64);
        let preamble = self.preamble.take().into_iter();
        self.preamble = Some(concat(preamble.chain(frames).collect()));
    }

    /// The next bytes to write; `None` when the stream is over (shutdown
    /// sent, or the client was closed for being too slow).
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(p) = self.preamble.take() {
            return Some(p);
        }
        while self.sub.catching_up() && !self.shutdown_due() {
            let step = self.sub.catch_up(CATCH_UP_CHUNK);
            self.metrics
                .sse
                .events_sent
                .with_label_values(&["bar"])
                .inc_by(step.frames.len() as u64);
            let mut chunk = concat(step.frames);
            if let Some(Caught::Reset { reason, head, low }) = step.done {
                self.metrics
                    .sse
                    .events_sent
                    .with_label_values(&["reset"])
                    .inc();
                let reset = Reset {
                    reason,
                    epoch: self.sub.epoch().to_string(),
                    head_seq: head,
                    low_seq: low,
                };
                let mut buf = chunk.to_vec();
                spotlight_wire::write_sse(&mut buf, "reset", None, &reset);
                chunk = Bytes::from(buf);
            }
            if !chunk.is_empty() {
                return Some(chunk);
            }
            // A step over other symbols' events only: let others run.
            tokio::task::yield_now().await;
        }
        loop {
            if self.done {
                return None;
            }
            let metrics = &*self.metrics;
            if self.shutdown_due() {
                self.done = true;
                metrics
                    .sse
                    .events_sent
                    .with_label_values(&["shutdown"])
                    .inc();
                // After what is pending: part of an event may be out already.
                let pending = self
                    .sub
                    .queue
                    .claim(MAX_CHUNK, |item| metrics.delivered(item));
                return Some(match pending {
                    Some((bytes, _)) => [bytes, shutdown_frame(self.drain)].concat().into(),
                    None => shutdown_frame(self.drain),
                });
            }
            let ticked = tokio::select! {
                biased;
                // Before the batches: a stream that always has data is still looked at.
                now = self.heartbeat.tick() => now.into_std(),
                batch = self.sub.queue.next_batch(MAX_CHUNK, |item| metrics.delivered(item)) => {
                    match batch {
                        // Nudged (a shutdown wave fired): look again.
                        Some((bytes, _)) if bytes.is_empty() => continue,
                        batch => return batch.map(|(bytes, _)| bytes),
                    }
                }
            };
            if let Some(out) = self.on_tick(ticked) {
                return out;
            }
        }
    }

    /// Whether this stream's shutdown wave has fired (looked at each time
    /// the stream wakes; a wave wakes every stream through its queue).
    fn shutdown_due(&self) -> bool {
        self.waves.is_due(usize::from(self.wave))
    }

    /// A heartbeat tick: closes a stream whose peer took nothing for the
    /// stall time (`Some(None)`); on a ping tick, pending events or else a
    /// ping; on another tick, nothing (`None`).
    fn on_tick(&mut self, now: std::time::Instant) -> Option<Option<Bytes>> {
        if let Some(why) = self.progress.as_mut().and_then(|p| p.check(now)) {
            liveness::report(&self.metrics, why);
            self.done = true;
            self.sub.queue.cut();
            return Some(None);
        }
        self.ticks += 1;
        if self.ticks < self.per_beat {
            return None;
        }
        self.ticks = 0;
        // Pending events go first; a stream with data needs no ping.
        let metrics = &*self.metrics;
        if let Some((bytes, _)) = self
            .sub
            .queue
            .claim(MAX_CHUNK, |item| metrics.delivered(item))
        {
            return Some(Some(bytes));
        }
        let ping = Ping {
            server_time: now_ms(),
            queued: self.sub.queue.len(),
            conflated: self.sub.queue.conflated(),
        };
        let mut buf = Vec::with_capacity(96);
        spotlight_wire::write_sse(&mut buf, "ping", None, &ping);
        self.metrics
            .sse
            .events_sent
            .with_label_values(&["ping"])
            .inc();
        Some(Some(Bytes::from(buf)))
    }

    /// Judges the stream by its peer's progress on the socket `fd` (which
    /// must stay open while the session is polled) against `stall`.
    pub fn watch_progress(&mut self, fd: RawFd, stall: Duration) {
        self.progress = Some(Progress::new(fd, stall));
    }

    /// What to do when the stream's queue overflows: close the connection
    /// at once, whatever it is waiting for.
    pub fn on_overflow(&self, hook: Box<dyn Fn() + Send + Sync>) {
        self.sub.queue.on_overflow(hook);
    }

    /// A lean stream's set-up on its socket `fd`: judged by its peer's
    /// progress against `stall`, reset at once by `reset` when its queue
    /// overflows, written to directly by the hub through `direct`.
    pub fn on_socket(
        &mut self,
        fd: RawFd,
        stall: Duration,
        reset: Box<dyn Fn() + Send + Sync>,
        direct: Box<dyn DirectWrite>,
    ) {
        self.on_overflow(reset);
        self.watch_progress(fd, stall);
        self.sub.queue.attach(direct);
    }
}

/// Frames as one buffer (a single frame is not copied).
fn concat(frames: Vec<Bytes>) -> Bytes {
    match frames.len() {
        0 => Bytes::new(),
        1 => frames.into_iter().next().unwrap_or_default(),
        _ => {
            let mut buf = BytesMut::with_capacity(frames.iter().map(Bytes::len).sum());
            for f in &frames {
                buf.extend_from_slice(f);
            }
            buf.freeze()
        }
    }
}

/// The `shutdown` event with a randomized `retry:` (1–5 s) so clients do
/// not all come back at the same moment.
fn shutdown_frame(drain: Duration) -> Bytes {
    let retry_ms = super::drain::retry_ms(drain);
    let mut buf = format!("retry: {retry_ms}\n").into_bytes();
    let notice = Shutdown {
        reason: "server shutting down".into(),
        retry_ms,
    };
    spotlight_wire::write_sse(&mut buf, "shutdown", None, &notice);
    Bytes::from(buf)
}

/// The shortest heartbeat period (`--heartbeat` refuses less).
pub const MIN_HEARTBEAT: Duration = Duration::from_millis(100);

/// How long an idle stream waits between pings by default.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);
