//! Drives the simulation into the hub on a clock: an in-progress update of
//! every symbol each tick, a final bar at each minute boundary.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::sim::Sim;
use crate::hub::PublishError;
use crate::time::now_ms;
use crate::Hub;
use spotlight_wire::timeframe::{Timeframe, MINUTE_MS};

/// The simulation's clock: wall time, optionally running faster.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    origin: Instant,
    origin_ms: i64,
    speed: f64,
}

impl SimClock {
    /// A clock starting at wall time now, running `speed` times real time.
    pub fn new(speed: f64) -> SimClock {
        SimClock {
            origin: Instant::now(),
            origin_ms: now_ms(),
            speed: speed.max(f64::MIN_POSITIVE),
        }
    }

    /// The simulated time, Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.origin_ms + (self.origin.elapsed().as_secs_f64() * 1000.0 * self.speed) as i64
    }

    /// Real time until simulated time `t`.
    pub fn until(&self, t: i64) -> Duration {
        let ms = (t - self.now_ms()).max(0) as f64 / self.speed;
        Duration::from_micros((ms * 1000.0).ceil() as u64)
    }
}

/// Backfills `backfill` of history before the clock's current minute, then
/// publishes live until `shutdown`.
pub async fn run_sim(
    mut sim: Sim,
    hub: Arc<Hub>,
    clock: SimClock,
    tick: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let now = clock.now_ms();
        let minute = Timeframe::M1.bucket_start(now);
        for (symbol, walk) in sim.walks_mut() {
            while walk.minute() < minute {
                if let Err(e) = hub.publish(symbol, walk.full(), true) {
                    tracing::warn!(%symbol, error = %e, "sim bar not published");
                }
                walk.advance();
            }
            if let Err(e) = hub.publish(symbol, walk.partial(now - minute), false) {
                tracing::warn!(%symbol, error = %e, "sim update not published");
            }
        }
        let wait = tick.min(clock.until(minute + MINUTE_MS) + Duration::from_millis(1));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Builds the simulation at the clock's current minute, with `backfill` of
/// complete 1m history loaded into the hub.
pub fn start_sim(
    seed: u64,
    symbols: &[String],
    backfill: Duration,
    clock: &SimClock,
    hub: &Hub,
) -> Result<Sim, PublishError> {
    Ok(start_sim_at(seed, symbols, backfill, clock, hub)?.0)
}

/// [`start_sim`], also returning the simulation's origin (where its walks
/// start, Unix ms) for [`resume_sim`].
pub fn start_sim_at(
    seed: u64,
    symbols: &[String],
    backfill: Duration,
    clock: &SimClock,
    hub: &Hub,
) -> Result<(Sim, i64), PublishError> {
    let to = Timeframe::M1.bucket_start(clock.now_ms());
    let from = to - backfill.as_millis() as i64;
    let mut sim = Sim::new(seed, symbols, from);
    for (symbol, candles) in sim.backfill(from, to) {
        hub.load(&symbol, candles)?;
    }
    Ok((sim, from))
}

/// The same simulation (seed, symbols, origin) continued after a restart:
/// each walk moves on past the newest final bar the hub already holds, so
/// the next bars follow the saved history (the minutes the server was down
/// are published as they come due).
pub fn resume_sim(seed: u64, symbols: &[String], origin: i64, hub: &Hub) -> Sim {
    let mut sim = Sim::new(seed, symbols, origin);
    for (symbol, walk) in sim.walks_mut() {
        let last_final = hub
            .history(symbol, Timeframe::M1, None, 2)
            .ok()
            .and_then(|h| h.bars.iter().rev().find(|b| b.is_final).map(|b| b.t));
        if let Some(last) = last_final {
            while walk.minute() <= last {
                walk.advance();
            }
        }
    }
    sim
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HubConfig;

    #[tokio::test]
    async fn backfill_then_live_minutes_close_in_order() {
        let hub = Hub::new(HubConfig::default());
        // 600x: a simulated minute passes every 100 ms of real time.
        let clock = SimClock::new(600.0);
        let symbols = vec!["SPY".to_string()];
        let sim = start_sim(1, &symbols, Duration::from_secs(3600), &clock, &hub).unwrap();
        let before = hub.history("SPY", Timeframe::M1, None, 5000).unwrap();
        assert_eq!(before.bars.len(), 60);
        assert!(before.bars.iter().all(|b| b.is_final));
        let sub = hub
            .subscribe(&[], Timeframe::M1, &crate::hub::Resume::Live)
            .unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run_sim(
            sim,
            hub.clone(),
            clock,
            Duration::from_millis(20),
            shutdown.clone(),
        ));
        let mut finals = 0;
        while finals < 2 {
            let (bytes, _) = sub.queue.next_batch(1 << 20, |_| {}).await.unwrap();
            finals += String::from_utf8_lossy(&bytes)
                .matches("\"final\":true")
                .count();
        }
        shutdown.cancel();
        task.await.unwrap();
        let after = hub.history("SPY", Timeframe::M1, None, 5000).unwrap();
        let ts: Vec<i64> = after.bars.iter().map(|b| b.t).collect();
        assert!(
            ts.windows(2).all(|w| w[1] - w[0] == MINUTE_MS),
            "no gap, no repeat"
        );
        assert!(after.bars.len() >= 62);
    }
}
