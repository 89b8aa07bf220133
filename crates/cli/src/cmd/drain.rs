//! `spotlight drain on|off|status`: drain mode for deploys behind a load
//! balancer; `--wait` follows the streams and voice sessions down to zero.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use super::{connect, out, CliError, Exit, GlobalArgs};
use spotlight_wire::DrainStatus;

/// Options of `spotlight drain`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight drain on --wait --timeout 10m
  spotlight drain status
  spotlight drain off")]
pub struct DrainArgs {
    /// What to do.
    #[arg(value_enum, default_value_t = DrainAction::Status)]
    pub action: DrainAction,
    /// Wait until no stream and no voice session is left (a progress bar on a terminal).
    #[arg(long, env = "SPOTLIGHT_WAIT")]
    pub wait: bool,
    /// How long `--wait` waits before giving up (exit 1).
    #[arg(long, env = "SPOTLIGHT_TIMEOUT", value_parser = humantime::parse_duration, default_value = "5m")]
    pub timeout: Duration,
}

/// Drain mode on, off, or just its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DrainAction {
    /// Stop taking new streams and voice sessions; readiness fails.
    On,
    /// Take new work again.
    Off,
    /// Show the drain state and what is still connected.
    Status,
}

/// One line: `draining since …: 12 streams, 3 voice sessions`.
pub fn summary(s: &DrainStatus) -> String {
    let state = match (s.draining, s.since) {
        (true, Some(t)) => format!("draining since {}", spotlight_market::time::format_ms(t)),
        (true, None) => "shutting down".to_string(),
        (false, _) => "not draining".to_string(),
    };
    format!(
        "{state}: {} streams, {} voice sessions",
        s.streams, s.voice_sessions
    )
}

fn print(status: &DrainStatus, json: bool) -> anyhow::Result<()> {
    if json {
        out::json_line(status)
    } else {
        out::line(&summary(status))
    }
}

/// Runs the command.
pub async fn run(args: DrainArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let client = connect::client(global).await?;
    let status = match args.action {
        DrainAction::On => client.drain_set(true).await,
        DrainAction::Off => client.drain_set(false).await,
        DrainAction::Status => client.drain_status().await,
    }
    .map_err(connect::failure)?;
    if !args.wait {
        print(&status, global.json)?;
        return Ok(Exit::Ok);
    }
    if !status.draining {
        return Err(CliError::usage(
            "--wait needs drain mode on: spotlight drain on --wait",
        ));
    }
    let left = |s: &DrainStatus| s.streams + s.voice_sessions;
    let bar = (!global.json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(left(&status));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} draining {bar:30} {pos}/{len} gone  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let started = Instant::now();
    let total = left(&status);
    let mut status = status;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    while left(&status) > 0 {
        if started.elapsed() >= args.timeout {
            if let Some(bar) = &bar {
                bar.abandon();
            }
            print(&status, global.json)?;
            return Err(CliError {
                exit: Exit::Failed,
                message: format!(
                    "still {} streams and {} voice sessions after {}",
                    status.streams,
                    status.voice_sessions,
                    humantime::format_duration(args.timeout)
                ),
            }
            .into());
        }
        tick.tick().await;
        status = client.drain_status().await.map_err(connect::failure)?;
        if let Some(bar) = &bar {
            bar.set_position(total.saturating_sub(left(&status)));
            bar.set_message(format!(
                "{} streams, {} voice sessions left",
                status.streams, status.voice_sessions
            ));
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    print(&status, global.json)?;
    Ok(Exit::Ok)
}
