//! Relaying a session's audio to an upstream WebSocket, dialled with the
//! shared reconnect policy behind the upstream's circuit breaker (shared
//! by every session: an upstream that keeps failing is not dialled by
//! each of them until its cool-down has passed). While it is down, frames
//! are dropped (and counted), never buffered without bound.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use spotlight_provider::health::UpstreamHealth;
use spotlight_reconnect::Backoff;

/// A WebSocket to the upstream.
type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

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

/// Starts relaying to `url` (its health and breaker in `health`); the
/// relay ends when the handle is dropped.
pub fn start(url: String, health: Option<Arc<UpstreamHealth>>) -> Relay {
    let (to_tx, to_rx) = mpsc::channel(TOWARDS);
    let (from_tx, from_rx) = mpsc::channel(TOWARDS);
    let stop = CancellationToken::new();
    tokio::spawn(run(url, health, to_rx, from_tx, stop.clone()));
    Relay {
        to: to_tx,
        from: from_rx,
        stop,
    }
}

async fn run(
    url: String,
    health: Option<Arc<UpstreamHealth>>,
    mut to: mpsc::Receiver<Bytes>,
    from: mpsc::Sender<FromUpstream>,
    stop: CancellationToken,
) {
    let mut backoff = Backoff::attempts_at_most(u32::MAX);
    let mut was_up = true;
    let breaker = health.as_ref().and_then(|h| h.breaker.clone());
    loop {
        // `Err((kind, why))`: refused by the open circuit, or a failed dial.
        let connected = match breaker.as_ref().map(|b| b.allow()) {
            Some(Err(refused)) => Err(("circuit_open", refused.to_string())),
            _ => tokio::select! {
                c = dial(&url) => c.map_err(|e| ("connect", e.to_string())),
                _ = stop.cancelled() => return,
            },
        };
        if let (Some(b), Err(("connect", _))) = (&breaker, &connected) {
            b.failure();
        }
        match connected {
            Ok(ws) => {
                if let Some(h) = &health {
                    h.breaker.iter().for_each(|b| b.success());
                    h.set_up();
                }
                backoff.reset();
                if !was_up && from.send(FromUpstream::Up).await.is_err() {
                    return;
                }
                was_up = true;
                if !pump(ws, health.as_deref(), &mut to, &from, &stop).await {
                    return;
                }
            }
            Err((kind, e)) => {
                tracing::debug!(error = %e, %url, "voice upstream unreachable");
                if let Some(h) = &health {
                    h.error(kind);
                    h.set_down(Some(e));
                }
            }
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

/// Carries frames both ways over one connection until it breaks (`true`:
/// dial again) or the relay ends (`false`: stopped, or either side gone).
async fn pump(
    ws: Ws,
    health: Option<&UpstreamHealth>,
    to: &mut mpsc::Receiver<Bytes>,
    from: &mpsc::Sender<FromUpstream>,
    stop: &CancellationToken,
) -> bool {
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                let _ = sink.send(Message::Close(None)).await;
                return false;
            }
            frame = to.recv() => match frame {
                Some(f) => if sink.send(Message::Binary(f)).await.is_err() { return true },
                None => return false,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Binary(b))) => {
                    if let Some(h) = health {
                        h.message();
                    }
                    if from.send(FromUpstream::Frame(b)).await.is_err() {
                        return false;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return true,
            },
        }
    }
}

/// One dial of the upstream, in its own trace span, carrying the trace
/// context.
async fn dial(url: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tracing::Instrument;
    let span = tracing::info_span!("upstream.connect", upstream = "voice");
    async {
        let mut request = url.into_client_request()?;
        spotlight_telemetry::inject(request.headers_mut());
        tokio_tungstenite::connect_async(request)
            .await
            .map(|(ws, _)| ws)
    }
    .instrument(span)
    .await
}
