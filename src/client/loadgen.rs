//! SSE fan-out load generator behind `spotlight bench sse`: many lean
//! subscribers on raw TCP, measuring delivery, loss and latency.
//!
//! Each subscriber speaks HTTP/1.0 (the body is close-delimited, no chunk
//! framing) and parses only what it measures, so thousands fit in one
//! process. Latency is the receive time minus the event's `ts` (the hub's
//! emit time): both clocks are this machine's.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::market::time::now_ms;

/// What to load and how.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Server address.
    pub addr: SocketAddr,
    /// Path and query of the stream, e.g. `/realtime/sse?timeframe=1m`.
    pub path: String,
    /// Subscribers.
    pub clients: usize,
    /// Connections opened at once while ramping up.
    pub ramp_concurrency: usize,
    /// Local addresses to spread connections over (empty: the OS picks).
    pub source_addrs: Vec<IpAddr>,
    /// Measurement time after every subscriber is connected.
    pub duration: Duration,
    /// Server process to sample RSS and CPU from (Linux `/proc`).
    pub server_pid: Option<u32>,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    /// Subscribers asked for.
    pub clients: usize,
    /// Subscribers that got `hello`.
    pub connected: usize,
    /// Subscribers that failed to connect or dropped during the window.
    pub failed: usize,
    /// First error seen, if any.
    pub first_error: Option<String>,
    /// Measurement window, seconds.
    pub seconds: f64,
    /// `bar` events received in the window.
    pub delivered: u64,
    /// Deliveries per second.
    pub per_second: f64,
    /// Final bars of the window some subscriber got and another did not.
    pub lost_finals: u64,
    /// Events whose seq was not above the previous one.
    pub out_of_order: u64,
    /// Latency percentiles, ms.
    pub latency_ms: Percentiles,
    /// Server RSS growth per connection, bytes (with `server_pid`).
    pub rss_per_connection: Option<f64>,
    /// Server RSS at the end, bytes.
    pub server_rss: Option<u64>,
    /// Server CPU seconds per 1000 deliveries in the window.
    pub server_cpu_per_1k: Option<f64>,
    /// This process's CPU seconds per 1000 deliveries in the window.
    pub client_cpu_per_1k: f64,
}

/// Latency percentiles, ms.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th.
    pub p90: u64,
    /// 99th.
    pub p99: u64,
    /// 99.9th.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

#[derive(Default)]
struct Tally {
    delivered: u64,
    out_of_order: u64,
    finals: Vec<u64>,
    first_seq: u64,
    last_seq: u64,
    error: Option<String>,
}

#[derive(Deserialize)]
struct BarProbe {
    seq: u64,
    ts: i64,
    #[serde(rename = "final")]
    is_final: bool,
}

/// Runs the load and reports.
pub async fn run(config: LoadConfig) -> anyhow::Result<LoadReport> {
    let rss_before = config.server_pid.and_then(crate::sys::rss);
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 600_000, 3,
    )?));
    let (measure_tx, measure_rx) = watch::channel(false);
    let (connected_tx, mut connected_rx) =
        tokio::sync::mpsc::channel::<Result<u64, String>>(config.clients.max(1));
    let gate = Arc::new(Semaphore::new(config.ramp_concurrency.max(1)));
    let mut tasks = Vec::with_capacity(config.clients);
    for i in 0..config.clients {
        let source = (!config.source_addrs.is_empty())
            .then(|| config.source_addrs[i % config.source_addrs.len()]);
        let cfg = config.clone();
        let (hist, measuring, connected, gate) = (
            histogram.clone(),
            measure_rx.clone(),
            connected_tx.clone(),
            gate.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.ok();
            let stream = match connect(&cfg, source).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = connected.send(Err(e.clone())).await;
                    return Tally {
                        error: Some(e),
                        ..Tally::default()
                    };
                }
            };
            subscriber(stream, hist, measuring, connected, permit).await
        }));
    }
    drop(connected_tx);
    let (mut connected, mut failed, mut first_error) = (0usize, 0usize, None);
    while let Some(r) = connected_rx.recv().await {
        match r {
            Ok(_) => connected += 1,
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
        if connected + failed == config.clients {
            break;
        }
    }
    let rss_connected = config.server_pid.and_then(crate::sys::rss);
    let cpu_start = config.server_pid.and_then(crate::sys::cpu_seconds);
    let own_start = crate::sys::cpu_seconds(std::process::id());
    let started = std::time::Instant::now();
    measure_tx.send_replace(true);
    tokio::time::sleep(config.duration).await;
    measure_tx.send_replace(false);
    let seconds = started.elapsed().as_secs_f64();
    let cpu_end = config.server_pid.and_then(crate::sys::cpu_seconds);
    let own_end = crate::sys::cpu_seconds(std::process::id());
    let server_rss = config.server_pid.and_then(crate::sys::rss);

    let mut tallies = Vec::with_capacity(tasks.len());
    for t in tasks {
        tallies.push(t.await.unwrap_or_default());
    }
    for t in &tallies {
        if let (Some(e), None) = (&t.error, &first_error) {
            first_error = Some(e.clone());
        }
    }
    let live: Vec<&Tally> = tallies
        .iter()
        .filter(|t| t.error.is_none() && t.last_seq > 0)
        .collect();
    // The window every live subscriber saw whole: finals after the latest
    // first seq and up to the earliest last seq.
    let lo = live.iter().map(|t| t.first_seq).max().unwrap_or(0);
    let hi = live.iter().map(|t| t.last_seq).min().unwrap_or(0);
    let truth: HashSet<u64> = live
        .iter()
        .flat_map(|t| t.finals.iter().copied())
        .filter(|s| *s > lo && *s <= hi)
        .collect();
    let lost_finals = live
        .iter()
        .map(|t| {
            let got = t.finals.iter().filter(|s| **s > lo && **s <= hi).count();
            truth.len().saturating_sub(got) as u64
        })
        .sum();
    let delivered: u64 = tallies.iter().map(|t| t.delivered).sum();
    let h = histogram.lock().unwrap_or_else(|e| e.into_inner());
    let per_1k = |cpu: Option<f64>| {
        cpu.filter(|_| delivered > 0)
            .map(|c| c / delivered as f64 * 1000.0)
    };
    Ok(LoadReport {
        clients: config.clients,
        connected,
        failed: failed
            + tallies
                .iter()
                .filter(|t| t.error.is_some() && t.last_seq > 0)
                .count(),
        first_error,
        seconds,
        delivered,
        per_second: delivered as f64 / seconds,
        lost_finals,
        out_of_order: tallies.iter().map(|t| t.out_of_order).sum(),
        latency_ms: Percentiles {
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        },
        rss_per_connection: match (rss_before, rss_connected) {
            (Some(a), Some(b)) if connected > 0 => Some((b as f64 - a as f64) / connected as f64),
            _ => None,
        },
        server_rss,
        server_cpu_per_1k: per_1k(cpu_start.zip(cpu_end).map(|(a, b)| b - a)),
        client_cpu_per_1k: per_1k(own_start.zip(own_end).map(|(a, b)| b - a)).unwrap_or(0.0),
    })
}

async fn connect(cfg: &LoadConfig, source: Option<IpAddr>) -> Result<TcpStream, String> {
    let socket = if cfg.addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| describe(&e))?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| format!("bind {ip}: {}", describe(&e)))?;
    }
    let mut stream = socket.connect(cfg.addr).await.map_err(|e| describe(&e))?;
    let _ = stream.set_nodelay(true);
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        cfg.path, cfg.addr
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| describe(&e))?;
    Ok(stream)
}

/// Names the limits a big run runs into.
fn describe(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(24) => "too many open files: the per-process fd limit (ulimit -n) is reached".into(),
        Some(99) => "cannot assign requested address: ephemeral ports exhausted (spread with --source-addrs)".into(),
        _ => e.to_string(),
    }
}

async fn subscriber(
    mut stream: TcpStream,
    hist: Arc<Mutex<Histogram<u64>>>,
    mut measuring: watch::Receiver<bool>,
    connected: tokio::sync::mpsc::Sender<Result<u64, String>>,
    mut permit: Option<tokio::sync::OwnedSemaphorePermit>,
) -> Tally {
    let mut tally = Tally::default();
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    let mut headers_done = false;
    let mut greeted = false;
    let mut was_measuring = false;
    loop {
        let n = tokio::select! {
            r = stream.read(&mut chunk) => match r {
                Ok(0) => {
                    tally.error.get_or_insert_with(|| "server closed the stream".into());
                    break;
                }
                Ok(n) => n,
                Err(e) => {
                    tally.error = Some(describe(&e));
                    break;
                }
            },
            changed = measuring.changed() => {
                if changed.is_err() || (was_measuring && !*measuring.borrow()) {
                    break;
                }
                was_measuring = *measuring.borrow();
                continue;
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        if !headers_done {
            match find(&buf, b"\r\n\r\n") {
                Some(i) => {
                    if !buf.starts_with(b"HTTP/1.1 200") && !buf.starts_with(b"HTTP/1.0 200") {
                        let line = String::from_utf8_lossy(
                            &buf[..buf.iter().position(|b| *b == b'\r').unwrap_or(0)],
                        )
                        .into_owned();
                        let _ = connected.send(Err(format!("server answered {line}"))).await;
                        tally.error = Some(line);
                        return tally;
                    }
                    buf.drain(..i + 4);
                    headers_done = true;
                }
                None => continue,
            }
        }
        let now = now_ms();
        let mut start = 0;
        while let Some(end) = find(&buf[start..], b"\n\n") {
            let message = &buf[start..start + end];
            start += end + 2;
            if !greeted && message.windows(12).any(|w| w == b"event: hello") {
                greeted = true;
                let _ = connected.send(Ok(0)).await;
                permit.take();
                continue;
            }
            let Some(data) = bar_data(message) else {
                continue;
            };
            let Ok(bar) = serde_json::from_slice::<BarProbe>(data) else {
                continue;
            };
            if bar.seq <= tally.last_seq {
                tally.out_of_order += 1;
            }
            tally.last_seq = bar.seq;
            if !*measuring.borrow() {
                continue;
            }
            if tally.first_seq == 0 {
                tally.first_seq = bar.seq.saturating_sub(1);
            }
            tally.delivered += 1;
            if bar.is_final {
                tally.finals.push(bar.seq);
            }
            if let Ok(mut h) = hist.lock() {
                let _ = h.record((now - bar.ts).max(1) as u64);
            }
        }
        buf.drain(..start);
    }
    tally
}

fn bar_data(message: &[u8]) -> Option<&[u8]> {
    let mut is_bar = false;
    let mut data = None;
    for line in message.split(|b| *b == b'\n') {
        if line == b"event: bar" {
            is_bar = true;
        } else if let Some(d) = line.strip_prefix(b"data: ") {
            data = Some(d);
        }
    }
    data.filter(|_| is_bar)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
