//! The server's side of the scale-out bus (`serve --bus`): readiness sees
//! whether the instance is receiving, the metrics show the bus and the
//! lease, and the control routes refuse what only the producer may do.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use axum::http::StatusCode;
use bytes::Bytes;
use redis::aio::{ConnectionManager, MultiplexedConnection};

use super::error::ApiError;
use super::metrics::{must, raise};
use super::sse::StreamRequest;
use spotlight_bus::control::{self, Reply};
use spotlight_bus::log::Log;
use spotlight_bus::node::NodeState;
use spotlight_bus::resume;
use spotlight_market::command::Command;
use spotlight_market::hub::Resume;
use spotlight_market::Hub;
use spotlight_wire::DiagBus;

/// Frames a resume may take from the shared log at most (beyond: `reset`),
/// the same bound as a client's queue by default.
const LOG_RESUME_MAX_BYTES: usize = 1024 * 1024;

/// Control connections kept for the next forwarded request.
const IDLE_CONTROL_CONNECTIONS: usize = 8;

/// How long a forwarded control request waits for the producer.
const CONTROL_WAIT: Duration = Duration::from_secs(10);

/// The bus as the server sees it: readiness, metrics, diag, resumes from
/// the log and control forwarded to the producer.
#[derive(Clone)]
pub struct Bus {
    /// What the bus tasks know.
    pub node: Arc<NodeState>,
    /// Not ready after this long without a word from the bus.
    pub stall: Duration,
    metrics: Arc<BusMetrics>,
    log: Log,
    con: ConnectionManager,
    client: redis::Client,
    idle: Arc<Mutex<Vec<MultiplexedConnection>>>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("node", &self.node)
            .field("stall", &self.stall)
            .finish_non_exhaustive()
    }
}

impl Bus {
    /// The bus of `node`, reading `log` through `con` for resumes, its
    /// metrics registered in `registry`.
    pub fn new(
        node: Arc<NodeState>,
        stall: Duration,
        log: Log,
        client: redis::Client,
        con: ConnectionManager,
        registry: &Registry,
    ) -> Bus {
        let metrics = Arc::new(BusMetrics::register(registry, &node));
        Bus {
            node,
            stall,
            metrics,
            log,
            con,
            client,
            idle: Arc::default(),
        }
    }

    /// Runs `command` on the producer: what it did or why it refused
    /// (503 `no_producer` when none answers within 10 s).
    pub async fn forward(&self, command: Command) -> Result<Reply, ApiError> {
        let no_producer = |detail: String| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_producer",
                format!("the shared log's producer did not answer: {detail}"),
            )
            .retry_after(1)
        };
        // A call blocks its connection (BLPOP): one connection per call
        // in flight, kept for the next when it went well.
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut con = match idle {
            Some(con) => con,
            None => self
                .client
                .get_multiplexed_async_connection_with_config(
                    &redis::AsyncConnectionConfig::new().set_response_timeout(None),
                )
                .await
                .map_err(|e| no_producer(e.to_string()))?,
        };
        let reply = control::call(&mut con, self.log.keys(), command, CONTROL_WAIT)
            .await
            .map_err(|e| no_producer(e.to_string()))?;
        {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < IDLE_CONTROL_CONNECTIONS {
                idle.push(con);
            }
        }
        reply.ok_or_else(|| no_producer(format!("nothing within {CONTROL_WAIT:?}")))
    }

    /// For a stream resuming after an event this instance has not read yet
    /// (the client came from an instance further along the log): waits up
    /// to two seconds for the log to bring it here, so the resume goes on
    /// instead of failing as ahead of the head.
    pub async fn catch_up_to(&self, hub: &Hub, request: &StreamRequest) {
        let Resume::After { epoch, seq } = &request.resume else {
            return;
        };
        if epoch.as_deref().is_some_and(|e| *e != *hub.epoch()) {
            return;
        }
        if hub.ring_bounds().1 < *seq {
            self.node.applied(*seq, Duration::from_secs(2)).await;
        }
    }

    /// For a stream resuming before `hub`'s ring: the missed events the
    /// log still holds up to where the ring begins, with the request moved
    /// on to resume after them. `None` (the request unchanged) when the
    /// ring covers it, or the log cannot.
    pub async fn backlog(&self, hub: &Hub, request: &mut StreamRequest) -> Option<Vec<Bytes>> {
        let Resume::After { epoch, seq } = &request.resume else {
            return None;
        };
        if epoch.as_deref().is_some_and(|e| *e != *hub.epoch()) {
            return None;
        }
        let (low, head) = hub.ring_bounds();
        // A resume from before a replay began or ended gets the hub's
        // `reset`, not the events of the other side.
        if seq + 1 >= low || *seq > head || hub.boundary_seq().is_some_and(|b| *seq < b) {
            return None;
        }
        let mut con = self.con.clone();
        let got = resume::backlog(
            &self.log,
            &mut con,
            *seq,
            low - 1,
            &request.symbols,
            request.timeframe,
            LOG_RESUME_MAX_BYTES,
        )
        .await;
        match got {
            Ok(Some(b)) => {
                request.resume = Resume::After {
                    epoch: epoch.clone(),
                    seq: b.last,
                };
                Some(b.frames)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "a resume could not be read from the shared log");
                None
            }
        }
    }

    /// `receiving`, `stalled` (connected, silent for the stall time) or
    /// `disconnected`.
    pub fn state(&self) -> &'static str {
        if !self.node.is_following() {
            "disconnected"
        } else if self.node.problem(self.stall).is_some() {
            "stalled"
        } else {
            "receiving"
        }
    }

    /// The diag section.
    pub fn diag(&self) -> DiagBus {
        let n = &self.node;
        DiagBus {
            state: self.state().to_string(),
            problem: n.problem(self.stall),
            producer: n.is_producer(),
            followed: n.followed(),
            silent_ms: n.silent_ms(),
            events_in: n.events_in(),
            events_out: n.events_out(),
            reconnects: n.reconnects(),
            lease_changes: n.lease_changes(),
        }
    }

    /// Brings the bus tasks' counters and state into the registry.
    pub fn refresh(&self) {
        self.metrics.mirror(self);
    }
}

const STATES: [&str; 3] = ["receiving", "stalled", "disconnected"];

/// The bus metrics (registered only with `--bus`).
#[derive(Debug)]
struct BusMetrics {
    state: IntGaugeVec,
    events: IntCounterVec,
    reconnects: IntCounter,
    lease_holder: IntGauge,
    lease_changes: IntCounter,
    /// Serializes mirroring at scrape time.
    mirror: Mutex<()>,
}

impl BusMetrics {
    fn register(registry: &Registry, node: &NodeState) -> BusMetrics {
        let reg = |c: Box<dyn prometheus::core::Collector>| must(registry.register(c));
        let state = must(IntGaugeVec::new(
            Opts::new(
                "spotlight_bus_state",
                "1 for the bus's state now: receiving, stalled (no entry for --bus-stall) or disconnected",
            ),
            &["state"],
        ));
        let events = must(IntCounterVec::new(
            Opts::new(
                "spotlight_bus_events_total",
                "Events through the shared log: in (read and applied here), out (appended by this instance as producer)",
            ),
            &["dir"],
        ));
        let reconnects = must(IntCounter::new(
            "spotlight_bus_reconnects_total",
            "Times the log's reader connected again after a failure",
        ));
        let lease_holder = must(IntGauge::new(
            "spotlight_lease_holder",
            "1 while this instance holds the producer lease",
        ));
        let lease_changes = must(IntCounter::new(
            "spotlight_lease_changes_total",
            "Times this instance took or lost the producer lease",
        ));
        reg(Box::new(state.clone()));
        reg(Box::new(events.clone()));
        reg(Box::new(reconnects.clone()));
        reg(Box::new(lease_holder.clone()));
        reg(Box::new(lease_changes.clone()));
        reg(Box::new(node.lag.clone()));
        for s in STATES {
            state.with_label_values(&[s]);
        }
        for dir in ["in", "out"] {
            events.with_label_values(&[dir]);
        }
        BusMetrics {
            state,
            events,
            reconnects,
            lease_holder,
            lease_changes,
            mirror: Mutex::new(()),
        }
    }

    fn mirror(&self, bus: &Bus) {
        let _guard = self.mirror.lock().unwrap_or_else(|e| e.into_inner());
        let node = &bus.node;
        let now = bus.state();
        for s in STATES {
            self.state.with_label_values(&[s]).set(i64::from(s == now));
        }
        raise(&self.events.with_label_values(&["in"]), node.events_in());
        raise(&self.events.with_label_values(&["out"]), node.events_out());
        raise(&self.reconnects, node.reconnects());
        raise(&self.lease_changes, node.lease_changes());
        self.lease_holder.set(i64::from(node.is_producer()));
    }
}
