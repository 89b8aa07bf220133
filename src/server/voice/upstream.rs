//! Relaying a session's audio to an upstream WebSocket, dialled with the
//! shared reconnect policy. While it is down, frames are dropped (and
//! counted), never buffered without bound.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::client::reconnect::Backoff;

/// Frames queued towards the upstream at most.
const TOWARDS: usize = 64;

/// What the upstream side reports to the connection.
#[derive(Debug)]
pub enum FromUpstream {
    /// Connected (again).
    Up,
    /// Lost; reconnecting.
    Down,
    /// An audio frame for the client.
    Frame(Bytes),
}

/// The connection's handle on its relay.
#[derive(Debug)]
pub struct Relay {
    /// Audio towards the upstream (`try_send`: full means dropped).
    pub to: mpsc::Sender<Bytes>,
    /// Events from the upstream.
    pub from: mpsc::Receiver<FromUpstream>,
    stop: CancellationToken,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts relaying to `url`; the relay ends when the handle is dropped.
pub fn start(url: String) -> Relay {
    let (to_tx, to_rx) = mpsc::channel(TOWARDS);
    let (from_tx, from_rx) = mpsc::channel(TOWARDS);
    let stop = CancellationToken::new();
    tokio::spawn(run(url, to_rx, from_tx, stop.clone()));
    Relay {
        to: to_tx,
        from: from_rx,
        stop,
    }
}

async fn run(
    url: String,
    mut to: mpsc::Receiver<Bytes>,
    from: mpsc::Sender<FromUpstream>,
    stop: CancellationToken,
) {
    let mut backoff = Backoff::attempts_at_most(u32::MAX);
    let mut was_up = true;
    loop {
        let connected = tokio::select! {
            c = tokio_tungstenite::connect_async(url.as_str()) => c,
            _ = stop.cancelled() => return,
        };
        match connected {
            Ok((ws, _)) => {
                backoff.reset();
                if !was_up && from.send(FromUpstream::Up).await.is_err() {
                    return;
                }
                was_up = true;
                let (mut sink, mut stream) = ws.split();
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => {
                            let _ = sink.send(Message::Close(None)).await;
                            return;
                        }
                        frame = to.recv() => match frame {
                            Some(f) => if sink.send(Message::Binary(f)).await.is_err() { break },
                            None => return,
                        },
                        incoming = stream.next() => match incoming {
                            Some(Ok(Message::Binary(b))) => {
                                if from.send(FromUpstream::Frame(b)).await.is_err() {
                                    return;
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(_)) | None => break,
                        },
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, %url, "voice upstream unreachable"),
        }
        if was_up {
            was_up = false;
            if from.send(FromUpstream::Down).await.is_err() {
                return;
            }
        }
        // Frames sent while down are dropped by the connection (the queue
        // is drained here so nothing stale goes out on reconnect).
        while to.try_recv().is_ok() {}
        let delay = backoff.next_delay().unwrap_or(backoff.cap);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.cancelled() => return,
        }
    }
}
