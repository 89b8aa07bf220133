//! The upstreams as the server shows them: their metrics (registered only
//! when there are upstreams), brought up to date at each scrape.

use std::sync::Mutex;

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use super::metrics::{must, raise};
use spotlight_provider::Upstreams;

/// The upstreams and their metrics.
#[derive(Debug, Default)]
pub struct ServedUpstreams {
    /// The upstreams and the feed's stall rule.
    pub upstreams: Upstreams,
    metrics: Option<UpstreamMetrics>,
}

#[derive(Debug)]
struct UpstreamMetrics {
    state: IntGaugeVec,
    errors: IntCounterVec,
    circuit: IntGaugeVec,
    age: GaugeVec,
    /// Serializes mirroring at scrape time.
    mirror: Mutex<()>,
}

impl ServedUpstreams {
    /// `upstreams`, their metrics registered in `registry` when there are any.
    pub fn new(upstreams: Upstreams, registry: &Registry) -> ServedUpstreams {
        let metrics = (!upstreams.list.is_empty()).then(|| {
            let state = must(IntGaugeVec::new(
                Opts::new(
                    "spotlight_upstream_state",
                    "Upstream state: 1 up, 0 down (a degraded upstream is up and serving what history holds: 2)",
                ),
                &["upstream"],
            ));
            let errors = must(IntCounterVec::new(
                Opts::new("spotlight_upstream_errors_total", "Upstream errors by kind"),
                &["upstream", "kind"],
            ));
            let circuit = must(IntGaugeVec::new(
                Opts::new(
                    "spotlight_circuit_state",
                    "Circuit breaker state: 0 closed, 1 half-open, 2 open",
                ),
                &["upstream"],
            ));
            let age = must(GaugeVec::new(
                Opts::new(
                    "spotlight_upstream_last_message_age_seconds",
                    "Seconds since the upstream's last message",
                ),
                &["upstream"],
            ));
            for c in [
                Box::new(state.clone()) as Box<dyn prometheus::core::Collector>,
                Box::new(errors.clone()),
                Box::new(circuit.clone()),
                Box::new(age.clone()),
            ] {
                must(registry.register(c));
            }
            UpstreamMetrics {
                state,
                errors,
                circuit,
                age,
                mirror: Mutex::new(()),
            }
        });
        ServedUpstreams { upstreams, metrics }
    }

    /// Brings the metrics up to date.
    pub fn refresh(&self) {
        let Some(m) = &self.metrics else { return };
        let _one = m.mirror.lock().unwrap_or_else(|e| e.into_inner());
        for u in &self.upstreams.list {
            let state = match (u.is_degraded(), u.is_up()) {
                (true, _) => 2,
                (false, true) => 1,
                (false, false) => 0,
            };
            m.state.with_label_values(&[u.name]).set(state);
            for (kind, n) in u.errors() {
                raise(&m.errors.with_label_values(&[u.name, &kind]), n);
            }
            if let Some(b) = &u.breaker {
                m.circuit
                    .with_label_values(&[u.name])
                    .set(b.state().gauge());
            }
            if let Some(ms) = u.last_message_age_ms() {
                m.age.with_label_values(&[u.name]).set(ms as f64 / 1000.0);
            }
        }
    }
}
