//! Timeframes and their bucket rules.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::America::New_York;
use serde::{Deserialize, Serialize};

/// One minute in milliseconds.
pub const MINUTE_MS: i64 = 60_000;

/// A bar size. Intraday buckets are `floor(t / tf) * tf` in UTC; `1d` buckets
/// are New York session dates, starting at New York midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Timeframe {
    /// One minute: the base timeframe every other one is rolled up from.
    #[serde(rename = "1m")]
    M1,
    /// Five minutes.
    #[serde(rename = "5m")]
    M5,
    /// Fifteen minutes.
    #[serde(rename = "15m")]
    M15,
    /// Thirty minutes.
    #[serde(rename = "30m")]
    M30,
    /// One hour.
    #[serde(rename = "1h")]
    H1,
    /// One New York session date.
    #[serde(rename = "1d")]
    D1,
}

impl Timeframe {
    /// How many timeframes there are.
    pub const COUNT: usize = 6;

    /// Every timeframe, base first.
    pub const ALL: [Timeframe; Timeframe::COUNT] = [
        Timeframe::M1,
        Timeframe::M5,
        Timeframe::M15,
        Timeframe::M30,
        Timeframe::H1,
        Timeframe::D1,
    ];

    /// Position in [`Timeframe::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The wire name (`1m`, `5m`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Timeframe::M1 => "1m",
            Timeframe::M5 => "5m",
            Timeframe::M15 => "15m",
            Timeframe::M30 => "30m",
            Timeframe::H1 => "1h",
            Timeframe::D1 => "1d",
        }
    }

    /// Fixed bucket length in ms for intraday timeframes; `None` for `1d`,
    /// whose length changes with daylight saving time.
    pub fn fixed_ms(self) -> Option<i64> {
        match self {
            Timeframe::M1 => Some(MINUTE_MS),
            Timeframe::M5 => Some(5 * MINUTE_MS),
            Timeframe::M15 => Some(15 * MINUTE_MS),
            Timeframe::M30 => Some(30 * MINUTE_MS),
            Timeframe::H1 => Some(60 * MINUTE_MS),
            Timeframe::D1 => None,
        }
    }

    /// Start of the bucket holding `t` (Unix ms, UTC).
    pub fn bucket_start(self, t: i64) -> i64 {
        match self.fixed_ms() {
            Some(len) => t.div_euclid(len) * len,
            None => ny_midnight(t, 0),
        }
    }

    /// End (exclusive) of the bucket holding `t`: the next bucket's start.
    pub fn bucket_end(self, t: i64) -> i64 {
        match self.fixed_ms() {
            Some(len) => self.bucket_start(t) + len,
            None => ny_midnight(t, 1),
        }
    }
}

/// New York midnight of the session date of `t`, plus `days_after` days.
fn ny_midnight(t: i64, days_after: u64) -> i64 {
    let utc = DateTime::<Utc>::from_timestamp_millis(t).unwrap_or_default();
    let date = utc.with_timezone(&New_York).date_naive() + Days::new(days_after);
    // Midnight exists exactly once in New York: DST changes at 02:00.
    New_York
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .earliest()
        .map(|d| d.timestamp_millis())
        .unwrap_or(t)
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A timeframe name that is not one of `1m 5m 15m 30m 1h 1d`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timeframe {0:?} (expected one of 1m, 5m, 15m, 30m, 1h, 1d)")]
pub struct UnknownTimeframe(pub String);

impl FromStr for Timeframe {
    type Err = UnknownTimeframe;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timeframe::ALL
            .into_iter()
            .find(|tf| tf.as_str() == s)
            .ok_or_else(|| UnknownTimeframe(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn intraday_buckets_floor_in_utc() {
        let t = ms("2024-03-08T14:37:12Z");
        assert_eq!(Timeframe::M1.bucket_start(t), ms("2024-03-08T14:37:00Z"));
        assert_eq!(Timeframe::M5.bucket_start(t), ms("2024-03-08T14:35:00Z"));
        assert_eq!(Timeframe::M15.bucket_start(t), ms("2024-03-08T14:30:00Z"));
        assert_eq!(Timeframe::M30.bucket_start(t), ms("2024-03-08T14:30:00Z"));
        assert_eq!(Timeframe::H1.bucket_start(t), ms("2024-03-08T14:00:00Z"));
        assert_eq!(Timeframe::H1.bucket_end(t), ms("2024-03-08T15:00:00Z"));
    }

    #[test]
    fn daily_buckets_follow_new_york_dates_across_dst() {
        // 2011-03-13 is the spring-forward day: 23 hours long in New York.
        let t = ms("2011-03-13T15:00:00Z");
        assert_eq!(Timeframe::D1.bucket_start(t), ms("2011-03-13T05:00:00Z"));
        assert_eq!(Timeframe::D1.bucket_end(t), ms("2011-03-14T04:00:00Z"));
        // 01:30 UTC on the 14th is still the 13th in New York.
        let late = ms("2011-03-14T01:30:00Z");
        assert_eq!(Timeframe::D1.bucket_start(late), ms("2011-03-13T05:00:00Z"));
    }

    #[test]
    fn names_round_trip_and_unknown_is_an_error() {
        for tf in Timeframe::ALL {
            assert_eq!(tf.as_str().parse::<Timeframe>(), Ok(tf));
        }
        assert!("2m".parse::<Timeframe>().is_err());
    }
}
