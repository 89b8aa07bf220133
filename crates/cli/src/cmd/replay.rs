//! `spotlight replay`: start a replay (and follow it), or drive the running one.

use crate::cmd::out;
use std::io::IsTerminal;
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use super::{connect, Exit, GlobalArgs};
use spotlight_client::Client;
use spotlight_market::time::format_ms;
use spotlight_wire::{ReplayStart, ReplayState, ReplayStatus};

/// Options of `spotlight replay`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
#[command(after_help = "Examples:
  spotlight replay --speed 4
  spotlight replay --symbols SPY --from 2011-03-01T14:30:00Z --speed 60
  spotlight replay speed 10
  spotlight replay stop")]
pub struct ReplayArgs {
    /// Drive the running replay instead of starting one.
    #[command(subcommand)]
    pub action: Option<ReplayAction>,
    /// Start options.
    #[command(flatten)]
    pub start: StartArgs,
}

/// What to do with the running replay.
#[derive(Debug, Clone, Subcommand)]
pub enum ReplayAction {
    /// Stop it; live data comes back.
    #[command(after_help = "Examples:
  spotlight replay stop")]
    Stop,
    /// Hold it.
    #[command(after_help = "Examples:
  spotlight replay pause")]
    Pause,
    /// Continue it.
    #[command(after_help = "Examples:
  spotlight replay resume")]
    Resume,
    /// Show its state.
    #[command(after_help = "Examples:
  spotlight replay status
  spotlight --json replay status")]
    Status,
    /// Change its speed (0.25 … 1000).
    #[command(after_help = "Examples:
  spotlight replay speed 60")]
    Speed {
        /// The new speed.
        speed: f64,
    },
}

/// Options of a replay start.
#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    /// Speed, × real time (0.25 … 1000).
    #[arg(long, env = "SPOTLIGHT_SPEED", default_value_t = 1.0)]
    pub speed: f64,
    /// Symbols (default: the server's recordings, else every symbol).
    #[arg(long, env = "SPOTLIGHT_SYMBOLS", value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Window start: RFC 3339 or Unix ms.
    #[arg(long, env = "SPOTLIGHT_FROM")]
    pub from: Option<String>,
    /// Window end: RFC 3339 or Unix ms.
    #[arg(long, env = "SPOTLIGHT_TO")]
    pub to: Option<String>,
    /// Show progress until the replay ends (default on a terminal).
    #[arg(long, env = "SPOTLIGHT_FOLLOW", overrides_with = "no_follow")]
    pub follow: bool,
    /// Return as soon as the replay has started.
    #[arg(long, env = "SPOTLIGHT_NO_FOLLOW")]
    pub no_follow: bool,
    /// With --follow: stop the replay on Ctrl-C (default: leave it running).
    #[arg(long, env = "SPOTLIGHT_STOP_ON_EXIT")]
    pub stop_on_exit: bool,
}

/// Runs the command.
pub async fn run(args: ReplayArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let client = connect::client(global).await?;
    let status = match args.action {
        Some(ReplayAction::Stop) => client.replay_action("stop").await,
        Some(ReplayAction::Pause) => client.replay_action("pause").await,
        Some(ReplayAction::Resume) => client.replay_action("resume").await,
        Some(ReplayAction::Status) => client.replay_status().await,
        Some(ReplayAction::Speed { speed }) => client.replay_speed(speed).await,
        None => {
            let start = &args.start;
            let req = ReplayStart {
                symbols: (!start.symbols.is_empty()).then(|| start.symbols.clone()),
                from: start.from.as_deref().map(time_value),
                to: start.to.as_deref().map(time_value),
                speed: Some(start.speed),
            };
            let status = client.replay_start(&req).await.map_err(connect::failure)?;
            let follow = start.follow || (!start.no_follow && std::io::stderr().is_terminal());
            print_status(&status, global.json)?;
            if follow {
                return follow_replay(&client, start.stop_on_exit, global.json).await;
            }
            return Ok(Exit::Ok);
        }
    }
    .map_err(connect::failure)?;
    print_status(&status, global.json)?;
    Ok(Exit::Ok)
}

/// Unix ms stay numbers; anything else goes as text for the server to parse.
fn time_value(s: &str) -> serde_json::Value {
    s.parse::<i64>()
        .map_or_else(|_| serde_json::Value::from(s), serde_json::Value::from)
}

fn print_status(status: &ReplayStatus, json: bool) -> anyhow::Result<()> {
    if json {
        out::json_line(status)
    } else {
        out::line(&format!("replay {}", summary(status)))
    }
}

/// One line: `running ×4: SPY 2011-01-03T14:30:00Z → …, clock …, 12/90 bars`.
pub fn summary(s: &ReplayStatus) -> String {
    let state = serde_json::to_value(s.state)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    match (s.from, s.to, s.clock) {
        (Some(from), Some(to), Some(clock)) => format!(
            "{state} ×{}: {} {} → {}, clock {}, {}/{} bars",
            s.speed,
            s.symbols.join(","),
            format_ms(from),
            format_ms(to),
            format_ms(clock),
            s.progress.done,
            s.progress.total
        ),
        _ => state,
    }
}

/// Shows progress until the replay finishes or stops, or Ctrl-C.
async fn follow_replay(client: &Client, stop_on_exit: bool, json: bool) -> anyhow::Result<Exit> {
    let bar = if json {
        ProgressBar::hidden()
    } else {
        let style = ProgressStyle::with_template(
            "{spinner} [{bar:30}] {pos}/{len} bars  {msg}  eta {eta}",
        )?
        .progress_chars("=> ");
        ProgressBar::new(0).with_style(style)
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_state = None;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut ctrl_c => {
                bar.abandon();
                if stop_on_exit {
                    let status = client.replay_action("stop").await.map_err(connect::failure)?;
                    print_status(&status, json)?;
                }
                return Ok(Exit::Ok);
            }
        }
        let status = client.replay_status().await.map_err(connect::failure)?;
        bar.set_length(status.progress.total);
        bar.set_position(status.progress.done);
        bar.set_message(format!(
            "{}  ×{}",
            status.clock.map(format_ms).unwrap_or_default(),
            status.speed
        ));
        if json && last_state != Some(status.state) {
            print_status(&status, true)?;
        }
        last_state = Some(status.state);
        if matches!(status.state, ReplayState::Finished | ReplayState::Stopped) {
            bar.finish();
            if !json {
                out::line(&format!("replay {}", summary(&status)))?;
            }
            return Ok(Exit::Ok);
        }
    }
}
