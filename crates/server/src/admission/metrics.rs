//! The admission metrics: what was admitted, queued or refused per kind,
//! the queue, the wait, the capacity and how much of it is used. Counters
//! move at decision time; the gauges are read from the admission state when
//! the metrics are scraped, so nothing here touches the fan-out.

use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};

use super::{Admission, Kind, Limits};
use crate::metrics::must;

/// The admission metrics.
#[derive(Debug, Clone)]
pub struct AdmissionMetrics {
    requests: IntCounterVec,
    queue_size: IntGaugeVec,
    wait: HistogramVec,
    capacity: IntGaugeVec,
    in_use: IntGaugeVec,
    utilization: GaugeVec,
}

/// The `kind` label of a way in that has a capacity (`None`: a request).
pub fn kind_label(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Request => None,
        Kind::Stream => Some("sse"),
        Kind::Voice => Some("voice"),
    }
}

impl AdmissionMetrics {
    /// Registers the admission metrics in `registry`.
    pub fn register(registry: &Registry) -> AdmissionMetrics {
        let reg = |c: Box<dyn prometheus::core::Collector>| must(registry.register(c));
        let int_gauge = |name: &str, help: &str| {
            let g = must(IntGaugeVec::new(Opts::new(name, help), &["kind"]));
            reg(Box::new(g.clone()));
            g
        };
        let requests = must(IntCounterVec::new(
            Opts::new(
                "spotlight_admission_requests_total",
                "SSE streams and voice sessions asking in, by kind and outcome (admitted, queued, rejected)",
            ),
            &["kind", "outcome"],
        ));
        reg(Box::new(requests.clone()));
        let wait = must(HistogramVec::new(
            HistogramOpts::new(
                "spotlight_admission_wait_seconds",
                "Time voice connections waited in the queue until seated (or until they left)",
            )
            .buckets(vec![0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0]),
            &["kind"],
        ));
        reg(Box::new(wait.clone()));
        let utilization = must(GaugeVec::new(
            Opts::new(
                "spotlight_utilization_ratio",
                "Share of the capacity in use, by kind (0 when unlimited)",
            ),
            &["kind"],
        ));
        reg(Box::new(utilization.clone()));
        let m = AdmissionMetrics {
            requests,
            queue_size: int_gauge(
                "spotlight_admission_queue_size",
                "Connections waiting for a seat, by kind",
            ),
            wait,
            capacity: int_gauge(
                "spotlight_capacity",
                "Streams or sessions allowed at once, by kind (0: unlimited)",
            ),
            in_use: int_gauge(
                "spotlight_capacity_in_use",
                "Streams or sessions holding capacity now, by kind (voice: dropped sessions held for resume included)",
            ),
            utilization,
        };
        for kind in ["sse", "voice"] {
            for outcome in ["admitted", "queued", "rejected"] {
                m.requests.with_label_values(&[kind, outcome]);
            }
            m.queue_size.with_label_values(&[kind]);
        }
        m
    }

    /// Counts one decision.
    pub fn request(&self, kind: &str, outcome: &str) {
        self.requests.with_label_values(&[kind, outcome]).inc();
    }

    /// A decision's count so far.
    pub fn requests(&self, kind: &str, outcome: &str) -> u64 {
        self.requests.with_label_values(&[kind, outcome]).get()
    }

    /// Records how long a connection waited in the queue.
    pub fn waited(&self, kind: &str, secs: f64) {
        self.wait.with_label_values(&[kind]).observe(secs);
    }

    /// Fills in a kind's decision counts.
    pub fn counts(&self, kind: &str, into: &mut spotlight_wire::KindAdmission) {
        into.admitted = self.requests(kind, "admitted");
        into.queued = self.requests(kind, "queued");
        into.rejected = self.requests(kind, "rejected");
    }

    /// Reads the gauges from the admission state (at scrape time).
    pub fn mirror(&self, admission: &Admission, limits: &Limits) {
        let (voice_in_use, voice_waiting) = admission.voice.counts();
        let kinds = [
            ("sse", limits.sse_max_clients, admission.sse_streams(), 0),
            (
                "voice",
                admission.voice.capacity(),
                voice_in_use,
                voice_waiting,
            ),
        ];
        for (kind, capacity, in_use, waiting) in kinds {
            self.capacity
                .with_label_values(&[kind])
                .set(capacity as i64);
            self.in_use.with_label_values(&[kind]).set(in_use as i64);
            self.queue_size
                .with_label_values(&[kind])
                .set(waiting as i64);
            self.utilization
                .with_label_values(&[kind])
                .set(super::seats::utilization(in_use, capacity));
        }
    }
}
