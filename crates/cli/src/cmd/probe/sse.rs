//! `spotlight probe sse`: subscribe, cut the connection at random moments,
//! resume with `Last-Event-ID`, and prove nothing was lost or repeated.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use rand::Rng;
use serde_json::json;

use super::{first_connect, Report};
use crate::cmd::{connect, GlobalArgs};
use spotlight_client::sse::{EventStream, ServerEvent, Subscribe};
use spotlight_client::{Client, ClientError};
use spotlight_market::{Candle, Timeframe};

/// Options of `spotlight probe sse`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight probe sse
  spotlight probe sse --symbols SPY,QQQ --cuts 10 --duration 30s")]
pub struct SseProbeArgs {
    /// Symbols (default: every symbol; then the seqs must be gap-free).
    #[arg(long, env = "SPOTLIGHT_SYMBOLS", value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Cuts at random moments.
    #[arg(long, env = "SPOTLIGHT_CUTS", default_value_t = 5)]
    pub cuts: u32,
    /// How long to follow the stream.
    #[arg(long, env = "SPOTLIGHT_DURATION", value_parser = humantime::parse_duration, default_value = "10s")]
    pub duration: Duration,
}

/// Opens the stream and returns it with its epoch.
async fn open(client: &Client, sub: &Subscribe) -> Result<(String, EventStream), ClientError> {
    let mut stream = client.subscribe(sub).await?;
    match stream.next().await {
        Some(Ok(ServerEvent::Hello(h))) => Ok((h.epoch, stream)),
        Some(Err(e)) => Err(e),
        other => Err(ClientError::Protocol {
            url: "/realtime/sse".into(),
            message: format!("expected hello first, got {other:?}"),
        }),
    }
}

/// Runs the probe.
pub async fn probe(
    args: &SseProbeArgs,
    attempts: u32,
    global: &GlobalArgs,
) -> anyhow::Result<Report> {
    let token = connect::token(global).await?;
    let client = Client::new(&global.url).with_token(token);
    let mut report = Report::new("sse");
    let sub = Subscribe {
        symbols: args.symbols.clone(),
        ..Subscribe::default()
    };
    let (epoch, mut stream) = first_connect(
        &global.url,
        attempts,
        || open(&client, &sub),
        |e| matches!(e, ClientError::Unreachable { .. }),
    )
    .await?;
    report.check("hello", true, format!("epoch {epoch}"));

    let started = Instant::now();
    let mut rng = rand::rng();
    let mut cut_times: Vec<Duration> = (0..args.cuts)
        .map(|_| args.duration.mul_f64(rng.random_range(0.1..0.9)))
        .collect();
    cut_times.sort();
    let mut cut_times = cut_times.into_iter().peekable();
    let all_symbols = args.symbols.is_empty();
    let (mut events, mut gaps, mut repeats, mut resets) = (0u64, 0u64, 0u64, 0u64);
    let mut last_seq: Option<u64> = None;
    let mut seen: HashSet<(u64, String, i64, bool)> = HashSet::new();
    let mut finals: BTreeMap<String, BTreeMap<i64, (Candle, u32)>> = BTreeMap::new();
    let mut resume_ms: Vec<f64> = Vec::new();
    let mut failure = None;
    while started.elapsed() < args.duration {
        let until_cut = cut_times
            .peek()
            .map_or(args.duration, |t| *t)
            .saturating_sub(started.elapsed());
        let wait = until_cut.min(args.duration.saturating_sub(started.elapsed()));
        match tokio::time::timeout(wait, stream.next()).await {
            Err(_) => {
                if cut_times.next_if(|t| started.elapsed() >= *t).is_some() {
                    // Cut: drop the connection, resume where we were.
                    drop(stream);
                    let t = Instant::now();
                    let resume = Subscribe {
                        last_event_id: last_seq.map(|s| format!("{epoch}:{s}")),
                        ..sub.clone()
                    };
                    match open(&client, &resume).await {
                        Ok((_, s)) => {
                            stream = s;
                            resume_ms.push(t.elapsed().as_secs_f64() * 1e3);
                        }
                        Err(e) => {
                            failure = Some(format!("resume failed: {}", e.summary()));
                            break;
                        }
                    }
                }
            }
            Ok(Some(Ok(ServerEvent::Bar(b)))) => {
                events += 1;
                let key = (b.seq, b.bar.symbol.to_string(), b.bar.t, b.bar.is_final);
                if !seen.insert(key) {
                    repeats += 1;
                }
                if let Some(prev) = last_seq {
                    if b.seq < prev {
                        repeats += 1;
                    } else if all_symbols && b.seq > prev + 1 {
                        gaps += b.seq - prev - 1;
                    }
                }
                last_seq = Some(last_seq.map_or(b.seq, |p| p.max(b.seq)));
                if b.bar.is_final && b.bar.tf == Timeframe::M1 {
                    let slot = finals
                        .entry(b.bar.symbol.to_string())
                        .or_default()
                        .entry(b.bar.t)
                        .or_insert((b.bar.candle(), 0));
                    slot.1 += 1;
                }
            }
            Ok(Some(Ok(ServerEvent::Reset(r)))) => {
                resets += 1;
                failure = Some(format!("reset ({:?}) instead of a resume", r.reason));
                break;
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => {
                failure = Some(e.summary());
                break;
            }
            Ok(None) => {
                failure = Some("the server ended the stream".into());
                break;
            }
        }
    }
    report.check(
        "cuts resumed",
        failure.is_none() && resume_ms.len() as u32 == args.cuts,
        failure.clone().unwrap_or_else(|| {
            format!(
                "{} cuts, resume {} ms",
                resume_ms.len(),
                resume_ms
                    .iter()
                    .map(|r| format!("{r:.0}"))
                    .collect::<Vec<_>>()
                    .join(" / ")
            )
        }),
    );
    report.check(
        "no gap, no duplicate",
        gaps == 0 && repeats == 0 && resets == 0 && events > 0,
        format!(
            "{events} bar events{}; {gaps} missing, {repeats} repeated",
            if all_symbols { ", seqs gap-free" } else { "" }
        ),
    );

    // Every final 1m bar in the span seen, exactly once, as history has it.
    let (mut checked, mut mismatched) = (0u64, 0u64);
    for (symbol, seen_finals) in &finals {
        let (Some(first), Some(last)) = (seen_finals.keys().next(), seen_finals.keys().last())
        else {
            continue;
        };
        let history = client
            .history(symbol, Timeframe::M1, 5000, Some(last + 60_000))
            .await
            .map_err(connect::failure)?;
        for bar in history.bars.iter().filter(|b| b.t >= *first && b.is_final) {
            checked += 1;
            match seen_finals.get(&bar.t) {
                Some((candle, 1)) if *candle == bar.candle() => {}
                _ => mismatched += 1,
            }
        }
    }
    report.check(
        "finals match history",
        mismatched == 0,
        format!("{checked} final bars compared, {mismatched} missing, repeated or different"),
    );
    report.figures = json!({
        "events": events,
        "resumeMs": resume_ms,
        "finalsCompared": checked,
    });
    Ok(report)
}
