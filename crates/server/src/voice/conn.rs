//! One voice connection, written over any `Stream` + `Sink` of WebSocket
//! messages: `hello`, replay, then audio, tool calls, keepalives, in-band
//! errors, heartbeats and the idle and slow-consumer closes.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message};
use bytes::Bytes;
use futures::{Sink, SinkExt, Stream, StreamExt};

use super::metrics::{Dropped, VoiceMetrics};
use super::relay::{self, FromUpstream, Relay};
use super::session::{Attached, Frame, Session, Sessions};
use super::tools;
use super::VoiceConfig;
use crate::admission::StreamPermit;
use crate::AppState;
use spotlight_wire::voice::{close, ClientMessage, ServerMessage};

/// Outbound messages waiting for the socket, bounded in bytes for audio.
/// Filled and drained by the connection's one task, so the session lock
/// is the only thing a message crosses between being numbered and sent.
#[derive(Default)]
struct Outbox {
    state: Mutex<OutState>,
}

#[derive(Default)]
struct OutState {
    items: VecDeque<Message>,
    bytes: usize,
}

fn size(m: &Message) -> usize {
    match m {
        Message::Text(t) => t.len(),
        Message::Binary(b) => b.len(),
        _ => 16,
    }
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, OutState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a message whatever the backlog (control, replay).
    fn push(&self, m: Message) {
        let mut st = self.lock();
        st.bytes += size(&m);
        st.items.push_back(m);
    }

    /// Whether `len` more bytes of audio fit under `limit`.
    fn has_room(&self, len: usize, limit: usize) -> bool {
        self.lock().bytes + len <= limit
    }

    /// The next message if one is queued now.
    fn pop(&self) -> Option<Message> {
        let mut st = self.lock();
        let m = st.items.pop_front()?;
        st.bytes -= size(&m);
        Some(m)
    }

    fn is_empty(&self) -> bool {
        self.lock().items.is_empty()
    }
}

/// The socket's write side, driven from the connection's own task: what
/// is queued goes out in one batch with one flush, and a message leaves
/// the outbox only once the sink has room for it, so a write interrupted
/// by another event loses nothing. A socket that takes nothing for the
/// stall timeout fails its write with `TimedOut` (the connection layer's
/// stall timer, shared with every other route).
struct Writer<K> {
    sink: K,
    /// Sent since the last flush.
    unflushed: bool,
    /// A close frame went out: nothing more is written.
    closed: bool,
}

/// Why the writer stopped.
enum WriteEnd {
    /// The socket failed or the close frame went out.
    Done,
    /// The socket took nothing for the stall timeout.
    Stalled,
}

impl<K: Sink<Message, Error = axum::Error> + Unpin> Writer<K> {
    fn new(sink: K) -> Self {
        Writer {
            sink,
            unflushed: false,
            closed: false,
        }
    }

    /// Writes what is queued; Ready once the writer is done. Pending when
    /// everything is out or the socket has no room.
    fn poll_write(&mut self, cx: &mut Context<'_>, outbox: &Outbox) -> Poll<WriteEnd> {
        if self.closed {
            return Poll::Ready(WriteEnd::Done);
        }
        let mut sink = Pin::new(&mut self.sink);
        loop {
            if !outbox.is_empty() {
                if let Err(e) = ready!(sink.as_mut().poll_ready(cx)) {
                    return Poll::Ready(ended(&e));
                }
                let Some(m) = outbox.pop() else { continue };
                let last = matches!(m, Message::Close(_));
                if let Err(e) = sink.as_mut().start_send(m) {
                    return Poll::Ready(ended(&e));
                }
                self.unflushed = true;
                if last {
                    self.closed = true;
                    return Poll::Ready(WriteEnd::Done);
                }
                continue;
            }
            if self.unflushed {
                if let Err(e) = ready!(sink.as_mut().poll_flush(cx)) {
                    return Poll::Ready(ended(&e));
                }
                self.unflushed = false;
            }
            return Poll::Pending;
        }
    }

    /// Sends what is left, a close frame included (the caller bounds it).
    async fn finish(&mut self, outbox: &Outbox) {
        std::future::poll_fn(|cx| {
            if self.poll_write(cx, outbox).is_ready() || !self.unflushed && outbox.is_empty() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        let _ = self.sink.flush().await;
    }
}

/// How a write error ends the writer.
fn ended(e: &axum::Error) -> WriteEnd {
    if io_error(e).is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
        WriteEnd::Stalled
    } else {
        WriteEnd::Done
    }
}

/// The I/O error under a WebSocket error, if that is what it is.
fn io_error(e: &axum::Error) -> Option<&std::io::Error> {
    ws_error(e).and_then(|t| match t {
        tokio_tungstenite::tungstenite::Error::Io(io) => Some(io),
        _ => None,
    })
}

/// The tungstenite error under an axum WebSocket error.
fn ws_error(e: &axum::Error) -> Option<&tokio_tungstenite::tungstenite::Error> {
    use std::error::Error;
    let mut cause: Option<&(dyn Error + 'static)> = e.source();
    while let Some(c) = cause {
        if let Some(t) = c.downcast_ref::<tokio_tungstenite::tungstenite::Error>() {
            return Some(t);
        }
        cause = c.source();
    }
    None
}

fn to_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(t) => Message::Text(t.into()),
        Frame::Binary(b) => Message::Binary(b),
    }
}

fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// A connection's hold on its session.
struct Conn<'a> {
    state: &'a AppState,
    sessions: &'a Sessions,
    session: Arc<Mutex<Session>>,
    generation: u64,
    outbox: Arc<Outbox>,
}

/// A resume took the session from this connection.
struct Replaced;

impl Conn<'_> {
    /// The session, while this connection still holds it.
    fn session(&self) -> Result<MutexGuard<'_, Session>, Replaced> {
        let s = self.session.lock().unwrap_or_else(|e| e.into_inner());
        if s.held_by(self.generation) {
            Ok(s)
        } else {
            Err(Replaced)
        }
    }

    /// Numbers a control message and queues it (`count_in`: it answers a
    /// client message, counted in the same step so a resume sees both or
    /// neither).
    fn send(
        &self,
        count_in: bool,
        make: impl FnOnce(u64) -> ServerMessage,
    ) -> Result<(), Replaced> {
        let config = &self.sessions.config;
        let mut s = self.session()?;
        if count_in {
            s.received += 1;
        }
        let (_, frame) = s.number(config, |seq| {
            Frame::Text(serde_json::to_string(&make(seq)).unwrap_or_default())
        });
        self.outbox.push(to_message(frame));
        drop(s);
        let m = &self.state.metrics.voice;
        m.out_text.inc();
        Ok(())
    }

    /// Numbers an audio frame and queues it, unless the backlog is over
    /// its bound: then it is dropped (counted) and takes no number.
    fn send_audio(&self, count_in: bool, bytes: Bytes) -> Result<(), Replaced> {
        let config = &self.sessions.config;
        let m = &self.state.metrics.voice;
        let mut s = self.session()?;
        if count_in {
            s.received += 1;
        }
        if !self.outbox.has_room(bytes.len(), config.outbound_limit) {
            m.dropped(Dropped::Backpressure);
            return Ok(());
        }
        let (_, frame) = s.number(config, |_| Frame::Binary(bytes));
        self.outbox.push(to_message(frame));
        drop(s);
        m.out_binary.inc();
        Ok(())
    }

    /// Counts a client message that gets no answer.
    fn count_in(&self) -> Result<(), Replaced> {
        self.session()?.received += 1;
        Ok(())
    }

    /// A text message from the client: its answer, counted with it.
    fn text(&self, text: &str) -> Result<(), Replaced> {
        match serde_json::from_str::<ClientMessage>(text) {
            Ok(ClientMessage::Ping { .. }) => self.send(true, |seq| ServerMessage::Pong { seq }),
            Ok(ClientMessage::Tool { id, name, args }) => {
                let outcome = tools::call(self.state, &name, &args);
                let known = if tools::TOOLS.contains(&name.as_str()) {
                    name.as_str()
                } else {
                    "unknown"
                };
                self.state
                    .metrics
                    .voice
                    .tool_calls
                    .with_label_values(&[known, if outcome.is_ok() { "true" } else { "false" }])
                    .inc();
                self.send(true, |seq| {
                    let (ok, result, error) = match outcome {
                        Ok(r) => (true, Some(r), None),
                        Err(e) => (false, None, Some(e)),
                    };
                    ServerMessage::ToolResult {
                        id,
                        ok,
                        result,
                        error,
                        seq,
                    }
                })
            }
            Err(e) => {
                // Say which message it was when it has an id at all.
                let value = serde_json::from_str::<serde_json::Value>(text).ok();
                let reference = value
                    .as_ref()
                    .and_then(|v| v.get("id"))
                    .map(|id| id.as_str().map_or_else(|| id.to_string(), String::from));
                let kind = value
                    .as_ref()
                    .and_then(|v| v.get("type"))
                    .and_then(|t| t.as_str());
                let code = match kind {
                    Some("ping" | "tool") => "bad_message",
                    Some(_) => "unknown_type",
                    None if value.is_some() => "bad_message",
                    None => "not_json",
                };
                let message = spotlight_wire::text::shorten(&e.to_string(), 160);
                self.send(true, |seq| ServerMessage::Error {
                    code: code.into(),
                    message,
                    reference,
                    retry_ms: None,
                    seq,
                })
            }
        }
    }
}

/// How a connection ended.
enum Ending {
    /// The client closed on purpose: the session ends.
    ClientClosed,
    /// The server closed with a code; `true`: the session stays resumable.
    Closed(u16, bool),
    /// The socket broke: the session stays resumable.
    Lost,
    /// A resume took the session over.
    Replaced,
}

/// Serves one voice connection until it ends. A plain fn returning an
/// async block: the arguments are stored once in the connection's future
/// (an async fn stores them twice), and the config and metrics are read
/// in place, not cloned into it.
#[allow(clippy::manual_async_fn)] // an async fn would store the arguments twice
pub fn serve<S>(
    socket: S,
    state: AppState,
    mut attached: Attached,
    permit: StreamPermit,
) -> impl std::future::Future<Output = ()> + Send
where
    S: Stream<Item = Result<Message, axum::Error>>
        + Sink<Message, Error = axum::Error>
        + Send
        + 'static,
{
    async move {
        let sessions = &*state.voice;
        let config = &sessions.config;
        let metrics = &state.metrics.voice;
        metrics.connections.inc();
        let span = tracing::Span::current();
        span.record("session", attached.id.as_str());
        span.record("resumed", attached.resumed);
        let (sink, mut stream) = socket.split();
        let outbox = Arc::new(Outbox::default());
        greet(&outbox, &mut attached, config, metrics);
        // The writer runs in this task: an echo goes out in the same wake
        // that read its frame. A socket that takes nothing for the stall
        // timeout ends the connection (4008, counted).
        let mut writer = Writer::new(sink);
        let conn = Conn {
            state: &state,
            sessions,
            session: attached.session.clone(),
            generation: attached.generation,
            outbox: outbox.clone(),
        };
        let mut relay = Relaying {
            relay: config
                .upstream
                .clone()
                .map(|url| relay::start(url, config.upstream_health.clone())),
            up: true,
        };
        let mut heartbeat = tokio::time::interval(config.heartbeat);
        heartbeat.reset();
        let mut heard = Instant::now();
        // Waiting on a token registers with it: once, not once per message.
        let replaced = attached.kick.cancelled();
        let shutdown = state.shutdown.cancelled();
        tokio::pin!(replaced, shutdown);
        let ending = loop {
            let step = tokio::select! {
                biased;
                end = std::future::poll_fn(|cx| writer.poll_write(cx, &outbox)) => Err(match end {
                    WriteEnd::Done => Ending::Lost,
                    WriteEnd::Stalled => Ending::Closed(close::SLOW, true),
                }),
                incoming = stream.next() => {
                    heard = Instant::now();
                    conn.incoming(incoming, &relay)
                }
                event = relay.recv() => conn.upstream(event, &mut relay),
                _ = heartbeat.tick() => conn.beat(heard, config.idle),
                () = &mut replaced => Err(Ending::Replaced),
                () = &mut shutdown => Err(conn.close(close::GOING_AWAY, "server shutting down", true)),
            };
            if let Err(ending) = step {
                break ending;
            }
        };
        drop(relay);
        settle(&ending, &attached, sessions, metrics);
        // Let the close frame go out, within the stall bound; a stalled
        // socket takes nothing more.
        if !matches!(ending, Ending::Closed(close::SLOW, _)) {
            let stall = state.config.limits.stall_timeout;
            let _ = tokio::time::timeout(stall, writer.finish(&outbox)).await;
        }
        metrics.connections.dec();
        drop(permit);
    }
}

/// Queues `hello` and what the session replays.
fn greet(outbox: &Outbox, attached: &mut Attached, config: &VoiceConfig, metrics: &VoiceMetrics) {
    let replay = std::mem::take(&mut attached.replay);
    let hello = ServerMessage::Hello {
        session: attached.id.clone(),
        resume_token: attached.token.clone(),
        heartbeat_ms: config.heartbeat.as_millis() as u64,
        resumed: attached.resumed,
        received: attached.received,
        replayed: replay.len() as u64,
        lost: attached.lost,
        seq: attached.seq,
    };
    outbox.push(Message::Text(
        serde_json::to_string(&hello).unwrap_or_default().into(),
    ));
    metrics.replayed.inc_by(replay.len() as u64);
    for frame in replay {
        outbox.push(to_message(frame));
    }
}

/// What an ending does to the session: ended, or kept for a resume.
fn settle(ending: &Ending, attached: &Attached, sessions: &Sessions, metrics: &VoiceMetrics) {
    let (session, generation) = (&attached.session, attached.generation);
    match *ending {
        Ending::ClientClosed => {
            metrics.closed(close::NORMAL);
            sessions.end(session, generation);
        }
        Ending::Closed(code, resumable) => {
            metrics.closed(code);
            if code == close::SLOW {
                tracing::info!(session = %attached.id, "voice connection closed: no write progress within --stall-timeout");
            }
            if resumable {
                sessions.detach(session, generation);
            } else {
                sessions.end(session, generation);
            }
        }
        Ending::Lost => sessions.detach(session, generation),
        Ending::Replaced => {}
    }
}

/// The relay to `--voice-upstream` (none: audio is echoed), and whether
/// the upstream is up.
struct Relaying {
    relay: Option<Relay>,
    up: bool,
}

impl Relaying {
    /// The next event from the upstream; never, without one.
    async fn recv(&mut self) -> Option<FromUpstream> {
        match &mut self.relay {
            Some(r) => r.from.recv().await,
            None => std::future::pending().await,
        }
    }
}

impl Conn<'_> {
    /// A message from the client, or the connection's end.
    fn incoming(
        &self,
        incoming: Option<Result<Message, axum::Error>>,
        relay: &Relaying,
    ) -> Result<(), Ending> {
        let metrics = &self.state.metrics.voice;
        let handled = match incoming {
            Some(Ok(Message::Text(t))) => {
                metrics.in_text.inc();
                self.text(t.as_str())
            }
            Some(Ok(Message::Binary(b))) if b.len() > self.sessions.config.max_frame => {
                return Err(self.too_big())
            }
            Some(Ok(Message::Binary(b))) => {
                metrics.in_binary.inc();
                self.audio(b, relay)
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
            Some(Ok(Message::Close(_))) => return Err(Ending::ClientClosed),
            Some(Err(e)) if too_big(&e) => return Err(self.too_big()),
            Some(Err(_)) | None => return Err(Ending::Lost),
        };
        handled.map_err(|Replaced| Ending::Replaced)
    }

    /// Client audio: echoed, or relayed upstream (dropped, counted, when
    /// the upstream is down or its queue full).
    fn audio(&self, b: Bytes, relay: &Relaying) -> Result<(), Replaced> {
        let voice = &self.state.metrics.voice;
        match &relay.relay {
            None => self.send_audio(true, b),
            Some(_) if !relay.up => {
                voice.dropped(Dropped::UpstreamDown);
                self.count_in()
            }
            Some(r) => {
                if r.to.try_send(b).is_err() {
                    voice.dropped(Dropped::UpstreamFull);
                }
                self.count_in()
            }
        }
    }

    /// An event of the upstream relay.
    fn upstream(&self, event: Option<FromUpstream>, relay: &mut Relaying) -> Result<(), Ending> {
        let state = |up: bool| if up { "up" } else { "down" }.to_string();
        let handled = match event {
            Some(FromUpstream::Frame(b)) => self.send_audio(false, b),
            Some(FromUpstream::Up) | Some(FromUpstream::Down) => {
                relay.up = matches!(event, Some(FromUpstream::Up));
                let now = state(relay.up);
                self.send(false, |seq| ServerMessage::Upstream { state: now, seq })
            }
            None => {
                relay.relay = None;
                Ok(())
            }
        };
        handled.map_err(|Replaced| Ending::Replaced)
    }

    /// The heartbeat: a ping, or the idle close when the client has been
    /// silent for `idle`.
    fn beat(&self, heard: Instant, idle: Duration) -> Result<(), Ending> {
        if heard.elapsed() >= idle {
            return Err(self.close(close::IDLE, "idle", true));
        }
        self.outbox.push(Message::Ping(Bytes::new()));
        Ok(())
    }

    /// Queues a close frame; the ending it makes.
    fn close(&self, code: u16, reason: &'static str, resumable: bool) -> Ending {
        self.outbox.push(close_message(code, reason));
        Ending::Closed(code, resumable)
    }

    fn too_big(&self) -> Ending {
        self.close(close::TOO_BIG, "frame too big (1 MiB at most)", false)
    }
}

/// Whether a read failed on a frame over the size limit (the WebSocket
/// layer's own error, found among the causes: typed, not by its text).
fn too_big(e: &axum::Error) -> bool {
    ws_error(e).is_some_and(|t| matches!(t, tokio_tungstenite::tungstenite::Error::Capacity(_)))
}
