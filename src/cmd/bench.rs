//! `spotlight bench sse`: the fan-out benchmark, pointed at any SSE server.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use clap::{Args, Subcommand};

use super::{CliError, Exit, GlobalArgs};
use crate::client::loadgen::{self, LoadConfig, LoadReport};

/// Options of `spotlight bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// What to benchmark.
    #[command(subcommand)]
    pub target: BenchTarget,
}

/// Benchmarks.
#[derive(Debug, Clone, Subcommand)]
pub enum BenchTarget {
    /// Many SSE subscribers on one server: delivery, loss, latency, cost.
    Sse(SseBenchArgs),
}

/// Options of `spotlight bench sse`.
#[derive(Debug, Clone, Args)]
pub struct SseBenchArgs {
    /// Stream path and query on the `--url` server.
    #[arg(long, default_value = "/realtime/sse?timeframe=1m")]
    pub path: String,
    /// Concurrent subscribers.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Connections opened at once while ramping up.
    #[arg(long, default_value_t = 256)]
    pub ramp: usize,
    /// Measurement time once every subscriber is connected.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    pub duration: Duration,
    /// Local addresses to spread connections over (e.g. 127.0.0.1,127.0.0.2).
    #[arg(long, value_delimiter = ',')]
    pub source_addrs: Vec<IpAddr>,
    /// The server's pid, to sample its RSS and CPU from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// Runs the benchmark and prints the report.
pub async fn run(args: BenchArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let BenchTarget::Sse(args) = args.target;
    let addr = server_addr(&global.url)?;
    let config = LoadConfig {
        addr,
        path: args.path,
        clients: args.clients,
        ramp_concurrency: args.ramp,
        source_addrs: args.source_addrs,
        duration: args.duration,
        server_pid: args.server_pid,
    };
    let report = loadgen::run(config).await?;
    if global.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(if report.connected == 0 {
        Exit::Unreachable
    } else if report.failed > 0 || report.lost_finals > 0 {
        Exit::Failed
    } else {
        Exit::Ok
    })
}

fn server_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| CliError::usage(format!("--url {url:?}: bench sse speaks plain http://")))?;
    let host = rest.split('/').next().unwrap_or(rest);
    let with_port = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| CliError::usage(format!("--url {url:?}: cannot resolve {host}")))
}

/// The human-readable report.
pub fn table(r: &LoadReport) -> String {
    let opt = |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |v| format!("{v:.1}{unit}"));
    let mut rows = vec![
        (
            "subscribers",
            format!(
                "{} connected of {} ({} failed)",
                r.connected, r.clients, r.failed
            ),
        ),
        ("window", format!("{:.1} s", r.seconds)),
        (
            "delivered",
            format!("{} ({:.0}/s)", r.delivered, r.per_second),
        ),
        ("lost finals", r.lost_finals.to_string()),
        ("out of order", r.out_of_order.to_string()),
        (
            "latency ms",
            format!(
                "p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
                r.latency_ms.p50,
                r.latency_ms.p90,
                r.latency_ms.p99,
                r.latency_ms.p999,
                r.latency_ms.max
            ),
        ),
        (
            "server RSS/conn",
            opt(r.rss_per_connection.map(|b| b / 1024.0), " KiB"),
        ),
        (
            "server RSS",
            opt(r.server_rss.map(|b| b as f64 / 1_048_576.0), " MiB"),
        ),
        (
            "server CPU/1k",
            opt(r.server_cpu_per_1k.map(|s| s * 1000.0), " ms"),
        ),
        (
            "client CPU/1k",
            format!("{:.1} ms", r.client_cpu_per_1k * 1000.0),
        ),
    ];
    if let Some(e) = &r.first_error {
        rows.push(("first error", e.clone()));
    }
    rows.iter().map(|(k, v)| format!("{k:<16} {v}\n")).collect()
}
