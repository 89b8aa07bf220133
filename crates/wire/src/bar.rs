//! Bars: the wire shape ([`Bar`]) and the compact stored shape ([`Candle`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::timeframe::{Timeframe, MINUTE_MS};

/// Earliest bar time accepted: 1900-01-01T00:00:00Z.
pub const MIN_T: i64 = -2_208_988_800_000;
/// Latest bar time accepted: 9999-12-31T23:59:00Z.
pub const MAX_T: i64 = 253_402_300_740_000;

/// OHLCV of one bucket, without symbol or timeframe: what the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Candle {
    /// Bucket start, Unix ms UTC.
    pub t: i64,
    /// Open.
    pub o: f64,
    /// High.
    pub h: f64,
    /// Low.
    pub l: f64,
    /// Close.
    pub c: f64,
    /// Volume.
    pub v: u64,
}

impl Candle {
    /// Folds a later candle of the same bucket into this one
    /// (o = first, h = max, l = min, c = last, v = sum).
    pub fn merge(&mut self, later: &Candle) {
        self.h = self.h.max(later.h);
        self.l = self.l.min(later.l);
        self.c = later.c;
        self.v = self.v.saturating_add(later.v);
    }

    /// Checks the prices are finite and positive, `l <= min(o, c)`,
    /// `max(o, c) <= h`, and `t` is on a minute boundary.
    pub fn check(&self) -> Result<(), BarError> {
        let prices = [self.o, self.h, self.l, self.c];
        if prices.iter().any(|p| !p.is_finite() || *p <= 0.0) {
            return Err(BarError::BadPrice);
        }
        if self.l > self.o.min(self.c) || self.h < self.o.max(self.c) || self.l > self.h {
            return Err(BarError::Inconsistent {
                o: self.o,
                h: self.h,
                l: self.l,
                c: self.c,
            });
        }
        if !(MIN_T..=MAX_T).contains(&self.t) {
            return Err(BarError::OutOfRange(self.t));
        }
        if self.t.rem_euclid(MINUTE_MS) != 0 {
            return Err(BarError::Unaligned(self.t));
        }
        Ok(())
    }
}

/// Why a bar is not acceptable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BarError {
    /// A price is zero, negative, NaN or infinite.
    #[error("prices must be finite and positive")]
    BadPrice,
    /// High/low do not bracket open/close.
    #[error("inconsistent bar: o={o} h={h} l={l} c={c} (need l <= min(o,c) and max(o,c) <= h)")]
    Inconsistent {
        /// Open.
        o: f64,
        /// High.
        h: f64,
        /// Low.
        l: f64,
        /// Close.
        c: f64,
    },
    /// `t` is outside 1900 … 9999.
    #[error("bar time {0} is outside the years 1900 to 9999 (Unix ms expected)")]
    OutOfRange(i64),
    /// `t` is not a whole minute.
    #[error("bar time {0} is not on a minute boundary")]
    Unaligned(i64),
}

/// A bar as it travels on the wire: `{symbol, tf, t, o, h, l, c, v, final}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// Ticker.
    pub symbol: Arc<str>,
    /// Timeframe.
    pub tf: Timeframe,
    /// Bucket start, Unix ms UTC.
    pub t: i64,
    /// Open.
    pub o: f64,
    /// High.
    pub h: f64,
    /// Low.
    pub l: f64,
    /// Close.
    pub c: f64,
    /// Volume.
    pub v: u64,
    /// `false` while the bucket is still forming; `true` once, when it closes.
    #[serde(rename = "final", default)]
    pub is_final: bool,
}

impl Bar {
    /// Builds the wire bar of a stored candle.
    pub fn new(symbol: Arc<str>, tf: Timeframe, c: Candle, is_final: bool) -> Bar {
        Bar {
            symbol,
            tf,
            t: c.t,
            o: c.o,
            h: c.h,
            l: c.l,
            c: c.c,
            v: c.v,
            is_final,
        }
    }

    /// The OHLCV part.
    pub fn candle(&self) -> Candle {
        Candle {
            t: self.t,
            o: self.o,
            h: self.h,
            l: self.l,
            c: self.c,
            v: self.v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candle(o: f64, h: f64, l: f64, c: f64) -> Candle {
        Candle {
            t: 0,
            o,
            h,
            l,
            c,
            v: 1,
        }
    }

    #[test]
    fn check_rejects_inconsistent_and_bad_prices() {
        assert!(candle(10.0, 11.0, 9.0, 10.5).check().is_ok());
        assert!(candle(10.0, 10.0, 10.0, 10.0).check().is_ok());
        assert!(candle(10.0, 9.5, 9.0, 9.2).check().is_err());
        assert!(candle(10.0, 11.0, 10.1, 10.5).check().is_err());
        assert!(candle(f64::NAN, 11.0, 9.0, 10.5).check().is_err());
        assert!(candle(0.0, 11.0, 0.0, 10.5).check().is_err());
        let mut off = candle(10.0, 11.0, 9.0, 10.5);
        off.t = 1_500;
        assert_eq!(off.check(), Err(BarError::Unaligned(1_500)));
        let far = i64::MAX / MINUTE_MS * MINUTE_MS;
        off.t = far;
        assert_eq!(off.check(), Err(BarError::OutOfRange(far)));
        off.t = MAX_T;
        assert!(off.check().is_ok());
    }

    #[test]
    fn wire_shape_uses_final_and_tf_names() {
        let bar = Bar::new(
            "SPY".into(),
            Timeframe::M5,
            candle(1.0, 2.0, 0.5, 1.5),
            true,
        );
        let json = serde_json::to_value(&bar).unwrap();
        assert_eq!(json["final"], true);
        assert_eq!(json["tf"], "5m");
        assert_eq!(json["symbol"], "SPY");
        let back: Bar = serde_json::from_value(json).unwrap();
        assert_eq!(back, bar);
    }
}
