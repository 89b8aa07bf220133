//! The live side: the stocks WebSocket, signed in and subscribed, its
//! aggregates into the hub; on loss, the shared reconnect policy and a
//! backfill of the gap before the feed goes on. A refused key or an
//! eviction waits `refused_retry` before the next try.

use std::collections::HashMap;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tracing::Instrument;

use super::messages::{parse_ws, Forming, WsEvent};
use super::Polygon;
use spotlight_market::Hub;
use spotlight_reconnect::Backoff;

/// How a session with the socket ended.
enum Ended {
    /// The provider refused it (bad key, eviction): it says why.
    Refused(String),
    /// Lost (a network error, a close, a timeout): `kind` for the metrics.
    Lost(&'static str, String),
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Polygon {
    /// The backfill, then sessions with the socket for as long as it runs.
    pub(super) async fn run(&self, hub: &Hub) {
        self.fill(hub).await;
        let mut backoff = Backoff::attempts_at_most(u32::MAX);
        for attempt in 1u64.. {
            let span = tracing::info_span!("upstream.session", upstream = "polygon_ws", attempt);
            let wait = match self.session(hub, &mut backoff).instrument(span).await {
                Ended::Refused(problem) => {
                    tracing::error!(%problem, "the market feed refused this connection");
                    self.feed.set_down(Some(problem));
                    let policy = backoff.next_delay().unwrap_or(backoff.cap);
                    policy.max(self.config.refused_retry)
                }
                Ended::Lost(kind, detail) => {
                    tracing::warn!(kind, %detail, "the market feed was lost: reconnecting");
                    self.feed.error(kind);
                    self.feed.set_down(None);
                    backoff.next_delay().unwrap_or(backoff.cap)
                }
            };
            self.feed.next_attempt_in(wait.as_millis() as i64);
            tokio::time::sleep(wait).await;
        }
    }

    /// One connection: connect, sign in, subscribe, fill the gap, then
    /// the feed until it ends.
    async fn session(&self, hub: &Hub, backoff: &mut Backoff) -> Ended {
        let timeout = self.config.request_timeout;
        let request = match self.config.ws_url.as_str().into_client_request() {
            Ok(mut r) => {
                spotlight_telemetry::inject(r.headers_mut());
                r
            }
            Err(e) => return Ended::Lost("connect", e.to_string()),
        };
        let mut ws = match tokio::time::timeout(timeout, tokio_tungstenite::connect_async(request))
            .await
        {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => return Ended::Lost("connect", e.to_string()),
            Err(_) => return Ended::Lost("connect", format!("no connection within {timeout:?}")),
        };
        if let Err(ended) = self.sign_in(&mut ws, timeout).await {
            return ended;
        }
        let params: Vec<String> = self
            .config
            .symbols
            .iter()
            .flat_map(|s| [format!("AM.{s}"), format!("A.{s}")])
            .collect();
        let subscribe = json!({"action": "subscribe", "params": params.join(",")});
        if let Err(e) = ws.send(Message::Text(subscribe.to_string().into())).await {
            return Ended::Lost("disconnect", e.to_string());
        }
        self.feed.set_up();
        backoff.reset();
        tracing::info!(symbols = ?self.config.symbols, "the market feed is live");
        self.fill(hub).await;
        let mut forming: HashMap<String, Forming> = HashMap::new();
        loop {
            let text = match ws.next().await {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map(|f| format!("{} {}", f.code, f.reason));
                    return Ended::Lost("disconnect", why.unwrap_or_else(|| "closed".into()));
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Ended::Lost("disconnect", e.to_string()),
                None => return Ended::Lost("disconnect", "the socket ended".into()),
            };
            self.feed.message();
            let events = match parse_ws(text.as_str()) {
                Ok(events) => events,
                Err(e) => {
                    self.feed.error("bad_message");
                    tracing::warn!(error = %e, "a message of the market feed cannot be read");
                    continue;
                }
            };
            for event in events {
                if let Some(ended) = self.apply(hub, &mut forming, event) {
                    return ended;
                }
            }
        }
    }

    /// Reads `connected`, sends the key, waits for the verdict.
    async fn sign_in(&self, ws: &mut Socket, timeout: Duration) -> Result<(), Ended> {
        let auth = json!({"action": "auth", "params": self.config.key});
        ws.send(Message::Text(auth.to_string().into()))
            .await
            .map_err(|e| Ended::Lost("disconnect", e.to_string()))?;
        let verdict = async {
            while let Some(msg) = ws.next().await {
                let Ok(Message::Text(text)) = msg else {
                    if msg.is_err() {
                        break;
                    }
                    continue;
                };
                for event in parse_ws(text.as_str()).unwrap_or_default() {
                    if let WsEvent::Status { status, message } = event {
                        match status.as_str() {
                            "auth_success" => return Ok(()),
                            "auth_failed" | "auth_timeout" | "max_connections" => {
                                self.feed.error(if status == "max_connections" {
                                    "max_connections"
                                } else {
                                    "auth_failed"
                                });
                                return Err(Ended::Refused(format!("{status}: {message}")));
                            }
                            _ => tracing::debug!(%status, %message, "market feed status"),
                        }
                    }
                }
            }
            Err(Ended::Lost("disconnect", "closed before signing in".into()))
        };
        tokio::time::timeout(timeout, verdict)
            .await
            .unwrap_or_else(|_| {
                Err(Ended::Lost(
                    "timeout",
                    format!("no sign-in answer within {timeout:?}"),
                ))
            })
    }

    /// One event into the hub; `Some` when it ends the session.
    fn apply(
        &self,
        hub: &Hub,
        forming: &mut HashMap<String, Forming>,
        event: WsEvent,
    ) -> Option<Ended> {
        let published = match event {
            WsEvent::Second(a) => {
                let f = forming.entry(a.sym.clone()).or_default();
                let bar = f.add(&a)?;
                hub.publish(&a.sym, bar, false)
            }
            WsEvent::Minute(a) => {
                let bar = a.candle();
                forming.entry(a.sym.clone()).or_default().close(bar.t);
                hub.publish(&a.sym, bar, true)
            }
            WsEvent::Status { status, message } => {
                if status == "max_connections" {
                    self.feed.error("max_connections");
                    return Some(Ended::Refused(format!(
                        "max_connections: {message} (another connection with this key took over)"
                    )));
                }
                tracing::info!(%status, %message, "market feed status");
                return None;
            }
            WsEvent::Other => return None,
        };
        if let Err(e) = published {
            tracing::debug!(error = %e, "a market feed bar was not taken");
        }
        None
    }
}
