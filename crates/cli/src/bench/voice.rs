//! Voice echo load generator behind `spotlight bench voice`: N sessions,
//! each sending audio frames at a fixed rate and timing every echo.
//!
//! A frame carries its session-local index and its send time (ns since the
//! run started), so an echo is timed without a lookup.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Barrier};
use tokio_tungstenite::tungstenite::Message;

use super::{histogram, Percentiles};
use spotlight_client::voice;

/// How a voice run is set up.
#[derive(Debug, Clone)]
pub struct VoiceLoad {
    /// `ws://host:port/voice/ws`, or any WebSocket echo with `raw`.
    pub url: String,
    /// Plain WebSocket echo: no `hello` is awaited (another echo server).
    pub raw: bool,
    /// Session token (PIN-protected servers).
    pub token: Option<String>,
    /// Concurrent sessions.
    pub sessions: usize,
    /// Frames per second per session.
    pub rate: f64,
    /// Bytes per frame (at least 16).
    pub frame_bytes: usize,
    /// How long to send.
    pub duration: Duration,
    /// The server's pid, to sample its RSS and CPU from /proc.
    pub server_pid: Option<u32>,
}

/// What a voice run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoiceReport {
    /// Sessions asked for.
    pub sessions: usize,
    /// Sessions that got their `hello`.
    pub connected: usize,
    /// Sessions that failed or broke.
    pub failed: usize,
    /// The first failure.
    pub first_error: Option<String>,
    /// Length of the sending window, s.
    pub seconds: f64,
    /// Frames sent.
    pub sent: u64,
    /// Echoes received.
    pub echoed: u64,
    /// Frames never echoed.
    pub lost: u64,
    /// Frames sent per second (all sessions).
    pub sent_per_second: f64,
    /// Echoes per second.
    pub echoed_per_second: f64,
    /// Echo round trip, ms.
    pub rtt_ms: Percentiles,
    /// Server RSS growth per idle session, bytes.
    pub rss_per_session: Option<f64>,
    /// Server CPU per 1k echoed frames, s.
    pub server_cpu_per_1k: Option<f64>,
}

#[derive(Default)]
struct Tally {
    sent: u64,
    echoed: u64,
    error: Option<String>,
}

/// Runs the load and reports.
pub async fn run(load: VoiceLoad) -> anyhow::Result<VoiceReport> {
    let len = load.frame_bytes.max(16);
    let rss_before = load.server_pid.and_then(spotlight_server::sys::rss);
    let ready = Arc::new(Barrier::new(load.sessions + 1));
    let (go_tx, go_rx) = watch::channel(false);
    let rtts = Arc::new(Mutex::new(histogram()?));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(load.sessions);
    for _ in 0..load.sessions {
        let (load, ready, go, rtts) = (load.clone(), ready.clone(), go_rx.clone(), rtts.clone());
        tasks.push(tokio::spawn(session(load, ready, go, rtts, start, len)));
    }
    ready.wait().await;
    let server_rss = load.server_pid.and_then(spotlight_server::sys::rss);
    let cpu_start = load.server_pid.and_then(spotlight_server::sys::cpu_seconds);
    let began = Instant::now();
    go_tx.send_replace(true);
    let mut tallies = Vec::with_capacity(tasks.len());
    let mut connected = 0;
    for t in tasks {
        if let Ok((tally, up)) = t.await {
            connected += usize::from(up.is_some());
            tallies.push(tally);
        }
    }
    let seconds = began.elapsed().as_secs_f64();
    let cpu_end = load.server_pid.and_then(spotlight_server::sys::cpu_seconds);
    let sent: u64 = tallies.iter().map(|t| t.sent).sum();
    let echoed: u64 = tallies.iter().map(|t| t.echoed).sum();
    let rtts: Histogram<u64> = rtts.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(VoiceReport {
        sessions: load.sessions,
        connected,
        failed: tallies.iter().filter(|t| t.error.is_some()).count(),
        first_error: tallies.iter().find_map(|t| t.error.clone()),
        seconds,
        sent,
        echoed,
        lost: sent - echoed.min(sent),
        sent_per_second: sent as f64 / load.duration.as_secs_f64().max(1e-9),
        echoed_per_second: echoed as f64 / seconds.max(1e-9),
        rtt_ms: Percentiles::of(&rtts),
        rss_per_session: match (rss_before, server_rss) {
            (Some(a), Some(b)) if connected > 0 => Some((b as f64 - a as f64) / connected as f64),
            _ => None,
        },
        server_cpu_per_1k: cpu_start
            .zip(cpu_end)
            .filter(|_| echoed > 0)
            .map(|(a, b)| (b - a) / echoed as f64 * 1000.0),
    })
}

/// One session: connect (and read `hello` unless raw), wait for the
/// start, then send frames at the rate while reading their echoes.
async fn session(
    load: VoiceLoad,
    ready: Arc<Barrier>,
    mut go: watch::Receiver<bool>,
    rtts: Arc<Mutex<Histogram<u64>>>,
    start: Instant,
    len: usize,
) -> (Tally, Option<()>) {
    let mut tally = Tally::default();
    let ws = match voice::dial(&load.url, load.token.as_deref(), "").await {
        Ok(ws) if load.raw => Some(ws),
        Ok(mut ws) => match voice::read_hello(&mut ws).await {
            Ok(_) => Some(ws),
            Err(e) => {
                tally.error = Some(e.to_string());
                None
            }
        },
        Err(e) => {
            tally.error = Some(e.to_string());
            None
        }
    };
    ready.wait().await;
    let Some(ws) = ws else { return (tally, None) };
    let _ = go.wait_for(|g| *g).await;
    let mut local = histogram().ok();
    let (sent, ok, echoed) = exchange(ws, &load, start, len, &mut local).await;
    tally.sent = sent;
    tally.echoed = echoed;
    if !ok {
        tally.error = Some("the connection broke while sending".into());
    }
    if let Some(h) = local {
        let _ = rtts.lock().unwrap_or_else(|e| e.into_inner()).add(h);
    }
    (tally, Some(()))
}

/// Sends the load's frames at its rate (each stamped with its index and
/// send time) while reading the echoes, whose round trips go to `rtts`;
/// then closes. Returns (sent, whether sending held, echoed).
async fn exchange(
    ws: voice::Ws,
    load: &VoiceLoad,
    start: Instant,
    len: usize,
    rtts: &mut Option<Histogram<u64>>,
) -> (u64, bool, u64) {
    let (mut sink, mut stream) = ws.split();
    let period = Duration::from_secs_f64(1.0 / load.rate);
    let frames = (load.duration.as_secs_f64() * load.rate) as u64;
    let sender = async {
        let mut tick = tokio::time::interval(period);
        for i in 0..frames {
            tick.tick().await;
            let mut b = vec![0u8; len];
            b[..8].copy_from_slice(&i.to_be_bytes());
            b[8..16].copy_from_slice(&(start.elapsed().as_nanos() as u64).to_be_bytes());
            if sink.send(Message::Binary(Bytes::from(b))).await.is_err() {
                return (i, false);
            }
        }
        (frames, true)
    };
    let receiver = async {
        let mut echoed = 0u64;
        while echoed < frames {
            let next = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
            match next {
                Ok(Some(Ok(Message::Binary(b)))) if b.len() >= 16 => {
                    echoed += 1;
                    let sent_ns = u64::from_be_bytes(b[8..16].try_into().unwrap_or([0; 8]));
                    let rtt_us = (start.elapsed().as_nanos() as u64).saturating_sub(sent_ns) / 1000;
                    if let Some(h) = rtts.as_mut() {
                        let _ = h.record(rtt_us.max(1));
                    }
                }
                Ok(Some(Ok(_))) => {}
                _ => break,
            }
        }
        echoed
    };
    let ((sent, ok), echoed) = tokio::join!(sender, receiver);
    let _ = sink.send(Message::Close(None)).await;
    (sent, ok, echoed)
}
