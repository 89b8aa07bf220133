//! tracing setup: `RUST_LOG` wins, else a level from `-v`/`-q`.

use std::io::IsTerminal;

use clap::ValueEnum;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::GlobalArgs;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// `RUST_LOG` when set, else the level `-v`/`-q` ask for (info by default).
fn filter(global: &GlobalArgs) -> EnvFilter {
    let level = match (global.verbose, global.quiet) {
        (0, 0) => "info",
        (1, _) => "debug",
        (v, _) if v >= 2 => "trace",
        (_, 1) => "warn",
        _ => "error",
    };
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level))
}

/// Sends logs to a file (`watch --log-file`: the terminal is the chart's),
/// filtered like stderr logs. Safe to call more than once.
pub fn init_file(global: &GlobalArgs, file: std::fs::File) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(global))
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init();
}

/// Sends logs to stderr and, with `traces`, spans to OpenTelemetry (at
/// info and above, whatever the log level). Safe to call more than once
/// (later calls do nothing).
pub fn init_stderr(global: &GlobalArgs, format: LogFormat, traces: Option<&SdkTracerProvider>) {
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Pretty => fmt
            .with_ansi(global.color.enabled(std::io::stderr().is_terminal()))
            .boxed(),
    };
    let otel = traces.map(|p| {
        spotlight_telemetry::layer(p).with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter(global)))
        .with(otel)
        .try_init();
}
