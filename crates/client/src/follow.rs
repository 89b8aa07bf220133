//! Following one symbol's stream the way a chart needs it: history first,
//! then the stream from exactly where history ended, reconnecting with
//! `Last-Event-ID` (the shared [`Backoff`] policy), refetching history on
//! `reset`, and treating three missed heartbeats as a lost connection.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;

use super::sse::{ServerEvent, Subscribe};
use super::{Client, ClientError};
use spotlight_reconnect::Backoff;
use spotlight_wire::Timeframe;
use spotlight_wire::{BarEvent, Hello, History, ReplayStatus, Reset};

/// What a follower reports.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowEvent {
    /// Fetching history or opening the stream.
    Connecting,
    /// The whole history (at start, and again after a reset).
    History(History),
    /// The stream is open.
    Live(Hello),
    /// A bar update or close.
    Bar(BarEvent),
    /// A heartbeat, with this client's queue figures.
    Ping(spotlight_wire::Ping),
    /// The server reset the client (history follows).
    Reset(Reset),
    /// The connection was lost; the next attempt comes after `delay`.
    Reconnecting {
        /// Attempt number since the last success.
        attempt: u32,
        /// Wait before it.
        delay: Duration,
        /// What happened.
        reason: String,
    },
    /// The attempt budget is spent; the follower has stopped.
    GaveUp(String),
    /// The replay's state: from each `replay` event, and fetched with
    /// every history load (a stream that opens mid-replay, or after the
    /// reset a replay sends, gets no `replay` event of its own).
    Replay(ReplayStatus),
    /// Another event, raw.
    Other {
        /// Event name.
        event: String,
        /// Raw data.
        data: String,
    },
}

/// What to follow.
#[derive(Debug, Clone)]
pub struct Follow {
    /// Symbol.
    pub symbol: String,
    /// Timeframe.
    pub timeframe: Timeframe,
    /// Bars of history to fetch.
    pub history: usize,
    /// Reconnect policy.
    pub backoff: Backoff,
}

/// Starts following; events arrive on the returned channel (bounded). The
/// follower stops when the receiver is dropped or it gives up.
pub fn follow(client: Client, cfg: Follow) -> mpsc::Receiver<FollowEvent> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(run(client, cfg, tx));
    rx
}

/// How long the replay status fetched with history may take.
const STATUS_WAIT: Duration = Duration::from_secs(2);

enum Ended {
    /// Reconnect with the position we have.
    Lost(String, Option<Duration>),
    /// Start over from history.
    Reset,
    /// The receiver is gone.
    Closed,
}

async fn run(client: Client, cfg: Follow, tx: mpsc::Sender<FollowEvent>) {
    let mut backoff = cfg.backoff.clone();
    // Where the stream stands: `(epoch, seq)` of the last bar, else the
    // seq of the history it continues.
    let mut state = Position::default();
    loop {
        if tx.send(FollowEvent::Connecting).await.is_err() {
            return;
        }
        let outcome = if state.needs_history() {
            match client
                .history(&cfg.symbol, cfg.timeframe, cfg.history, None)
                .await
            {
                Ok(h) => {
                    state.since_seq = Some(h.seq);
                    if tx.send(FollowEvent::History(h)).await.is_err() {
                        return;
                    }
                    // Best effort and bounded: an older server, or one
                    // that is slow to answer, must not hold the stream up.
                    let status = tokio::time::timeout(STATUS_WAIT, client.replay_status()).await;
                    if let Ok(Ok(status)) = status {
                        if tx.send(FollowEvent::Replay(status)).await.is_err() {
                            return;
                        }
                    }
                    stream(&client, &cfg, &mut state, &mut backoff, &tx).await
                }
                Err(e) => Ended::Lost(e.summary(), None),
            }
        } else {
            stream(&client, &cfg, &mut state, &mut backoff, &tx).await
        };
        match outcome {
            Ended::Closed => return,
            Ended::Reset => state = Position::default(),
            Ended::Lost(reason, hint) => {
                let Some(delay) = backoff.next_delay() else {
                    let _ = tx.send(FollowEvent::GaveUp(reason)).await;
                    return;
                };
                let delay = hint.unwrap_or(delay);
                let attempt = backoff.attempts();
                tracing::warn!(%reason, attempt, ?delay, "connection lost; reconnecting");
                if tx
                    .send(FollowEvent::Reconnecting {
                        attempt,
                        delay,
                        reason,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Where a follower's stream stands.
#[derive(Debug, Default)]
struct Position {
    epoch: Option<String>,
    last_seq: Option<u64>,
    since_seq: Option<u64>,
}

impl Position {
    fn needs_history(&self) -> bool {
        self.last_seq.is_none() && self.since_seq.is_none()
    }

    fn last_event_id(&self) -> Option<String> {
        Some(format!("{}:{}", self.epoch.as_ref()?, self.last_seq?))
    }
}

/// One connection: until it is lost, reset, or the receiver goes away.
async fn stream(
    client: &Client,
    cfg: &Follow,
    pos: &mut Position,
    backoff: &mut Backoff,
    tx: &mpsc::Sender<FollowEvent>,
) -> Ended {
    let last_event_id = pos.last_event_id();
    let sub = Subscribe {
        symbols: vec![cfg.symbol.clone()],
        timeframe: Some(cfg.timeframe),
        since_seq: if last_event_id.is_some() {
            None
        } else {
            pos.since_seq
        },
        last_event_id,
    };
    let mut events = match client.subscribe(&sub).await {
        Ok(s) => s,
        Err(
            e @ ClientError::Api {
                status: 400 | 404, ..
            },
        ) => {
            // The position is not acceptable any more: start over from history.
            let reason = e.summary();
            let _ = tx
                .send(FollowEvent::Reconnecting {
                    attempt: 0,
                    delay: Duration::ZERO,
                    reason,
                })
                .await;
            return Ended::Reset;
        }
        Err(e) => return Ended::Lost(e.summary(), None),
    };
    // Until hello gives the interval, allow a generous wait.
    let mut heartbeat = Duration::from_secs(30);
    loop {
        let next = match tokio::time::timeout(heartbeat * 3, events.next()).await {
            Err(_) => return Ended::Lost(format!("no heartbeat for {:?}", heartbeat * 3), None),
            Ok(None) => return Ended::Lost("the server closed the stream".into(), None),
            Ok(Some(Err(e))) => return Ended::Lost(e.summary(), None),
            Ok(Some(Ok(ev))) => ev,
        };
        let (out, ended) = follow_event(next, pos, backoff, &mut heartbeat);
        if let Some(out) = out {
            if tx.send(out).await.is_err() && ended.is_none() {
                return Ended::Closed;
            }
        }
        if let Some(ended) = ended {
            return ended;
        }
    }
}

/// What one server event means to the follower: an event to pass on,
/// and whether the stream ends here (a reset reloads history; a shutdown
/// notice says when to come back).
fn follow_event(
    event: ServerEvent,
    pos: &mut Position,
    backoff: &mut Backoff,
    heartbeat: &mut Duration,
) -> (Option<FollowEvent>, Option<Ended>) {
    let out = match event {
        ServerEvent::Hello(h) => {
            tracing::debug!(epoch = %h.epoch, seq = h.seq, resumed = h.resumed, "stream open");
            backoff.reset();
            *heartbeat = Duration::from_millis(h.heartbeat_ms.max(100));
            pos.epoch = Some(h.epoch.clone());
            FollowEvent::Live(h)
        }
        ServerEvent::Bar(b) => {
            pos.last_seq = Some(b.seq);
            FollowEvent::Bar(b)
        }
        ServerEvent::Ping(p) => FollowEvent::Ping(p),
        ServerEvent::Reset(r) => {
            tracing::info!(reason = ?r.reason, "reset: reloading history");
            return (Some(FollowEvent::Reset(r)), Some(Ended::Reset));
        }
        ServerEvent::Shutdown(s) => {
            let again = Some(Duration::from_millis(s.retry_ms));
            let ended = Ended::Lost("the server is shutting down".into(), again);
            return (None, Some(ended));
        }
        ServerEvent::Other { event, data } if event == "replay" => {
            match serde_json::from_str(&data) {
                Ok(status) => FollowEvent::Replay(status),
                Err(_) => FollowEvent::Other { event, data },
            }
        }
        ServerEvent::Other { event, data } => FollowEvent::Other { event, data },
    };
    (Some(out), None)
}
