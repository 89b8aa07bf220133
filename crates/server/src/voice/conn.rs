//! One voice connection, written over any `Stream` + `Sink` of WebSocket
//! messages: `hello`, replay, then audio, tool calls, keepalives, in-band
//! errors, heartbeats and the idle and slow-consumer closes.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message};
use bytes::Bytes;
use futures::{Sink, SinkExt, Stream, StreamExt};

use super::session::{Attached, Frame, Session, Sessions};
use super::tools;
use super::upstream::{self, FromUpstream, Relay};
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
            m.dropped.with_label_values(&["backpressure"]).inc();
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

/// Serves one voice connection until it ends.
pub async fn serve<S>(socket: S, state: AppState, attached: Attached, _permit: StreamPermit)
where
    S: Stream<Item = Result<Message, axum::Error>>
        + Sink<Message, Error = axum::Error>
        + Send
        + 'static,
{
    let sessions = state.voice.clone();
    let config = sessions.config.clone();
    let metrics = state.metrics.voice.clone();
    metrics.connections.inc();
    let span = tracing::Span::current();
    span.record("session", attached.id.as_str());
    span.record("resumed", attached.resumed);
    let (sink, mut stream) = socket.split();
    let outbox = Arc::new(Outbox::default());
    let hello = ServerMessage::Hello {
        session: attached.id.clone(),
        resume_token: attached.token.clone(),
        heartbeat_ms: config.heartbeat.as_millis() as u64,
        resumed: attached.resumed,
        received: attached.received,
        replayed: attached.replay.len() as u64,
        lost: attached.lost,
        seq: attached.seq,
    };
    outbox.push(Message::Text(
        serde_json::to_string(&hello).unwrap_or_default().into(),
    ));
    metrics.replayed.inc_by(attached.replay.len() as u64);
    for frame in attached.replay {
        outbox.push(to_message(frame));
    }

    // The writer runs in this task: an echo goes out in the same wake
    // that read its frame. A socket that takes nothing for the stall
    // timeout ends the connection (4008, counted).
    let stall = state.config.limits.stall_timeout;
    let mut writer = Writer::new(sink);

    let conn = Conn {
        state: &state,
        sessions: &sessions,
        session: attached.session.clone(),
        generation: attached.generation,
        outbox: outbox.clone(),
    };
    let mut relay: Option<Relay> = config
        .upstream
        .clone()
        .map(|url| upstream::start(url, config.upstream_health.clone()));
    let mut upstream_up = true;
    let mut heartbeat = tokio::time::interval(config.heartbeat);
    heartbeat.reset();
    let mut heard = Instant::now();
    // Waiting on a token registers with it: once, not once per message.
    let replaced = attached.kick.cancelled();
    let shutdown = state.shutdown.cancelled();
    tokio::pin!(replaced, shutdown);
    let ending = loop {
        let handled = tokio::select! {
            biased;
            end = std::future::poll_fn(|cx| writer.poll_write(cx, &outbox)) => break match end {
                WriteEnd::Done => Ending::Lost,
                WriteEnd::Stalled => Ending::Closed(close::SLOW, true),
            },
            incoming = stream.next() => {
                heard = Instant::now();
                match incoming {
                    Some(Ok(Message::Text(t))) => {
                        metrics.in_text.inc();
                        conn.text(t.as_str())
                    }
                    Some(Ok(Message::Binary(b))) if b.len() > config.max_frame => {
                        outbox.push(close_message(close::TOO_BIG, "frame too big (1 MiB at most)"));
                        break Ending::Closed(close::TOO_BIG, false);
                    }
                    Some(Ok(Message::Binary(b))) => {
                        metrics.in_binary.inc();
                        match &relay {
                            None => conn.send_audio(true, b),
                            Some(_) if !upstream_up => {
                                metrics.dropped.with_label_values(&["upstream_down"]).inc();
                                conn.count_in()
                            }
                            Some(r) => {
                                if r.to.try_send(b).is_err() {
                                    metrics.dropped.with_label_values(&["upstream_full"]).inc();
                                }
                                conn.count_in()
                            }
                        }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                    Some(Ok(Message::Close(_))) => break Ending::ClientClosed,
                    Some(Err(e)) if too_big(&e) => {
                        outbox.push(close_message(close::TOO_BIG, "frame too big (1 MiB at most)"));
                        break Ending::Closed(close::TOO_BIG, false);
                    }
                    Some(Err(_)) | None => break Ending::Lost,
                }
            }
            event = recv_upstream(&mut relay) => match event {
                Some(FromUpstream::Frame(b)) => conn.send_audio(false, b),
                Some(FromUpstream::Up) => {
                    upstream_up = true;
                    conn.send(false, |seq| ServerMessage::Upstream { state: "up".into(), seq })
                }
                Some(FromUpstream::Down) => {
                    upstream_up = false;
                    conn.send(false, |seq| ServerMessage::Upstream { state: "down".into(), seq })
                }
                None => {
                    relay = None;
                    Ok(())
                }
            },
            _ = heartbeat.tick() => {
                if heard.elapsed() >= config.idle {
                    outbox.push(close_message(close::IDLE, "idle"));
                    break Ending::Closed(close::IDLE, true);
                }
                outbox.push(Message::Ping(Bytes::new()));
                Ok(())
            }
            () = &mut replaced => break Ending::Replaced,
            () = &mut shutdown => {
                outbox.push(close_message(close::GOING_AWAY, "server shutting down"));
                break Ending::Closed(close::GOING_AWAY, true);
            }
        };
        if let Err(Replaced) = handled {
            break Ending::Replaced;
        }
    };
    drop(relay);
    // A stalled socket takes nothing more; any other gets what is queued.
    let ending_closes = !matches!(ending, Ending::Closed(close::SLOW, _));
    let (session, generation) = (&attached.session, attached.generation);
    match ending {
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
    // Let the close frame go out, within the stall bound.
    if ending_closes {
        let _ = tokio::time::timeout(stall, writer.finish(&outbox)).await;
    }
    metrics.connections.dec();
}

async fn recv_upstream(relay: &mut Option<Relay>) -> Option<FromUpstream> {
    match relay {
        Some(r) => r.from.recv().await,
        None => std::future::pending().await,
    }
}

/// Whether a read failed on a frame over the size limit.
fn too_big(e: &axum::Error) -> bool {
    match ws_error(e) {
        Some(t) => matches!(t, tokio_tungstenite::tungstenite::Error::Capacity(_)),
        None => {
            e.to_string().contains("Space limit exceeded") || e.to_string().contains("too long")
        }
    }
}
