//! `spotlight bench chaos`: clients that cut their connections at random
//! moments (abruptly: the socket is dropped), resume with `Last-Event-ID`,
//! and at the end hold what they received against `/api/history`: every
//! final bar exactly once and in order, every seq once. Optionally across a
//! server restart (`--restart-cmd`).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rand::Rng;
use serde::Serialize;

use spotlight_client::sequence::{self, Sequence};
use spotlight_client::sse::{ServerEvent, Subscribe};
use spotlight_client::Client;
use spotlight_market::Timeframe;
use spotlight_reconnect::Backoff;
use spotlight_wire::BarEvent;

/// What to run.
#[derive(Debug, Clone)]
pub struct ChaosLoad {
    /// The server.
    pub url: String,
    /// Session token, when the server has a PIN.
    pub token: Option<String>,
    /// Concurrent clients.
    pub clients: usize,
    /// How long they run.
    pub duration: Duration,
    /// Symbols (every symbol when empty).
    pub symbols: Vec<String>,
    /// Shortest and longest time between cuts (`None`: no cuts; clients
    /// reconnect only when the server closes them).
    pub cut_every: Option<(Duration, Duration)>,
    /// A shell command that restarts the server, run halfway through.
    pub restart_cmd: Option<String>,
}

/// The outcome.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChaosReport {
    /// Clients run.
    pub clients: usize,
    /// Seconds run.
    pub seconds: f64,
    /// Connections cut on purpose.
    pub cuts: u64,
    /// Connections opened again with `Last-Event-ID`.
    pub resumes: u64,
    /// Resumes the server answered with `reset` (history reloaded).
    pub resets: u64,
    /// Connections that failed to open (retried).
    pub connect_failures: u64,
    /// Bar events received.
    pub events: u64,
    /// Final bars held against history.
    pub finals_checked: u64,
    /// Final bars history has that a client missed.
    pub lost: u64,
    /// Final bars (or seqs) a client got twice.
    pub duplicated: u64,
    /// Final bars whose close differs from history's.
    pub changed: u64,
    /// Final bars that came after a later one.
    pub out_of_order: u64,
    /// Seqs a client subscribed to every symbol never saw. A slow client's
    /// in-progress updates are conflated by design, so gaps fail the run
    /// only beyond what the server says it conflated meanwhile.
    pub seq_gaps: u64,
    /// In-progress updates the server conflated during the run (its
    /// `spotlight_sse_conflated_total`, read at the start, before the
    /// restart and at the end; every client of the server counts).
    pub conflated: u64,
    /// Of them, skipped between the last event before a reconnect and the
    /// first after it.
    pub resume_gaps: u64,
    /// Whether the restart command ran and succeeded.
    pub restarted: Option<bool>,
    /// Streams the server closed, and when their clients came back.
    pub comeback: Comeback,
}

/// Streams the server closed (a shutdown or drain) and their clients'
/// comeback, in one-second buckets from the restart command's start (or
/// from the first server close without one).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comeback {
    /// Streams the server ended.
    pub server_closes: u64,
    /// Of them, ended with a `shutdown` notice.
    pub shutdown_notices: u64,
    /// Clients that reconnected after a server close.
    pub reconnected: u64,
    /// Connection attempts that failed while coming back.
    pub failed_attempts: u64,
    /// Seconds from the origin to the first and the last reconnect.
    pub first_s: f64,
    /// See `first_s`.
    pub last_s: f64,
    /// Per second since the origin: `[second, closes, reconnects]`.
    pub buckets: Vec<[u64; 3]>,
}

impl Comeback {
    /// Buckets the close and reconnect instants from `origin`.
    fn build(origin: Instant, closes: &[Instant], reconnects: &[Instant]) -> Comeback {
        let sec = |t: &Instant| t.saturating_duration_since(origin).as_secs_f64();
        let mut buckets: BTreeMap<u64, [u64; 3]> = BTreeMap::new();
        for t in closes {
            let s = sec(t) as u64;
            buckets.entry(s).or_insert([s, 0, 0])[1] += 1;
        }
        for t in reconnects {
            let s = sec(t) as u64;
            buckets.entry(s).or_insert([s, 0, 0])[2] += 1;
        }
        let times: Vec<f64> = reconnects.iter().map(sec).collect();
        Comeback {
            server_closes: closes.len() as u64,
            reconnected: reconnects.len() as u64,
            first_s: times.iter().copied().reduce(f64::min).unwrap_or(0.0),
            last_s: times.iter().copied().fold(0.0, f64::max),
            buckets: buckets.into_values().collect(),
            ..Comeback::default()
        }
    }
}

impl ChaosReport {
    /// No final bar lost, changed or out of order, no seq twice, no seq
    /// skipped across a reconnect, no more skipped than conflated.
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.changed == 0
            && self.out_of_order == 0
            && self.resume_gaps == 0
            && self.seq_gaps <= self.conflated
    }
}

/// What one client saw.
#[derive(Debug, Default)]
struct Record {
    /// `(symbol, t)` → (times received, close) of final bars.
    finals: HashMap<(String, i64), (u32, f64)>,
    /// Final bars out of order within a symbol.
    out_of_order: u64,
    /// Seqs seen twice, and skipped (subscriptions to every symbol only).
    repeated_seqs: u64,
    seq_gaps: u64,
    resume_gaps: u64,
    cuts: u64,
    resumes: u64,
    resets: u64,
    connect_failures: u64,
    events: u64,
    /// When the server closed this client's stream, and when it came back.
    server_closes: Vec<Instant>,
    shutdown_notices: u64,
    reconnects: Vec<Instant>,
    comeback_failures: u64,
}

/// Runs the clients, then checks what they saw.
pub async fn run(load: ChaosLoad) -> anyhow::Result<ChaosReport> {
    let started = Instant::now();
    let deadline = started + load.duration;
    let http = Client::new(&load.url).with_token(load.token.clone());
    let conflated_at_start = conflated(&http).await;
    let mut conflated_total = 0;
    let mut tasks = Vec::new();
    for _ in 0..load.clients {
        let load = load.clone();
        let http = http.clone();
        tasks.push(tokio::spawn(
            async move { client(&http, &load, deadline).await },
        ));
    }
    let mut origin = None;
    let restarted = match &load.restart_cmd {
        Some(cmd) => {
            tokio::time::sleep(load.duration / 2).await;
            conflated_total = conflated(&http).await.saturating_sub(conflated_at_start);
            origin = Some(Instant::now());
            let status = tokio::process::Command::new("sh")
                .args(["-c", cmd])
                .status()
                .await;
            Some(status.is_ok_and(|s| s.success()))
        }
        None => None,
    };
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await?);
    }
    // After a restart the counter started again from 0.
    conflated_total += match restarted {
        Some(_) => conflated(&http).await,
        None => conflated(&http).await.saturating_sub(conflated_at_start),
    };
    let mut report = ChaosReport {
        clients: load.clients,
        seconds: started.elapsed().as_secs_f64(),
        restarted,
        conflated: conflated_total,
        ..ChaosReport::default()
    };
    let history = finals_in_history(&http, &seen).await?;
    let closes: Vec<Instant> = seen
        .iter()
        .flat_map(|s| s.server_closes.iter().copied())
        .collect();
    let reconnects: Vec<Instant> = seen
        .iter()
        .flat_map(|s| s.reconnects.iter().copied())
        .collect();
    let origin = origin
        .or_else(|| closes.iter().min().copied())
        .unwrap_or(started);
    report.comeback = Comeback {
        shutdown_notices: seen.iter().map(|s| s.shutdown_notices).sum(),
        failed_attempts: seen.iter().map(|s| s.comeback_failures).sum(),
        ..Comeback::build(origin, &closes, &reconnects)
    };
    for s in seen {
        report.add(s, &history);
    }
    Ok(report)
}

/// Each symbol's final 1m bars as history has them: `(t, close)`.
type HistoryFinals = BTreeMap<String, Vec<(i64, f64)>>;

/// History's finals of every symbol a client saw a final of.
async fn finals_in_history(http: &Client, seen: &[Record]) -> anyhow::Result<HistoryFinals> {
    let mut history = HistoryFinals::new();
    for s in seen {
        for (symbol, _) in s.finals.keys() {
            if !history.contains_key(symbol) {
                let h = http.history(symbol, Timeframe::M1, 5000, None).await?;
                let finals = h
                    .bars
                    .iter()
                    .filter(|b| b.is_final)
                    .map(|b| (b.t, b.c))
                    .collect();
                history.insert(symbol.clone(), finals);
            }
        }
    }
    Ok(history)
}

impl ChaosReport {
    /// Adds one client's record: its counts, and its finals against
    /// history's over the span it saw.
    fn add(&mut self, s: Record, history: &HistoryFinals) {
        self.cuts += s.cuts;
        self.resumes += s.resumes;
        self.resets += s.resets;
        self.connect_failures += s.connect_failures;
        self.events += s.events;
        self.out_of_order += s.out_of_order;
        self.duplicated += s.repeated_seqs;
        self.seq_gaps += s.seq_gaps;
        self.resume_gaps += s.resume_gaps;
        // Each symbol's span: from the first final this client got to the
        // last; history's finals in it must all be there, once, unchanged.
        let mut spans: HashMap<&str, (i64, i64)> = HashMap::new();
        for ((symbol, t), (count, _)) in &s.finals {
            let span = spans.entry(symbol.as_str()).or_insert((*t, *t));
            span.0 = span.0.min(*t);
            span.1 = span.1.max(*t);
            if *count > 1 {
                self.duplicated += u64::from(count - 1);
            }
        }
        for (symbol, (from, to)) in spans {
            for (t, close) in history
                .get(symbol)
                .into_iter()
                .flatten()
                .filter(|(t, _)| (from..=to).contains(t))
            {
                self.finals_checked += 1;
                match s.finals.get(&(symbol.to_string(), *t)) {
                    None => self.lost += 1,
                    Some((_, got)) if got != close => self.changed += 1,
                    Some(_) => {}
                }
            }
        }
    }
}

/// The server's count of conflated in-progress updates (0 when it cannot
/// be read: then every gap counts).
async fn conflated(http: &Client) -> u64 {
    use spotlight_client::exposition;
    let text = http.get_text("/api/metrics").await.unwrap_or_default();
    exposition::parse(&text)
        .ok()
        .and_then(|samples| exposition::total(&samples, "spotlight_sse_conflated_total"))
        .map_or(0, |v| v as u64)
}

/// One client: connect, read, cut at a random moment, resume; until the
/// deadline. A stream the server ends is resumed after the `retry` its
/// `shutdown` notice suggested, then on the shared reconnect policy.
async fn client(http: &Client, load: &ChaosLoad, deadline: Instant) -> Record {
    let mut seen = Record::default();
    let mut backoff = Backoff::default();
    let mut coming_back = false;
    let mut place = Place::new(load.symbols.is_empty());
    while Instant::now() < deadline {
        let sub = Subscribe {
            symbols: load.symbols.clone(),
            last_event_id: place.last_id.clone(),
            ..Subscribe::default()
        };
        let mut stream = match http.subscribe(&sub).await {
            Ok(s) => s,
            Err(_) => {
                seen.connect_failures += 1;
                seen.comeback_failures += u64::from(coming_back);
                let wait = backoff.next_delay().unwrap_or_else(|| {
                    backoff.reset();
                    backoff.cap
                });
                tokio::time::sleep_until((Instant::now() + wait).min(deadline).into()).await;
                continue;
            }
        };
        backoff.reset();
        place.resuming = place.last_id.is_some();
        seen.resumes += u64::from(place.resuming);
        if std::mem::take(&mut coming_back) {
            seen.reconnects.push(Instant::now());
        }
        let cut_at = match load.cut_every {
            Some((lo, hi)) => {
                let (lo, hi) = (lo.as_millis() as u64, hi.as_millis() as u64);
                let cut_in = rand::rng().random_range(lo..=hi.max(lo + 1));
                (Instant::now() + Duration::from_millis(cut_in)).min(deadline)
            }
            None => deadline,
        };
        loop {
            match tokio::time::timeout_at(cut_at.into(), stream.next()).await {
                Err(_) => {
                    seen.cuts += u64::from(cut_at < deadline);
                    break;
                }
                Ok(None) | Ok(Some(Err(_))) => {
                    seen.server_closes.push(Instant::now());
                    coming_back = true;
                    if let Some(wait) = place.retry.take() {
                        let until = (Instant::now() + wait).min(deadline);
                        tokio::time::sleep_until(until.into()).await;
                    }
                    break;
                }
                Ok(Some(Ok(event))) => {
                    if !place.take(event, &mut seen) {
                        break;
                    }
                }
            }
        }
        drop(stream);
    }
    seen
}

/// Where one chaos client is in the stream.
struct Place {
    /// Whether every symbol is followed (then seqs must be gap-free).
    every_symbol: bool,
    epoch: String,
    last_id: Option<String>,
    sequence: Sequence,
    last_final: HashMap<String, i64>,
    /// The next bar is the first after a resume.
    resuming: bool,
    /// The wait a `shutdown` notice suggested.
    retry: Option<Duration>,
}

impl Place {
    fn new(every_symbol: bool) -> Place {
        Place {
            every_symbol,
            epoch: String::new(),
            last_id: None,
            sequence: Sequence::default(),
            last_final: HashMap::new(),
            resuming: false,
            retry: None,
        }
    }

    /// Takes one event into `seen`; `false` when the client must start
    /// over (a reset).
    fn take(&mut self, event: ServerEvent, seen: &mut Record) -> bool {
        match event {
            ServerEvent::Hello(h) => {
                if self.last_id.is_none() {
                    self.sequence = Sequence::after(h.seq);
                }
                self.epoch = h.epoch;
            }
            ServerEvent::Bar(b) => self.bar(&b, seen),
            ServerEvent::Shutdown(notice) => {
                seen.shutdown_notices += 1;
                self.retry = Some(Duration::from_millis(notice.retry_ms));
            }
            ServerEvent::Reset(_) => {
                // Start over: what was missed cannot be told apart from
                // what was never sent, so this client's record restarts.
                seen.resets += 1;
                seen.finals.clear();
                self.last_final.clear();
                self.last_id = None;
                self.sequence = Sequence::default();
                return false;
            }
            _ => {}
        }
        true
    }

    fn bar(&mut self, b: &BarEvent, seen: &mut Record) {
        seen.events += 1;
        match self.sequence.see(b.seq) {
            sequence::Seen::Repeat if self.every_symbol => seen.repeated_seqs += 1,
            sequence::Seen::Gap(missing) if self.every_symbol => {
                seen.seq_gaps += missing;
                if self.resuming {
                    seen.resume_gaps += missing;
                }
            }
            _ => {}
        }
        self.resuming = false;
        if b.bar.is_final {
            let symbol = b.bar.symbol.to_string();
            if self.last_final.get(&symbol).is_some_and(|t| b.bar.t < *t) {
                seen.out_of_order += 1;
            }
            self.last_final.insert(symbol.clone(), b.bar.t);
            let entry = seen.finals.entry((symbol, b.bar.t)).or_insert((0, b.bar.c));
            entry.0 += 1;
        }
        self.last_id = Some(format!("{}:{}", self.epoch, b.seq));
    }
}
