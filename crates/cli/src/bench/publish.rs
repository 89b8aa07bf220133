//! The publishing side of a load run: one message at a time, at a rate.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::socket::wall_ns;
use super::Shared;
use spotlight_wire::timeframe::MINUTE_MS;

/// Bar time of ingested message 0 (2020-01-01T00:00:00Z); message `i` is the
/// 1m bar `i` minutes later.
pub const INGEST_T0: i64 = 1_577_836_800_000;

/// How messages are published.
#[derive(Debug, Clone)]
pub enum Publisher {
    /// POST the payload to a publisher URL (as nchan's publisher location).
    Post {
        /// The publisher URL.
        url: String,
    },
    /// POST one final 1m bar per message to spotlight's `/api/ingest`.
    Ingest {
        /// The server's base URL.
        url: String,
        /// Symbol of the bars.
        symbol: String,
        /// Bearer token, when the server has a PIN.
        token: Option<String>,
    },
}

/// The publishing side of a run.
#[derive(Debug, Clone)]
pub struct Publish {
    /// Where messages go.
    pub publisher: Publisher,
    /// Messages per second.
    pub rate: f64,
    /// Messages measured.
    pub messages: u64,
    /// Messages published first and not timed (connections and caches
    /// warm up; their loss still counts).
    pub warmup: u64,
    /// Size of a `Post` message body (padded JSON).
    pub payload_bytes: usize,
    /// Put the slots on the wall clock's grid of whole periods since the
    /// Unix epoch, shifted by this much: runs against two servers started
    /// together then take turns instead of colliding.
    pub grid_offset: Option<Duration>,
}

/// Wall ns of the first slot at or after `now`: on the grid of `period`
/// since the Unix epoch shifted by `offset`.
pub(super) fn first_grid_slot(now: u64, period: Duration, offset: Duration) -> u64 {
    let period = (period.as_nanos() as u64).max(1);
    let offset = offset.as_nanos() as u64 % period;
    let base = now - now % period + offset;
    if base >= now {
        base
    } else {
        base + period
    }
}

/// Publishes messages `range` at the rate from a thread of its own, so
/// that thousands of busy subscribers in this process cannot hold it back.
/// Message `i` is due at its slot, however late the previous POST returned
/// (a publisher that blocks during its own fan-out shows it). The thread
/// sleeps to each slot with the OS timer (tens of µs late, where a runtime
/// timer tick can be a whole ms late).
pub(super) async fn publish_on_own_thread(
    p: &Publish,
    shared: &Arc<Shared>,
    range: std::ops::Range<u64>,
) -> anyhow::Result<()> {
    let (p, shared) = (p.clone(), shared.clone());
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let http = spotlight_client::trust::http().build()?;
        let period = Duration::from_secs_f64(1.0 / p.rate.max(0.001));
        let start = match p.grid_offset {
            Some(offset) => {
                let now = wall_ns();
                let first = first_grid_slot(now, period, offset);
                Instant::now() + Duration::from_nanos(first - now)
            }
            None => Instant::now(),
        };
        for (slot, i) in range.enumerate() {
            let due = start + period * slot as u32;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            shared.due[i as usize].store(shared.wall_of(due), Ordering::Relaxed);
            runtime.block_on(publish_one(&http, &p, Some(i)))?;
        }
        Ok(())
    })
    .await?
}

/// Publishes message `i` (`None`: the ingest warm-up bar, before message 0).
pub(super) async fn publish_one(
    http: &reqwest::Client,
    p: &Publish,
    i: Option<u64>,
) -> anyhow::Result<()> {
    let res = match &p.publisher {
        Publisher::Post { url } => {
            let head = format!("{{\"i\":{},\"pad\":\"", i.unwrap_or(0));
            let pad = p.payload_bytes.saturating_sub(head.len() + 2);
            let body = format!("{head}{}\"}}", "x".repeat(pad));
            http.post(url).body(body).send().await?
        }
        Publisher::Ingest { url, symbol, token } => {
            let t = INGEST_T0 + i.map_or(-1, |i| i as i64) * MINUTE_MS;
            let bar = serde_json::json!({"symbol": symbol, "tf": "1m", "t": t, "o": 100.0, "h": 101.0, "l": 99.0, "c": 100.5, "v": 100, "final": true});
            let mut req = http
                .post(format!("{}/api/ingest", url.trim_end_matches('/')))
                .header("content-type", "application/x-ndjson")
                .body(format!("{bar}\n"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send().await?
        }
    };
    if !res.status().is_success() {
        let status = res.status();
        anyhow::bail!(
            "publisher answered {status}: {}",
            res.text().await.unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_slots_are_whole_periods_since_the_epoch_plus_the_offset() {
        let ms = Duration::from_millis;
        let at = |ms: u64| ms * 1_000_000;
        // 10/s: slots at …000, …100, … ms; shifted by 50 ms: …050, …150.
        assert_eq!(first_grid_slot(at(1_234), ms(100), ms(0)), at(1_300));
        assert_eq!(first_grid_slot(at(1_234), ms(100), ms(50)), at(1_250));
        assert_eq!(first_grid_slot(at(1_260), ms(100), ms(50)), at(1_350));
        // A slot exactly now is taken; an offset past the period wraps.
        assert_eq!(first_grid_slot(at(1_300), ms(100), ms(0)), at(1_300));
        assert_eq!(first_grid_slot(at(1_234), ms(100), ms(150)), at(1_250));
    }
}
