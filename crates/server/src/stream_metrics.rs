//! The SSE streams' metrics: connections, events, resumes, slow clients,
//! and the latency from the hub to each client's socket.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use crate::metrics::registered;

/// Every SSE stream metric.
#[derive(Debug, Clone)]
pub struct SseMetrics {
    /// Open SSE streams.
    pub connections: IntGauge,
    /// SSE streams ever opened.
    pub connections_total: IntCounter,
    /// SSE events written, by event name.
    pub events_sent: IntCounterVec,
    /// `events_sent{event="bar"}`, resolved once (counted per delivery).
    pub(crate) bars_sent: IntCounter,
    /// In-progress updates conflated (mirrored from the hub).
    pub(crate) conflated: IntCounter,
    /// Clients closed for a full queue (mirrored from the hub).
    pub(crate) slow_disconnects: IntCounter,
    /// Resume attempts by outcome: `resumed`, `reset_gap`, `reset_epoch`.
    pub resumes: IntCounterVec,
    /// How long SSE streams stayed open.
    pub connection_duration: Histogram,
    /// Event produced by the hub → handed to the client's socket.
    pub broadcast_latency: Histogram,
}

impl SseMetrics {
    /// Registers the SSE metrics in `registry`, every label present.
    pub fn register(registry: &Registry) -> SseMetrics {
        let counter = |name: &str, help: &str| registered(registry, IntCounter::new(name, help));
        let vec = |name: &str, help: &str, label: &str, values: &[&str]| {
            let c = registered(
                registry,
                IntCounterVec::new(Opts::new(name, help), &[label]),
            );
            for value in values {
                c.with_label_values(&[value]);
            }
            c
        };
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            let opts = HistogramOpts::new(name, help).buckets(buckets);
            registered(registry, Histogram::with_opts(opts))
        };
        let events_sent = vec(
            "spotlight_sse_events_sent_total",
            "SSE events written, by event",
            "event",
            &["hello", "bar", "ping", "reset", "shutdown"],
        );
        SseMetrics {
            connections: registered(
                registry,
                IntGauge::new("spotlight_sse_connections", "Open SSE streams"),
            ),
            connections_total: counter("spotlight_sse_connections_total", "SSE streams opened"),
            bars_sent: events_sent.with_label_values(&["bar"]),
            events_sent,
            conflated: counter(
                "spotlight_sse_conflated_total",
                "In-progress updates conflated in slow clients' queues",
            ),
            slow_disconnects: counter(
                "spotlight_sse_slow_disconnects_total",
                "SSE clients closed because their queue stayed full",
            ),
            resumes: vec(
                "spotlight_sse_resumes_total",
                "SSE resume attempts, by outcome",
                "outcome",
                &["resumed", "reset_gap", "reset_epoch"],
            ),
            connection_duration: histogram(
                "spotlight_sse_connection_duration_seconds",
                "How long SSE streams stayed open",
                vec![1.0, 10.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0],
            ),
            broadcast_latency: histogram(
                "spotlight_broadcast_latency_seconds",
                "Hub event produced to handed to the client's socket",
                vec![
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                    0.5, 1.0, 2.5,
                ],
            ),
        }
    }
}
