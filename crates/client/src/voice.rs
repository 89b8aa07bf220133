//! The voice WebSocket client: one session across connections. It counts
//! the server's outbound sequence, keeps what it sent until the server has
//! counted it, and on a lost connection resumes with `?resume=TOKEN&last=N`
//! under the shared reconnect policy — the server replays what the drop
//! swallowed, the client re-sends what the server did not get.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use spotlight_reconnect::Backoff;
use spotlight_wire::voice::{close, ClientMessage, ServerMessage};

/// A voice WebSocket over TCP.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Client messages kept for re-sending at most.
const SENT_WINDOW: usize = 8192;

/// What can go wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VoiceError {
    /// No connection could be made.
    #[error("cannot reach {url}: {message}")]
    Unreachable {
        /// The URL dialled.
        url: String,
        /// Why.
        message: String,
    },
    /// Refused before the upgrade (401, 403, 429, 503 …).
    #[error("refused: {status} {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The body.
        message: String,
    },
    /// The server closed the connection.
    #[error("closed by the server: {code} {reason}")]
    Closed {
        /// Close code.
        code: u16,
        /// Reason.
        reason: String,
    },
    /// The connection broke.
    #[error("connection lost")]
    Lost,
    /// Something unexpected arrived.
    #[error("protocol: {0}")]
    Protocol(String),
}

impl VoiceError {
    /// Whether coming back makes sense.
    pub fn retryable(&self) -> bool {
        match self {
            VoiceError::Unreachable { .. } | VoiceError::Lost => true,
            VoiceError::Closed { code, .. } => close::reconnect(*code),
            VoiceError::Refused { status, .. } => matches!(status, 429 | 503),
            VoiceError::Protocol(_) => false,
        }
    }
}

/// The server's `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VoiceHello {
    /// Session id.
    pub session: String,
    /// Token for the next resume.
    pub resume_token: String,
    /// Server ping interval, ms.
    pub heartbeat_ms: u64,
    /// Whether the session continued.
    pub resumed: bool,
    /// Client messages the server had received.
    pub received: u64,
    /// Messages replayed after it.
    pub replayed: u64,
    /// Messages lost outside the window.
    pub lost: u64,
    /// Seq before the next message.
    pub seq: u64,
    /// The resume was refused (and this is a new session): why.
    pub rejected: Option<String>,
}

/// A message from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A control message.
    Text(ServerMessage),
    /// Audio.
    Binary(Bytes),
}

/// One voice session, across connections.
pub struct VoiceClient {
    url: String,
    token: Option<String>,
    ws: Option<Ws>,
    hello: VoiceHello,
    /// Last outbound seq of the server's received.
    last: u64,
    /// Sent messages not yet known to be counted; `sent_base` is the
    /// index of the first.
    sent: VecDeque<Message>,
    sent_base: u64,
    backoff: Backoff,
}

impl std::fmt::Debug for VoiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceClient")
            .field("url", &self.url)
            .field("session", &self.hello.session)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

/// The `ws://…/voice/ws` URL of a server's `http://…` base URL.
pub fn voice_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    let ws = base
        .strip_prefix("https://")
        .map(|r| format!("wss://{r}"))
        .or_else(|| base.strip_prefix("http://").map(|r| format!("ws://{r}")))
        .unwrap_or_else(|| base.to_string());
    format!("{ws}/voice/ws")
}

/// Dials the voice WebSocket (`query` appended) with a Bearer token.
pub async fn dial(url: &str, token: Option<&str>, query: &str) -> Result<Ws, VoiceError> {
    let full = if query.is_empty() {
        url.to_string()
    } else {
        format!("{url}?{query}")
    };
    let mut request = full
        .as_str()
        .into_client_request()
        .map_err(|e| VoiceError::Protocol(e.to_string()))?;
    if let Some(t) = token {
        let value = HeaderValue::from_str(&format!("Bearer {t}"))
            .map_err(|e| VoiceError::Protocol(e.to_string()))?;
        request.headers_mut().insert("authorization", value);
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0);
    let tls = tokio_tungstenite::Connector::Rustls(super::trust::rustls_config());
    let dialed =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, Some(tls));
    match dialed.await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(VoiceError::Refused {
            status: response.status().as_u16(),
            message: response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default(),
        }),
        Err(e) => Err(VoiceError::Unreachable {
            url: url.to_string(),
            message: e.to_string(),
        }),
    }
}

/// The error a close frame means (1005: no code given).
fn closed(frame: Option<CloseFrame>) -> VoiceError {
    VoiceError::Closed {
        code: frame.as_ref().map_or(1005, |f| u16::from(f.code)),
        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
    }
}

/// Reads the `hello` that opens a connection (after a `resume_rejected`
/// error, when the resume was refused, and after the `queued` places of a
/// server at capacity; a queue that is full or dismissed ends in close 1013).
pub async fn read_hello(ws: &mut Ws) -> Result<VoiceHello, VoiceError> {
    let mut rejected = None;
    loop {
        let text = match ws.next().await {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(frame))) => return Err(closed(frame)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(VoiceError::Lost),
        };
        match serde_json::from_str::<ServerMessage>(&text) {
            Ok(ServerMessage::Hello {
                session,
                resume_token,
                heartbeat_ms,
                resumed,
                received,
                replayed,
                lost,
                seq,
            }) => {
                return Ok(VoiceHello {
                    session,
                    resume_token,
                    heartbeat_ms,
                    resumed,
                    received,
                    replayed,
                    lost,
                    seq,
                    rejected,
                })
            }
            Ok(ServerMessage::Error { code, message, .. }) if code == "resume_rejected" => {
                rejected = Some(message);
            }
            Ok(ServerMessage::Queued { position, .. }) => {
                tracing::debug!(position, "voice: waiting for a seat");
            }
            Ok(ServerMessage::Draining { .. }) => {}
            Ok(ServerMessage::Error { code, .. }) if code == "at_capacity" => {}
            other => {
                return Err(VoiceError::Protocol(format!(
                    "expected hello, got {other:?}"
                )))
            }
        }
    }
}

impl VoiceClient {
    /// Opens a new session at `base` (`http://host:port`), signed in with
    /// `token` when given.
    pub async fn connect(base: &str, token: Option<String>) -> Result<VoiceClient, VoiceError> {
        let url = voice_url(base);
        let mut ws = dial(&url, token.as_deref(), "").await?;
        let hello = read_hello(&mut ws).await?;
        Ok(VoiceClient {
            url,
            token,
            ws: Some(ws),
            last: hello.seq,
            hello,
            sent: VecDeque::new(),
            sent_base: 0,
            backoff: Backoff::default(),
        })
    }

    /// The latest `hello`.
    pub fn hello(&self) -> &VoiceHello {
        &self.hello
    }

    /// The last outbound seq received from the server.
    pub fn last(&self) -> u64 {
        self.last
    }

    /// Sends a message (kept until the server has counted it). While the
    /// connection is down it is only kept: the resume re-sends it.
    pub async fn send(&mut self, m: Message) -> Result<(), VoiceError> {
        self.sent.push_back(m.clone());
        if self.sent.len() > SENT_WINDOW {
            self.sent.pop_front();
            self.sent_base += 1;
        }
        if let Some(ws) = &mut self.ws {
            if ws.send(m).await.is_err() {
                self.ws = None;
            }
        }
        Ok(())
    }

    /// Sends a control message.
    pub async fn send_control(&mut self, m: &ClientMessage) -> Result<(), VoiceError> {
        let text = serde_json::to_string(m).map_err(|e| VoiceError::Protocol(e.to_string()))?;
        self.send(Message::Text(text.into())).await
    }

    /// The next message; `Err` when the connection is closed or lost
    /// (then [`VoiceClient::reconnect`] comes back). Cancel-safe.
    pub async fn next(&mut self) -> Result<Incoming, VoiceError> {
        loop {
            let Some(ws) = &mut self.ws else {
                return Err(VoiceError::Lost);
            };
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let m: ServerMessage = serde_json::from_str(&t)
                        .map_err(|e| VoiceError::Protocol(format!("{e}: {t}")))?;
                    if m.seq() > 0 {
                        self.last = m.seq();
                    }
                    return Ok(Incoming::Text(m));
                }
                Some(Ok(Message::Binary(b))) => {
                    self.last += 1;
                    return Ok(Incoming::Binary(b));
                }
                Some(Ok(Message::Close(frame))) => {
                    self.ws = None;
                    return Err(closed(frame));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    self.ws = None;
                    return Err(VoiceError::Lost);
                }
            }
        }
    }

    /// Cuts the connection abruptly, with no close frame (as a network
    /// loss would).
    pub fn cut(&mut self) {
        self.ws = None;
    }

    /// One resume attempt: dial with the token and `last`, read `hello`,
    /// re-send what the server did not count.
    pub async fn resume(&mut self) -> Result<VoiceHello, VoiceError> {
        // Tokens are hex: they go into the URL as they are.
        let query = format!("resume={}&last={}", self.hello.resume_token, self.last);
        let mut ws = dial(&self.url, self.token.as_deref(), &query).await?;
        let hello = read_hello(&mut ws).await?;
        if hello.resumed {
            // The server replays after `last`; hello.seq accounts for loss.
            self.last = hello.seq;
            let skip = hello.received.saturating_sub(self.sent_base) as usize;
            for m in self.sent.iter().skip(skip) {
                if ws.send(m.clone()).await.is_err() {
                    return Err(VoiceError::Lost);
                }
            }
        } else {
            // A new session: nothing of the old one carries over.
            self.last = hello.seq;
            self.sent.clear();
            self.sent_base = 0;
        }
        self.hello = hello.clone();
        self.ws = Some(ws);
        Ok(hello)
    }

    /// Comes back after a lost connection under the shared policy: each
    /// attempt after its delay (1 s × 2ⁿ, capped at 30 s, ±20 %), at most
    /// 10; stops at a refusal that says not to come back.
    pub async fn reconnect(&mut self) -> Result<VoiceHello, VoiceError> {
        let mut last_error = VoiceError::Lost;
        while self.backoff.wait().await {
            match self.resume().await {
                Ok(h) => {
                    self.backoff.reset();
                    return Ok(h);
                }
                Err(e) if e.retryable() => last_error = e,
                Err(e) => return Err(e),
            }
        }
        Err(last_error)
    }

    /// Closes the session on purpose (1000): it cannot be resumed.
    pub async fn close(mut self) {
        if let Some(ws) = &mut self.ws {
            let _ = ws.close(None).await;
            let drain = async { while let Some(Ok(_)) = ws.next().await {} };
            let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
        }
    }
}
