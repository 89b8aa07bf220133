//! What `serve` depends on outside itself: the live provider's flags and
//! the source built from them (the key comes from `POLYGON_API_KEY`, never
//! a flag, so it stays out of process listings), the voice relay's circuit,
//! and the upstreams the server shows in readiness, diag and metrics.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::parse::parse_timeout;
use super::{CliError, ServeArgs, SourceSpec};
use spotlight_provider::breaker::Breaker;
use spotlight_provider::health::UpstreamHealth;
use spotlight_provider::polygon::{Polygon, PolygonConfig};
use spotlight_provider::Upstreams;

/// The provider's endpoints and the feed's stall rule.
#[derive(Debug, Clone, Args)]
pub struct PolygonArgs {
    /// The provider's stocks WebSocket (`--source polygon`).
    #[arg(long, env = "SPOTLIGHT_POLYGON_WS_URL", default_value = "wss://socket.polygon.io/stocks", value_parser = parse_socket_url, help_heading = "Live provider")]
    pub polygon_ws_url: String,
    /// The provider's REST base, for backfill (`--source polygon`).
    #[arg(long, env = "SPOTLIGHT_POLYGON_REST_URL", default_value = "https://api.polygon.io", value_parser = parse_http_url, help_heading = "Live provider")]
    pub polygon_rest_url: String,
    /// Not ready when the live feed is down this long, or silent this long in US market hours.
    #[arg(long, env = "SPOTLIGHT_SOURCE_STALL", value_parser = parse_timeout, default_value = "90s", help_heading = "Live provider")]
    pub source_stall: Duration,
    /// Count the live feed's silence around the clock, not only in US market hours.
    #[arg(
        long,
        env = "SPOTLIGHT_SOURCE_STALL_ALWAYS",
        help_heading = "Live provider"
    )]
    pub source_stall_always: bool,
}

/// The provider source `args` ask for (`None`: another source); a missing
/// key is a usage error.
pub(super) fn polygon(args: &ServeArgs) -> anyhow::Result<Option<Arc<Polygon>>> {
    if args.source != SourceSpec::Polygon {
        return Ok(None);
    }
    let key = std::env::var("POLYGON_API_KEY").unwrap_or_default();
    if key.trim().is_empty() {
        return Err(CliError::usage(
            "--source polygon needs the provider's API key in POLYGON_API_KEY",
        ));
    }
    let mut config = PolygonConfig::new(key.trim(), args.symbols.clone());
    config.ws_url = args.polygon.polygon_ws_url.clone();
    config.rest_url = args.polygon.polygon_rest_url.clone();
    config.backfill = args.backfill;
    Ok(Some(Arc::new(Polygon::new(config))))
}

/// The voice relay's health and circuit breaker (`--voice-upstream` only):
/// five failed dials in a row open it for 30 s.
pub(super) fn voice_upstream(args: &ServeArgs) -> Option<Arc<UpstreamHealth>> {
    args.voice_upstream.as_ref().map(|_| {
        let breaker = Arc::new(Breaker::new(5, Duration::from_secs(30)));
        UpstreamHealth::new("voice", Some(breaker))
    })
}

/// The upstreams a server shows: the live provider's, the voice relay's.
pub(super) fn upstreams(
    args: &ServeArgs,
    polygon: Option<&Arc<Polygon>>,
    voice: Option<Arc<UpstreamHealth>>,
) -> Upstreams {
    let mut list = polygon.map(|p| p.upstreams()).unwrap_or_default();
    list.extend(voice);
    Upstreams {
        list,
        feed: polygon.map(|p| p.feed.clone()),
        stall: args.polygon.source_stall,
        stall_always: args.polygon.source_stall_always,
    }
}

fn parse_socket_url(s: &str) -> Result<String, String> {
    if (s.starts_with("ws://") || s.starts_with("wss://")) && !s.ends_with("//") {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a ws:// or wss:// URL"))
    }
}

fn parse_http_url(s: &str) -> Result<String, String> {
    if (s.starts_with("http://") || s.starts_with("https://")) && !s.ends_with("//") {
        Ok(s.trim_end_matches('/').to_string())
    } else {
        Err(format!("{s:?} is not an http:// or https:// URL"))
    }
}
