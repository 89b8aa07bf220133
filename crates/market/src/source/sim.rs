//! The embedded simulated source: a seeded geometric random walk per symbol.
//!
//! Every 1m bar is a pure function of `(seed, symbol, minute)` and the bars
//! before it on the same New York date, so the same seed gives the same bars
//! whenever the server starts. Each New York date opens at a price drawn from
//! a slow mean-reverting daily walk (overnight gaps included); within the
//! date, each minute is a path of 60 one-second steps whose size follows the
//! session: a U-shaped volatility and volume profile in regular hours
//! (09:30–16:00 New York), thinner pre/post-market, a trickle overnight.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::America::New_York;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use spotlight_wire::bar::Candle;
use spotlight_wire::timeframe::{Timeframe, MINUTE_MS};

/// Steps in one simulated minute (one per second).
pub const STEPS_PER_MINUTE: usize = 60;

/// Daily volatility of the session-open walk (log space).
const DAILY_SIGMA: f64 = 0.012;
/// Pull of the daily walk back towards the symbol's base price.
const DAILY_REVERSION: f64 = 0.01;
/// Per-minute volatility in the middle of the regular session.
const MINUTE_SIGMA: f64 = 0.0006;

/// The path of one simulated symbol: its parameters and where it stands.
#[derive(Debug, Clone)]
pub struct SimWalk {
    seed: u64,
    symbol_hash: u64,
    base_price: f64,
    base_volume: f64,
    daily: DailyWalk,
    /// Minute being generated and the close of the minute before it.
    minute: i64,
    prev_close: f64,
    /// `(price, volume)` per step of `minute`.
    path: Vec<(f64, u64)>,
}

/// The walk of session-open prices, advanced one New York date at a time.
#[derive(Debug, Clone)]
struct DailyWalk {
    rng: ChaCha8Rng,
    date: NaiveDate,
    log_level: f64,
}

impl DailyWalk {
    fn new(seed: u64, symbol_hash: u64) -> DailyWalk {
        DailyWalk {
            rng: ChaCha8Rng::seed_from_u64(mix(seed, symbol_hash, 0x0da1_1e5e)),
            date: NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date"),
            log_level: 0.0,
        }
    }

    /// Log offset from the base price of the open of `date`.
    fn level_at(&mut self, seed: u64, symbol_hash: u64, date: NaiveDate) -> f64 {
        if date < self.date {
            *self = DailyWalk::new(seed, symbol_hash);
        }
        while self.date < date {
            let z: f64 = self.rng.sample(StandardNormal);
            self.log_level += DAILY_SIGMA * z - DAILY_REVERSION * self.log_level;
            self.date = self.date.succ_opt().expect("date in range");
        }
        self.log_level
    }
}

impl SimWalk {
    /// A walk for `symbol` positioned at the minute holding `t`.
    pub fn new(seed: u64, symbol: &str, t: i64) -> SimWalk {
        let symbol_hash = fnv1a(symbol);
        let (base_price, base_volume) = match symbol {
            "SPY" => (452.0, 160_000.0),
            "QQQ" => (384.0, 90_000.0),
            "IWM" => (191.0, 55_000.0),
            _ => (
                20.0 + (symbol_hash % 28_000) as f64 / 100.0,
                10_000.0 + (symbol_hash % 40_000) as f64,
            ),
        };
        let mut walk = SimWalk {
            seed,
            symbol_hash,
            base_price,
            base_volume,
            daily: DailyWalk::new(seed, symbol_hash),
            minute: 0,
            prev_close: base_price,
            path: Vec::with_capacity(STEPS_PER_MINUTE),
        };
        walk.seek(Timeframe::M1.bucket_start(t));
        walk
    }

    /// Bucket start of the minute being generated.
    pub fn minute(&self) -> i64 {
        self.minute
    }

    /// The bar of the current minute after `elapsed_ms` of it (capped at the
    /// whole minute): the in-progress bar a live feed would show.
    pub fn partial(&self, elapsed_ms: i64) -> Candle {
        let steps =
            (elapsed_ms.clamp(0, MINUTE_MS - 1) * STEPS_PER_MINUTE as i64 / MINUTE_MS) as usize + 1;
        self.candle_of(&self.path[..steps])
    }

    /// The complete bar of the current minute.
    pub fn full(&self) -> Candle {
        self.candle_of(&self.path)
    }

    /// Moves on to the next minute.
    pub fn advance(&mut self) {
        self.prev_close = self.full().c;
        let next = self.minute + MINUTE_MS;
        if new_york_date(next) != new_york_date(self.minute) {
            self.start_day(next);
        } else {
            self.minute = next;
            self.generate();
        }
    }

    /// Complete bars of every minute in `[from, to)`, leaving the walk at `to`.
    pub fn backfill(&mut self, from: i64, to: i64) -> Vec<Candle> {
        let from = Timeframe::M1.bucket_start(from);
        self.seek(from);
        let mut out = Vec::with_capacity(((to - from) / MINUTE_MS).max(0) as usize);
        while self.minute < to {
            out.push(self.full());
            self.advance();
        }
        out
    }

    /// Positions the walk at minute `t`, replaying its date from midnight.
    fn seek(&mut self, t: i64) {
        self.start_day(Timeframe::D1.bucket_start(t));
        while self.minute < t {
            self.advance();
        }
    }

    fn start_day(&mut self, midnight: i64) {
        let date = new_york_date(midnight);
        let level = self.daily.level_at(self.seed, self.symbol_hash, date);
        self.prev_close = round_cents(self.base_price * level.exp());
        self.minute = midnight;
        self.generate();
    }

    fn generate(&mut self) {
        let mut rng =
            ChaCha8Rng::seed_from_u64(mix(self.seed, self.symbol_hash, self.minute as u64));
        let (vol_mult, volume_mult) = session_profile(self.minute);
        let step_sigma = MINUTE_SIGMA * vol_mult / (STEPS_PER_MINUTE as f64).sqrt();
        let step_volume = self.base_volume * volume_mult / STEPS_PER_MINUTE as f64;
        let mut price = self.prev_close;
        self.path.clear();
        for i in 0..STEPS_PER_MINUTE {
            let z: f64 = rng.sample(StandardNormal);
            price = round_cents(price * (step_sigma * z).exp()).max(0.01);
            let noise: f64 = rng.sample(StandardNormal);
            let mut volume = (step_volume * (0.6 * noise).exp()).round() as u64;
            if i == 0 {
                volume = volume.max(1);
            }
            self.path.push((price, volume));
        }
    }

    fn candle_of(&self, steps: &[(f64, u64)]) -> Candle {
        let o = steps[0].0;
        let (mut h, mut l, mut v) = (o, o, 0u64);
        for &(p, q) in steps {
            h = h.max(p);
            l = l.min(p);
            v += q;
        }
        Candle {
            t: self.minute,
            o,
            h,
            l,
            c: steps[steps.len() - 1].0,
            v,
        }
    }
}

/// Simulated walks for a set of symbols, advanced together.
#[derive(Debug, Clone)]
pub struct Sim {
    walks: Vec<(String, SimWalk)>,
}

impl Sim {
    /// One walk per symbol, positioned at the minute holding `t`.
    pub fn new(seed: u64, symbols: &[String], t: i64) -> Sim {
        Sim {
            walks: symbols
                .iter()
                .map(|s| (s.clone(), SimWalk::new(seed, s, t)))
                .collect(),
        }
    }

    /// Complete 1m bars of `[from, to)` per symbol; the walks end at `to`.
    pub fn backfill(&mut self, from: i64, to: i64) -> HashMap<String, Vec<Candle>> {
        self.walks
            .iter_mut()
            .map(|(s, w)| (s.clone(), w.backfill(from, to)))
            .collect()
    }

    /// The walks, by symbol.
    pub fn walks_mut(&mut self) -> impl Iterator<Item = (&str, &mut SimWalk)> {
        self.walks.iter_mut().map(|(s, w)| (s.as_str(), w))
    }
}

/// `(volatility multiplier, volume multiplier)` for the minute at `t`.
fn session_profile(t: i64) -> (f64, f64) {
    let local = DateTime::<Utc>::from_timestamp_millis(t)
        .unwrap_or_default()
        .with_timezone(&New_York);
    let weekday = local.weekday().num_days_from_monday() < 5;
    let minute = (local.hour() * 60 + local.minute()) as f64;
    let (open, close) = (570.0, 960.0);
    if weekday && (open..close).contains(&minute) {
        let x = (minute - open) / (close - open) * 2.0 - 1.0;
        (0.8 + 1.2 * x * x, 0.6 + 3.0 * x * x)
    } else if weekday && (240.0..1200.0).contains(&minute) {
        (0.35, 0.03)
    } else {
        (0.15, 0.004)
    }
}

fn new_york_date(t: i64) -> NaiveDate {
    New_York
        .timestamp_millis_opt(t)
        .single()
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

fn round_cents(p: f64) -> f64 {
    (p * 100.0).round() / 100.0
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// splitmix64 over the three inputs: a well-spread seed per minute.
fn mix(a: u64, b: u64, c: u64) -> u64 {
    let mut z = a ^ b.rotate_left(21) ^ c.rotate_left(42);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000; // 2023-11-14T22:13:20Z

    #[test]
    fn same_seed_same_bars_whenever_it_starts() {
        let to = Timeframe::M1.bucket_start(T0);
        let a = SimWalk::new(7, "SPY", T0).backfill(to - 2 * 86_400_000, to);
        let b = SimWalk::new(7, "SPY", T0 - 3_600_000).backfill(to - 86_400_000, to);
        assert_eq!(a.len(), 2 * 1440);
        assert_eq!(&a[1440..], &b[..]);
        let c = SimWalk::new(8, "SPY", T0).backfill(to - 86_400_000, to);
        assert_ne!(b, c);
    }

    #[test]
    fn bars_are_consistent_cents_with_positive_volume() {
        let to = Timeframe::M1.bucket_start(T0);
        let bars = SimWalk::new(1, "QQQ", T0).backfill(to - 86_400_000, to);
        for (prev, bar) in bars.iter().zip(&bars[1..]) {
            assert_eq!(bar.t - prev.t, MINUTE_MS);
        }
        for bar in &bars {
            bar.check().unwrap();
            assert!(bar.v > 0);
            for p in [bar.o, bar.h, bar.l, bar.c] {
                assert!(
                    ((p * 100.0).round() - p * 100.0).abs() < 1e-6,
                    "{p} is not in cents"
                );
            }
        }
    }

    #[test]
    fn partial_bars_grow_into_the_full_bar() {
        let walk = SimWalk::new(3, "IWM", T0);
        let full = walk.full();
        let mut last_v = 0;
        for elapsed in (0..MINUTE_MS).step_by(250) {
            let p = walk.partial(elapsed);
            assert_eq!(p.o, full.o);
            assert!(p.h <= full.h && p.l >= full.l && p.v >= last_v);
            last_v = p.v;
        }
        assert_eq!(walk.partial(MINUTE_MS), full);
    }

    #[test]
    fn regular_hours_trade_more_than_the_night() {
        let day = 1_699_833_600_000; // 2023-11-13T00:00:00Z, a Monday
        let bars = SimWalk::new(5, "SPY", day).backfill(day, day + 86_400_000);
        let volume_at = |utc_hour: i64| bars[(utc_hour * 60) as usize].v;
        // 15:00 UTC is 10:00 in New York; 07:00 UTC is 02:00.
        assert!(volume_at(15) > 10 * volume_at(7));
    }
}
