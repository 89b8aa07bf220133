//! `spotlight smoke`: named checks of a running (or self-spawned) server
//! for CI. One line per check, `--json`, `--junit FILE`; exit 0 all pass,
//! 1 one failed, 3 the server cannot be reached.

mod checks;
mod junit;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::probe::first_connect;
use super::{connect, out, serve, CliError, Exit, GlobalArgs};
use spotlight_client::Client;

/// Options of `spotlight smoke`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight smoke --spawn
  spotlight --url https://md.example.com --pin \"$PIN\" smoke --junit smoke.xml
  spotlight smoke --only health,sse-open --json")]
pub struct SmokeArgs {
    /// Start an in-process server (the embedded sim source, 127.0.0.1:0) and check it.
    #[arg(long, env = "SPOTLIGHT_SPAWN")]
    pub spawn: bool,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, env = "SPOTLIGHT_JUNIT", value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Time each check may take.
    #[arg(long, env = "SPOTLIGHT_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub timeout: Duration,
    /// How long the stream checks watch the stream.
    #[arg(long, env = "SPOTLIGHT_SAMPLE", value_parser = humantime::parse_duration, default_value = "3s")]
    pub sample: Duration,
    /// Run only these checks.
    #[arg(long, env = "SPOTLIGHT_ONLY", value_enum, value_delimiter = ',', num_args = 1..)]
    pub only: Vec<Check>,
    /// Leave these checks out.
    #[arg(long, env = "SPOTLIGHT_SKIP", value_enum, value_delimiter = ',', num_args = 1..)]
    pub skip: Vec<Check>,
    /// Tries of the first connection before giving up (exit 3).
    #[arg(long, env = "SPOTLIGHT_CONNECT_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub connect_attempts: u32,
}

/// The checks, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// `/health`, `/api/healthz`, `/api/readyz`.
    Health,
    /// The stream opens with the contract's headers, `retry:` and `hello` first.
    SseOpen,
    /// Updates arrive spread out as they were sent, not in bursts.
    SseBuffering,
    /// Ids are `{epoch}:{seq}`, no gap and no repeat.
    SseContinuity,
    /// A cut and a `Last-Event-ID` resume lose and repeat nothing.
    SseResume,
    /// Rollups agree with the 1m bars; the handoff seq lines up with the stream.
    History,
    /// The exposition parses, the required series are there, counters move.
    Metrics,
    /// The snapshot's fields are there; its epoch is the stream's.
    Diag,
    /// Start, speed, stop, with their `reset` and `replay` events.
    Replay,
    /// `probe voice` in short: hello, echo, one drop, a lossless resume.
    Voice,
}

impl Check {
    /// Every check, in report order.
    pub const ALL: [Check; 10] = [
        Check::Health,
        Check::SseOpen,
        Check::SseBuffering,
        Check::SseContinuity,
        Check::SseResume,
        Check::History,
        Check::Metrics,
        Check::Diag,
        Check::Replay,
        Check::Voice,
    ];

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Check::Health => "health",
            Check::SseOpen => "sse-open",
            Check::SseBuffering => "sse-buffering",
            Check::SseContinuity => "sse-continuity",
            Check::SseResume => "sse-resume",
            Check::History => "history",
            Check::Metrics => "metrics",
            Check::Diag => "diag",
            Check::Replay => "replay",
            Check::Voice => "voice",
        }
    }

    /// Whether it changes what every client sees (it runs after the others).
    fn disturbs(self) -> bool {
        self == Check::Replay
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It held.
    Pass,
    /// The server did something wrong.
    Fail,
    /// The check could not run to the end.
    Error,
    /// Not applicable here.
    Skipped,
}

/// What a check found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Pass, fail or skipped (errors come from `Err`).
    pub status: Status,
    /// One line: figures when it passed, the fault when not.
    pub message: String,
}

impl Outcome {
    /// It held; `message` gives the figures.
    pub fn pass(message: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Pass,
            message: message.into(),
        }
    }

    /// The server did something wrong.
    pub fn fail(message: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Fail,
            message: message.into(),
        }
    }

    /// Not applicable here, and why.
    pub fn skipped(message: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Skipped,
            message: message.into(),
        }
    }
}

/// One check's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Its name.
    pub name: Check,
    /// How it came out.
    pub status: Status,
    /// How long it took.
    pub seconds: f64,
    /// Figures, or what went wrong.
    pub message: String,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct SmokeReport {
    /// The server checked.
    pub url: String,
    /// No check failed or errored.
    pub passed: bool,
    /// Wall time of the run.
    pub seconds: f64,
    /// The checks, in report order.
    pub checks: Vec<CheckResult>,
}

impl SmokeReport {
    fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// One line per check and a summary, for a person.
    pub fn lines(&self, color: bool) -> String {
        let mut out: String = self.checks.iter().map(|c| line(c, color) + "\n").collect();
        out.push_str(&format!(
            "{} checks in {:.1} s: {} passed, {} failed, {} errors, {} skipped — {}\n",
            self.checks.len(),
            self.seconds,
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Error),
            self.count(Status::Skipped),
            if self.passed { "PASSED" } else { "FAILED" }
        ));
        out
    }
}

/// A check's line: mark, name, duration, message.
fn line(c: &CheckResult, color: bool) -> String {
    let (mark, paint) = match c.status {
        Status::Pass => ("✓", "32"),
        Status::Fail => ("✗", "31"),
        Status::Error => ("!", "31"),
        Status::Skipped => ("-", "33"),
    };
    let mark = if color {
        format!("\x1b[{paint}m{mark}\x1b[0m")
    } else {
        mark.to_string()
    };
    format!(
        "{mark} {:<15} {:>6.3}s  {}",
        c.name.name(),
        c.seconds,
        c.message
    )
}

/// Runs the command.
pub async fn run(args: SmokeArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let report = smoke(&args, global).await?;
    if let Some(path) = &args.junit {
        std::fs::write(path, junit::render(&report)).map_err(|e| {
            CliError::usage(format!("--junit {}: cannot write: {e}", path.display()))
        })?;
    }
    if global.json {
        out::json(&report)?;
    } else {
        out::text(&report.lines(global.color.enabled(std::io::stdout().is_terminal())))?;
    }
    Ok(if report.passed {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// Runs the selected checks against `--url` (or a spawned server) and
/// returns the report; `Err` with exit 3 when the server cannot be reached.
pub async fn smoke(args: &SmokeArgs, global: &GlobalArgs) -> anyhow::Result<SmokeReport> {
    let spawned = if args.spawn {
        Some(serve::spawn_default().await?)
    } else {
        None
    };
    let mut global = global.clone();
    if let Some(s) = &spawned {
        global.url = s.url();
    }
    let started = Instant::now();
    let http = spotlight_client::trust::http().build()?;
    let health = format!("{}/health", global.url.trim_end_matches('/'));
    first_connect(
        &global.url,
        args.connect_attempts,
        || http.get(&health).send(),
        |e: &reqwest::Error| e.is_connect() || e.is_timeout(),
    )
    .await?;
    // Sign in once; every check (the voice probe too) uses this token.
    let token = connect::token(&global).await?;
    global.token = token.clone();
    let ctx = checks::Ctx {
        client: Client::new(&global.url).with_token(token.clone()),
        may_replay: spawned.is_some() || token.is_some(),
        sample: args.sample,
        global: global.clone(),
    };
    let selected: Vec<Check> = Check::ALL
        .into_iter()
        .filter(|c| args.only.is_empty() || args.only.contains(c))
        .filter(|c| !args.skip.contains(c))
        .collect();
    let spinners = Spinners::new(!global.json && global.quiet == 0);
    let run = |check: Check| timed(check, &ctx, &spinners, args.timeout);
    let (calm, disturbing): (Vec<Check>, Vec<Check>) = selected.iter().partition(|c| !c.disturbs());
    let mut results = futures::future::join_all(calm.into_iter().map(&run)).await;
    for check in disturbing {
        results.push(run(check).await);
    }
    results.sort_by_key(|r| Check::ALL.iter().position(|c| *c == r.name));
    if let Some(s) = spawned {
        s.shutdown(Duration::from_secs(2)).await?;
    }
    let passed = results
        .iter()
        .all(|r| matches!(r.status, Status::Pass | Status::Skipped));
    Ok(SmokeReport {
        url: global.url.clone(),
        passed,
        seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        checks: results,
    })
}

/// Runs one check within `timeout`, its spinner turning meanwhile.
async fn timed(
    check: Check,
    ctx: &checks::Ctx,
    spinners: &Spinners,
    timeout: Duration,
) -> CheckResult {
    let spinner = spinners.add(check);
    let t = Instant::now();
    let outcome = tokio::time::timeout(timeout, checks::run(check, ctx)).await;
    let (status, message) = match outcome {
        Ok(Ok(o)) => (o.status, o.message),
        Ok(Err(e)) => (Status::Error, format!("{e:#}")),
        Err(_) => (
            Status::Error,
            format!(
                "did not finish within {}",
                humantime::format_duration(timeout)
            ),
        ),
    };
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    CheckResult {
        name: check,
        status,
        seconds: (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        message: spotlight_wire::text::shorten(&message, 300),
    }
}

/// A spinner per running check on a terminal (stderr); the report itself
/// goes to stdout at the end.
struct Spinners {
    multi: Option<indicatif::MultiProgress>,
}

impl Spinners {
    fn new(wanted: bool) -> Spinners {
        Spinners {
            multi: (wanted && std::io::stderr().is_terminal()).then(indicatif::MultiProgress::new),
        }
    }

    fn add(&self, check: Check) -> Option<indicatif::ProgressBar> {
        let multi = self.multi.as_ref()?;
        let bar = multi.add(indicatif::ProgressBar::new_spinner());
        bar.set_message(check.name());
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    }
}
