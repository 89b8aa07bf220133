//! `spotlight watch SYMBOL`: the live terminal chart on a TTY; otherwise (or
//! with `--plain`) line mode prints one line
//! (or, with `--json`, one wire bar) per final bar: usable in pipes and CI.

use std::io::IsTerminal;

use clap::Args;

use super::{connect, logging, out, CliError, Exit, GlobalArgs};
use crate::tui::app::WatchConfig;
use spotlight_client::follow::{follow, Follow, FollowEvent};
use spotlight_market::time::format_ms;
use spotlight_market::{Bar, Timeframe};
use spotlight_reconnect::Backoff;

/// Options of `spotlight watch`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight watch SPY
  spotlight watch QQQ --timeframe 5m
  spotlight watch SPY --plain | tee spy.log")]
pub struct WatchArgs {
    /// Symbol to watch.
    pub symbol: String,
    /// Timeframe.
    #[arg(long, env = "SPOTLIGHT_TIMEFRAME", short, default_value = "1m")]
    pub timeframe: Timeframe,
    /// One line per final bar instead of the chart (short for `--output plain`).
    #[arg(long, env = "SPOTLIGHT_PLAIN")]
    pub plain: bool,
    /// Bars of history to start from.
    #[arg(long, env = "SPOTLIGHT_HISTORY", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=5000))]
    pub history: u64,
    /// Most chart redraws per second.
    #[arg(long, env = "SPOTLIGHT_FPS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: u32,
    /// Write logs to this file (the screen belongs to the chart).
    #[arg(long, env = "SPOTLIGHT_LOG_FILE")]
    pub log_file: Option<std::path::PathBuf>,
}

/// Follows the symbol until the stream gives up or stdout closes.
pub async fn run(args: WatchArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let client = connect::client(global).await?;
    if let Some(path) = &args.log_file {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| CliError::usage(format!("--log-file {}: {e}", path.display())))?;
        logging::init_file(global, file);
    }
    let plain = args.plain || global.output == Some(super::Output::Plain);
    if !plain && !global.json && std::io::stdout().is_terminal() {
        let cfg = WatchConfig {
            symbol: args.symbol,
            timeframe: args.timeframe,
            history: args.history as usize,
            fps: args.fps,
        };
        crate::tui::app::run(client, cfg).await?;
        return Ok(Exit::Ok);
    }
    let cfg = Follow {
        symbol: args.symbol.clone(),
        timeframe: args.timeframe,
        history: args.history as usize,
        backoff: Backoff::default(),
    };
    let mut events = follow(client, cfg);
    let mut printer = LinePrinter::new(global.json);
    while let Some(event) = events.recv().await {
        match event {
            FollowEvent::History(h) => {
                for bar in h.bars.iter().filter(|b| b.is_final) {
                    if !printer.history(bar)? {
                        return Ok(Exit::Ok);
                    }
                }
            }
            FollowEvent::Bar(b) if b.bar.is_final && !printer.print(&b.bar)? => {
                return Ok(Exit::Ok)
            }
            FollowEvent::Reconnecting {
                attempt,
                delay,
                reason,
            } => {
                eprintln!(
                    "spotlight: {reason}; reconnecting in {:.1} s (attempt {attempt})",
                    delay.as_secs_f64()
                );
            }
            FollowEvent::Reset(r) => {
                eprintln!("spotlight: reset ({:?}); reloading history", r.reason);
                printer.reset();
            }
            FollowEvent::GaveUp(reason) => {
                return Err(CliError {
                    exit: Exit::Unreachable,
                    message: format!("gave up reconnecting: {reason}"),
                }
                .into());
            }
            _ => {}
        }
    }
    Ok(Exit::Ok)
}

/// Prints each final bar once, in bucket order, across reconnects.
pub struct LinePrinter {
    json: bool,
    last_t: Option<i64>,
    started: bool,
}

impl LinePrinter {
    /// A printer of text lines, or NDJSON with `json`.
    pub fn new(json: bool) -> LinePrinter {
        LinePrinter {
            json,
            last_t: None,
            started: false,
        }
    }

    /// A reset starts a new timeline (a replay's bars are older than the
    /// live ones before it): the next history sets the starting point again.
    pub fn reset(&mut self) {
        self.last_t = None;
        self.started = false;
    }

    /// A final bar from history: the first history only sets the starting
    /// point; later ones (after a reset) fill in what the stream missed.
    pub fn history(&mut self, bar: &Bar) -> anyhow::Result<bool> {
        if self.started {
            return self.print(bar);
        }
        self.last_t = Some(self.last_t.map_or(bar.t, |l| l.max(bar.t)));
        Ok(true)
    }

    /// Prints `bar` if it is newer than the last printed one; `false` when
    /// stdout is closed (a broken pipe is not an error).
    pub fn print(&mut self, bar: &Bar) -> anyhow::Result<bool> {
        self.started = true;
        if self.last_t.is_some_and(|l| bar.t <= l) {
            return Ok(true);
        }
        self.last_t = Some(bar.t);
        match out::line(&self.format(bar)) {
            Ok(()) => Ok(true),
            Err(e) if e.is::<out::Closed>() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `2011-01-03T14:30:00Z SPY 1m o=… h=… l=… c=… v=…`, or the wire bar.
    pub fn format(&self, b: &Bar) -> String {
        if self.json {
            serde_json::to_string(b).unwrap_or_default()
        } else {
            format!(
                "{} {} {} o={} h={} l={} c={} v={}",
                format_ms(b.t),
                b.symbol,
                b.tf,
                b.o,
                b.h,
                b.l,
                b.c,
                b.v
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spotlight_market::Candle;

    #[test]
    fn lines_are_readable_and_json_is_the_wire_bar() {
        let c = Candle {
            t: 1_294_065_000_000,
            o: 127.05,
            h: 127.31,
            l: 127.03,
            c: 127.29,
            v: 2_478_244,
        };
        let bar = Bar::new("SPY".into(), Timeframe::M1, c, true);
        assert_eq!(
            LinePrinter::new(false).format(&bar),
            "2011-01-03T14:30:00Z SPY 1m o=127.05 h=127.31 l=127.03 c=127.29 v=2478244"
        );
        let json: Bar = serde_json::from_str(&LinePrinter::new(true).format(&bar)).unwrap();
        assert_eq!(json, bar);
    }
}
