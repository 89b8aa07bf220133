//! The upstreams a server depends on — a live market-data provider, the
//! voice relay — with their health, circuit breakers, and what makes the
//! server not ready because of them.

pub mod breaker;
pub mod health;
pub mod polygon;

use std::sync::Arc;
use std::time::Duration;

use health::UpstreamHealth;

use spotlight_market::time::{now_ms, us_market_open};

/// Every upstream of one server, and the live feed's stall rule.
#[derive(Debug, Default)]
pub struct Upstreams {
    /// All of them (diag, metrics).
    pub list: Vec<Arc<UpstreamHealth>>,
    /// The live market feed, if the source is one.
    pub feed: Option<Arc<UpstreamHealth>>,
    /// How long the feed may be down (or, in market hours, silent).
    pub stall: Duration,
    /// Whether silence counts around the clock, not only in US market hours.
    pub stall_always: bool,
}

impl Upstreams {
    /// Why the server is not ready because of its feed: it reported a
    /// refusal (a bad key, an eviction), it has been down for the stall
    /// time, or it has been silent that long while the market is open.
    pub fn problem(&self) -> Option<String> {
        let feed = self.feed.as_ref()?;
        let stall = self.stall.as_millis() as i64;
        if !feed.is_up() {
            let down = feed.state_for_ms();
            return match feed.problem() {
                Some(p) => Some(format!("the market feed is down: {p}")),
                None if down >= stall => Some(format!(
                    "the market feed has been down for {} s (--source-stall {} s)",
                    down / 1000,
                    stall / 1000
                )),
                None => None,
            };
        }
        let silent = feed
            .last_message_age_ms()
            .unwrap_or_else(|| feed.state_for_ms());
        let counts = self.stall_always || us_market_open(now_ms());
        (counts && silent >= stall).then(|| {
            format!(
                "no message from the market feed for {} s (--source-stall {} s)",
                silent / 1000,
                stall / 1000
            )
        })
    }
}
