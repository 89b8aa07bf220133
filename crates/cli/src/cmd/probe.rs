//! `spotlight probe voice` and `spotlight probe sse`: prove from outside
//! that the voice WebSocket and the SSE stream survive dropped connections
//! without losing or repeating anything.

use crate::cmd::out;
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Args, Subcommand};
use rand::Rng;
use serde::Serialize;
use serde_json::json;

use super::{connect, CliError, Exit, GlobalArgs};
use spotlight_client::voice::{self, Incoming, VoiceClient, VoiceError};
use spotlight_reconnect::Backoff;
use spotlight_wire::voice::{ClientMessage, ServerMessage};

mod sse;

/// Options of `spotlight probe`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight probe voice
  spotlight probe sse --cuts 5
  spotlight --json probe voice --drops 3")]
pub struct ProbeArgs {
    /// What to probe.
    #[command(subcommand)]
    pub target: ProbeTarget,
    /// Tries of the first connection before giving up (exit 3).
    #[arg(long, global = true, env = "SPOTLIGHT_CONNECT_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub connect_attempts: u32,
}

/// What to probe.
#[derive(Debug, Clone, Subcommand)]
pub enum ProbeTarget {
    /// The voice WebSocket: hello, echo integrity, tools, drops with lossless resume.
    Voice(VoiceProbeArgs),
    /// The SSE stream: cuts and Last-Event-ID resumes with no gap and no duplicate.
    Sse(sse::SseProbeArgs),
}

/// Options of `spotlight probe voice`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight probe voice
  spotlight probe voice --drops 5 --frames 500
  spotlight probe voice --expect-restart")]
pub struct VoiceProbeArgs {
    /// Connections cut abruptly (no close frame) mid-stream.
    #[arg(long, env = "SPOTLIGHT_DROPS", default_value_t = 3)]
    pub drops: u32,
    /// Audio frames streamed.
    #[arg(long, env = "SPOTLIGHT_FRAMES", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub frames: u64,
    /// Bytes per frame (640: 20 ms of 16 kHz 16-bit mono).
    #[arg(long, env = "SPOTLIGHT_FRAME_BYTES", default_value_t = 640, value_parser = clap::value_parser!(u64).range(8..=1_048_576))]
    pub frame_bytes: u64,
    /// Time between frames (real-time pace).
    #[arg(long, env = "SPOTLIGHT_FRAME_INTERVAL", value_parser = humantime::parse_duration, default_value = "20ms")]
    pub frame_interval: Duration,
    /// Keep reconnecting across a server restart (pass if it comes back within the policy).
    #[arg(long, env = "SPOTLIGHT_EXPECT_RESTART")]
    pub expect_restart: bool,
}

/// One checked step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// What was checked.
    pub step: String,
    /// Whether it held.
    pub ok: bool,
    /// Figures and what went wrong.
    pub detail: String,
}

/// A probe's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `voice` or `sse`.
    pub probe: &'static str,
    /// Whether every step held.
    pub passed: bool,
    /// The steps in order.
    pub steps: Vec<Step>,
    /// Measured figures.
    pub figures: serde_json::Value,
}

impl Report {
    fn new(probe: &'static str) -> Report {
        Report {
            probe,
            passed: true,
            steps: Vec::new(),
            figures: json!({}),
        }
    }

    fn check(&mut self, step: &str, ok: bool, detail: impl Into<String>) {
        self.passed &= ok;
        self.steps.push(Step {
            step: step.into(),
            ok,
            detail: detail.into(),
        });
    }

    /// The table a person reads.
    pub fn table(&self) -> String {
        let width = self
            .steps
            .iter()
            .map(|s| s.step.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!("{:<width$}  result  figures\n", "step");
        for s in &self.steps {
            out.push_str(&format!(
                "{:<width$}  {:<6}  {}\n",
                s.step,
                if s.ok { "ok" } else { "FAIL" },
                s.detail
            ));
        }
        out.push_str(if self.passed { "passed\n" } else { "FAILED\n" });
        out
    }
}

/// Runs the command.
pub async fn run(args: ProbeArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let spinner = (!global.json && std::io::stderr().is_terminal()).then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.enable_steady_tick(Duration::from_millis(120));
        s.set_message("probing…");
        s
    });
    let report = match &args.target {
        ProbeTarget::Voice(v) => probe_voice(v, args.connect_attempts, global).await?,
        ProbeTarget::Sse(s) => sse::probe(s, args.connect_attempts, global).await?,
    };
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    if global.json {
        out::json(&report)?;
    } else {
        out::text(&report.table())?;
    }
    Ok(if report.passed {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// The first connection: `attempts` tries, about a second apart.
/// `unreachable` tells a connection that never happened (tried again)
/// from a refusal (which ends the probe, exit 1).
pub async fn first_connect<T, E, F, Fut>(
    url: &str,
    attempts: u32,
    mut connect: F,
    unreachable: impl Fn(&E) -> bool,
) -> anyhow::Result<T>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let mut backoff = Backoff::attempts_at_most(attempts.saturating_sub(1));
    loop {
        match connect().await {
            Ok(c) => return Ok(c),
            Err(e) if unreachable(&e) => match backoff.next_delay() {
                Some(d) => tokio::time::sleep(d).await,
                None => {
                    return Err(CliError {
                        exit: Exit::Unreachable,
                        message: format!(
                            "cannot reach {url} after {attempts} attempts over {:.1} s: {e}",
                            started.elapsed().as_secs_f64()
                        ),
                    }
                    .into())
                }
            },
            Err(e) => {
                return Err(CliError {
                    exit: Exit::Failed,
                    message: format!("{url}: {e}"),
                }
                .into())
            }
        }
    }
}

/// Frame `i`: its index, then bytes that depend on it.
fn frame(i: u64, len: usize) -> Bytes {
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&i.to_be_bytes());
    b.extend((8..len).map(|j| (i as usize * 31 + j) as u8));
    Bytes::from(b)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the voice probe (also the smoke's `voice` check).
pub async fn probe_voice(
    args: &VoiceProbeArgs,
    attempts: u32,
    global: &GlobalArgs,
) -> anyhow::Result<Report> {
    let token = connect::token(global).await?;
    let mut report = Report::new("voice");
    let url = voice::voice_url(&global.url);
    let mut client = first_connect(
        &url,
        attempts,
        || VoiceClient::connect(&global.url, token.clone()),
        |e| matches!(e, VoiceError::Unreachable { .. }),
    )
    .await?;
    let hello = client.hello().clone();
    report.check(
        "hello",
        !hello.resumed && !hello.resume_token.is_empty() && hello.heartbeat_ms > 0,
        format!(
            "session {}, heartbeat {} ms",
            hello.session, hello.heartbeat_ms
        ),
    );
    let first_token = hello.resume_token.clone();

    // Tools: each once.
    let symbol = spotlight_client::Client::new(&global.url)
        .with_token(token.clone())
        .symbols()
        .await
        .ok()
        .and_then(|s| s.symbols.first().map(|q| q.symbol.clone()))
        .unwrap_or_else(|| "SPY".into());
    let calls = [
        ("get_quote", json!({ "symbol": symbol })),
        (
            "get_bars",
            json!({ "symbol": symbol, "timeframe": "5m", "limit": 5 }),
        ),
        ("replay_status", json!({})),
    ];
    for (i, (name, args)) in calls.iter().enumerate() {
        let id = format!("t{i}");
        let started = Instant::now();
        client
            .send_control(&ClientMessage::Tool {
                id: id.clone(),
                name: name.to_string(),
                args: args.clone(),
            })
            .await?;
        let answer = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match client.next().await {
                    Ok(Incoming::Text(ServerMessage::ToolResult {
                        id: got, ok, error, ..
                    })) if got == id => return Ok((ok, error)),
                    Ok(_) => continue,
                    Err(e) => return Err(e),
                }
            }
        })
        .await;
        let (ok, detail) = match answer {
            Ok(Ok((true, _))) => (
                true,
                format!("{:.1} ms", started.elapsed().as_secs_f64() * 1e3),
            ),
            Ok(Ok((false, e))) => (false, e.unwrap_or_default()),
            Ok(Err(e)) => (false, e.to_string()),
            Err(_) => (false, "no answer within 5 s".into()),
        };
        report.check(&format!("tool {name}"), ok, detail);
    }

    // Stream frames at real-time pace, cutting the connection now and then.
    let frames = args.frames;
    let len = args.frame_bytes as usize;
    let mut cuts: BTreeSet<u64> = BTreeSet::new();
    let mut rng = rand::rng();
    while (cuts.len() as u32) < args.drops.min(frames as u32 / 2) {
        cuts.insert(rng.random_range(frames / 5..=frames * 4 / 5).max(1));
    }
    // When each frame went out, and over which connection: a round trip
    // is timed only when the echo came back on the same one.
    let mut sent_at: Vec<Option<(Instant, usize)>> = vec![None; frames as usize];
    let mut connection = 0usize;
    let mut rtts: Vec<f64> = Vec::new();
    let mut reconnects: Vec<f64> = Vec::new();
    let mut resumed_all = true;
    let mut replayed = 0;
    let mut lost_reported = 0;
    let (mut expected, mut duplicates, mut out_of_order, mut corrupt) = (0u64, 0u64, 0u64, 0u64);
    let mut next_send = Instant::now();
    let mut i = 0u64;
    let mut unexpected = None;
    let settle = Duration::from_secs(10);
    let mut done_sending: Option<Instant> = None;
    while expected < frames {
        if i < frames && Instant::now() >= next_send {
            if cuts.remove(&i) {
                client.cut();
                let t = Instant::now();
                match client.reconnect().await {
                    Ok(h) => {
                        connection += 1;
                        reconnects.push(t.elapsed().as_secs_f64() * 1e3);
                        resumed_all &= h.resumed;
                        replayed += h.replayed;
                        lost_reported += h.lost;
                    }
                    Err(e) => {
                        unexpected = Some(format!("reconnect failed: {e}"));
                        break;
                    }
                }
            }
            client
                .send(tokio_tungstenite::tungstenite::Message::Binary(frame(
                    i, len,
                )))
                .await?;
            sent_at[i as usize] = Some((Instant::now(), connection));
            i += 1;
            next_send += args.frame_interval;
            if i == frames {
                done_sending = Some(Instant::now());
            }
            continue;
        }
        let deadline = match done_sending {
            Some(at) if at.elapsed() > settle => break,
            Some(at) => tokio::time::Instant::from_std(at + settle),
            None => tokio::time::Instant::from_std(next_send),
        };
        match tokio::time::timeout_at(deadline, client.next()).await {
            Err(_) => continue,
            Ok(Ok(Incoming::Binary(b))) => {
                let Some(idx) = b
                    .get(..8)
                    .map(|h| u64::from_be_bytes(h.try_into().unwrap_or([0; 8])))
                else {
                    corrupt += 1;
                    continue;
                };
                if b != frame(idx, len) {
                    corrupt += 1;
                }
                if idx < expected {
                    duplicates += 1;
                } else {
                    if idx > expected {
                        out_of_order += 1;
                    }
                    expected = idx + 1;
                    if let Some(Some((at, over))) = sent_at.get(idx as usize) {
                        if *over == connection {
                            rtts.push(at.elapsed().as_secs_f64() * 1e3);
                        }
                    }
                }
            }
            Ok(Ok(Incoming::Text(_))) => {}
            Ok(Err(e)) if args.expect_restart && e.retryable() => {
                let t = Instant::now();
                match client.reconnect().await {
                    Ok(h) => {
                        reconnects.push(t.elapsed().as_secs_f64() * 1e3);
                        report.check(
                            "came back",
                            true,
                            format!(
                                "after {:.0} ms (resumed: {})",
                                t.elapsed().as_secs_f64() * 1e3,
                                h.resumed
                            ),
                        );
                        if !h.resumed {
                            // A restarted server starts a new session: count on from here.
                            expected = i;
                        }
                    }
                    Err(e) => {
                        unexpected = Some(format!("did not come back: {e}"));
                        break;
                    }
                }
            }
            Ok(Err(e)) => {
                unexpected = Some(e.to_string());
                break;
            }
        }
    }
    rtts.sort_by(f64::total_cmp);
    let echoed_ok = unexpected.is_none()
        && expected == frames
        && duplicates == 0
        && out_of_order == 0
        && corrupt == 0;
    report.check(
        "echo",
        echoed_ok,
        match &unexpected {
            Some(e) => e.clone(),
            None => format!(
                "{expected}/{frames} frames of {len} B back in order; rtt p50 {:.1} / p99 {:.1} / max {:.1} ms; {duplicates} duplicated, {out_of_order} out of order, {corrupt} corrupt",
                percentile(&rtts, 50.0),
                percentile(&rtts, 99.0),
                rtts.last().copied().unwrap_or(0.0)
            ),
        },
    );
    if args.drops > 0 {
        let worst = reconnects.iter().copied().fold(0.0, f64::max);
        report.check(
            "drops resumed",
            resumed_all && lost_reported == 0 && reconnects.len() as u32 == args.drops.min(frames as u32 / 2),
            format!(
                "{} drops, reconnect {} ms (worst {worst:.0}), {replayed} replayed, {lost_reported} lost",
                reconnects.len(),
                reconnects.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(" / ")
            ),
        );
    }

    // A spent (or still live) token must not resume anything.
    let reused = voice::dial(
        &url,
        token.as_deref(),
        &format!("resume={first_token}&last=0"),
    )
    .await;
    let rejected = match reused {
        Ok(mut ws) => {
            let h = voice::read_hello(&mut ws).await;
            let _ = futures::SinkExt::close(&mut ws).await;
            matches!(h, Ok(ref h) if !h.resumed && h.rejected.is_some())
        }
        Err(_) => false,
    };
    report.check(
        "reused token rejected",
        rejected,
        "resume_rejected, then a new session",
    );
    client.close().await;
    report.figures = json!({
        "rttMs": {"p50": percentile(&rtts, 50.0), "p99": percentile(&rtts, 99.0), "max": rtts.last().copied().unwrap_or(0.0)},
        "reconnectMs": reconnects,
        "replayed": replayed,
        "frames": frames,
        "echoed": expected,
    });
    Ok(report)
}
