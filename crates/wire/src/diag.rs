//! The diag snapshot (`GET /api/diag`) and the admission view
//! (`GET /api/admission`): what an operator reads about a running server.

use serde::{Deserialize, Serialize};

use super::{DrainStatus, ReplayStatus};
use crate::Timeframe;

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
    /// The scale-out bus (`serve --bus` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<DiagBus>,
    /// The certificate served (`serve --tls-cert` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<DiagTls>,
    /// The upstreams this server depends on (a live provider, the voice
    /// relay); none for the sim and files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstreams: Vec<DiagUpstream>,
}

/// One upstream in [`Diag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagUpstream {
    /// `polygon_ws`, `polygon_rest` or `voice`.
    pub name: String,
    /// `up`, `degraded` (serving what history holds) or `down`.
    pub state: String,
    /// Milliseconds in that state (up or down).
    pub state_for_ms: i64,
    /// Milliseconds since its last message (absent: none yet).
    pub last_message_age_ms: Option<i64>,
    /// What it last reported or failed with (cleared when it is up).
    pub problem: Option<String>,
    /// Its circuit breaker: `closed`, `half_open` or `open`.
    pub circuit: Option<String>,
    /// When the next connection attempt is due, ms from now.
    pub next_attempt_in_ms: Option<i64>,
    /// Errors by kind.
    pub errors: std::collections::BTreeMap<String, u64>,
    /// The last gaps filled from it, oldest first.
    pub gaps: Vec<DiagGap>,
}

/// A gap in the live feed and what filled it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagGap {
    /// Start of the gap, Unix ms.
    pub from: i64,
    /// End of the gap, Unix ms.
    pub to: i64,
    /// Final 1m bars that filled it, all symbols.
    pub bars: u64,
    /// Why it was not (wholly) filled, if it was not.
    pub error: Option<String>,
}

/// The bus part of [`Diag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagBus {
    /// `receiving`, `stalled` or `disconnected`.
    pub state: String,
    /// Why the instance is not ready because of the bus, if it is not.
    pub problem: Option<String>,
    /// Whether this instance holds the producer lease.
    pub producer: bool,
    /// The last seq read from the log.
    pub followed: u64,
    /// Milliseconds since the last entry (event or heartbeat).
    pub silent_ms: i64,
    /// Events read from the log and applied here.
    pub events_in: u64,
    /// Events this instance appended as producer.
    pub events_out: u64,
    /// Times the log's reader connected again.
    pub reconnects: u64,
    /// Times this instance took or lost the lease.
    pub lease_changes: u64,
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
    /// `--max-connections` (0: no limit but the open-file limit).
    pub max_connections: u64,
    /// Open SSE streams.
    pub streams: u64,
    /// `--max-streams-per-addr` (0: no limit).
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

/// The certificate a TLS listener serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagTls {
    /// The leaf certificate's subject.
    pub subject: String,
    /// When it expires, Unix ms.
    pub expires_ms: i64,
}
