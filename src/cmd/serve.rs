//! `spotlight serve`: the streaming server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono_tz::Tz;
use clap::Args;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::logging::{self, LogFormat};
use super::{CliError, Exit, GlobalArgs};
use crate::market::replay::Replayer;
use crate::market::source::feed::{run_sim, start_sim, SimClock};
use crate::market::source::file::{self, FileOptions, Stamp};
use crate::market::{Candle, Hub, HubConfig};
use crate::server::{self, AppState, AuthConfig, ServerConfig};
use std::collections::HashMap;

/// Where bars come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// The embedded simulation.
    Sim,
    /// Recorded 1m bars from a file or folder.
    File(PathBuf),
}

impl FromStr for SourceSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            None if s == "sim" => Ok(SourceSpec::Sim),
            Some(("file", path)) if !path.is_empty() => Ok(SourceSpec::File(PathBuf::from(path))),
            _ => Err(format!(
                "unknown source {s:?} (expected `sim` or `file:PATH`)"
            )),
        }
    }
}

/// Deployment kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Env {
    /// Local development: `SameSite=Lax` cookies without `Secure`.
    Dev,
    /// Behind TLS: `SameSite=None; Secure` cookies.
    Prod,
}

/// Options of `spotlight serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SPOTLIGHT_ADDR", default_value = "127.0.0.1:5000")]
    pub addr: SocketAddr,
    /// Allow listening on a non-loopback address with no PIN set.
    #[arg(long, env = "SPOTLIGHT_ALLOW_OPEN")]
    pub allow_open: bool,
    /// Market source: `sim` (embedded) or `file:PATH` (a file or folder of 1m bars).
    #[arg(long, env = "SPOTLIGHT_SOURCE", default_value = "sim")]
    pub source: SourceSpec,
    /// Log format.
    #[arg(long, env = "SPOTLIGHT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Time allowed for connections to finish after SIGINT/SIGTERM.
    #[arg(long, env = "SPOTLIGHT_DRAIN", value_parser = humantime::parse_duration, default_value = "5s")]
    pub drain: Duration,
    /// Interval of SSE `ping` events.
    #[arg(long, env = "SPOTLIGHT_HEARTBEAT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub heartbeat: Duration,
    /// Deployment: `prod` makes session cookies `SameSite=None; Secure`.
    #[arg(long, env = "SPOTLIGHT_ENV", value_enum, default_value_t = Env::Dev)]
    pub env: Env,
    /// Put `/api/diag` behind auth too.
    #[arg(long, env = "SPOTLIGHT_PRIVATE_DIAG")]
    pub private_diag: bool,
    /// PIN attempts allowed per minute per client address.
    #[arg(long, env = "SPOTLIGHT_PIN_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..), help_heading = "Limits")]
    pub pin_attempts: u32,
    /// API requests allowed per minute per client address (health, readiness and metrics are exempt).
    #[arg(long, env = "SPOTLIGHT_RATE_LIMIT", default_value_t = 1200, value_parser = clap::value_parser!(u32).range(1..), help_heading = "Limits")]
    pub rate_limit: u32,

    /// Simulated symbols.
    #[arg(
        long,
        env = "SPOTLIGHT_SYMBOLS",
        value_delimiter = ',',
        default_value = "SPY,QQQ,IWM",
        help_heading = "Simulation"
    )]
    pub symbols: Vec<String>,
    /// Seed of the simulation: same seed, same bars.
    #[arg(
        long,
        env = "SPOTLIGHT_SEED",
        default_value_t = 1,
        help_heading = "Simulation"
    )]
    pub seed: u64,
    /// Interval of in-progress updates, ms.
    #[arg(long, env = "SPOTLIGHT_TICK_MS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(10..), help_heading = "Simulation")]
    pub tick_ms: u64,
    /// 1m history simulated before the start.
    #[arg(long, env = "SPOTLIGHT_BACKFILL", value_parser = humantime::parse_duration, default_value = "2d", help_heading = "Simulation")]
    pub backfill: Duration,
    /// Speed of the simulated clock relative to wall time (for demos and tests).
    #[arg(long, env = "SPOTLIGHT_SIM_SPEED", default_value_t = 1.0, value_parser = parse_speed, help_heading = "Simulation")]
    pub sim_speed: f64,

    /// Zone of naive date-times in files (default: the format's own; CSV: America/New_York).
    #[arg(long, env = "SPOTLIGHT_TZ", value_parser = parse_tz, help_heading = "Files")]
    pub tz: Option<Tz>,
    /// Whether file timestamps mark bar start or end (default: the format's own).
    #[arg(long, env = "SPOTLIGHT_STAMP", value_enum, help_heading = "Files")]
    pub stamp: Option<Stamp>,
    /// Symbol for files that name none.
    #[arg(long, env = "SPOTLIGHT_SYMBOL", help_heading = "Files")]
    pub symbol: Option<String>,
    /// A recording to replay for SYMBOL: a file or folder in any format the file source reads (repeatable).
    #[arg(long = "replay", value_name = "SYMBOL=PATH", value_parser = parse_replay, help_heading = "Files")]
    pub replays: Vec<(String, PathBuf)>,

    /// Events kept for resume.
    #[arg(long, env = "SPOTLIGHT_RING", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub ring: u64,
    /// Events one SSE client may have waiting before it is disconnected.
    #[arg(long, env = "SPOTLIGHT_CLIENT_QUEUE", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub client_queue: u64,
    /// Final 1m bars kept per symbol for history.
    #[arg(long, env = "SPOTLIGHT_RETAIN", default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub retain: u64,
    /// Largest ingest body, bytes.
    #[arg(long, env = "SPOTLIGHT_INGEST_LIMIT", default_value_t = 8 * 1024 * 1024, help_heading = "Limits")]
    pub ingest_limit: usize,
}

fn parse_replay(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((sym, path)) if !sym.is_empty() && !path.is_empty() => {
            Ok((sym.to_string(), PathBuf::from(path)))
        }
        _ => Err(format!("{s:?} is not SYMBOL=PATH")),
    }
}

fn parse_tz(s: &str) -> Result<Tz, String> {
    s.parse::<Tz>()
        .map_err(|_| format!("unknown time zone {s:?} (an IANA name such as America/New_York)"))
}

fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

/// Builds the hub and source, serves until SIGINT/SIGTERM, drains.
pub async fn run(args: ServeArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    logging::init_stderr(global, args.log_format);
    let pin = global.pin.clone().filter(|p| !p.is_empty());
    if pin.is_none() && !args.addr.ip().is_loopback() && !args.allow_open {
        return Err(CliError::usage(format!(
            "refusing to listen on {} with no PIN: anyone who can reach it could read and drive the server (pass --allow-open to accept that)",
            args.addr
        )));
    }
    let hub = Hub::new(HubConfig {
        ring: args.ring as usize,
        client_queue: args.client_queue as usize,
        retain: args.retain as usize,
    });
    let stop = CancellationToken::new();
    let source = match &args.source {
        SourceSpec::Sim => {
            let clock = SimClock::new(args.sim_speed);
            let sim = start_sim(args.seed, &args.symbols, args.backfill, &clock, &hub);
            let tick = Duration::from_millis(args.tick_ms);
            tokio::spawn(run_sim(sim, hub.clone(), clock, tick, stop.clone()));
            "sim"
        }
        SourceSpec::File(path) => {
            load_files(&hub, path, &args)?;
            "file"
        }
    };
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let local = listener.local_addr()?;
    let secret = std::env::var("SPOTLIGHT_SECRET")
        .ok()
        .filter(|s| !s.is_empty());
    let auth = AuthConfig {
        pin,
        secret,
        prod: args.env == Env::Prod,
        private_diag: args.private_diag,
        pin_per_minute: args.pin_attempts,
        requests_per_minute: args.rate_limit,
    };
    let config = ServerConfig {
        heartbeat: args.heartbeat,
        source: source.into(),
        ingest_limit: args.ingest_limit,
        auth,
    };
    let recordings = load_recordings(&args)?;
    let replayer = Replayer::new(hub.clone(), recordings);
    let state = AppState::with_replay(hub.clone(), config, replayer).map_err(CliError::usage)?;
    tracing::info!(epoch = hub.epoch(), source, symbols = ?hub.symbol_names(), "listening on http://{local}");
    if !state.auth.enabled() {
        tracing::warn!("no PIN set: the server is open to anyone who can reach {local}");
    } else if !state.auth.persistent_key {
        tracing::warn!("SPOTLIGHT_SECRET is not set: sessions are signed with a random key and end when the server restarts");
    }

    let signalled = CancellationToken::new();
    let mut server = tokio::spawn(server::launch(
        listener,
        state,
        signalled.clone().cancelled_owned(),
    ));
    tokio::select! {
        res = &mut server => return finish(res),
        _ = shutdown_signal() => {}
    }
    tracing::info!(drain = ?args.drain, "shutting down: telling clients, draining connections");
    signalled.cancel();
    stop.cancel();
    match tokio::time::timeout(args.drain, &mut server).await {
        Ok(res) => finish(res),
        Err(_) => {
            tracing::warn!(
                "drain time ({:?}) is up; closing the remaining connections",
                args.drain
            );
            server.abort();
            Ok(Exit::Ok)
        }
    }
}

fn finish(res: Result<std::io::Result<()>, tokio::task::JoinError>) -> anyhow::Result<Exit> {
    res.context("server task failed")?
        .context("server failed")?;
    tracing::info!("stopped");
    Ok(Exit::Ok)
}

fn load_files(hub: &Hub, path: &std::path::Path, args: &ServeArgs) -> anyhow::Result<()> {
    let opts = FileOptions {
        tz: args.tz,
        stamp: args.stamp,
        symbol: args.symbol.clone(),
    };
    let report = file::load(path, &opts).map_err(|e| CliError::usage(e.to_string()))?;
    for (p, format) in &report.read {
        tracing::info!(file = %p.display(), ?format, "read");
    }
    for p in &report.skipped {
        tracing::warn!(file = %p.display(), "not a bar file (.csv .txt .ndjson .jsonl): not read");
    }
    for (symbol, candles) in report.bars {
        tracing::info!(%symbol, bars = candles.len(), "loaded");
        hub.load(&symbol, candles);
    }
    Ok(())
}

/// Reads every `--replay SYMBOL=PATH` (one symbol per recording).
fn load_recordings(args: &ServeArgs) -> anyhow::Result<HashMap<String, Vec<Candle>>> {
    let mut out = HashMap::new();
    for (symbol, path) in &args.replays {
        let opts = FileOptions {
            tz: args.tz,
            stamp: args.stamp,
            symbol: Some(symbol.clone()),
        };
        let report = file::load(path, &opts).map_err(|e| CliError::usage(e.to_string()))?;
        let mut bars = report.bars.into_values();
        let (Some(candles), None) = (bars.next(), bars.next()) else {
            return Err(CliError::usage(format!(
                "--replay {symbol}={}: the recording holds several symbols; give one file (or folder) per symbol",
                path.display()
            )));
        };
        tracing::info!(%symbol, bars = candles.len(), file = %path.display(), "recording loaded for replay");
        out.insert(symbol.clone(), candles);
    }
    Ok(out)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!("sim".parse(), Ok(SourceSpec::Sim));
        assert_eq!(
            "file:../x.csv".parse(),
            Ok(SourceSpec::File("../x.csv".into()))
        );
        assert!("file:".parse::<SourceSpec>().is_err());
        assert!("polygon".parse::<SourceSpec>().is_err());
    }
}
