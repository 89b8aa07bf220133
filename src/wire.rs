//! The JSON and SSE types shared by the server and every client.
//!
//! The server serializes these; the CLI and tests deserialize the same types,
//! so the two sides cannot drift apart.

use serde::{Deserialize, Serialize};

use crate::market::{Bar, Timeframe};

pub mod voice;

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

/// Appends one SSE message (`id:` when given as `{epoch}:{seq}`, `event:`,
/// one `data:` line of JSON, blank line) to `buf`.
pub fn write_sse(buf: &mut Vec<u8>, event: &str, id: Option<(&str, u64)>, data: &impl Serialize) {
    use std::io::Write;
    if let Some((epoch, seq)) = id {
        let _ = writeln!(buf, "id: {epoch}:{seq}");
    }
    let _ = writeln!(buf, "event: {event}");
    buf.extend_from_slice(b"data: ");
    // Serializing these plain structs cannot fail; JSON never holds a raw newline.
    let _ = serde_json::to_writer(&mut *buf, data);
    buf.extend_from_slice(b"\n\n");
}

/// Reads back what [`write_sse`] wrote: `(event, data)` per message.
#[cfg(test)]
pub(crate) fn read_sse(bytes: &[u8]) -> Vec<(String, serde_json::Value)> {
    std::str::from_utf8(bytes)
        .expect("SSE frames are UTF-8")
        .split("\n\n")
        .filter(|m| !m.is_empty())
        .map(|m| {
            let field = |name: &str| {
                m.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .expect("field present")
            };
            let data = serde_json::from_str(field("data: ")).expect("data is JSON");
            (field("event: ").to_string(), data)
        })
        .collect()
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

/// `GET /api/diag`: the triage snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diag {
    /// When the snapshot was taken, Unix ms.
    pub timestamp: i64,
    /// The epoch.
    pub epoch: DiagEpoch,
    /// The resume ring.
    pub ring: DiagRing,
    /// The market source and its symbols.
    pub market: DiagMarket,
    /// Process memory from the OS.
    pub memory: DiagMemory,
    /// The process.
    pub process: DiagProcess,
    /// Key metrics.
    pub metrics: DiagMetrics,
    /// Access control.
    pub auth: DiagAuth,
    /// The replay.
    pub replay: ReplayStatus,
    /// The SSE clients with the most events waiting (at most 5).
    pub lagging_clients: Vec<ClientLag>,
    /// Connections, streams and capacity refusals.
    pub admission: DiagAdmission,
    /// Voice sessions.
    pub voice: DiagVoice,
    /// Drain mode.
    pub drain: DrainStatus,
}

/// The voice part of [`Diag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagVoice {
    /// Sessions with a connection now.
    pub connected: u64,
    /// Dropped sessions that can still be resumed.
    pub resumable: u64,
    /// Audio relayed upstream (`--voice-upstream`) rather than echoed.
    pub upstream: bool,
}

/// One subscriber's backlog, as diag shows the most lagging ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientLag {
    /// Subscription id.
    pub id: u64,
    /// Events waiting in its queue.
    pub queued: usize,
    /// In-progress updates conflated for it.
    pub conflated: u64,
    /// Seconds since it subscribed.
    pub connected_seconds: f64,
    /// Its timeframe.
    pub timeframe: Timeframe,
    /// How many symbols it follows.
    pub symbols: usize,
}

/// The admission part of [`Diag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagAdmission {
    /// Open client connections.
    pub connections: u64,
    /// `--max-connections`.
    pub max_connections: u64,
    /// Open SSE streams.
    pub streams: u64,
    /// `--max-streams-per-addr`.
    pub max_streams_per_addr: u64,
    /// `--sse-max-clients` (0: no limit).
    pub sse_max_clients: u64,
    /// Capacity refusals so far, by limit.
    pub rejected: std::collections::BTreeMap<String, u64>,
    /// SSE streams against `--sse-max-clients`.
    pub sse: KindAdmission,
    /// Voice sessions against `--voice-max-sessions`, with the queue.
    pub voice: KindAdmission,
}

/// `GET /api/admission`: capacity, use and queue per kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionStatus {
    /// SSE streams.
    pub sse: KindAdmission,
    /// Voice sessions.
    pub voice: KindAdmission,
    /// Drain mode or shutdown: nothing new is admitted (resumes are).
    pub draining: bool,
}

/// One kind's capacity, use, queue and decisions so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindAdmission {
    /// Allowed at once (0: no limit).
    pub capacity: u64,
    /// Holding capacity now (voice: dropped sessions held for resume too).
    pub in_use: u64,
    /// `inUse / capacity` (0 when unlimited).
    pub utilization: f64,
    /// Longest queue (0: none; SSE streams never queue).
    pub queue_max: u64,
    /// Waiting now, in order.
    pub queue: Vec<QueuedClient>,
    /// The session duration queue ETAs assume, ms (voice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_session_ms: Option<u64>,
    /// Let in at once so far.
    pub admitted: u64,
    /// Queued so far.
    pub queued: u64,
    /// Refused so far (capacity, queue full, draining, per-address limit).
    pub rejected: u64,
}

/// One connection waiting for a seat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedClient {
    /// 1-based place.
    pub position: u64,
    /// Waited so far, ms.
    pub waited_ms: u64,
    /// Estimated wait left, ms.
    pub eta_ms: u64,
}

/// The epoch part of [`Diag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagEpoch {
    /// Epoch id.
    pub id: String,
    /// Start, Unix ms.
    pub start_ms: i64,
    /// Start, RFC 3339.
    pub started_at: String,
    /// Seconds since the start.
    pub uptime_seconds: f64,
}

/// The ring part of [`Diag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagRing {
    /// Oldest seq held.
    pub low_seq: u64,
    /// Newest seq.
    pub head_seq: u64,
    /// Events held at most.
    pub capacity: usize,
    /// Bytes of events held now.
    pub bytes: u64,
}

/// The market part of [`Diag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagMarket {
    /// Source name.
    pub source: String,
    /// Per symbol: newest bar time and age.
    pub symbols: Vec<DiagSymbol>,
    /// Age of the newest bar of any symbol, seconds.
    pub last_bar_age_seconds: Option<f64>,
}

/// One symbol in [`DiagMarket`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagSymbol {
    /// Ticker.
    pub symbol: String,
    /// Bucket start of its newest 1m bar, Unix ms.
    pub last_bar_t: Option<i64>,
}

/// The memory part of [`Diag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagMemory {
    /// Resident set size, bytes.
    pub rss_bytes: Option<u64>,
    /// Peak resident set size, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Virtual size, bytes.
    pub virtual_bytes: Option<u64>,
}

/// The process part of [`Diag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagProcess {
    /// Process id.
    pub pid: u32,
    /// Seconds since the server started.
    pub uptime_seconds: f64,
    /// Crate version.
    pub version: String,
    /// Git commit it was built from.
    pub git_sha: String,
    /// `os/arch`.
    pub platform: String,
}

/// The metrics part of [`Diag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagMetrics {
    /// Open SSE streams.
    pub sse_connections: u64,
    /// SSE streams ever opened.
    pub sse_connections_total: u64,
    /// In-progress updates conflated.
    pub sse_conflated_total: u64,
    /// Slow clients closed.
    pub sse_slow_disconnects_total: u64,
    /// 1m events published this epoch.
    pub events_total: u64,
    /// HTTP requests served.
    pub http_requests_total: u64,
}

/// The auth part of [`Diag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagAuth {
    /// Whether a PIN protects the data.
    pub enabled: bool,
    /// Whether diag itself needs a session.
    pub private_diag: bool,
    /// Whether sessions survive a restart (`SPOTLIGHT_SECRET` set).
    pub persistent_sessions: bool,
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
