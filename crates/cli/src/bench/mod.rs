//! SSE fan-out load generator behind `spotlight bench sse`: many lean
//! subscribers on raw TCP, an optional publisher, and the measurements.
//!
//! Each subscriber speaks HTTP/1.0 (the body is close-delimited, no chunk
//! framing) and parses only what it measures, so thousands fit in one
//! process. With a publisher, message `i` is timed from the moment it was
//! due (its slot in the schedule, so a publisher the server holds up is not
//! excused: no coordinated omission) to its arrival at the subscriber's
//! socket (the kernel's receive timestamp), and separately to its read by
//! this process. Without one, latency is measured from the event's `ts` (the
//! hub's emit time).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch, Semaphore};

pub mod chaos;
mod publish;
pub mod queue;
pub mod socket;
mod subscriber;
pub mod voice;

pub use publish::{Publish, Publisher, INGEST_T0};

use publish::{publish_on_own_thread, publish_one};

use socket::{connect, wall_ns};
use subscriber::{lost_finals, subscriber, Tally};

/// What to load and how.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Server address of the subscribers.
    pub addr: SocketAddr,
    /// TLS for the subscribers (`https://`): one TLS connection each, or
    /// streams of shared HTTP/2 connections.
    pub tls: Option<socket::TlsTarget>,
    /// Path and query of the stream; `{i}` becomes the subscriber's index.
    pub path: String,
    /// Subscribers.
    pub clients: usize,
    /// Connections opened at once while ramping up.
    pub ramp_concurrency: usize,
    /// Local addresses to spread connections over (empty: the OS picks).
    pub source_addrs: Vec<IpAddr>,
    /// Measurement time without a publisher.
    pub duration: Duration,
    /// The publisher, if any.
    pub publish: Option<Publish>,
    /// Server process to sample RSS and CPU from (Linux `/proc`).
    pub server_pid: Option<u32>,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    /// Subscribers asked for.
    pub clients: usize,
    /// Subscribers that got the stream open.
    pub connected: usize,
    /// Subscribers that failed to connect or dropped during the window.
    pub failed: usize,
    /// First error seen, if any.
    pub first_error: Option<String>,
    /// Messages published and measured (0 without a publisher).
    pub messages: u64,
    /// Messages published before them, not timed.
    pub warmup: u64,
    /// Measurement window, seconds.
    pub seconds: f64,
    /// Messages (or `bar` events) received in the window.
    pub delivered: u64,
    /// Deliveries per second.
    pub per_second: f64,
    /// Messages a subscriber never got (without a publisher: final bars of
    /// the window some subscriber got and another did not).
    pub lost: u64,
    /// Messages a subscriber got more than once.
    pub duplicated: u64,
    /// Messages that came after a later one.
    pub out_of_order: u64,
    /// Latency to arrival at the subscriber's socket, percentiles in ms
    /// (deliveries the kernel did not stamp are timed at their read).
    pub latency_ms: Percentiles,
    /// Latency to this process reading the message, percentiles in ms: what
    /// `latency_ms` shows plus the load generator's own delay.
    pub read_latency_ms: Percentiles,
    /// Deliveries without a kernel receive timestamp.
    pub unstamped: u64,
    /// Per message (with a publisher): due to its first arrival, ms — the
    /// publish path, before any fan-out.
    pub first_arrival_ms: Percentiles,
    /// Per message (with a publisher): its first arrival to its last, ms —
    /// how long the fan-out to every subscriber took.
    pub span_ms: Percentiles,
    /// Server RSS growth per connection, bytes (with `server_pid`).
    pub rss_per_connection: Option<f64>,
    /// Server RSS with every subscriber connected, bytes.
    pub server_rss: Option<u64>,
    /// Server CPU seconds per 1000 deliveries in the window.
    pub server_cpu_per_1k: Option<f64>,
    /// This process's CPU seconds per 1000 deliveries in the window.
    pub client_cpu_per_1k: f64,
}

/// Latency percentiles, ms (three significant digits).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th.
    pub p90: f64,
    /// 99th.
    pub p99: f64,
    /// 99.9th.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// The percentiles of a histogram of µs.
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// A histogram of µs up to ten minutes.
fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 600_000_000, 3)?)
}

/// What every subscriber shares.
struct Shared {
    /// Latency to arrival, µs.
    arrival: Mutex<Histogram<u64>>,
    /// Latency to read, µs.
    read: Mutex<Histogram<u64>>,
    /// When message `i` was due, wall ns (0: not yet).
    due: Vec<AtomicU64>,
    /// Message `i`'s first and last arrival, wall ns (`u64::MAX`, 0: none yet).
    first: Vec<AtomicU64>,
    last: Vec<AtomicU64>,
    /// Messages before the measured ones (delivered, checked, not timed).
    warmup: u64,
    /// Wall ns and monotonic time of the same moment, to place due times.
    start_wall: u64,
    start: Instant,
    /// Distinct messages received, all subscribers together.
    unique: AtomicU64,
    /// Deliveries timed at their read, for want of a kernel timestamp.
    unstamped: AtomicU64,
}

impl Shared {
    /// Wall ns of a monotonic instant.
    fn wall_of(&self, at: Instant) -> u64 {
        self.start_wall + at.saturating_duration_since(self.start).as_nanos() as u64
    }

    /// Over the measured messages that arrived: due to first arrival, and
    /// first arrival to last.
    fn per_message(&self) -> anyhow::Result<(Percentiles, Percentiles)> {
        let (mut first, mut span) = (histogram()?, histogram()?);
        let us = |ns: u64| (ns / 1000).max(1);
        for i in self.warmup as usize..self.due.len() {
            let due = self.due[i].load(Ordering::Relaxed);
            let (a, b) = (
                self.first[i].load(Ordering::Relaxed),
                self.last[i].load(Ordering::Relaxed),
            );
            if due > 0 && a != u64::MAX {
                let _ = first.record(us(a.saturating_sub(due)));
                let _ = span.record(us(b - a));
            }
        }
        Ok((Percentiles::of(&first), Percentiles::of(&span)))
    }

    /// Records a delivery of published message `i`: its latencies from its
    /// slot, and the message's first and last arrival.
    fn record_message(&self, i: usize, arrived: Option<u64>, read: u64) {
        let due = self.due[i].load(Ordering::Relaxed);
        if due == 0 {
            return;
        }
        self.record(due, arrived, read);
        let at = arrived.unwrap_or(read);
        self.first[i].fetch_min(at, Ordering::Relaxed);
        self.last[i].fetch_max(at, Ordering::Relaxed);
    }

    /// Records one delivery's latencies (µs, at least 1).
    fn record(&self, from: u64, arrived: Option<u64>, read: u64) {
        let us = |at: u64| (at.saturating_sub(from) / 1000).max(1);
        if arrived.is_none() {
            self.unstamped.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut h) = self.arrival.lock() {
            let _ = h.record(us(arrived.unwrap_or(read)));
        }
        if let Ok(mut h) = self.read.lock() {
            let _ = h.record(us(read));
        }
    }
}

/// Runs the load and reports.
pub async fn run(config: LoadConfig) -> anyhow::Result<LoadReport> {
    let messages = config.publish.as_ref().map_or(0, |p| p.messages);
    let warmup = config.publish.as_ref().map_or(0, |p| p.warmup);
    // Every published message, warm-up ones first, has an index and a slot.
    let total = warmup + messages;
    let shared = Arc::new(Shared {
        arrival: Mutex::new(histogram()?),
        read: Mutex::new(histogram()?),
        due: (0..total).map(|_| AtomicU64::new(0)).collect(),
        first: (0..total).map(|_| AtomicU64::new(u64::MAX)).collect(),
        last: (0..total).map(|_| AtomicU64::new(0)).collect(),
        warmup,
        start_wall: wall_ns(),
        start: Instant::now(),
        unique: AtomicU64::new(0),
        unstamped: AtomicU64::new(0),
    });
    if let Some(
        p @ Publish {
            publisher: Publisher::Ingest { .. },
            ..
        },
    ) = &config.publish
    {
        // The symbol must exist before anyone subscribes to it.
        publish_one(&spotlight_client::trust::http().build()?, p, None).await?;
    }
    let rss_before = config.server_pid.and_then(spotlight_server::sys::rss);
    let (measure_tx, measure_rx) = watch::channel(false);
    let (tasks, mut ramp) = connect_all(&config, &shared, measure_rx, total).await;
    let server_rss = config.server_pid.and_then(spotlight_server::sys::rss);
    measure_tx.send_replace(true);
    warm_up(&config, &shared, ramp.connected).await?;
    let window = measure(&config, &shared, ramp.connected).await?;
    measure_tx.send_replace(false);

    let mut tallies = Vec::with_capacity(tasks.len());
    for t in tasks {
        tallies.push(t.await.unwrap_or_default());
    }
    for t in &tallies {
        if let (Some(e), None) = (&t.error, &ramp.first_error) {
            ramp.first_error = Some(e.clone());
        }
    }
    report(
        &config, &shared, ramp, window, &tallies, rss_before, server_rss,
    )
}

/// How the subscribers' connections went.
struct Ramp {
    connected: usize,
    failed: usize,
    first_error: Option<String>,
}

/// The measured window: its length and the CPU spent in it.
struct Window {
    seconds: f64,
    server_cpu: Option<f64>,
    own_cpu: Option<f64>,
}

/// Opens every subscriber (at most `ramp_concurrency` connecting at once)
/// and waits until each has connected or failed.
async fn connect_all(
    config: &LoadConfig,
    shared: &Arc<Shared>,
    measuring: watch::Receiver<bool>,
    total: u64,
) -> (Vec<tokio::task::JoinHandle<Tally>>, Ramp) {
    let (connected_tx, mut connected_rx) =
        mpsc::channel::<Result<(), String>>(config.clients.max(1));
    let gate = Arc::new(Semaphore::new(config.ramp_concurrency.max(1)));
    let mut tasks = Vec::with_capacity(config.clients);
    for i in 0..config.clients {
        let source = (!config.source_addrs.is_empty())
            .then(|| config.source_addrs[i % config.source_addrs.len()]);
        let path = config.path.replace("{i}", &i.to_string());
        let (addr, tls, shared, measuring, connected, gate) = (
            config.addr,
            config.tls.clone(),
            shared.clone(),
            measuring.clone(),
            connected_tx.clone(),
            gate.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.ok();
            match connect(addr, &path, source, tls.as_ref(), i).await {
                Ok(stream) => subscriber(stream, shared, measuring, connected, permit, total).await,
                Err(e) => {
                    let _ = connected.send(Err(e.clone())).await;
                    Tally::failed(e)
                }
            }
        }));
    }
    drop(connected_tx);
    let mut ramp = Ramp {
        connected: 0,
        failed: 0,
        first_error: None,
    };
    while let Some(r) = connected_rx.recv().await {
        match r {
            Ok(()) => ramp.connected += 1,
            Err(e) => {
                ramp.failed += 1;
                ramp.first_error.get_or_insert(e);
            }
        }
        if ramp.connected + ramp.failed == config.clients {
            break;
        }
    }
    (tasks, ramp)
}

/// Publishes the warm-up messages (not timed) and waits for them.
async fn warm_up(
    config: &LoadConfig,
    shared: &Arc<Shared>,
    connected: usize,
) -> anyhow::Result<()> {
    if let Some(p) = config
        .publish
        .as_ref()
        .filter(|p| p.warmup > 0 && connected > 0)
    {
        publish_on_own_thread(p, shared, 0..p.warmup).await?;
        drain(shared, connected as u64 * p.warmup).await;
    }
    Ok(())
}

/// Publishes the measured messages (or waits `duration`), timing the
/// window and the CPU spent in it.
async fn measure(
    config: &LoadConfig,
    shared: &Arc<Shared>,
    connected: usize,
) -> anyhow::Result<Window> {
    let cpu_start = config
        .server_pid
        .and_then(spotlight_server::sys::cpu_seconds);
    let own_start = spotlight_server::sys::cpu_seconds(std::process::id());
    let started = Instant::now();
    match &config.publish {
        Some(p) if connected > 0 => {
            publish_on_own_thread(p, shared, p.warmup..p.warmup + p.messages).await?;
            drain(shared, connected as u64 * (p.warmup + p.messages)).await;
        }
        Some(_) => {}
        None => tokio::time::sleep(config.duration).await,
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_end = config
        .server_pid
        .and_then(spotlight_server::sys::cpu_seconds);
    let own_end = spotlight_server::sys::cpu_seconds(std::process::id());
    Ok(Window {
        seconds,
        server_cpu: cpu_start.zip(cpu_end).map(|(a, b)| b - a),
        own_cpu: own_start.zip(own_end).map(|(a, b)| b - a),
    })
}

/// The figures of a run from the subscribers' tallies.
fn report(
    config: &LoadConfig,
    shared: &Shared,
    ramp: Ramp,
    window: Window,
    tallies: &[Tally],
    rss_before: Option<u64>,
    server_rss: Option<u64>,
) -> anyhow::Result<LoadReport> {
    let messages = config.publish.as_ref().map_or(0, |p| p.messages);
    let warmup = config.publish.as_ref().map_or(0, |p| p.warmup);
    let total = warmup + messages;
    let live: Vec<&Tally> = tallies
        .iter()
        .filter(|t| t.error.is_none() || t.delivered > 0)
        .collect();
    let lost = if total > 0 {
        live.iter()
            .map(|t| {
                total
                    - t.seen
                        .iter()
                        .map(|w| u64::from(w.count_ones()))
                        .sum::<u64>()
            })
            .sum()
    } else {
        lost_finals(&live)
    };
    let delivered: u64 = tallies.iter().map(|t| t.delivered).sum();
    let percentiles =
        |h: &Mutex<Histogram<u64>>| Percentiles::of(&h.lock().unwrap_or_else(|e| e.into_inner()));
    let (first_arrival_ms, span_ms) = shared.per_message()?;
    let per_1k = |cpu: Option<f64>| {
        cpu.filter(|_| delivered > 0)
            .map(|c| c / delivered as f64 * 1000.0)
    };
    let connected = ramp.connected;
    Ok(LoadReport {
        clients: config.clients,
        connected,
        failed: ramp.failed
            + tallies
                .iter()
                .filter(|t| t.error.is_some() && t.delivered > 0)
                .count(),
        first_error: ramp.first_error,
        messages,
        warmup,
        seconds: window.seconds,
        delivered,
        per_second: delivered as f64 / window.seconds,
        lost,
        duplicated: tallies.iter().map(|t| t.duplicated).sum(),
        out_of_order: tallies.iter().map(|t| t.out_of_order).sum(),
        latency_ms: percentiles(&shared.arrival),
        read_latency_ms: percentiles(&shared.read),
        unstamped: shared.unstamped.load(Ordering::Relaxed),
        first_arrival_ms,
        span_ms,
        rss_per_connection: match (rss_before, server_rss) {
            (Some(a), Some(b)) if connected > 0 => Some((b as f64 - a as f64) / connected as f64),
            _ => None,
        },
        server_rss,
        server_cpu_per_1k: per_1k(window.server_cpu),
        client_cpu_per_1k: per_1k(window.own_cpu).unwrap_or(0.0),
    })
}

/// Waits until `want` deliveries are in, all subscribers together, or 5 s
/// pass without one.
async fn drain(shared: &Shared, want: u64) {
    let mut last = (shared.unique.load(Ordering::Relaxed), Instant::now());
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    loop {
        tick.tick().await;
        let now = shared.unique.load(Ordering::Relaxed);
        if now >= want {
            return;
        }
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(5) {
            return;
        }
    }
}
