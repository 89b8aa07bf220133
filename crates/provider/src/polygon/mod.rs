//! `--source polygon`: live aggregates from a Polygon-compatible provider.
//! History comes from REST minute aggregates — the `--backfill` window at
//! start, and the gap after every disconnect — merged without duplicates
//! (a symbol with no history is loaded; one with history takes the newer
//! bars as final events). Live comes from the stocks WebSocket: per-second
//! aggregates build the forming 1m bar, the per-minute aggregate closes
//! it with its own values. A window with no trades sends nothing: gaps
//! stay gaps.

mod live;
pub mod messages;
pub mod rest;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::breaker::Breaker;
use crate::health::UpstreamHealth;
use rest::Rest;
use spotlight_market::time::now_ms;
use spotlight_market::{Candle, Hub};
use spotlight_wire::timeframe::MINUTE_MS;
use spotlight_wire::DiagGap;

/// How to reach the provider and what to ask it for.
#[derive(Debug, Clone)]
pub struct PolygonConfig {
    /// The API key (`POLYGON_API_KEY`).
    pub key: String,
    /// The stocks WebSocket (`wss://socket.polygon.io/stocks`).
    pub ws_url: String,
    /// The REST base (`https://api.polygon.io`).
    pub rest_url: String,
    /// Symbols to follow.
    pub symbols: Vec<String>,
    /// History loaded at start.
    pub backfill: Duration,
    /// Time one request (or the socket's connect and sign-in) may take.
    pub request_timeout: Duration,
    /// Wait before connecting again after the provider refused the key or
    /// evicted this connection (never a tight loop).
    pub refused_retry: Duration,
    /// Consecutive REST failures that open the circuit.
    pub breaker_failures: u32,
    /// Time the open circuit waits before a probe.
    pub breaker_cool_down: Duration,
}

impl PolygonConfig {
    /// The defaults for `key`, `symbols` and the provider's public endpoints.
    pub fn new(key: &str, symbols: Vec<String>) -> PolygonConfig {
        PolygonConfig {
            key: key.to_string(),
            ws_url: "wss://socket.polygon.io/stocks".into(),
            rest_url: "https://api.polygon.io".into(),
            symbols,
            backfill: Duration::from_secs(2 * 86_400),
            request_timeout: Duration::from_secs(10),
            refused_retry: Duration::from_secs(60),
            breaker_failures: 5,
            breaker_cool_down: Duration::from_secs(30),
        }
    }
}

/// The source: its settings, its REST client, the health of both sides.
#[derive(Debug)]
pub struct Polygon {
    config: PolygonConfig,
    /// The REST client (its waits can be shortened for tests).
    pub rest: Rest,
    /// The WebSocket feed's health (`polygon_ws`): readiness follows it.
    pub feed: Arc<UpstreamHealth>,
    /// The REST side's health (`polygon_rest`), with its breaker and gaps.
    pub history: Arc<UpstreamHealth>,
}

impl Polygon {
    /// The source for `config`; nothing runs yet.
    pub fn new(config: PolygonConfig) -> Polygon {
        let breaker = Arc::new(Breaker::new(
            config.breaker_failures,
            config.breaker_cool_down,
        ));
        let feed = UpstreamHealth::new("polygon_ws", None);
        let history = UpstreamHealth::new("polygon_rest", Some(breaker.clone()));
        let rest = Rest::new(
            &config.rest_url,
            &config.key,
            config.request_timeout,
            breaker,
            history.clone(),
        );
        Polygon {
            config,
            rest,
            feed,
            history,
        }
    }

    /// Both sides' health, for diag and metrics.
    pub fn upstreams(&self) -> Vec<Arc<UpstreamHealth>> {
        vec![self.feed.clone(), self.history.clone()]
    }

    /// Runs the source into `hub` until `stop`: the backfill, then the
    /// live feed, reconnecting (and filling the gap) as long as it runs.
    pub fn spawn(self: Arc<Self>, hub: Arc<Hub>, stop: CancellationToken) {
        tokio::spawn(async move {
            tokio::select! {
                () = self.run(&hub) => {}
                () = stop.cancelled() => {}
            }
        });
    }

    /// Fills every symbol's history from REST up to the current minute
    /// (exclusive: the live feed closes it), from its last final bar or
    /// `--backfill` ago; records the gap and what filled it. A failure
    /// leaves what history holds and marks the source degraded.
    async fn fill(&self, hub: &Hub) {
        let now = now_ms();
        let to = now - now.rem_euclid(MINUTE_MS);
        let earliest = now - self.config.backfill.as_millis() as i64;
        let mut gap: Option<DiagGap> = None;
        for symbol in &self.config.symbols {
            let from = hub.last_final_t(symbol).map_or(earliest, |t| t + MINUTE_MS);
            if from >= to {
                continue;
            }
            let g = gap.get_or_insert(DiagGap {
                from,
                to,
                bars: 0,
                error: None,
            });
            g.from = g.from.min(from);
            match self.rest.minutes(symbol, from, to).await {
                Ok(bars) => g.bars += merge(hub, symbol, bars),
                Err(e) => {
                    tracing::warn!(%symbol, error = %e, "backfill failed: serving what history holds");
                    g.error = Some(format!("{symbol}: {e}"));
                }
            }
        }
        if let Some(g) = gap {
            self.history.set_degraded(g.error.is_some());
            tracing::info!(from = g.from, to = g.to, bars = g.bars, "backfilled");
            self.history.gap(g);
        }
    }
}

/// Merges REST bars into `symbol`'s history: all of them when it has
/// none, else those after its last final bar, as final events. Returns
/// how many went in.
fn merge(hub: &Hub, symbol: &str, bars: Vec<Candle>) -> u64 {
    let Some(last) = hub.last_final_t(symbol) else {
        let n = bars.len() as u64;
        if n > 0 {
            if let Err(e) = hub.load(symbol, bars) {
                tracing::warn!(%symbol, error = %e, "backfilled bars not loaded");
                return 0;
            }
        }
        return n;
    };
    let mut n = 0;
    for bar in bars.into_iter().filter(|c| c.t > last) {
        match hub.publish(symbol, bar, true) {
            Ok(_) => n += 1,
            Err(e) => tracing::debug!(%symbol, error = %e, "a backfilled bar was not taken"),
        }
    }
    n
}
