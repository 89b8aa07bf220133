//! `spotlight bench queue`: what a long voice queue costs the server and
//! how fast it moves. Fills the server's voice seats, queues N more
//! connections, reads the server's RSS before and after (with its pid),
//! then ends one seated session per round and times how long each waiter
//! takes to hear its new place (or its `hello`) after the close was sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Message;

use super::{histogram, Percentiles};
use spotlight_client::voice::{self, VoiceClient};
use spotlight_client::Client;
use spotlight_wire::voice::ServerMessage;
use spotlight_wire::AdmissionStatus;

/// How a queue run is set up.
#[derive(Debug, Clone)]
pub struct QueueLoad {
    /// The server (`http://host:port`).
    pub url: String,
    /// Session token (PIN-protected servers).
    pub token: Option<String>,
    /// Connections to queue.
    pub waiting: usize,
    /// Sessions ended, one per round.
    pub rounds: usize,
    /// The server's pid, for its RSS.
    pub server_pid: Option<u32>,
}

/// What a queue run measured.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueReport {
    /// The server's voice seats.
    pub seats: u64,
    /// Connections queued (each told its place).
    pub queued: usize,
    /// Seconds to queue them all.
    pub queue_seconds: f64,
    /// Server RSS growth while they queued, bytes (with the pid).
    pub rss_growth: Option<u64>,
    /// Per queued connection.
    pub rss_per_waiter: Option<u64>,
    /// Per round: ms from the close to the last waiter told its new place.
    pub all_told_ms: Vec<f64>,
    /// Every waiter's update delay over all rounds, ms.
    pub update_ms: Percentiles,
    /// Updates that did not arrive (a waiter not told).
    pub missing: u64,
}

/// One waiter's news: its index and whether it was seated.
type News = (usize, Instant, bool);

/// Runs the queue benchmark.
pub async fn run(load: QueueLoad) -> anyhow::Result<QueueReport> {
    let http = Client::new(&load.url).with_token(load.token.clone());
    let (seats, free) = free_seats(&http, load.waiting).await?;
    let mut seated = Vec::new();
    for _ in 0..free {
        seated.push(VoiceClient::connect(&load.url, load.token.clone()).await?);
    }
    let rss_before = load.server_pid.and_then(spotlight_server::sys::rss);
    let url = voice::voice_url(&load.url);
    let (tx, mut news) = mpsc::channel::<News>(load.waiting.max(1) * 2);
    let mut closers = Vec::new();
    let mut tasks = Vec::new();
    let started = Instant::now();
    for i in 0..load.waiting {
        let mut ws = voice::dial(&url, load.token.as_deref(), "").await?;
        // Its first place, before the next one dials: positions in order.
        match next_message(&mut ws).await {
            Some(ServerMessage::Queued { .. }) => {}
            other => anyhow::bail!("waiter {i}: expected queued, got {other:?}"),
        }
        let close = Arc::new(Notify::new());
        closers.push(close.clone());
        tasks.push(tokio::spawn(waiter(i, ws, tx.clone(), close)));
    }
    drop(tx);
    let queue_seconds = started.elapsed().as_secs_f64();
    let rss_after = load.server_pid.and_then(spotlight_server::sys::rss);
    let rss_growth = rss_before.zip(rss_after).map(|(b, a)| a.saturating_sub(b));

    let told = rounds(&load, &mut seated, &closers, &mut news).await?;
    // Close on purpose (a dropped session would hold its seat for the
    // resume TTL): every waiter sends its close frame before we go.
    for c in closers {
        c.notify_one();
    }
    drop(news);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    for c in seated {
        c.close().await;
    }
    Ok(QueueReport {
        seats,
        queued: load.waiting,
        queue_seconds,
        rss_growth,
        rss_per_waiter: rss_growth.map(|g| g / load.waiting.max(1) as u64),
        all_told_ms: told.all_told_ms,
        update_ms: Percentiles::of(&told.updates),
        missing: told.missing,
    })
}

/// The server's voice seats, and how many are free once the sessions of
/// an earlier run have ended; refuses a run that cannot be made.
async fn free_seats(http: &Client, waiting: usize) -> anyhow::Result<(u64, usize)> {
    let mut status: AdmissionStatus = http.get_json("/api/admission").await?;
    let seats = status.voice.capacity;
    if seats == 0 {
        anyhow::bail!("the server has no voice capacity set: start it with --voice-max-sessions N");
    }
    // Sessions of an earlier run may still be ending.
    let mut settle = tokio::time::interval(Duration::from_millis(100));
    for _ in 0..50 {
        if status.voice.in_use == 0 && status.voice.queue.is_empty() {
            break;
        }
        settle.tick().await;
        status = http.get_json("/api/admission").await?;
    }
    if status.voice.queue_max < waiting as u64 {
        anyhow::bail!(
            "the server queues at most {} (--voice-queue-max): ask for fewer or raise it",
            status.voice.queue_max
        );
    }
    let free = seats.saturating_sub(status.voice.in_use) as usize;
    if free == 0 {
        anyhow::bail!("every voice seat is held by other sessions: the benchmark needs one to end");
    }
    Ok((seats, free))
}

/// What the waiters were told, over the rounds.
struct Told {
    /// Time until a place update, per update.
    updates: Histogram<u64>,
    /// Per round: time until every waiter was told.
    all_told_ms: Vec<f64>,
    /// Updates that never came.
    missing: u64,
}

/// Rounds: a seat is given up (ours, then each new holder's), and every
/// waiter must hear its new place, the first its `hello`.
async fn rounds(
    load: &QueueLoad,
    seated: &mut Vec<VoiceClient>,
    closers: &[Arc<Notify>],
    news: &mut mpsc::Receiver<News>,
) -> anyhow::Result<Told> {
    let mut told = Told {
        updates: histogram()?,
        all_told_ms: Vec::new(),
        missing: 0,
    };
    let mut holder: Option<usize> = None;
    let mut remaining = load.waiting;
    for _ in 0..load.rounds.min(load.waiting) {
        let t0 = Instant::now();
        match holder.take() {
            Some(i) => closers[i].notify_one(),
            None => match seated.pop() {
                Some(c) => c.close().await,
                None => anyhow::bail!("no seated session of ours to end"),
            },
        }
        let mut heard = 0;
        let mut last = t0;
        while heard < remaining {
            match tokio::time::timeout(Duration::from_secs(10), news.recv()).await {
                Ok(Some((i, at, is_hello))) => {
                    heard += 1;
                    last = last.max(at);
                    let ms = at.saturating_duration_since(t0).as_secs_f64() * 1000.0;
                    told.updates.record((ms * 1000.0) as u64).ok();
                    if is_hello {
                        holder = Some(i);
                    }
                }
                _ => {
                    told.missing += (remaining - heard) as u64;
                    break;
                }
            }
        }
        told.all_told_ms
            .push(last.saturating_duration_since(t0).as_secs_f64() * 1000.0);
        remaining -= 1;
    }
    Ok(told)
}

/// The next control message (pings skipped), `None` when the socket ends.
async fn next_message(ws: &mut voice::Ws) -> Option<ServerMessage> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) => return serde_json::from_str(&t).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// One queued connection: reports each place change and its `hello`,
/// closes when told.
async fn waiter(i: usize, mut ws: voice::Ws, news: mpsc::Sender<News>, close: Arc<Notify>) {
    loop {
        tokio::select! {
            m = next_message(&mut ws) => {
                let is_hello = match m {
                    Some(ServerMessage::Queued { .. }) => false,
                    Some(ServerMessage::Hello { .. }) => true,
                    Some(_) => continue,
                    None => return,
                };
                // After the last round nobody listens: keep going, so
                // the close below still ends the session on purpose.
                let _ = news.send((i, Instant::now(), is_hello)).await;
            }
            () = close.notified() => {
                let _ = ws.send(Message::Close(None)).await;
                // Until the server's close frame: the session has ended.
                while let Some(Ok(m)) = ws.next().await {
                    if m.is_close() {
                        break;
                    }
                }
                return;
            }
        }
    }
}
