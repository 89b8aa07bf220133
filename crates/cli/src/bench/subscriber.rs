//! One subscriber of a load run: reads its stream off a raw socket, parses
//! only what it measures, and keeps its own tally.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use super::socket::{describe, wall_ns, Conn, Received};
use super::{Shared, INGEST_T0};
use spotlight_wire::timeframe::MINUTE_MS;
use spotlight_wire::SseMessage;

/// What one subscriber saw.
#[derive(Default)]
pub(super) struct Tally {
    /// Messages received in the window.
    pub delivered: u64,
    /// Messages received more than once.
    pub duplicated: u64,
    /// Messages that came after a later one.
    pub out_of_order: u64,
    /// With a publisher: a bit per message index, set once received.
    pub seen: Vec<u64>,
    finals: Vec<u64>,
    first_seq: u64,
    last_seq: u64,
    last_index: Option<u64>,
    /// Why the stream failed or ended early.
    pub error: Option<String>,
}

impl Tally {
    /// A subscriber that never got its stream open.
    pub fn failed(error: String) -> Tally {
        Tally {
            error: Some(error),
            ..Tally::default()
        }
    }
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    i: Option<u64>,
    #[serde(default)]
    t: Option<i64>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    ts: Option<i64>,
    #[serde(rename = "final", default)]
    is_final: bool,
}

/// Without a publisher: final bars of the window every live subscriber
/// should have, counted where one is missing.
pub(super) fn lost_finals(live: &[&Tally]) -> u64 {
    let lo = live.iter().map(|t| t.first_seq).max().unwrap_or(0);
    let hi = live.iter().map(|t| t.last_seq).min().unwrap_or(0);
    let truth: std::collections::HashSet<u64> = live
        .iter()
        .flat_map(|t| t.finals.iter().copied())
        .filter(|s| *s > lo && *s <= hi)
        .collect();
    live.iter()
        .map(|t| {
            truth
                .len()
                .saturating_sub(t.finals.iter().filter(|s| **s > lo && **s <= hi).count())
                as u64
        })
        .sum()
}

/// Reads one subscriber's stream until the measurement ends or it fails.
pub(super) async fn subscriber(
    mut stream: Conn,
    shared: Arc<Shared>,
    mut measuring: watch::Receiver<bool>,
    connected: mpsc::Sender<Result<(), String>>,
    mut permit: Option<tokio::sync::OwnedSemaphorePermit>,
    messages: u64,
) -> Tally {
    let mut tally = Tally {
        seen: vec![0; messages.div_ceil(64) as usize],
        ..Tally::default()
    };
    let mut chunk = vec![0u8; 16 * 1024];
    let mut buf = match head(&mut stream, &mut chunk).await {
        Ok(rest) => rest,
        Err(e) => {
            let _ = connected.send(Err(e.clone())).await;
            tally.error = Some(e);
            return tally;
        }
    };
    let _ = connected.send(Ok(())).await;
    permit.take();
    let mut was_measuring = false;
    loop {
        let (n, arrived) = tokio::select! {
            r = stream.recv(&mut chunk) => match r {
                Ok(Received { len: 0, .. }) => {
                    tally.error.get_or_insert_with(|| "server closed the stream".into());
                    break;
                }
                Ok(Received { len, arrived }) => (len, arrived),
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
        let read = wall_ns();
        let counting = *measuring.borrow();
        take_messages(&mut buf, |probe| match (counting, messages > 0) {
            (false, _) => {}
            (true, true) => record_message(&mut tally, &shared, &probe, arrived, read),
            (true, false) => record_event(&mut tally, &shared, &probe, arrived, read),
        });
    }
    tally
}

/// The response head, within [`HEAD_TIMEOUT`]: what came after it.
async fn head(stream: &mut Conn, chunk: &mut [u8]) -> Result<Vec<u8>, String> {
    match tokio::time::timeout(HEAD_TIMEOUT, response_head(stream, chunk)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no response within {} s: the server is not accepting (at its connection or fd limit?)",
            HEAD_TIMEOUT.as_secs()
        )),
    }
}

/// Hands the probe of each complete message at the start of `buf` to
/// `each`, and takes those messages out of it (what is left is the start
/// of the next message).
fn take_messages(buf: &mut Vec<u8>, mut each: impl FnMut(Probe)) {
    let mut start = 0;
    while let Some(end) = find(&buf[start..], b"\n\n") {
        let message = &buf[start..start + end];
        start += end + 2;
        if let Some(probe) = SseMessage::parse(message)
            .data
            .and_then(|data| serde_json::from_slice::<Probe>(data).ok())
        {
            each(probe);
        }
    }
    buf.drain(..start);
}

/// Publisher mode: message index from `i` (a POSTed payload) or the bar time.
fn record_message(
    tally: &mut Tally,
    shared: &Shared,
    probe: &Probe,
    arrived: Option<u64>,
    read: u64,
) {
    let index = probe.i.or_else(|| {
        probe
            .t
            .and_then(|t| u64::try_from((t - INGEST_T0) / MINUTE_MS).ok())
    });
    let Some(i) = index.filter(|i| (*i as usize) < shared.due.len()) else {
        return;
    };
    let measured = i >= shared.warmup;
    if measured {
        tally.delivered += 1;
    }
    let (word, bit) = ((i / 64) as usize, 1u64 << (i % 64));
    if tally.seen[word] & bit != 0 {
        tally.duplicated += 1;
        return;
    }
    tally.seen[word] |= bit;
    shared.unique.fetch_add(1, Ordering::Relaxed);
    if tally.last_index.is_some_and(|last| i < last) {
        tally.out_of_order += 1;
    }
    tally.last_index = Some(i);
    if measured {
        shared.record_message(i as usize, arrived, read);
    }
}

/// Passive mode: whatever bars the server streams, timed from their `ts`.
fn record_event(
    tally: &mut Tally,
    shared: &Shared,
    probe: &Probe,
    arrived: Option<u64>,
    read: u64,
) {
    let (Some(seq), Some(ts)) = (probe.seq, probe.ts) else {
        return;
    };
    if seq <= tally.last_seq {
        tally.out_of_order += 1;
    }
    tally.last_seq = seq;
    if tally.first_seq == 0 {
        tally.first_seq = seq.saturating_sub(1);
    }
    tally.delivered += 1;
    if probe.is_final {
        tally.finals.push(seq);
    }
    shared.record(u64::try_from(ts).unwrap_or(0) * 1_000_000, arrived, read);
}

/// How long a subscriber waits for the response head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(20);

/// Reads the response head; returns the body bytes read past it, or why the
/// stream did not open.
async fn response_head(stream: &mut Conn, chunk: &mut [u8]) -> Result<Vec<u8>, String> {
    if stream.head_read() {
        return Ok(Vec::new());
    }
    let mut buf = Vec::with_capacity(1024);
    loop {
        let n = stream.read(chunk).await.map_err(|e| describe(&e))?;
        if n == 0 {
            return Err("server closed the connection before answering".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            if !(buf.starts_with(b"HTTP/1.1 200") || buf.starts_with(b"HTTP/1.0 200")) {
                let line = &buf[..find(&buf, b"\r\n").unwrap_or(0)];
                return Err(format!("server answered {}", String::from_utf8_lossy(line)));
            }
            return Ok(buf.split_off(end + 4));
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
