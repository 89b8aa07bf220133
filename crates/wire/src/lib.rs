//! The JSON and SSE types shared by the server and every client.
//!
//! The server serializes these; the CLI and tests deserialize the same types,
//! so the two sides cannot drift apart. Bars and timeframes live here
//! because they are what travels; this crate depends on nothing of ours.

use serde::{Deserialize, Serialize};

pub mod bar;
mod diag;
pub mod sse;
pub mod text;
pub mod timeframe;
pub mod voice;

pub use bar::{Bar, Candle};
pub use diag::*;
pub use sse::{sse_messages, write_sse, SseMessage};
pub use timeframe::Timeframe;

/// A `bar` SSE event: the bar plus its hub sequence number and emit time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarEvent {
    /// The bar itself (flattened: `symbol, tf, t, o, h, l, c, v, final`).
    #[serde(flatten)]
    pub bar: Bar,
    /// Global, gap-free sequence number of the 1m event that produced this.
    pub seq: u64,
    /// Server time (Unix ms) at which the hub emitted the event.
    pub ts: i64,
}

/// The `hello` SSE event, always the first event of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    /// The server's epoch id (one per server start).
    pub epoch: String,
    /// The hub's head seq when the stream was opened.
    pub seq: u64,
    /// Server time, Unix ms.
    pub server_time: i64,
    /// The symbols this stream carries.
    pub symbols: Vec<String>,
    /// The timeframe this stream carries.
    pub timeframe: Timeframe,
    /// True when the stream resumed from a previous position without loss.
    pub resumed: bool,
    /// Interval between `ping` events.
    pub heartbeat_ms: u64,
    /// The market source (`sim`, `file`, …).
    pub source: String,
}

/// The `ping` SSE event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ping {
    /// Server time, Unix ms.
    pub server_time: i64,
    /// Events waiting in this client's queue.
    pub queued: usize,
    /// In-progress updates conflated for this client so far.
    pub conflated: u64,
}

/// Why a `reset` was sent: the client must refetch history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetReason {
    /// The client's position belongs to another server epoch.
    EpochChanged,
    /// The client's position is older than the ring buffer.
    GapTooOld,
    /// A replay started.
    ReplayStarted,
    /// A replay stopped.
    ReplayStopped,
}

/// The `reset` SSE event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reset {
    /// Why the client has to start over.
    pub reason: ResetReason,
    /// The current epoch.
    pub epoch: String,
    /// The newest seq in the ring.
    pub head_seq: u64,
    /// The oldest seq in the ring.
    pub low_seq: u64,
}

/// The `shutdown` SSE event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shutdown {
    /// Why the stream ends.
    pub reason: String,
    /// The reconnect delay suggested to this client (also sent as `retry:`).
    pub retry_ms: u64,
}

/// `GET /api/history` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The symbol asked for.
    pub symbol: String,
    /// The timeframe asked for.
    pub timeframe: Timeframe,
    /// The server epoch.
    pub epoch: String,
    /// The hub seq this history is consistent with: subscribe with `sinceSeq` = this.
    pub seq: u64,
    /// Bars, oldest first.
    pub bars: Vec<Bar>,
}

/// One entry of `GET /api/symbols`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolInfo {
    /// Ticker.
    pub symbol: String,
    /// Last traded price (close of the newest 1m bar).
    pub last: f64,
    /// Reference price: the previous session's close, else this session's open.
    pub reference: f64,
    /// `last - reference`.
    pub change: f64,
    /// `change / reference * 100`.
    pub change_pct: f64,
    /// Bucket start of the newest 1m bar, Unix ms.
    pub t: i64,
}

/// `GET /api/symbols` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Symbols {
    /// Every symbol the server has data for, sorted.
    pub symbols: Vec<SymbolInfo>,
}

/// `POST /api/ingest` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestResult {
    /// Bars accepted (all of the body, or none).
    pub accepted: usize,
    /// The hub's head seq after applying them.
    pub head_seq: u64,
}

/// `POST /api/admin/drain` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrainRequest {
    /// Drain mode on or off.
    pub on: bool,
}

/// `GET/POST /api/admin/drain` response, and the drain part of diag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainStatus {
    /// New streams and voice sessions are refused (drain mode, or shutting down).
    pub draining: bool,
    /// When drain mode was turned on, Unix ms.
    pub since: Option<i64>,
    /// SSE streams still open.
    pub streams: u64,
    /// Voice sessions still connected.
    pub voice_sessions: u64,
}

/// `GET /health`, `/api/healthz`, `/api/readyz` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// `ok`, or `not_ready`.
    pub status: String,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Machine-readable code: `bad_request`, `not_found`, `payload_too_large`, …
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
}

/// An SSE event id `{epoch}:{seq}`, or a bare `{seq}` meaning the current epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventId {
    /// The epoch, when the id names one.
    pub epoch: Option<String>,
    /// The seq.
    pub seq: u64,
}

impl std::str::FromStr for EventId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("event id {s:?} is not {{epoch}}:{{seq}} or {{seq}}");
        let (epoch, seq) = match s.trim().split_once(':') {
            Some((e, q)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                (Some(e.to_string()), q)
            }
            Some(_) => return Err(bad()),
            None => (None, s.trim()),
        };
        let seq = seq.parse().map_err(|_| bad())?;
        Ok(EventId { epoch, seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_parse_with_or_without_epoch() {
        assert_eq!(
            "ab12:42".parse(),
            Ok(EventId {
                epoch: Some("ab12".into()),
                seq: 42
            })
        );
        assert_eq!(
            "42".parse(),
            Ok(EventId {
                epoch: None,
                seq: 42
            })
        );
        for bad in ["", "x", ":5", "ab:", "ab:-1", "a b:3"] {
            assert!(bad.parse::<EventId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sse_frames_are_well_formed() {
        let mut buf = Vec::new();
        write_sse(
            &mut buf,
            "ping",
            None,
            &Ping {
                server_time: 1,
                queued: 0,
                conflated: 0,
            },
        );
        write_sse(
            &mut buf,
            "bar",
            Some(("ep", 7)),
            &serde_json::json!({"x": "a\nb"}),
        );
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text,
            "event: ping\ndata: {\"serverTime\":1,\"queued\":0,\"conflated\":0}\n\nid: ep:7\nevent: bar\ndata: {\"x\":\"a\\nb\"}\n\n"
        );
    }
}

/// `POST /api/auth/pin` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PinRequest {
    /// The PIN.
    pub pin: String,
}

/// `POST /api/auth/pin` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the session ends, Unix ms.
    pub expires_at: i64,
}

/// Replay states: `idle → running ⇄ paused → finished`, or `stopped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayState {
    /// No replay has run.
    Idle,
    /// Playing.
    Running,
    /// Held; the clock stands still.
    Paused,
    /// Played to the end; the replayed bars stay until `stop`.
    Finished,
    /// Stopped; live data is back.
    Stopped,
}

/// Replay progress in final bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Bars played.
    pub done: u64,
    /// Bars in the window.
    pub total: u64,
}

/// `GET /api/replay/status`, and the data of `replay` SSE events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayStatus {
    /// State.
    pub state: ReplayState,
    /// Speed (× real time).
    pub speed: f64,
    /// The replay clock, Unix ms (absent before the first replay).
    pub clock: Option<i64>,
    /// Final bars played of the window.
    pub progress: Progress,
    /// Replayed symbols.
    pub symbols: Vec<String>,
    /// Window start, Unix ms.
    pub from: Option<i64>,
    /// Window end (exclusive), Unix ms.
    pub to: Option<i64>,
}

/// `POST /api/replay/start` body; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayStart {
    /// Symbols (default: those with a recording, else every symbol).
    pub symbols: Option<Vec<String>>,
    /// Window start: RFC 3339 or Unix ms (default: the recording's start).
    pub from: Option<serde_json::Value>,
    /// Window end: RFC 3339 or Unix ms (default: the recording's end).
    pub to: Option<serde_json::Value>,
    /// Speed, 0.25 … 1000 (default 1).
    pub speed: Option<f64>,
}

/// `POST /api/replay/speed` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaySpeed {
    /// Speed, 0.25 … 1000.
    pub speed: f64,
}
