//! Where `serve`'s bars come from: the simulation's or the files' starting
//! history, the simulation running on from it, and the recordings for
//! replay.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{CliError, ServeArgs, SourceSpec};
use spotlight_market::source::file::{self, FileOptions, Stamp};
use spotlight_market::source::sim_driver::{resume_sim, run_sim, start_sim_at, SimClock};
use spotlight_market::{Candle, Hub, HubConfig};
use spotlight_provider::polygon::Polygon;

/// The source's name in logs and metrics.
pub(super) fn source_kind(source: &SourceSpec) -> &'static str {
    match source {
        SourceSpec::Sim => "sim",
        SourceSpec::File(_) => "file",
        SourceSpec::Polygon => "polygon",
    }
}

/// A hub holding the source's starting history (the sim's backfill, or
/// the files), and the source's origin; nothing runs yet.
pub(super) fn start_source(args: &ServeArgs, config: HubConfig) -> anyhow::Result<(Arc<Hub>, i64)> {
    let hub = Hub::new(config);
    match &args.source {
        SourceSpec::Sim => {
            let clock = SimClock::new(args.sim_speed);
            let (_, origin) = start_sim_at(args.seed, &args.symbols, args.backfill, &clock, &hub)
                .map_err(|e| CliError::usage(format!("--symbols: {e}")))?;
            Ok((hub, origin))
        }
        SourceSpec::File(path) => {
            load_files(&hub, path, args)?;
            Ok((hub, 0))
        }
        // Its history comes from the provider once it runs.
        SourceSpec::Polygon => Ok((hub, 0)),
    }
}

/// Runs the source on `hub` from where its history ends, until `stop`
/// (files have nothing more to run; the live provider is `feed`).
pub(super) fn run_source(
    args: &ServeArgs,
    hub: &Arc<Hub>,
    origin: i64,
    stop: CancellationToken,
    feed: Option<&Arc<Polygon>>,
) {
    if let Some(feed) = feed {
        feed.clone().spawn(hub.clone(), stop);
    } else if args.source == SourceSpec::Sim {
        let sim = resume_sim(args.seed, &args.symbols, origin, hub);
        let clock = SimClock::new(args.sim_speed);
        let tick = Duration::from_millis(args.tick_ms);
        tokio::spawn(run_sim(sim, hub.clone(), clock, tick, stop));
    }
}

/// How files are read: `--tz`, `--stamp`, and the symbol for files that
/// name none.
fn file_options(args: &ServeArgs, symbol: Option<String>) -> FileOptions {
    FileOptions {
        tz: args.tz,
        stamp: args.stamp.map(Stamp::from),
        symbol,
    }
}

fn load_files(hub: &Hub, path: &std::path::Path, args: &ServeArgs) -> anyhow::Result<()> {
    let report = file::load(path, &file_options(args, args.symbol.clone()))
        .map_err(|e| CliError::usage(e.to_string()))?;
    for (p, format) in &report.read {
        tracing::info!(file = %p.display(), ?format, "read");
    }
    for p in &report.skipped {
        tracing::warn!(file = %p.display(), "not a bar file (.csv .txt .ndjson .jsonl): not read");
    }
    for (symbol, candles) in report.bars {
        tracing::info!(%symbol, bars = candles.len(), "loaded");
        hub.load(&symbol, candles)
            .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

/// Reads every `--replay SYMBOL=PATH` (one symbol per recording).
pub(super) fn load_recordings(args: &ServeArgs) -> anyhow::Result<HashMap<String, Vec<Candle>>> {
    let mut out = HashMap::new();
    for (symbol, path) in &args.replays {
        let report = file::load(path, &file_options(args, Some(symbol.clone())))
            .map_err(|e| CliError::usage(e.to_string()))?;
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
