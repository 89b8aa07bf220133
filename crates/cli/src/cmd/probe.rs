//! `spotlight probe voice` and `spotlight probe sse`: prove from outside
//! that the voice WebSocket and the SSE stream survive dropped connections
//! without losing or repeating anything.

use crate::cmd::out;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::json;

use super::{CliError, Exit, GlobalArgs};
use spotlight_reconnect::Backoff;

mod sse;
mod voice;

pub use voice::probe_voice;

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
