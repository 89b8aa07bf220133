//! Prometheus metrics: one registry, counters mirrored from the hub at
//! scrape time, HTTP request metrics by matched route template.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

use super::admission::metrics::AdmissionMetrics;
use super::admission::Full;
use super::error::ApiError;
use super::liveness::Stall;
use super::stream_metrics::SseMetrics;
use super::voice::VoiceMetrics;
use super::AppState;
use spotlight_market::hub::QueueItem;
use spotlight_market::replay::Replayer;
use spotlight_market::Hub;

/// The limits a capacity refusal names.
const REJECT_REASONS: [&str; 4] = [
    "max_connections",
    Full::PerAddress.reason(),
    Full::Streams.reason(),
    "draining",
];

/// Every metric the server exposes.
pub struct Metrics {
    registry: Registry,
    /// The SSE streams' metrics.
    pub sse: SseMetrics,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    bars_ingested: IntCounterVec,
    ring_low: IntGauge,
    ring_head: IntGauge,
    replay: ReplayMetrics,
    connections_rejected: IntCounterVec,
    connections_open: IntGauge,
    auth_failures: IntCounterVec,
    panics: IntCounter,
    /// The TLS certificate's metrics.
    pub tls: TlsMetrics,
    stalled: IntCounterVec,
    draining: IntGauge,
    ready: IntGauge,
    shutdown_waves: IntCounter,
    /// The voice WebSocket's metrics.
    pub voice: VoiceMetrics,
    /// Admission decisions, queue and capacity.
    pub admission: AdmissionMetrics,
    /// Serializes the mirroring of hub counters at scrape time.
    mirror: Mutex<()>,
    source: String,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Registers a metric in `registry` and returns it: the one way every
/// metric is made (definitions are static, so a failure is a bug).
pub(crate) fn registered<C: Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<C>,
) -> C {
    let metric = must(metric);
    must(registry.register(Box::new(metric.clone())));
    metric
}

/// HTTP request time until the response head, by route template.
fn http_duration(registry: &Registry) -> HistogramVec {
    let opts = HistogramOpts::new(
        "spotlight_http_request_duration_seconds",
        "HTTP request time until the response head, by route template",
    )
    .buckets(vec![
        0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
    ]);
    registered(registry, HistogramVec::new(opts, &["route"]))
}

/// The replay's state, speed and bars, mirrored at scrape time.
struct ReplayMetrics {
    state: IntGauge,
    speed: Gauge,
    bars: IntCounter,
}

impl ReplayMetrics {
    fn register(registry: &Registry) -> ReplayMetrics {
        ReplayMetrics {
            state: registered(
                registry,
                IntGauge::new(
                    "spotlight_replay_state",
                    "Replay state: 0 idle, 1 running, 2 paused, 3 finished, 4 stopped",
                ),
            ),
            speed: registered(
                registry,
                Gauge::new("spotlight_replay_speed", "Replay speed, x real time"),
            ),
            bars: registered(
                registry,
                IntCounter::new("spotlight_replay_bars_total", "Final bars replayed"),
            ),
        }
    }
}

/// `c` with every one of its single label's `values` present from the
/// start (a series at 0 rather than none).
fn touched<'a>(c: IntCounterVec, values: impl IntoIterator<Item = &'a str>) -> IntCounterVec {
    for value in values {
        c.with_label_values(&[value]);
    }
    c
}

/// A metric definition's result: they are static, so a failure is a bug.
pub(crate) fn must<T>(r: prometheus::Result<T>) -> T {
    r.expect("metric definitions are static and valid")
}

/// Brings a counter mirrored from elsewhere up to `to` (never down).
pub(crate) fn raise(c: &IntCounter, to: u64) {
    let now = c.get();
    if to > now {
        c.inc_by(to - now);
    }
}

impl Metrics {
    /// Registers every metric; `source` labels bars the hub took from it.
    pub fn new(hub: &Hub, source: &str) -> Arc<Metrics> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| registered(&registry, IntCounter::new(name, help));
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            registered(&registry, IntCounterVec::new(Opts::new(name, help), labels))
        };
        let gauge = |name: &str, help: &str| registered(&registry, IntGauge::new(name, help));
        register_process(&registry, hub);
        let metrics = Metrics {
            sse: SseMetrics::register(&registry),
            tls: TlsMetrics::register(&registry),
            http_requests: counter_vec(
                "spotlight_http_requests_total",
                "HTTP requests, by route template and status",
                &["route", "status"],
            ),
            http_duration: http_duration(&registry),
            bars_ingested: counter_vec(
                "spotlight_bars_ingested_total",
                "1m bars taken into the hub, by source",
                &["source"],
            ),
            ring_low: gauge("spotlight_ring_low_seq", "Oldest seq held for resume"),
            ring_head: gauge("spotlight_ring_head_seq", "Newest seq"),
            replay: ReplayMetrics::register(&registry),
            connections_rejected: touched(
                counter_vec(
                    "spotlight_connections_rejected_total",
                    "Requests and streams refused for capacity, by limit",
                    &["reason"],
                ),
                REJECT_REASONS,
            ),
            connections_open: gauge("spotlight_connections", "Open client connections"),
            auth_failures: touched(
                counter_vec(
                    "spotlight_auth_failures_total",
                    "Refused PIN sign-ins, by reason",
                    &["reason"],
                ),
                ["wrong_pin", "rate_limited", "global_limit"],
            ),
            panics: counter(
                "spotlight_panics_total",
                "Connections ended by a panic (logged; the server goes on)",
            ),
            stalled: touched(
                counter_vec(
                    "spotlight_stalled_disconnects_total",
                    "Streams closed because their peer took nothing for --stall-timeout, by reason (no_ack: it vanished; no_read: it reads nothing; write_blocked: the socket stayed full; no_window: an HTTP/2 peer gave the stream no window)",
                    &["reason"],
                ),
                Stall::ALL.map(Stall::label),
            ),
            draining: gauge(
                "spotlight_draining",
                "1 while the server refuses new streams and voice sessions (drain mode or shutdown)",
            ),
            ready: gauge(
                "spotlight_ready",
                "1 while /api/readyz answers 200 (read at each scrape), 0 while it answers 503",
            ),
            shutdown_waves: counter(
                "spotlight_shutdown_waves_total",
                "Waves in which a shutdown closed the streams",
            ),
            mirror: Mutex::new(()),
            source: source.to_string(),
            voice: VoiceMetrics::register(&registry),
            admission: AdmissionMetrics::register(&registry),
            registry,
        };
        Arc::new(metrics)
    }

    /// Brings the hub's own counters into the registry.
    fn mirror_hub(&self, hub: &Hub) {
        let _guard = self.mirror.lock().unwrap_or_else(|e| e.into_inner());
        let stats = hub.stats();
        let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        raise(&self.sse.conflated, load(&stats.conflated));
        raise(&self.sse.slow_disconnects, load(&stats.slow_disconnects));
        raise(
            &self.bars_ingested.with_label_values(&[&self.source]),
            load(&stats.published) + load(&stats.loaded),
        );
        raise(
            &self.bars_ingested.with_label_values(&["ingest"]),
            load(&stats.ingested),
        );
        let (low, head) = hub.ring_bounds();
        self.ring_low.set(low as i64);
        self.ring_head.set(head as i64);
    }

    /// Brings the replay's state into the registry.
    fn mirror_replay(&self, replay: &Replayer) {
        use spotlight_wire::ReplayState;
        let status = replay.status();
        let state = match status.state {
            ReplayState::Idle => 0,
            ReplayState::Running => 1,
            ReplayState::Paused => 2,
            ReplayState::Finished => 3,
            ReplayState::Stopped => 4,
        };
        self.replay.state.set(state);
        self.replay.speed.set(status.speed);
        let total = replay.bars_total.load(std::sync::atomic::Ordering::Relaxed);
        let _guard = self.mirror.lock().unwrap_or_else(|e| e.into_inner());
        raise(&self.replay.bars, total);
    }

    /// The registry, for metrics registered later (the bus's).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every metric family, current.
    pub fn gather(&self, hub: &Hub, replay: &Replayer) -> Vec<prometheus::proto::MetricFamily> {
        self.mirror_hub(hub);
        self.mirror_replay(replay);
        self.registry.gather()
    }

    /// The text exposition format 0.0.4.
    pub fn render(&self, hub: &Hub, replay: &Replayer) -> Result<String, ApiError> {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.gather(hub, replay), &mut out)
            .map_err(|e| {
                ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    e.to_string(),
                )
            })?;
        String::from_utf8(out).map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                e.to_string(),
            )
        })
    }

    /// One live event handed to a subscriber's socket: its latency from the
    /// hub, and a `bar` sent unless it was a broadcast (replay, reset).
    pub fn delivered(&self, item: &QueueItem) {
        self.sse
            .broadcast_latency
            .observe(item.produced.elapsed().as_secs_f64());
        if !item.is_broadcast() {
            self.sse.bars_sent.inc();
        }
    }

    /// Counts one HTTP request and its time until the response head.
    pub fn observe_http(&self, route: &str, status: u16, start: Instant) {
        self.http_duration
            .with_label_values(&[route])
            .observe(start.elapsed().as_secs_f64());
        self.http_requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
    }

    /// Counts a refusal for capacity.
    pub fn connection_rejected(&self, reason: &str) {
        self.connections_rejected.with_label_values(&[reason]).inc();
    }

    /// Refusals for capacity so far, by limit.
    pub fn connections_rejected(&self) -> Vec<(String, u64)> {
        REJECT_REASONS
            .iter()
            .map(|r| {
                (
                    r.to_string(),
                    self.connections_rejected.with_label_values(&[r]).get(),
                )
            })
            .collect()
    }

    /// Counts a refused PIN sign-in.
    pub fn auth_failure(&self, reason: &str) {
        self.auth_failures.with_label_values(&[reason]).inc();
    }

    /// Counts a connection ended by a panic.
    pub fn panicked(&self) {
        self.panics.inc();
    }

    /// Counts a certificate reload (`ok` or failed) and, when it took,
    /// the new certificate's expiry (Unix seconds).
    pub fn tls_reloaded(&self, ok: bool, not_after: Option<i64>) {
        let result = if ok { "ok" } else { "failed" };
        self.tls.reloads.with_label_values(&[result]).inc();
        if let Some(t) = not_after {
            self.tls.expiry.set(t);
        }
    }

    /// Sets the readiness gauge.
    pub fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    /// Sets the drain-mode gauge.
    pub fn set_draining(&self, on: bool) {
        self.draining.set(i64::from(on));
    }

    /// Counts a shutdown wave.
    pub fn shutdown_wave(&self) {
        self.shutdown_waves.inc();
    }

    /// Counts a stream closed for making no progress.
    pub fn stalled(&self, why: Stall) {
        self.stalled.with_label_values(&[why.label()]).inc();
    }

    /// Sets the open-connections gauge.
    pub fn set_connections(&self, n: usize) {
        self.connections_open.set(n as i64);
    }

    /// Total HTTP requests counted so far.
    pub fn http_requests_total(&self) -> u64 {
        self.http_requests
            .collect()
            .iter()
            .flat_map(|f| f.get_metric())
            .map(|m| m.get_counter().value() as u64)
            .sum()
    }
}

/// Middleware: counts requests and times them by matched route template.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let start = Instant::now();
    let response = next.run(req).await;
    let m = &state.metrics;
    m.http_duration
        .with_label_values(&[&route])
        .observe(start.elapsed().as_secs_f64());
    m.http_requests
        .with_label_values(&[&route, response.status().as_str()])
        .inc();
    response
}

/// Reads the gauges kept elsewhere (connections, admission) into the
/// registry before a scrape.
fn refresh(state: &AppState) {
    state.metrics.set_connections(state.admission.connections());
    state
        .metrics
        .admission
        .mirror(&state.admission, &state.config.limits);
    state.market().refresh_metrics();
    state.upstreams.refresh();
    state
        .metrics
        .set_ready(super::health::readiness(state).is_ok());
}

/// `GET /api/metrics`: the text exposition.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    refresh(&state);
    let text = state.metrics.render(&state.hub, &state.replay)?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// `GET /api/metrics/json`: the same figures as JSON,
/// `{name: {type, help, samples: [{labels, value | count, sum, buckets}]}}`.
pub async fn metrics_json(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    use prometheus::proto::MetricType;
    refresh(&state);
    let mut out = serde_json::Map::new();
    for family in state.metrics.gather(&state.hub, &state.replay) {
        let samples: Vec<serde_json::Value> = family
            .get_metric()
            .iter()
            .map(|m| {
                let labels: serde_json::Map<String, serde_json::Value> =
                    m.get_label().iter().map(|l| (l.name().to_string(), l.value().into())).collect();
                match family.get_field_type() {
                    MetricType::COUNTER => serde_json::json!({"labels": labels, "value": m.get_counter().value()}),
                    MetricType::GAUGE => serde_json::json!({"labels": labels, "value": m.get_gauge().value()}),
                    MetricType::HISTOGRAM => {
                        let h = m.get_histogram();
                        let buckets: Vec<serde_json::Value> = h
                            .get_bucket()
                            .iter()
                            .map(|b| serde_json::json!({"le": b.upper_bound(), "count": b.cumulative_count()}))
                            .collect();
                        serde_json::json!({"labels": labels, "count": h.get_sample_count(), "sum": h.get_sample_sum(), "buckets": buckets})
                    }
                    _ => serde_json::json!({"labels": labels}),
                }
            })
            .collect();
        let kind = format!("{:?}", family.get_field_type()).to_lowercase();
        out.insert(
            family.name().to_string(),
            serde_json::json!({"type": kind, "help": family.help(), "samples": samples}),
        );
    }
    axum::Json(serde_json::Value::Object(out))
}

/// The epoch's start and, on Linux, the process's CPU, memory and fds.
fn register_process(registry: &Registry, hub: &Hub) {
    let epoch_start = registered(
        registry,
        Gauge::new(
            "spotlight_epoch_start_timestamp_seconds",
            "Start of the current epoch, Unix seconds",
        ),
    );
    epoch_start.set(hub.started_ms() as f64 / 1000.0);
    #[cfg(target_os = "linux")]
    must(registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    )));
}

/// The TLS certificate: when it expires and how its reloads went.
#[derive(Debug, Clone)]
pub struct TlsMetrics {
    /// Expiry of the certificate served, Unix seconds (0: no TLS).
    pub expiry: IntGauge,
    reloads: IntCounterVec,
}

impl TlsMetrics {
    fn register(registry: &Registry) -> TlsMetrics {
        TlsMetrics {
            expiry: registered(
                registry,
                IntGauge::new(
                    "spotlight_tls_cert_expiry_timestamp_seconds",
                    "When the certificate served expires, Unix seconds (0: the listener is plaintext)",
                ),
            ),
            reloads: touched(
                registered(
                    registry,
                    IntCounterVec::new(
                        Opts::new(
                            "spotlight_tls_reloads_total",
                            "Certificate reloads on SIGHUP, by result (ok; failed: the one in use stays)",
                        ),
                        &["result"],
                    ),
                ),
                ["ok", "failed"],
            ),
        }
    }
}
