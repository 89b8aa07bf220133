//! The one admission pipeline. Every way in — a stream on the lean socket
//! path, any request the router serves, the voice WebSocket — is decided
//! by [`admit`], in this order: parameters, Host, Origin, rate limit, auth,
//! capacity. A refusal is an [`ApiError`], rendered the same on every path.
//! Voice sessions beyond `--voice-max-sessions` wait in the fair queue of
//! [`seats`] (after the upgrade, so they can be told their place).

pub mod metrics;
pub mod seats;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::browser::{check_content_type, check_host, check_origin};
pub use super::browser::{is_cors_origin, BrowserPolicy};
pub use super::client_addr::{client_addr, limit_key, ClientAddr};
use super::error::ApiError;
use super::sse::StreamRequest;
use super::voice::VoiceRequest;
use super::AppState;

/// Capacity and timing limits of the server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at most (anything beyond is answered 503 and
    /// closed; 0 = no limit but the open-file limit).
    pub max_connections: usize,
    /// Streams one client address may hold (0 = no limit).
    pub max_streams_per_addr: usize,
    /// SSE streams at most (0 = no limit but `max_connections`).
    pub sse_max_clients: usize,
    /// Voice sessions at once (0 = no limit); more wait in the queue.
    pub voice_max_sessions: usize,
    /// Voice connections waiting for a seat at most.
    pub voice_queue_max: usize,
    /// Time a request head may take to arrive.
    pub header_timeout: Duration,
    /// A stream whose writes make no progress this long is closed.
    pub stall_timeout: Duration,
    /// Symbols a stream may name, and symbols the hub may hold.
    pub max_symbols: usize,
    /// Kernel send buffer of each connection, in bytes (0: the kernel's
    /// autotuning); bounds what a stalled peer pins.
    pub stream_sndbuf: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: default_max_connections(),
            max_streams_per_addr: 256,
            sse_max_clients: 0,
            voice_max_sessions: 0,
            voice_queue_max: 100,
            header_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(30),
            max_symbols: 1000,
            stream_sndbuf: DEFAULT_STREAM_SNDBUF,
        }
    }
}

/// The default `--stream-sndbuf` (Linux doubles it for its bookkeeping);
/// see docs/benchmarks.md for the measurement behind it.
pub const DEFAULT_STREAM_SNDBUF: usize = 32 * 1024;

/// File descriptors kept back from `--max-connections` for everything else
/// (files, the listener, outbound connections).
pub const FD_RESERVE: usize = 64;

/// The open-file limit minus [`FD_RESERVE`] (at least 16).
pub fn default_max_connections() -> usize {
    let limit = crate::sys::open_file_limit().unwrap_or(1024);
    (limit as usize).saturating_sub(FD_RESERVE).max(16)
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Health, readiness, metrics: no rate limit, no auth.
    Open,
    /// Rate-limited, no session needed.
    Public,
    /// Rate-limited and behind a session when a PIN is set.
    Session,
}

/// What kind of way in a route is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A request answered once.
    Request,
    /// An SSE stream.
    Stream,
    /// The voice WebSocket.
    Voice,
}

/// What body a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// None, or JSON.
    Json,
    /// NDJSON bars (or JSON).
    Ndjson,
}

/// How a route is admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteClass {
    /// Who may use it.
    pub access: Access,
    /// Request or stream.
    pub kind: Kind,
    /// Its body.
    pub body: BodyKind,
}

impl RouteClass {
    /// Probes and metrics: no rate limit, no session.
    pub const OPEN: RouteClass = RouteClass::request(Access::Open, BodyKind::Json);
    /// Rate-limited, no session (sign-in, unknown paths).
    pub const PUBLIC: RouteClass = RouteClass::request(Access::Public, BodyKind::Json);
    /// Rate-limited and behind a session when a PIN is set.
    pub const SESSION: RouteClass = RouteClass::request(Access::Session, BodyKind::Json);
    /// [`RouteClass::SESSION`], taking NDJSON bars.
    pub const INGEST: RouteClass = RouteClass::request(Access::Session, BodyKind::Ndjson);
    /// The SSE stream, on either path.
    pub const STREAM: RouteClass = RouteClass {
        access: Access::Session,
        kind: Kind::Stream,
        body: BodyKind::Json,
    };
    /// The voice WebSocket.
    pub const VOICE: RouteClass = RouteClass {
        access: Access::Session,
        kind: Kind::Voice,
        body: BodyKind::Json,
    };

    const fn request(access: Access, body: BodyKind) -> RouteClass {
        RouteClass {
            access,
            kind: Kind::Request,
            body,
        }
    }
}

/// The path of the SSE stream.
pub const SSE_PATH: &str = "/realtime/sse";

/// Which limit left a stream without a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// `--max-streams-per-addr`: this address holds its share.
    PerAddress,
    /// `--sse-max-clients`: the server holds its SSE streams.
    Streams,
}

impl Full {
    /// The `reason` label of `spotlight_connections_rejected_total`.
    pub const fn reason(self) -> &'static str {
        match self {
            Full::PerAddress => "max_streams_per_addr",
            Full::Streams => "sse_max_clients",
        }
    }
}

/// The parts of a request admission looks at.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    /// Method.
    pub method: &'a Method,
    /// Path, without the query.
    pub path: &'a str,
    /// Raw query string.
    pub query: &'a str,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// The TCP peer.
    pub peer: SocketAddr,
    /// The authority asked for: the `Host` header, or HTTP/2's
    /// `:authority` (which carries no `Host` header).
    pub authority: Option<&'a str>,
}

impl<'a> Head<'a> {
    /// The authority of a request: its `Host` header, else the URI's
    /// (HTTP/2).
    pub fn authority_of(headers: &'a HeaderMap, uri: &'a axum::http::Uri) -> Option<&'a str> {
        headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
    }
}

/// A request let in.
#[derive(Debug)]
pub struct Admitted {
    /// The client's address (the peer, or what a trusted proxy says).
    pub client: IpAddr,
    /// Headers every answer to it carries (rate-limit figures).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// For an SSE stream: what it asks for.
    pub stream: Option<StreamRequest>,
    /// For a voice connection: what it asks for.
    pub voice: Option<VoiceRequest>,
    /// For a stream or voice connection: its place in the capacity.
    pub permit: Option<StreamPermit>,
}

/// The server's admission state: open connections, streams (SSE and
/// voice), and the voice seats with their queue.
#[derive(Debug)]
pub struct Admission {
    local: OnceLock<SocketAddr>,
    connections: AtomicUsize,
    streams: AtomicUsize,
    sse: AtomicUsize,
    per_addr: Mutex<HashMap<IpAddr, usize>>,
    /// Voice seats and the queue for them.
    pub voice: Arc<seats::Seats>,
}

impl Default for Admission {
    fn default() -> Self {
        Admission::new(&Limits::default())
    }
}

/// One open connection, counted until dropped.
#[derive(Debug)]
pub struct ConnectionPermit(Arc<Admission>);

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One open stream, counted (in total, by kind and for its address) until
/// dropped.
#[derive(Debug)]
pub struct StreamPermit {
    admission: Arc<Admission>,
    addr: IpAddr,
    kind: Kind,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        self.admission.streams.fetch_sub(1, Ordering::Relaxed);
        if self.kind == Kind::Stream {
            self.admission.sse.fetch_sub(1, Ordering::Relaxed);
        }
        let mut per = self.admission.lock_per_addr();
        if let Some(n) = per.get_mut(&self.addr) {
            *n -= 1;
            if *n == 0 {
                per.remove(&self.addr);
            }
        }
    }
}

impl Admission {
    /// Admission state for these limits.
    pub fn new(limits: &Limits) -> Admission {
        Admission {
            local: OnceLock::new(),
            connections: AtomicUsize::new(0),
            streams: AtomicUsize::new(0),
            sse: AtomicUsize::new(0),
            per_addr: Mutex::new(HashMap::new()),
            voice: seats::Seats::new(limits.voice_max_sessions, limits.voice_queue_max),
        }
    }

    /// Open SSE streams now.
    pub fn sse_streams(&self) -> usize {
        self.sse.load(Ordering::Relaxed)
    }

    /// Remembers the listening address (Host checks depend on it).
    pub fn set_local(&self, addr: SocketAddr) {
        let _ = self.local.set(addr);
    }

    /// Counts a new connection.
    pub fn connection(self: &Arc<Self>) -> ConnectionPermit {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionPermit(self.clone())
    }

    /// Open connections now.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Open streams now.
    pub fn streams(&self) -> usize {
        self.streams.load(Ordering::Relaxed)
    }

    fn lock_per_addr(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.per_addr.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a stream slot for `addr`, or says which limit is reached
    /// (`--sse-max-clients` counts SSE streams only).
    fn stream(
        self: &Arc<Self>,
        addr: IpAddr,
        limits: &Limits,
        kind: Kind,
    ) -> Result<StreamPermit, Full> {
        let mut per = self.lock_per_addr();
        let mine = per.get(&addr).copied().unwrap_or(0);
        if limits.max_streams_per_addr > 0 && mine >= limits.max_streams_per_addr {
            return Err(Full::PerAddress);
        }
        if kind == Kind::Stream {
            let sse = self.sse.load(Ordering::Relaxed);
            if limits.sse_max_clients > 0 && sse >= limits.sse_max_clients {
                return Err(Full::Streams);
            }
            self.sse.fetch_add(1, Ordering::Relaxed);
        }
        per.insert(addr, mine + 1);
        self.streams.fetch_add(1, Ordering::Relaxed);
        Ok(StreamPermit {
            admission: self.clone(),
            addr,
            kind,
        })
    }
}

/// Decides whether a request of route class `class` comes in. See the
/// module docs for the order.
pub fn admit(state: &AppState, class: RouteClass, head: &Head<'_>) -> Result<Admitted, ApiError> {
    let config = &state.config;
    let (stream, voice) = parameters(class, head, config.limits.max_symbols)?;
    check_content_type(head, class.body)?;
    check_host(head, state.admission.local.get(), &config.browser)?;
    check_origin(head, class.kind, &config.browser)?;
    let client = client_addr(head.peer, head.headers, &config.browser.trusted_proxies);
    // The access log names the client (behind a proxy, the one it forwards).
    tracing::Span::current().record("client", tracing::field::display(client));
    let headers = rate_and_session(state, class, client, head.headers)?;
    let resuming = voice.as_ref().is_some_and(|v| v.resume.is_some());
    let capacity = Capacity {
        state,
        class,
        client,
        headers: &headers,
    };
    let permit = capacity.check(resuming)?;
    Ok(Admitted {
        client,
        headers,
        stream,
        voice,
        permit,
    })
}

/// The parameters of a stream or a voice connection, read before anything
/// else so a bad one is a 400 whoever asks.
fn parameters(
    class: RouteClass,
    head: &Head<'_>,
    max_symbols: usize,
) -> Result<(Option<StreamRequest>, Option<VoiceRequest>), ApiError> {
    Ok(match class.kind {
        Kind::Stream => (
            Some(StreamRequest::parse(head.headers, head.query, max_symbols)?),
            None,
        ),
        Kind::Voice => (None, Some(VoiceRequest::parse(head.query)?)),
        Kind::Request => (None, None),
    })
}

/// The rate limit (all but open routes), then the session (session
/// routes). Returns the rate-limit headers every answer carries.
fn rate_and_session(
    state: &AppState,
    class: RouteClass,
    client: IpAddr,
    headers: &HeaderMap,
) -> Result<Vec<(HeaderName, HeaderValue)>, ApiError> {
    let mut figures = Vec::new();
    if class.access != Access::Open {
        let decision = state.auth.check_rate(client);
        figures = rate_headers(state, decision);
        if let Some(wait) = decision.wait {
            let (error, secs) = super::auth::too_many_requests(wait);
            return Err(decorate(error.retry_after(secs), &figures));
        }
    }
    if class.access == Access::Session {
        if let Some(e) = state.auth.denies(headers) {
            return Err(decorate(e, &figures));
        }
    }
    Ok(figures)
}

/// The last steps: connections, drain, then the stream's place.
struct Capacity<'a> {
    state: &'a AppState,
    class: RouteClass,
    client: IpAddr,
    /// The rate-limit figures, when the route counted against them.
    headers: &'a [(HeaderName, HeaderValue)],
}

impl Capacity<'_> {
    /// A stream's or voice connection's permit; `None` for a request.
    fn check(&self, resuming: bool) -> Result<Option<StreamPermit>, ApiError> {
        let (state, kind) = (self.state, self.class.kind);
        let most = state.config.limits.max_connections;
        if most > 0 && state.admission.connections() > most {
            return Err(self
                .refuse("max_connections", "the server is at its connection limit")
                .closing());
        }
        // New streams and new voice sessions go to another instance; a
        // voice session that resumes is finished here.
        let new_work = kind == Kind::Stream || (kind == Kind::Voice && !resuming);
        if new_work && (state.drain.is_on() || state.shutdown.is_cancelled()) {
            state.metrics.connection_rejected("draining");
            self.outcome("rejected");
            let draining = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "draining",
                "this server is draining for a deploy; connect again (another instance takes it)",
            );
            return Err(decorate(
                draining.retry_after(RETRY_AFTER_CAPACITY),
                &self.refusal_headers(),
            ));
        }
        if kind == Kind::Request {
            return Ok(None);
        }
        match state
            .admission
            .stream(self.client, &state.config.limits, kind)
        {
            Ok(permit) => {
                // A voice connection's outcome (seated or queued) is
                // decided after the upgrade, by the seats.
                if kind == Kind::Stream {
                    self.outcome("admitted");
                }
                Ok(Some(permit))
            }
            Err(full @ Full::PerAddress) => {
                Err(self.refuse(full.reason(), "too many streams from this address"))
            }
            Err(full) => Err(self.refuse(full.reason(), "the server is at its stream limit")),
        }
    }

    /// Counts an admission outcome of a stream or voice connection.
    fn outcome(&self, result: &'static str) {
        if let Some(kind) = metrics::kind_label(self.class.kind) {
            self.state.metrics.admission.request(kind, result);
        }
    }

    /// A 503 `at_capacity`, counted under `reason`.
    fn refuse(&self, reason: &'static str, what: &str) -> ApiError {
        self.state.metrics.connection_rejected(reason);
        self.outcome("rejected");
        let error = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "at_capacity",
            format!("{what}; try again later"),
        );
        decorate(
            error.retry_after(RETRY_AFTER_CAPACITY),
            &self.refusal_headers(),
        )
    }

    /// Every refusal carries the rate-limit figures too (an open route's
    /// request counts against the budget only when it is refused).
    fn refusal_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        if self.headers.is_empty() {
            rate_headers(self.state, self.state.auth.check_rate(self.client))
        } else {
            self.headers.to_vec()
        }
    }
}

/// The `X-RateLimit-*` headers of a rate decision.
fn rate_headers(
    state: &AppState,
    decision: super::auth::RateDecision,
) -> Vec<(HeaderName, HeaderValue)> {
    state
        .auth
        .rate_headers(decision)
        .into_iter()
        .map(|(name, value)| (HeaderName::from_static(name), HeaderValue::from(value)))
        .collect()
}

/// Capacity, use, queue and decisions per kind, as `GET /api/admission`,
/// diag and the metrics show them.
pub fn status(state: &AppState) -> spotlight_wire::AdmissionStatus {
    let limits = &state.config.limits;
    let m = &state.metrics.admission;
    let sse_in_use = state.admission.sse_streams();
    let mut sse = spotlight_wire::KindAdmission {
        capacity: limits.sse_max_clients as u64,
        in_use: sse_in_use as u64,
        utilization: seats::utilization(sse_in_use, limits.sse_max_clients),
        ..Default::default()
    };
    m.counts("sse", &mut sse);
    let mut voice = state.admission.voice.view();
    m.counts("voice", &mut voice);
    spotlight_wire::AdmissionStatus {
        sse,
        voice,
        draining: state.drain.is_on() || state.shutdown.is_cancelled(),
    }
}

/// `GET /api/admission` (behind a session when a PIN is set).
pub async fn get(State(state): State<AppState>) -> axum::Json<spotlight_wire::AdmissionStatus> {
    axum::Json(status(&state))
}

/// `Retry-After` of a capacity refusal, seconds.
pub const RETRY_AFTER_CAPACITY: u64 = 5;

fn decorate(mut e: ApiError, headers: &[(HeaderName, HeaderValue)]) -> ApiError {
    e.headers.extend(headers.iter().cloned());
    e
}

/// A stream admitted by the router's [`gate`], for the SSE handler to take.
#[derive(Debug, Clone)]
pub struct Ticket(Arc<Mutex<Option<Admitted>>>);

impl Ticket {
    /// The admitted request (once).
    pub fn take(&self) -> Option<Admitted> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// What the router's [`gate`] of one group of routes admits with.
#[derive(Clone)]
pub struct Gate {
    /// The server.
    pub state: AppState,
    /// The class of every route of the group.
    pub class: RouteClass,
}

/// Middleware on every group of routes (and the fallback): each request
/// the router serves goes through [`admit`] with its route's class.
pub async fn gate(State(gate): State<Gate>, mut req: Request, next: Next) -> Response {
    let Gate { state, class } = gate;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
    let uri = req.uri().clone();
    let head = Head {
        method: req.method(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: req.headers(),
        peer,
        authority: Head::authority_of(req.headers(), &uri),
    };
    let admitted = match admit(&state, class, &head) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let headers = admitted.headers.clone();
    req.extensions_mut().insert(ClientAddr(admitted.client));
    req.extensions_mut()
        .insert(Ticket(Arc::new(Mutex::new(Some(admitted)))));
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    for (name, value) in headers {
        h.insert(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_no_limit_for_streams_per_address() {
        let addr = IpAddr::from([127, 0, 0, 1]);
        let open = Limits {
            max_streams_per_addr: 0,
            ..Limits::default()
        };
        let admission = Arc::new(Admission::new(&open));
        let permits: Vec<_> = (0..1000)
            .map(|_| admission.stream(addr, &open, Kind::Stream).unwrap())
            .collect();
        assert_eq!(admission.sse_streams(), permits.len());
        let capped = Limits {
            max_streams_per_addr: 1002,
            ..Limits::default()
        };
        let more: Vec<_> = (0..2)
            .map(|_| admission.stream(addr, &capped, Kind::Stream).unwrap())
            .collect();
        assert_eq!(admission.sse_streams(), 1002, "{}", more.len());
        assert_eq!(
            admission.stream(addr, &capped, Kind::Stream).err(),
            Some(Full::PerAddress)
        );
    }
}
