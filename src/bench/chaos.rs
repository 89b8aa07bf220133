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

use crate::client::sse::{ServerEvent, Subscribe};
use crate::client::Client;
use crate::market::Timeframe;

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
    /// Shortest and longest time between cuts.
    pub cut_every: (Duration, Duration),
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
    /// Seqs skipped on a gap-free stream.
    pub seq_gaps: u64,
    /// Whether the restart command ran and succeeded.
    pub restarted: Option<bool>,
}

impl ChaosReport {
    /// Nothing lost, repeated or out of order.
    pub fn clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.changed == 0
            && self.out_of_order == 0
            && self.seq_gaps == 0
    }
}

/// What one client saw.
#[derive(Debug, Default)]
struct Seen {
    /// `(symbol, t)` → (times received, close) of final bars.
    finals: HashMap<(String, i64), (u32, f64)>,
    /// Final bars out of order within a symbol.
    out_of_order: u64,
    /// Seqs seen twice, and skipped (subscriptions to every symbol only).
    repeated_seqs: u64,
    seq_gaps: u64,
    cuts: u64,
    resumes: u64,
    resets: u64,
    connect_failures: u64,
    events: u64,
}

/// Runs the clients, then checks what they saw.
pub async fn run(load: ChaosLoad) -> anyhow::Result<ChaosReport> {
    let started = Instant::now();
    let deadline = started + load.duration;
    let mut tasks = Vec::new();
    for _ in 0..load.clients {
        let load = load.clone();
        tasks.push(tokio::spawn(async move { client(&load, deadline).await }));
    }
    let restarted = match &load.restart_cmd {
        Some(cmd) => {
            tokio::time::sleep(load.duration / 2).await;
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
    let http = Client::new(&load.url).with_token(load.token.clone());
    let mut report = ChaosReport {
        clients: load.clients,
        seconds: started.elapsed().as_secs_f64(),
        restarted,
        ..ChaosReport::default()
    };
    let mut history: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for s in &seen {
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
    for s in seen {
        report.cuts += s.cuts;
        report.resumes += s.resumes;
        report.resets += s.resets;
        report.connect_failures += s.connect_failures;
        report.events += s.events;
        report.out_of_order += s.out_of_order;
        report.duplicated += s.repeated_seqs;
        report.seq_gaps += s.seq_gaps;
        // Each symbol's span: from the first final this client got to the
        // last; history's finals in it must all be there, once, unchanged.
        let mut spans: HashMap<&str, (i64, i64)> = HashMap::new();
        for ((symbol, t), (count, _)) in &s.finals {
            let span = spans.entry(symbol.as_str()).or_insert((*t, *t));
            span.0 = span.0.min(*t);
            span.1 = span.1.max(*t);
            if *count > 1 {
                report.duplicated += u64::from(count - 1);
            }
        }
        for (symbol, (from, to)) in spans {
            for (t, close) in history
                .get(symbol)
                .into_iter()
                .flatten()
                .filter(|(t, _)| (from..=to).contains(t))
            {
                report.finals_checked += 1;
                match s.finals.get(&(symbol.to_string(), *t)) {
                    None => report.lost += 1,
                    Some((_, got)) if got != close => report.changed += 1,
                    Some(_) => {}
                }
            }
        }
    }
    Ok(report)
}

/// One client: connect, read, cut at a random moment, resume; until the
/// deadline.
async fn client(load: &ChaosLoad, deadline: Instant) -> Seen {
    let http = Client::new(&load.url).with_token(load.token.clone());
    let mut seen = Seen::default();
    let mut last_id: Option<String> = None;
    let mut last_seq: Option<u64> = None;
    let mut last_final: HashMap<String, i64> = HashMap::new();
    let mut epoch = String::new();
    let every_symbol = load.symbols.is_empty();
    while Instant::now() < deadline {
        let sub = Subscribe {
            symbols: load.symbols.clone(),
            last_event_id: last_id.clone(),
            ..Subscribe::default()
        };
        let mut stream = match http.subscribe(&sub).await {
            Ok(s) => s,
            Err(_) => {
                seen.connect_failures += 1;
                let wait = Duration::from_millis(rand::rng().random_range(100..500));
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        if last_id.is_some() {
            seen.resumes += 1;
        }
        let (lo, hi) = load.cut_every;
        let (lo, hi) = (lo.as_millis() as u64, hi.as_millis() as u64);
        let cut_in = rand::rng().random_range(lo..=hi.max(lo + 1));
        let cut_at = (Instant::now() + Duration::from_millis(cut_in)).min(deadline);
        loop {
            let next = tokio::time::timeout_at(cut_at.into(), stream.next()).await;
            let event = match next {
                Err(_) => {
                    seen.cuts += 1;
                    break;
                }
                Ok(None) | Ok(Some(Err(_))) => break,
                Ok(Some(Ok(e))) => e,
            };
            match event {
                ServerEvent::Hello(h) => {
                    if last_id.is_none() {
                        last_seq = Some(h.seq);
                    }
                    epoch = h.epoch;
                }
                ServerEvent::Bar(b) => {
                    seen.events += 1;
                    if every_symbol {
                        match last_seq {
                            Some(prev) if b.seq <= prev => seen.repeated_seqs += 1,
                            Some(prev) => seen.seq_gaps += b.seq - prev - 1,
                            None => {}
                        }
                    }
                    last_seq = Some(last_seq.map_or(b.seq, |p| p.max(b.seq)));
                    if b.bar.is_final {
                        let symbol = b.bar.symbol.to_string();
                        if last_final.get(&symbol).is_some_and(|t| b.bar.t < *t) {
                            seen.out_of_order += 1;
                        }
                        last_final.insert(symbol.clone(), b.bar.t);
                        let entry = seen.finals.entry((symbol, b.bar.t)).or_insert((0, b.bar.c));
                        entry.0 += 1;
                    }
                    last_id = Some(format!("{epoch}:{}", b.seq));
                }
                ServerEvent::Reset(_) => {
                    // Start over: what was missed cannot be told apart from
                    // what was never sent, so this client's record restarts.
                    seen.resets += 1;
                    seen.finals.clear();
                    last_final.clear();
                    last_id = None;
                    last_seq = None;
                    break;
                }
                _ => {}
            }
        }
        drop(stream);
    }
    seen
}
