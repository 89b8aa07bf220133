//! `spotlight serve`: the streaming server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono_tz::Tz;
use clap::Args;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::logging::{self, LogFormat};
use super::{CliError, Exit, GlobalArgs};
use ipnet::IpNet;
use spotlight_bus::Role;
use spotlight_market::replay::Replayer;
use spotlight_market::source::file::Stamp;
use spotlight_market::time::format_ms;
use spotlight_market::{Hub, HubConfig};
use spotlight_provider::polygon::Polygon;
use spotlight_server::admission::default_max_connections;
use spotlight_server::tls::Tls;
use spotlight_server::{AppState, AuthConfig, BrowserPolicy, Limits, ServerConfig, VoiceConfig};

mod bus;
mod parse;
mod source;
mod state_dir;
mod upstreams;

use parse::*;
use source::{load_recordings, run_source, source_kind, start_source};
use state_dir::{restore, Saver};
pub use upstreams::PolygonArgs;

/// Where bars come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// The embedded simulation.
    Sim,
    /// Recorded 1m bars from a file or folder.
    File(PathBuf),
    /// Live aggregates from a Polygon-compatible provider.
    Polygon,
}

impl FromStr for SourceSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            None if s == "sim" => Ok(SourceSpec::Sim),
            None if s == "polygon" => Ok(SourceSpec::Polygon),
            Some(("file", path)) if !path.is_empty() => Ok(SourceSpec::File(PathBuf::from(path))),
            _ => Err(format!(
                "unknown source {s:?} (expected `sim`, `file:PATH` or `polygon`)"
            )),
        }
    }
}

/// `--stamp`: whether file timestamps mark bar start or end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StampArg {
    /// The timestamp is the bucket start (the wire convention).
    Start,
    /// The timestamp is the bucket end (NinjaTrader and many exports).
    End,
}

impl From<StampArg> for Stamp {
    fn from(s: StampArg) -> Stamp {
        match s {
            StampArg::Start => Stamp::Start,
            StampArg::End => Stamp::End,
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
#[command(after_help = "Examples:
  spotlight serve
  spotlight serve --source file:../shared/data --addr 0.0.0.0:5000 --pin \"$PIN\"
  spotlight serve --replay SPY=../shared/data/nt-spy-minute-2011-03.csv")]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SPOTLIGHT_ADDR", default_value = "127.0.0.1:5000")]
    pub addr: SocketAddr,
    /// Allow listening on a non-loopback address with no PIN set.
    #[arg(long, env = "SPOTLIGHT_ALLOW_OPEN")]
    pub allow_open: bool,
    /// Market source: `sim` (embedded), `file:PATH` (a file or folder of 1m bars) or `polygon` (a live provider; key in POLYGON_API_KEY).
    #[arg(long, env = "SPOTLIGHT_SOURCE", default_value = "sim")]
    pub source: SourceSpec,
    /// Log format.
    #[arg(long, env = "SPOTLIGHT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Save the epoch, seq, ring and history here on shutdown, and continue from them on start.
    #[arg(long, env = "SPOTLIGHT_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Time allowed for connections to finish after SIGINT/SIGTERM (at least 100ms).
    #[arg(long, env = "SPOTLIGHT_DRAIN", value_parser = parse_drain, default_value = shown(ServerConfig::default().drain))]
    pub drain: Duration,
    /// Interval of SSE `ping` events (at least 100ms).
    #[arg(long, env = "SPOTLIGHT_HEARTBEAT", value_parser = parse_heartbeat, default_value = shown(ServerConfig::default().heartbeat))]
    pub heartbeat: Duration,
    /// Deployment: `prod` makes session cookies `SameSite=None; Secure`.
    #[arg(long, env = "SPOTLIGHT_ENV", value_enum, default_value_t = Env::Dev)]
    pub env: Env,
    /// Serve TLS with this PEM certificate chain (with --tls-key): HTTP/2 and HTTP/1.1 on the one port; SIGHUP reads both files again.
    #[arg(
        long,
        env = "SPOTLIGHT_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key",
        help_heading = "TLS"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(
        long,
        env = "SPOTLIGHT_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert",
        help_heading = "TLS"
    )]
    pub tls_key: Option<PathBuf>,
    /// A proxy in front terminates TLS: lets `--env prod` listen on a non-loopback address without --tls-cert.
    #[arg(long, env = "SPOTLIGHT_TLS_BY_PROXY", help_heading = "TLS")]
    pub tls_by_proxy: bool,
    /// Put `/api/diag` behind auth too.
    #[arg(long, env = "SPOTLIGHT_PRIVATE_DIAG")]
    pub private_diag: bool,
    /// PIN attempts allowed per minute per client address.
    #[arg(long, env = "SPOTLIGHT_PIN_ATTEMPTS", default_value_t = AuthConfig::default().pin_per_minute, value_parser = clap::value_parser!(u32).range(1..), help_heading = "Limits")]
    pub pin_attempts: u32,
    /// Failed PIN attempts allowed per minute over all addresses.
    #[arg(long, env = "SPOTLIGHT_PIN_ATTEMPTS_GLOBAL", default_value_t = AuthConfig::default().pin_failures_global, value_parser = clap::value_parser!(u32).range(1..), help_heading = "Limits")]
    pub pin_attempts_global: u32,
    /// API requests allowed per minute per client address (health, readiness and metrics are exempt).
    #[arg(long, env = "SPOTLIGHT_RATE_LIMIT", default_value_t = AuthConfig::default().requests_per_minute, value_parser = clap::value_parser!(u32).range(1..), help_heading = "Limits")]
    pub rate_limit: u32,

    /// Symbols: simulated, or followed from the live provider.
    #[arg(
        long,
        env = "SPOTLIGHT_SYMBOLS",
        value_delimiter = ',',
        default_value = "SPY,QQQ,IWM",
        value_parser = parse_symbol,
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
    /// 1m history before the start: simulated, or backfilled from the live provider.
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
    pub stamp: Option<StampArg>,
    /// Symbol for files that name none.
    #[arg(long, env = "SPOTLIGHT_SYMBOL", value_parser = parse_symbol, help_heading = "Files")]
    pub symbol: Option<String>,
    /// A recording to replay for SYMBOL: a file or folder in any format the file source reads (repeatable; env: comma-separated).
    #[arg(long = "replay", env = "SPOTLIGHT_REPLAY", value_delimiter = ',', value_name = "SYMBOL=PATH", value_parser = parse_replay, help_heading = "Files")]
    pub replays: Vec<(String, PathBuf)>,

    /// Events kept for resume.
    #[arg(long, env = "SPOTLIGHT_RING", default_value_t = HubConfig::default().ring as u64, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub ring: u64,
    /// Bytes of events the ring keeps at most (beside --ring events).
    #[arg(long, env = "SPOTLIGHT_RING_BYTES", default_value_t = HubConfig::default().ring_bytes as u64, value_parser = clap::value_parser!(u64).range(64 * 1024..), help_heading = "Limits")]
    pub ring_bytes: u64,
    /// Events one SSE client may have waiting before it is disconnected.
    #[arg(long, env = "SPOTLIGHT_CLIENT_QUEUE", default_value_t = HubConfig::default().client_queue as u64, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub client_queue: u64,
    /// Bytes one SSE client may have waiting before it is disconnected.
    #[arg(long, env = "SPOTLIGHT_CLIENT_QUEUE_BYTES", default_value_t = HubConfig::default().client_queue_bytes as u64, value_parser = clap::value_parser!(u64).range(4096..), help_heading = "Limits")]
    pub client_queue_bytes: u64,
    /// Open connections at most (0: no limit but the open-file limit) [default: the open-file limit minus 64].
    #[arg(long, env = "SPOTLIGHT_MAX_CONNECTIONS", help_heading = "Limits")]
    pub max_connections: Option<u64>,
    /// Streams one client address may hold (0: no limit).
    #[arg(
        long,
        env = "SPOTLIGHT_MAX_STREAMS_PER_ADDR",
        default_value_t = Limits::default().max_streams_per_addr as u64,
        help_heading = "Limits"
    )]
    pub max_streams_per_addr: u64,
    /// SSE streams at most (0: no limit but --max-connections).
    #[arg(
        long,
        env = "SPOTLIGHT_SSE_MAX_CLIENTS",
        default_value_t = Limits::default().sse_max_clients as u64,
        help_heading = "Limits"
    )]
    pub sse_max_clients: u64,
    /// Symbols the server holds at most (and a stream may name).
    #[arg(long, env = "SPOTLIGHT_MAX_SYMBOLS", default_value_t = HubConfig::default().max_symbols as u64, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub max_symbols: u64,
    /// Time a request head may take to arrive (at least 1s).
    #[arg(long, env = "SPOTLIGHT_HEADER_TIMEOUT", value_parser = parse_timeout, default_value = shown(Limits::default().header_timeout), help_heading = "Limits")]
    pub header_timeout: Duration,
    /// A stream whose peer takes none of what was sent this long is closed (at least 1s).
    #[arg(long, env = "SPOTLIGHT_STALL_TIMEOUT", value_parser = parse_timeout, default_value = shown(Limits::default().stall_timeout), help_heading = "Limits")]
    pub stall_timeout: Duration,
    /// Kernel send buffer per connection in bytes, what a stalled peer can pin (0: the kernel's autotuning).
    #[arg(long, env = "SPOTLIGHT_STREAM_SNDBUF", default_value_t = Limits::default().stream_sndbuf as u64, help_heading = "Limits")]
    pub stream_sndbuf: u64,

    /// Outbound voice messages kept for a resume (time; at most 512 KiB).
    #[arg(long, env = "SPOTLIGHT_VOICE_RESUME_WINDOW", value_parser = humantime::parse_duration, default_value = shown(VoiceConfig::default().resume_window), help_heading = "Voice")]
    pub voice_resume_window: Duration,
    /// How long a dropped voice session can be resumed (0s: never).
    #[arg(long, env = "SPOTLIGHT_VOICE_RESUME_TTL", value_parser = humantime::parse_duration, default_value = shown(VoiceConfig::default().resume_ttl), help_heading = "Voice")]
    pub voice_resume_ttl: Duration,
    /// A voice connection that sends nothing this long is closed (4408).
    #[arg(long, env = "SPOTLIGHT_VOICE_IDLE", value_parser = parse_timeout, default_value = shown(VoiceConfig::default().idle), help_heading = "Voice")]
    pub voice_idle: Duration,
    /// Voice sessions at once (0: no limit); more wait in a first-come, first-served queue.
    #[arg(
        long,
        env = "SPOTLIGHT_VOICE_MAX_SESSIONS",
        default_value_t = Limits::default().voice_max_sessions as u64,
        help_heading = "Voice"
    )]
    pub voice_max_sessions: u64,
    /// Voice connections waiting for a seat at most (beyond: `at_capacity`, close 1013).
    #[arg(
        long,
        env = "SPOTLIGHT_VOICE_QUEUE_MAX",
        default_value_t = Limits::default().voice_queue_max as u64,
        help_heading = "Voice"
    )]
    pub voice_queue_max: u64,
    /// Relay voice audio to this WebSocket (ws://…) instead of echoing it.
    #[arg(long, env = "SPOTLIGHT_VOICE_UPSTREAM", value_name = "URL", value_parser = parse_ws_url, help_heading = "Voice")]
    pub voice_upstream: Option<String>,

    /// Another name a loopback listener answers to (repeatable; DNS-rebinding defence).
    #[arg(
        long = "allowed-host",
        env = "SPOTLIGHT_ALLOWED_HOST",
        value_delimiter = ',',
        value_name = "HOST",
        help_heading = "Browsers"
    )]
    pub allowed_hosts: Vec<String>,
    /// An origin allowed cross-site, with credentials (repeatable), e.g. https://dash.example.com.
    #[arg(long = "cors-origin", env = "SPOTLIGHT_CORS_ORIGIN", value_delimiter = ',', value_name = "URL", value_parser = parse_origin, help_heading = "Browsers")]
    pub cors_origins: Vec<String>,
    /// A proxy (CIDR or address) whose Forwarded / X-Forwarded-For is believed (repeatable).
    #[arg(long = "trusted-proxy", env = "SPOTLIGHT_TRUSTED_PROXY", value_delimiter = ',', value_name = "CIDR", value_parser = parse_cidr, help_heading = "Browsers")]
    pub trusted_proxies: Vec<IpNet>,
    /// Final 1m bars kept per symbol for history.
    #[arg(long, env = "SPOTLIGHT_RETAIN", default_value_t = HubConfig::default().retain as u64, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub retain: u64,
    /// Largest ingest body, bytes.
    #[arg(long, env = "SPOTLIGHT_INGEST_LIMIT", default_value_t = ServerConfig::default().ingest_limit, help_heading = "Limits")]
    pub ingest_limit: usize,

    /// Share one market log with other instances through Redis (redis://HOST:PORT[/DB], rediss:// for TLS).
    #[arg(
        long,
        env = "SPOTLIGHT_BUS",
        value_name = "URL",
        help_heading = "Scale-out"
    )]
    pub bus: Option<String>,
    /// How this instance takes part: produce when the lease is free (auto, producer) or never (edge).
    #[arg(long = "role", env = "SPOTLIGHT_ROLE", value_enum, default_value_t = Role::Auto, help_heading = "Scale-out")]
    pub bus_role: Role,
    /// Not ready when nothing (not even the producer's heartbeat) came from the bus this long.
    #[arg(long, env = "SPOTLIGHT_BUS_STALL", value_parser = parse_timeout, default_value = "5s", help_heading = "Scale-out")]
    pub bus_stall: Duration,
    /// The producer lease's time: a standby takes over within it when the producer dies.
    #[arg(long, env = "SPOTLIGHT_BUS_LEASE", value_parser = parse_timeout, default_value = "3s", help_heading = "Scale-out")]
    pub bus_lease: Duration,
    #[command(flatten)]
    pub polygon: PolygonArgs,
    /// Export traces over OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318).
    #[arg(long, env = "SPOTLIGHT_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
}

/// Builds the hub and source, serves until SIGINT/SIGTERM, drains.
pub async fn run(args: ServeArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let traces = match &args.otlp_endpoint {
        Some(url) => Some(
            spotlight_telemetry::otlp(url)
                .map_err(|e| CliError::usage(format!("--otlp-endpoint {url}: {e}")))?,
        ),
        None => None,
    };
    logging::init_stderr(global, args.log_format, traces.as_ref());
    let served = serve(&args, global).await;
    if let Some(traces) = traces {
        // Exports what the batch still holds.
        let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
    }
    served
}

async fn serve(args: &ServeArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let signalled = shutdown_signal().context("cannot listen for SIGINT/SIGTERM")?;
    let mut started = start(args, global.pin.clone()).await?;
    tokio::select! {
        res = &mut started.server => return finish(res),
        () = signalled => {}
    }
    started.shutdown(args.drain).await
}

/// A server running in this process.
pub struct Started {
    /// Where it listens.
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    signalled: CancellationToken,
    stop: CancellationToken,
    saver: Option<Saver>,
    /// With `--bus`: the lease keeper, awaited so the lease is given up.
    lease_kept: Option<tokio::task::JoinHandle<()>>,
}

impl Started {
    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Tells clients, drains within `drain`, stops.
    pub async fn shutdown(mut self, drain: Duration) -> anyhow::Result<Exit> {
        tracing::info!(
            ?drain,
            "shutting down: telling clients, draining connections"
        );
        self.signalled.cancel();
        self.stop.cancel();
        let exit = match tokio::time::timeout(drain, &mut self.server).await {
            Ok(res) => finish(res),
            Err(_) => {
                tracing::warn!("drain time ({drain:?}) is up; closing the remaining connections");
                self.server.abort();
                Ok(Exit::Ok)
            }
        };
        // The sources have stopped and the streams are closed: what is in
        // the hub now is what the next start continues.
        if let Some(saver) = self.saver.take() {
            let _ = tokio::task::spawn_blocking(move || saver.save()).await;
        }
        if let Some(kept) = self.lease_kept.take() {
            let _ = kept.await;
        }
        exit
    }
}

/// The embedded default (`serve` with no flags: the sim source) on
/// 127.0.0.1 at a free port, for `--spawn`.
pub async fn spawn_default() -> anyhow::Result<Started> {
    #[derive(clap::Parser)]
    struct Defaults {
        #[command(flatten)]
        serve: ServeArgs,
    }
    let args = <Defaults as clap::Parser>::try_parse_from(["serve", "--addr", "127.0.0.1:0"])
        .map_err(|e| CliError::usage(format!("--spawn: {e}")))?
        .serve;
    start(&args, None).await
}

impl ServeArgs {
    /// The hub's sizes.
    fn hub_config(&self) -> HubConfig {
        HubConfig {
            ring: self.ring as usize,
            ring_bytes: self.ring_bytes as usize,
            client_queue: self.client_queue as usize,
            client_queue_bytes: self.client_queue_bytes as usize,
            retain: self.retain as usize,
            max_symbols: self.max_symbols as usize,
        }
    }

    /// Capacity and timing limits.
    fn limits(&self) -> Limits {
        Limits {
            max_connections: self
                .max_connections
                .map_or_else(default_max_connections, |n| n as usize),
            max_streams_per_addr: self.max_streams_per_addr as usize,
            sse_max_clients: self.sse_max_clients as usize,
            voice_max_sessions: self.voice_max_sessions as usize,
            voice_queue_max: self.voice_queue_max as usize,
            header_timeout: self.header_timeout,
            stall_timeout: self.stall_timeout,
            max_symbols: self.max_symbols as usize,
            stream_sndbuf: usize::try_from(self.stream_sndbuf).unwrap_or(usize::MAX),
        }
    }

    /// What the handlers read (the voice upstream's health is the caller's).
    fn server_config(
        &self,
        source: &str,
        pin: Option<String>,
        secret: Option<String>,
    ) -> ServerConfig {
        ServerConfig {
            drain: self.drain,
            tls: None,
            heartbeat: self.heartbeat,
            source: source.into(),
            ingest_limit: self.ingest_limit,
            auth: AuthConfig {
                pin,
                secret,
                prod: self.env == Env::Prod,
                private_diag: self.private_diag,
                pin_per_minute: self.pin_attempts,
                pin_failures_global: self.pin_attempts_global,
                requests_per_minute: self.rate_limit,
            },
            limits: self.limits(),
            browser: BrowserPolicy {
                allowed_hosts: self.allowed_hosts.clone(),
                cors_origins: self.cors_origins.clone(),
                trusted_proxies: self.trusted_proxies.clone(),
            },
            voice: VoiceConfig {
                resume_window: self.voice_resume_window,
                resume_ttl: self.voice_resume_ttl,
                idle: self.voice_idle,
                upstream: self.voice_upstream.clone(),
                ..VoiceConfig::default()
            },
        }
    }
}

/// Reads the certificate and key again on every SIGHUP: new handshakes
/// get the new pair; a pair that does not load is refused (logged,
/// counted) and the one in use stays. Without TLS a SIGHUP is logged and
/// changes nothing.
async fn reload_on_hangup(tls: Option<Arc<Tls>>, metrics: Arc<spotlight_server::Metrics>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: the certificate is not reloaded on it");
            return;
        };
        while hangups.recv().await.is_some() {
            let Some(tls) = &tls else {
                tracing::info!("SIGHUP: nothing to reload (no --tls-cert)");
                continue;
            };
            match tls.reload() {
                Ok(cert) => {
                    metrics.tls_reloaded(true, Some(cert.not_after));
                    tracing::info!(subject = %cert.subject, expires = %format_ms(cert.not_after * 1000), "reloaded the TLS certificate");
                }
                Err(e) => {
                    metrics.tls_reloaded(false, None);
                    tracing::error!(error = %e, "the TLS certificate was not reloaded: the one in use stays");
                }
            }
        }
    }
}

/// `SPOTLIGHT_SECRET`, the key sessions are signed with (none: random).
fn secret() -> anyhow::Result<Option<String>> {
    match std::env::var("SPOTLIGHT_SECRET") {
        Ok(s) => Ok(Some(s).filter(|s| !s.is_empty())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CliError::usage(
            "SPOTLIGHT_SECRET is not valid UTF-8: use text of at least 32 bytes",
        )),
    }
}

/// Builds the hub, the source and the server, and starts serving.
pub async fn start(args: &ServeArgs, pin: Option<String>) -> anyhow::Result<Started> {
    let pin = pin.filter(|p| !p.is_empty());
    if pin.is_none() && !args.addr.ip().is_loopback() && !args.allow_open {
        return Err(CliError::usage(format!(
            "refusing to listen on {} with no PIN: anyone who can reach it could read and drive the server (pass --allow-open to accept that)",
            args.addr
        )));
    }
    if args.env == Env::Prod
        && args.tls_cert.is_none()
        && !args.tls_by_proxy
        && !args.addr.ip().is_loopback()
    {
        return Err(CliError::usage(format!(
            "refusing --env prod on {} without TLS: its session cookies are `Secure` and browsers send them over HTTPS only (give --tls-cert and --tls-key, or --tls-by-proxy when a proxy in front terminates TLS)",
            args.addr
        )));
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(Arc::new(Tls::load(cert, key).map_err(|e| {
                CliError::usage(format!("--tls-cert/--tls-key: {e}"))
            })?))
        }
        _ => None,
    };
    let source_id = match &args.source {
        SourceSpec::Sim => format!("sim:seed={}:{}", args.seed, args.symbols.join(",")),
        SourceSpec::File(path) => format!("file:{}", path.display()),
        SourceSpec::Polygon => format!("polygon:{}", args.symbols.join(",")),
    };
    let stop = CancellationToken::new();
    let feed = upstreams::polygon(args)?;
    let mut market = open_market(args, &source_id, stop.clone(), feed.as_ref()).await?;
    let (hub, origin, source) = (market.hub.clone(), market.origin, market.source);
    let lease_kept = market.joined.as_mut().and_then(|j| j.lease_kept.take());
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let local = listener.local_addr()?;
    let state = app_state(args, market, pin, tls.clone(), feed.as_ref())?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if let Some(tls) = &tls {
        let cert = tls.info();
        tracing::info!(subject = %cert.subject, expires = %format_ms(cert.not_after * 1000), "serving TLS (HTTP/2 and HTTP/1.1)");
        state.metrics.tls.expiry.set(cert.not_after);
    }
    // Always: SIGHUP's default would end the process (`systemctl reload`).
    tokio::spawn(reload_on_hangup(tls.clone(), state.metrics.clone()));
    let max_connections = state.config.limits.max_connections;
    tracing::info!(epoch = &*hub.epoch(), source, symbols = ?hub.symbol_names(), max_connections, "listening on {scheme}://{local}");
    if !state.auth.enabled() {
        tracing::warn!("no PIN set: the server is open to anyone who can reach {local}");
    } else if !state.auth.persistent_key {
        tracing::warn!("SPOTLIGHT_SECRET is not set: sessions are signed with a random key and end when the server restarts");
    }

    let signalled = CancellationToken::new();
    let server = tokio::spawn(spotlight_server::launch(
        listener,
        state,
        signalled.clone().cancelled_owned(),
    ));
    let saver = args.state_dir.clone().map(|dir| Saver {
        dir,
        hub: hub.clone(),
        source: source_id,
        origin,
    });
    Ok(Started {
        addr: local,
        server,
        signalled,
        stop,
        saver,
        lease_kept,
    })
}

/// The market a server serves: its hub, where its seqs start, and the
/// source's name; with `--bus`, the bus it joined.
struct Market {
    hub: Arc<Hub>,
    origin: i64,
    source: &'static str,
    joined: Option<spotlight_bus::join::Joined>,
}

/// Joins the bus, or restores the state dir's hub, or builds a new one;
/// then runs the source into it (the bus runs its own).
async fn open_market(
    args: &ServeArgs,
    source_id: &str,
    stop: CancellationToken,
    feed: Option<&Arc<Polygon>>,
) -> anyhow::Result<Market> {
    let hub_config = args.hub_config();
    if let Some(url) = args.bus.as_deref() {
        if args.state_dir.is_some() {
            return Err(CliError::usage(
                "--state-dir and --bus: with a bus the state lives in Redis; give one of them",
            ));
        }
        let joined = bus::join(
            args,
            url,
            hub_config,
            source_id.to_string(),
            feed.cloned(),
            stop,
        )
        .await?;
        return Ok(Market {
            hub: joined.hub.clone(),
            origin: 0,
            source: "bus",
            joined: Some(joined),
        });
    }
    let restored = args
        .state_dir
        .as_deref()
        .and_then(|dir| restore(dir, source_id, &hub_config));
    let (hub, origin) = match restored {
        Some(restored) => restored,
        None => start_source(args, hub_config)?,
    };
    run_source(args, &hub, origin, stop, feed);
    Ok(Market {
        hub,
        origin,
        source: source_kind(&args.source),
        joined: None,
    })
}

/// What the handlers share: the config, the replayer, the upstreams'
/// health and, with `--bus`, the bus.
fn app_state(
    args: &ServeArgs,
    market: Market,
    pin: Option<String>,
    tls: Option<Arc<Tls>>,
    feed: Option<&Arc<Polygon>>,
) -> anyhow::Result<AppState> {
    let voice_health = upstreams::voice_upstream(args);
    let mut config = args.server_config(market.source, pin, secret()?);
    config.tls = tls;
    config.voice.upstream_health = voice_health.clone();
    let replayer = Replayer::new(market.hub.clone(), load_recordings(args)?);
    let mut state = AppState::with_replay(market.hub, config, replayer).map_err(CliError::usage)?;
    state.upstreams = Arc::new(spotlight_server::upstream::ServedUpstreams::new(
        upstreams::upstreams(args, feed, voice_health),
        state.metrics.registry(),
    ));
    state.bus = market.joined.map(|j| {
        Arc::new(spotlight_server::bus::Bus::new(
            j.node,
            args.bus_stall,
            j.log,
            j.client,
            j.con,
            state.metrics.registry(),
        ))
    });
    Ok(state)
}

fn finish(res: Result<std::io::Result<()>, tokio::task::JoinError>) -> anyhow::Result<Exit> {
    res.context("server task failed")?
        .context("server failed")?;
    tracing::info!("stopped");
    Ok(Exit::Ok)
}

/// Resolves on SIGINT or SIGTERM. The handlers are registered when this
/// is called, not when it is first awaited: a signal that comes right
/// after the server says it listens must not kill it unsaved.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
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
        assert_eq!("polygon".parse(), Ok(SourceSpec::Polygon));
        assert!("polygon:x".parse::<SourceSpec>().is_err());
    }

    /// `serve` with no flags builds exactly the config structs' defaults,
    /// and `--help` shows them: the defaults are written once.
    #[test]
    fn flag_defaults_are_the_config_structs_defaults() {
        #[derive(clap::Parser)]
        struct Serve {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let args = <Serve as clap::Parser>::try_parse_from(["serve"])
            .unwrap()
            .serve;
        assert_eq!(
            format!("{:?}", args.hub_config()),
            format!("{:?}", HubConfig::default())
        );
        assert_eq!(
            format!("{:?}", args.limits()),
            format!("{:?}", Limits::default())
        );
        let config = args.server_config("sim", None, None);
        let want = ServerConfig::default();
        assert_eq!(format!("{:?}", config.auth), format!("{:?}", want.auth));
        assert_eq!(format!("{:?}", config.voice), format!("{:?}", want.voice));
        assert_eq!(
            format!("{:?}", config.browser),
            format!("{:?}", want.browser)
        );
        assert_eq!(
            (config.drain, config.heartbeat, config.ingest_limit),
            (want.drain, want.heartbeat, want.ingest_limit)
        );
        let help = <Serve as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        for default in [
            shown(want.limits.stall_timeout),
            HubConfig::default().ring.to_string(),
            want.auth.requests_per_minute.to_string(),
        ] {
            let default = format!("[default: {default}]");
            assert!(help.contains(&default), "{default} not in --help");
        }
    }
}
