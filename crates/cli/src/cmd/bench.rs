//! `spotlight bench sse` (the fan-out benchmark, pointed at any SSE
//! server) and `spotlight bench voice` (the voice echo benchmark).

use crate::cmd::out;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::{connect, CliError, Exit, GlobalArgs};
use crate::bench::socket::{Http2, TlsTarget};
use crate::bench::{self as load, LoadConfig, LoadReport, Publish, Publisher};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

/// Options of `spotlight bench`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight bench sse --clients 1000 --ingest --messages 300
  spotlight bench voice --sessions 100 --duration 10s")]
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
    /// Many voice sessions echoing audio: round trip, throughput, loss, cost.
    Voice(VoiceBenchArgs),
    /// Clients that cut and resume at random, checked against history: lost, duplicated, out of order.
    Chaos(ChaosBenchArgs),
    /// A long voice queue: its memory, and how fast every waiter hears its new place.
    Queue(QueueBenchArgs),
}

/// Options of `spotlight bench queue` (the server needs `--voice-max-sessions`).
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight bench queue --waiting 1000 --rounds 5
  spotlight bench queue --waiting 1000 --server-pid $SERVER_PID")]
pub struct QueueBenchArgs {
    /// Connections to queue.
    #[arg(long, env = "SPOTLIGHT_WAITING", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub waiting: u64,
    /// Seated sessions to end, one per round.
    #[arg(long, env = "SPOTLIGHT_ROUNDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// The server's pid, to read its RSS from /proc.
    #[arg(long, env = "SPOTLIGHT_SERVER_PID")]
    pub server_pid: Option<u32>,
}

async fn run_queue(args: QueueBenchArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let load = load::queue::QueueLoad {
        url: global.url.clone(),
        token: connect::token(global).await?,
        waiting: args.waiting as usize,
        rounds: args.rounds as usize,
        server_pid: args.server_pid,
    };
    let r = load::queue::run(load).await?;
    if global.json {
        out::json(&r)?;
        return Ok(if r.missing == 0 {
            Exit::Ok
        } else {
            Exit::Failed
        });
    }
    let memory = match (r.rss_growth, r.rss_per_waiter) {
        (Some(g), Some(per)) => format!(
            "{:.1} MiB server RSS growth, {:.1} KiB per waiter",
            g as f64 / 1_048_576.0,
            per as f64 / 1024.0
        ),
        _ => "(give --server-pid for the server's memory)".to_string(),
    };
    let rounds: Vec<String> = r.all_told_ms.iter().map(|ms| format!("{ms:.1}")).collect();
    out::text(&format!(
        "seats        {}\n\
         queued       {} in {:.2} s\n\
         memory       {memory}\n\
         all told     {} ms after each session ended (per round)\n\
         each update  p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2} ms\n\
         missing      {}\n",
        r.seats,
        r.queued,
        r.queue_seconds,
        rounds.join(", "),
        r.update_ms.p50,
        r.update_ms.p90,
        r.update_ms.p99,
        r.update_ms.max,
        r.missing
    ))?;
    Ok(if r.missing == 0 {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// Options of `spotlight bench chaos`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight bench chaos --clients 100 --duration 60s
  spotlight bench chaos --clients 20 --duration 30s --symbols SPY,QQQ
  spotlight bench chaos --duration 60s --restart-cmd ./deploy-restart.sh
  spotlight bench chaos --clients 5000 --no-cuts --duration 40s --restart-cmd ./deploy-restart.sh")]
pub struct ChaosBenchArgs {
    /// Concurrent clients.
    #[arg(long, env = "SPOTLIGHT_CLIENTS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub clients: u64,
    /// How long they run.
    #[arg(long, env = "SPOTLIGHT_DURATION", value_parser = humantime::parse_duration, default_value = "60s")]
    pub duration: Duration,
    /// Symbols (default: every symbol; then seqs must be gap-free too).
    #[arg(long, env = "SPOTLIGHT_SYMBOLS", value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Shortest time between a client's cuts.
    #[arg(long, env = "SPOTLIGHT_CUT_MIN", value_parser = humantime::parse_duration, default_value = "100ms")]
    pub cut_min: Duration,
    /// Longest time between a client's cuts.
    #[arg(long, env = "SPOTLIGHT_CUT_MAX", value_parser = humantime::parse_duration, default_value = "2s")]
    pub cut_max: Duration,
    /// No cuts: clients reconnect only when the server closes their stream (to measure a restart's comeback).
    #[arg(long, env = "SPOTLIGHT_NO_CUTS")]
    pub no_cuts: bool,
    /// A shell command that restarts the server, run halfway through.
    #[arg(long, env = "SPOTLIGHT_RESTART_CMD")]
    pub restart_cmd: Option<String>,
}

/// The comeback after server closes, as text: a summary line and one bar
/// per second (empty when the server closed nothing).
fn comeback_table(c: &load::chaos::Comeback) -> String {
    if c.server_closes == 0 {
        return String::new();
    }
    let mut text = format!(
        "comeback     {} closed by the server ({} with a shutdown notice), {} reconnected \
         from {:.1} s to {:.1} s, {} failed attempts\n  second  closed  back\n",
        c.server_closes, c.shutdown_notices, c.reconnected, c.first_s, c.last_s, c.failed_attempts
    );
    let top = c.buckets.iter().map(|b| b[2]).max().unwrap_or(1).max(1);
    for [second, closed, back] in &c.buckets {
        let bar = "#".repeat((back * 40).div_ceil(top) as usize);
        text.push_str(&format!("  {second:>6}  {closed:>6}  {back:>5} {bar}\n"));
    }
    text
}

async fn run_chaos(args: ChaosBenchArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let load = load::chaos::ChaosLoad {
        url: global.url.clone(),
        token: connect::token(global).await?,
        clients: args.clients as usize,
        duration: args.duration,
        symbols: args.symbols,
        cut_every: (!args.no_cuts).then_some((args.cut_min, args.cut_max.max(args.cut_min))),
        restart_cmd: args.restart_cmd,
    };
    let r = load::chaos::run(load).await?;
    if global.json {
        out::json(&r)?;
    } else {
        let restart = match r.restarted {
            None => String::new(),
            Some(true) => "restart      ran, succeeded\n".to_string(),
            Some(false) => "restart      ran, FAILED\n".to_string(),
        };
        out::text(&format!(
            "clients      {} for {:.1} s\n\
             cuts         {} ({} resumed, {} reset, {} failed connects)\n\
             events       {}\n\
             finals       {} checked against history\n\
             lost         {}\n\
             duplicated   {}\n\
             changed      {}\n\
             out of order {}\n\
             seq gaps     {} ({} across a reconnect; the server conflated {} in-progress updates)\n{restart}{}{}\n",
            r.clients,
            r.seconds,
            r.cuts,
            r.resumes,
            r.resets,
            r.connect_failures,
            r.events,
            r.finals_checked,
            r.lost,
            r.duplicated,
            r.changed,
            r.out_of_order,
            r.seq_gaps,
            r.resume_gaps,
            r.conflated,
            comeback_table(&r.comeback),
            if r.clean() { "clean" } else { "FAILED" }
        ))?;
    }
    Ok(if r.clean() && r.restarted != Some(false) {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// Options of `spotlight bench voice`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight bench voice --sessions 1000 --rate 50 --frame-bytes 640 --duration 20s --server-pid \"$PID\"
  spotlight bench voice --raw --ws-url ws://127.0.0.1:8090/ --sessions 500 --server-pid \"$PID\"")]
pub struct VoiceBenchArgs {
    /// Concurrent sessions.
    #[arg(long, env = "SPOTLIGHT_SESSIONS", default_value_t = 100)]
    pub sessions: usize,
    /// Frames per second per session.
    #[arg(long, env = "SPOTLIGHT_RATE", default_value_t = 50.0)]
    pub rate: f64,
    /// Bytes per frame (at least 16).
    #[arg(long, env = "SPOTLIGHT_FRAME_BYTES", default_value_t = 640)]
    pub frame_bytes: usize,
    /// How long to send.
    #[arg(long, env = "SPOTLIGHT_DURATION", value_parser = humantime::parse_duration, default_value = "20s")]
    pub duration: Duration,
    /// The server's pid, to sample its RSS and CPU from /proc.
    #[arg(long, env = "SPOTLIGHT_SERVER_PID")]
    pub server_pid: Option<u32>,
    /// Plain WebSocket echo: no `hello`, no protocol (any echo server).
    #[arg(long, env = "SPOTLIGHT_RAW")]
    pub raw: bool,
    /// The WebSocket to load (default: the server's /voice/ws), e.g. another echo server.
    #[arg(long, env = "SPOTLIGHT_WS_URL", value_name = "URL")]
    pub ws_url: Option<String>,
}

async fn run_voice(args: VoiceBenchArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return Err(CliError::usage("--rate must be a positive number"));
    }
    let load = load::voice::VoiceLoad {
        url: args
            .ws_url
            .clone()
            .unwrap_or_else(|| spotlight_client::voice::voice_url(&global.url)),
        raw: args.raw,
        token: connect::token(global).await?,
        sessions: args.sessions,
        rate: args.rate,
        frame_bytes: args.frame_bytes,
        duration: args.duration,
        server_pid: args.server_pid,
    };
    let r = load::voice::run(load).await?;
    if global.json {
        out::json(&r)?;
    } else {
        let rtt = &r.rtt_ms;
        let mut text = format!(
            "sessions     {} connected of {} ({} failed{})\n",
            r.connected,
            r.sessions,
            r.failed,
            r.first_error
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
        text.push_str(&format!(
            "frames       {} sent, {} echoed, {} lost in {:.1} s\n",
            r.sent, r.echoed, r.lost, r.seconds
        ));
        text.push_str(&format!(
            "throughput   {:.0} frames/s each way\n",
            r.echoed_per_second
        ));
        text.push_str(&format!(
            "echo rtt     p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2} ms\n",
            rtt.p50, rtt.p90, rtt.p99, rtt.max
        ));
        if let Some(rss) = r.rss_per_session {
            text.push_str(&format!(
                "server RSS   {:.1} KiB per session\n",
                rss / 1024.0
            ));
        }
        if let Some(cpu) = r.server_cpu_per_1k {
            text.push_str(&format!(
                "server CPU   {:.2} ms per 1k echoed frames\n",
                cpu * 1000.0
            ));
        }
        out::text(&text)?;
    }
    Ok(if r.connected == 0 {
        Exit::Unreachable
    } else if r.failed > 0 || r.lost > 0 {
        Exit::Failed
    } else {
        Exit::Ok
    })
}

/// Options of `spotlight bench sse`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight bench sse --clients 1000 --ingest --rate 10 --messages 300 --server-pid \"$PID\"
  spotlight bench sse --clients 200 --duration 30s --json")]
pub struct SseBenchArgs {
    /// Stream URL; `{i}` becomes the subscriber's index. Default: `--url` + `/realtime/sse?timeframe=1m`
    /// (with `--ingest`: `?symbols=<--symbol>`).
    #[arg(long, env = "SPOTLIGHT_SUB_URL")]
    pub sub_url: Option<String>,
    /// Concurrent subscribers.
    #[arg(long, env = "SPOTLIGHT_CLIENTS", default_value_t = 1000)]
    pub clients: usize,
    /// Over `https://`: this many subscribers' streams share each HTTP/2
    /// connection (0: one TLS connection per subscriber, HTTP/1.1).
    #[arg(long, env = "SPOTLIGHT_HTTP2_STREAMS", default_value_t = 0)]
    pub http2_streams: usize,
    /// Connections opened at once while ramping up.
    #[arg(long, env = "SPOTLIGHT_RAMP", default_value_t = 256)]
    pub ramp: usize,
    /// Local addresses to spread connections over (e.g. 127.0.0.1,127.0.0.2).
    #[arg(long, env = "SPOTLIGHT_SOURCE_ADDRS", value_delimiter = ',')]
    pub source_addrs: Vec<IpAddr>,
    /// Publish by POSTing messages to this URL (e.g. an nchan publisher location).
    #[arg(
        long,
        env = "SPOTLIGHT_PUBLISH_URL",
        conflicts_with = "ingest",
        help_heading = "Publishing"
    )]
    pub publish_url: Option<String>,
    /// Publish by POSTing one final 1m bar per message to `--url`'s `/api/ingest`.
    #[arg(long, env = "SPOTLIGHT_INGEST", help_heading = "Publishing")]
    pub ingest: bool,
    /// Symbol of the ingested bars.
    #[arg(
        long,
        env = "SPOTLIGHT_SYMBOL",
        default_value = "BENCH",
        help_heading = "Publishing"
    )]
    pub symbol: String,
    /// Messages per second.
    #[arg(
        long,
        env = "SPOTLIGHT_RATE",
        default_value_t = 10.0,
        help_heading = "Publishing"
    )]
    pub rate: f64,
    /// Messages measured.
    #[arg(
        long,
        env = "SPOTLIGHT_MESSAGES",
        default_value_t = 100,
        help_heading = "Publishing"
    )]
    pub messages: u64,
    /// Messages published before the measured ones and not timed (their
    /// loss still counts).
    #[arg(
        long,
        env = "SPOTLIGHT_WARMUP",
        default_value_t = 20,
        help_heading = "Publishing"
    )]
    pub warmup: u64,
    /// Put message slots on the wall clock's grid (whole periods since the
    /// Unix epoch) shifted by this much. Two runs started together against
    /// two servers on one machine then take turns: `0ms` for one and `50ms`
    /// for the other at 10/s.
    #[arg(long, env = "SPOTLIGHT_GRID_OFFSET", value_parser = humantime::parse_duration, help_heading = "Publishing")]
    pub grid_offset: Option<Duration>,
    /// Size of a `--publish-url` message, bytes.
    #[arg(
        long,
        env = "SPOTLIGHT_PAYLOAD_BYTES",
        default_value_t = 200,
        help_heading = "Publishing"
    )]
    pub payload_bytes: usize,
    /// Without a publisher: how long to measure what the server streams.
    #[arg(long, env = "SPOTLIGHT_DURATION", value_parser = humantime::parse_duration, default_value = "30s")]
    pub duration: Duration,
    /// The server's pid, to sample its RSS and CPU from /proc.
    #[arg(long, env = "SPOTLIGHT_SERVER_PID")]
    pub server_pid: Option<u32>,
}

/// Runs the benchmark and prints the report.
pub async fn run(args: BenchArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let args = match args.target {
        BenchTarget::Sse(args) => args,
        BenchTarget::Voice(v) => return run_voice(v, global).await,
        BenchTarget::Chaos(c) => return run_chaos(c, global).await,
        BenchTarget::Queue(q) => return run_queue(q, global).await,
    };
    let base = global.url.trim_end_matches('/');
    let default_sub = if args.ingest {
        format!("{base}/realtime/sse?symbols={}", args.symbol)
    } else {
        format!("{base}/realtime/sse?timeframe=1m")
    };
    let sub_url = args.sub_url.as_deref().unwrap_or(&default_sub);
    let (addr, path, tls) = split_url(sub_url, args.http2_streams)?;
    let publisher = match (&args.publish_url, args.ingest) {
        (Some(url), _) => Some(Publisher::Post { url: url.clone() }),
        (None, true) => {
            let token = connect::token(global).await?;
            Some(Publisher::Ingest {
                url: base.to_string(),
                symbol: args.symbol.clone(),
                token,
            })
        }
        (None, false) => None,
    };
    let config = LoadConfig {
        addr,
        tls,
        path,
        clients: args.clients,
        ramp_concurrency: args.ramp,
        source_addrs: args.source_addrs,
        duration: args.duration,
        publish: publisher.map(|publisher| Publish {
            publisher,
            rate: args.rate,
            messages: args.messages,
            warmup: args.warmup,
            payload_bytes: args.payload_bytes,
            grid_offset: args.grid_offset,
        }),
        server_pid: args.server_pid,
    };
    let report = load::run(config).await?;
    if global.json {
        out::json(&report)?;
    } else {
        out::text(&table(&report))?;
    }
    Ok(if report.connected == 0 {
        Exit::Unreachable
    } else if report.failed > 0 || report.lost > 0 || report.duplicated > 0 {
        Exit::Failed
    } else {
        Exit::Ok
    })
}

/// `http[s]://host:port/path?query` → (address, `/path?query`, and for
/// `https://` the TLS to speak, trusting what the client commands trust:
/// one TLS connection per subscriber, or `http2` streams on each HTTP/2
/// connection).
fn split_url(url: &str, http2: usize) -> anyhow::Result<(SocketAddr, String, Option<TlsTarget>)> {
    let (rest, secure) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
        (Some(rest), _) => (rest, false),
        (_, Some(rest)) => (rest, true),
        _ => {
            return Err(CliError::usage(format!(
                "{url:?}: bench sse speaks http:// or https://"
            )))
        }
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let with_port = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:{}", if secure { 443 } else { 80 })
    };
    let addr = with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| CliError::usage(format!("{url:?}: cannot resolve {host}")))?;
    let tls = if secure {
        let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
        let name = ServerName::try_from(name.trim_matches(['[', ']']).to_string())
            .map_err(|e| CliError::usage(format!("{url:?}: {e}")))?;
        let mut config = spotlight_client::trust::rustls_config();
        if http2 > 0 {
            Arc::make_mut(&mut config).alpn_protocols = vec![b"h2".to_vec()];
        }
        Some(TlsTarget {
            connector: TlsConnector::from(config),
            name,
            http2: (http2 > 0).then(|| Arc::new(Http2::new(http2))),
        })
    } else if http2 > 0 {
        return Err(CliError::usage(format!(
            "{url:?}: --http2-streams needs an https:// URL"
        )));
    } else {
        None
    };
    let path = if path.is_empty() { "/" } else { path };
    Ok((addr, path.to_string(), tls))
}

/// The human-readable report.
pub fn table(r: &LoadReport) -> String {
    let opt = |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |v| format!("{v:.1}{unit}"));
    let pct = |l: &load::Percentiles| {
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
            l.p50, l.p90, l.p99, l.p999, l.max
        )
    };
    let mut rows = vec![
        (
            "subscribers",
            format!(
                "{} connected of {} ({} failed)",
                r.connected, r.clients, r.failed
            ),
        ),
        (
            "window",
            format!(
                "{:.1} s, {} messages published after {} to warm up",
                r.seconds, r.messages, r.warmup
            ),
        ),
        (
            "delivered",
            format!("{} ({:.0}/s)", r.delivered, r.per_second),
        ),
        ("lost", r.lost.to_string()),
        ("duplicated", r.duplicated.to_string()),
        ("out of order", r.out_of_order.to_string()),
        ("latency ms", pct(&r.latency_ms)),
        ("  to read, ms", pct(&r.read_latency_ms)),
    ];
    if r.messages > 0 {
        rows.push(("first arrival ms", pct(&r.first_arrival_ms)));
        rows.push(("fan-out span ms", pct(&r.span_ms)));
    }
    rows.extend([
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
    ]);
    if r.unstamped > 0 {
        rows.push((
            "unstamped",
            format!(
                "{} deliveries timed at read (no kernel timestamp)",
                r.unstamped
            ),
        ));
    }
    if let Some(e) = &r.first_error {
        rows.push(("first error", e.clone()));
    }
    rows.iter().map(|(k, v)| format!("{k:<16} {v}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_and_path() {
        let (addr, path, tls) = split_url("http://127.0.0.1:8080/sub/{i}?x=1", 0).unwrap();
        assert_eq!((addr.port(), path.as_str()), (8080, "/sub/{i}?x=1"));
        assert!(tls.is_none());
        assert_eq!(split_url("http://127.0.0.1", 0).unwrap().1, "/");
        let (addr, _, tls) = split_url("https://localhost/realtime/sse", 0).unwrap();
        assert_eq!(addr.port(), 443);
        assert_eq!(
            tls.map(|t| t.name),
            Some(ServerName::try_from("localhost").unwrap())
        );
        assert!(split_url("ftp://x", 0).is_err());
        assert!(
            split_url("http://127.0.0.1/x", 100).is_err(),
            "HTTP/2 needs TLS"
        );
    }
}
