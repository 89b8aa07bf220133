//! `spotlight probe sse`: subscribe, cut the connection at random moments,
//! resume with `Last-Event-ID`, and prove nothing was lost or repeated.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use rand::Rng;
use serde_json::json;

use super::{first_connect, Report};
use crate::cmd::{connect, GlobalArgs};
use spotlight_client::sequence::{Seen, Sequence};
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
    let (epoch, stream) = first_connect(
        &global.url,
        attempts,
        || open(&client, &sub),
        |e| matches!(e, ClientError::Unreachable { .. }),
    )
    .await?;
    report.check("hello", true, format!("epoch {epoch}"));

    let mut run = Followed::new(args.symbols.is_empty());
    run.follow(&client, &sub, &epoch, stream, args).await;
    let resumes: Vec<String> = run.resume_ms.iter().map(|r| format!("{r:.0}")).collect();
    report.check(
        "cuts resumed",
        run.failure.is_none() && run.resume_ms.len() as u32 == args.cuts,
        run.failure.clone().unwrap_or_else(|| {
            format!("{} cuts, resume {} ms", resumes.len(), resumes.join(" / "))
        }),
    );
    let Followed {
        events,
        gaps,
        repeats,
        resets,
        ..
    } = run;
    report.check(
        "no gap, no duplicate",
        gaps == 0 && repeats == 0 && resets == 0 && events > 0,
        format!(
            "{events} bar events{}; {gaps} missing, {repeats} repeated",
            if run.all_symbols {
                ", seqs gap-free"
            } else {
                ""
            }
        ),
    );
    let checked = check_finals(&client, &run.finals, &mut report).await?;
    report.figures = json!({
        "events": events,
        "resumeMs": run.resume_ms,
        "finalsCompared": checked,
    });
    Ok(report)
}

/// Every final 1m bar in the span seen exactly once, as history has it.
/// Returns how many were compared.
async fn check_finals(
    client: &Client,
    finals: &Finals,
    report: &mut Report,
) -> anyhow::Result<u64> {
    let (mut checked, mut mismatched) = (0u64, 0u64);
    for (symbol, seen_finals) in finals {
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
    Ok(checked)
}

/// Final 1m bars seen, by symbol and time, with how often.
type Finals = BTreeMap<String, BTreeMap<i64, (Candle, u32)>>;

/// What following the stream across its cuts saw.
struct Followed {
    /// Every symbol followed: then seqs must be gap-free.
    all_symbols: bool,
    events: u64,
    gaps: u64,
    repeats: u64,
    resets: u64,
    sequence: Sequence,
    finals: Finals,
    resume_ms: Vec<f64>,
    failure: Option<String>,
}

impl Followed {
    fn new(all_symbols: bool) -> Followed {
        Followed {
            all_symbols,
            events: 0,
            gaps: 0,
            repeats: 0,
            resets: 0,
            sequence: Sequence::default(),
            finals: BTreeMap::new(),
            resume_ms: Vec::new(),
            failure: None,
        }
    }

    /// Reads the stream for the probe's duration, cutting it at random
    /// moments and resuming with Last-Event-ID.
    async fn follow(
        &mut self,
        client: &Client,
        sub: &Subscribe,
        epoch: &str,
        mut stream: EventStream,
        args: &SseProbeArgs,
    ) {
        let started = Instant::now();
        let mut rng = rand::rng();
        let mut cut_times: Vec<Duration> = (0..args.cuts)
            .map(|_| args.duration.mul_f64(rng.random_range(0.1..0.9)))
            .collect();
        cut_times.sort();
        let mut cut_times = cut_times.into_iter().peekable();
        while started.elapsed() < args.duration {
            let until_cut = cut_times
                .peek()
                .map_or(args.duration, |t| *t)
                .saturating_sub(started.elapsed());
            let wait = until_cut.min(args.duration.saturating_sub(started.elapsed()));
            let event = match tokio::time::timeout(wait, stream.next()).await {
                Err(_) => {
                    if cut_times.next_if(|t| started.elapsed() >= *t).is_some() {
                        drop(stream);
                        match self.resume(client, sub, epoch).await {
                            Some(s) => stream = s,
                            None => break,
                        }
                    }
                    continue;
                }
                Ok(Some(Ok(event))) => event,
                Ok(Some(Err(e))) => {
                    self.failure = Some(e.summary());
                    break;
                }
                Ok(None) => {
                    self.failure = Some("the server ended the stream".into());
                    break;
                }
            };
            if !self.take(event) {
                break;
            }
        }
    }

    /// A cut: connects again where the stream was.
    async fn resume(
        &mut self,
        client: &Client,
        sub: &Subscribe,
        epoch: &str,
    ) -> Option<EventStream> {
        let t = Instant::now();
        let resume = Subscribe {
            last_event_id: self.sequence.last().map(|s| format!("{epoch}:{s}")),
            ..sub.clone()
        };
        match open(client, &resume).await {
            Ok((_, s)) => {
                self.resume_ms.push(t.elapsed().as_secs_f64() * 1e3);
                Some(s)
            }
            Err(e) => {
                self.failure = Some(format!("resume failed: {}", e.summary()));
                None
            }
        }
    }

    /// One event; `false` when it ends the probe (a reset).
    fn take(&mut self, event: ServerEvent) -> bool {
        match event {
            ServerEvent::Bar(b) => {
                self.events += 1;
                match self.sequence.see(b.seq) {
                    Seen::Repeat => self.repeats += 1,
                    // A subset of symbols skips the others' seqs.
                    Seen::Gap(missing) if self.all_symbols => self.gaps += missing,
                    Seen::Gap(_) | Seen::Next => {}
                }
                if b.bar.is_final && b.bar.tf == Timeframe::M1 {
                    let slot = self
                        .finals
                        .entry(b.bar.symbol.to_string())
                        .or_default()
                        .entry(b.bar.t)
                        .or_insert((b.bar.candle(), 0));
                    slot.1 += 1;
                }
                true
            }
            ServerEvent::Reset(r) => {
                self.resets += 1;
                self.failure = Some(format!("reset ({:?}) instead of a resume", r.reason));
                false
            }
            _ => true,
        }
    }
}
