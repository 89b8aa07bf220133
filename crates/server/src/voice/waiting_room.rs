//! A new voice session asks the admission seats for a place: seated at
//! once, queued, or refused. A queued connection is told its place
//! (`queued`) at once and whenever it changes, gets `pong` for its
//! keepalives and a ping every heartbeat, leaves the queue the moment it
//! goes away, and is dismissed (`draining`, close 1013) when the server
//! drains. Audio sent before `hello` is dropped and counted.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use bytes::Bytes;
use futures::{Sink, SinkExt, Stream, StreamExt};

use super::metrics::Dropped;
use crate::admission::seats::{Acquire, Place, Queued, Seat};
use crate::AppState;
use spotlight_wire::voice::{close, ClientMessage, ServerMessage};

/// Sends one message, within the stall bound; `false` when the socket is
/// gone or takes nothing.
pub async fn send<S>(socket: &mut S, message: Message, stall: Duration) -> bool
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    matches!(
        tokio::time::timeout(stall, socket.send(message)).await,
        Ok(Ok(()))
    )
}

fn text(m: &ServerMessage) -> Message {
    Message::Text(serde_json::to_string(m).unwrap_or_default().into())
}

fn try_again(reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code: close::TRY_AGAIN,
        reason: reason.into(),
    }))
}

/// A seat for a new session, waiting in the queue when the server is at
/// capacity; `None` when the connection went away or was refused (it has
/// been told why and closed).
pub async fn seat<S>(socket: &mut S, state: &AppState) -> Option<Seat>
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin,
{
    let seats = &state.admission.voice;
    let metrics = &state.metrics.admission;
    let stall = state.config.limits.stall_timeout;
    match seats.acquire() {
        Acquire::Seat(seat) => {
            metrics.request("voice", "admitted");
            Some(seat)
        }
        Acquire::Full => {
            metrics.request("voice", "rejected");
            state.metrics.connection_rejected("voice_queue_full");
            let refusal = ServerMessage::Error {
                code: "at_capacity".into(),
                message: "every voice seat is taken and the queue is full; try again later".into(),
                reference: None,
                retry_ms: Some(seats.retry_hint_ms()),
                seq: 0,
            };
            if send(socket, text(&refusal), stall).await {
                send(socket, try_again("at capacity"), stall).await;
            }
            state.metrics.voice.closed(close::TRY_AGAIN);
            None
        }
        Acquire::Draining => {
            // A refused resume while draining: no new session here.
            metrics.request("voice", "rejected");
            state.metrics.connection_rejected("draining");
            dismiss(socket, state).await;
            None
        }
        Acquire::Queued(queued) => {
            metrics.request("voice", "queued");
            let (seat, waited) = wait(socket, queued, state).await;
            metrics.waited("voice", waited.as_secs_f64());
            seat
        }
    }
}

/// Tells a connection the server is draining (`draining` with a retry
/// drawn over the drain window) and closes it with 1013.
async fn dismiss<S>(socket: &mut S, state: &AppState)
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    let stall = state.config.limits.stall_timeout;
    let m = ServerMessage::Draining {
        retry_ms: crate::drain::retry_ms(state.config.drain),
    };
    if send(socket, text(&m), stall).await {
        send(socket, try_again("draining"), stall).await;
    }
    state.metrics.voice.closed(close::TRY_AGAIN);
}

/// Waits in the queue: the seat (none when the connection went away or
/// was dismissed) and how long it waited.
async fn wait<S>(socket: &mut S, mut queued: Queued, state: &AppState) -> (Option<Seat>, Duration)
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin,
{
    let stall = state.config.limits.stall_timeout;
    let mut ping = tokio::time::interval(state.voice.config.heartbeat);
    ping.reset();
    let mut place = queued.place();
    loop {
        match place {
            Place::Waiting { position, eta_ms } => {
                let m = ServerMessage::Queued {
                    position: position as u64,
                    eta_ms,
                };
                if !send(socket, text(&m), stall).await {
                    return (None, queued.waited());
                }
            }
            Place::Admitted => {
                let waited = queued.waited();
                return (queued.seat(), waited);
            }
            Place::Draining => {
                let waited = queued.waited();
                drop(queued);
                dismiss(socket, state).await;
                return (None, waited);
            }
        }
        place = loop {
            tokio::select! {
                p = queued.changed() => break p,
                () = state.shutdown.cancelled() => break Place::Draining,
                m = socket.next() => match m {
                    Some(Ok(Message::Text(t))) => {
                        if let Ok(ClientMessage::Ping { .. }) = serde_json::from_str(t.as_str()) {
                            if !send(socket, text(&ServerMessage::Pong { seq: 0 }), stall).await {
                                return (None, queued.waited());
                            }
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        state.metrics.voice.dropped(Dropped::Queued);
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return (None, queued.waited()),
                },
                _ = ping.tick() => {
                    if !send(socket, Message::Ping(Bytes::new()), stall).await {
                        return (None, queued.waited());
                    }
                }
            }
        };
    }
}
