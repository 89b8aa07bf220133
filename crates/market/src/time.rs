//! Parsing instants and naive date-times as people write them.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Current wall-clock time, Unix ms.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Formats Unix ms as RFC 3339 UTC (`2011-01-03T14:30:00Z`).
pub fn format_ms(t: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(t)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| t.to_string())
}

/// An absolute instant: RFC 3339 (`2011-01-03T14:30:00Z`, any offset) or
/// Unix milliseconds. Returns Unix ms.
pub fn parse_instant(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Date-time layouts read from files, tried in order.
const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y%m%d %H%M%S",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
];

/// A time cell from a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileTime {
    /// An absolute instant (it had an offset, or was a Unix timestamp), Unix ms.
    Absolute(i64),
    /// A wall-clock time with no zone: read it in the file's time zone.
    Naive(NaiveDateTime),
}

/// Reads a time cell: Unix seconds or ms, RFC 3339, or a naive date-time in
/// one of the common export layouts (`11/5/2019 9:30`, `2011-01-03 09:30:00`, …).
pub fn parse_file_time(s: &str) -> Option<FileTime> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        // Ten digits are seconds until the year 2286; more are milliseconds.
        let ms = if n.abs() < 100_000_000_000 {
            n * 1000
        } else {
            n
        };
        return Some(FileTime::Absolute(ms));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(FileTime::Absolute(d.timestamp_millis()));
    }
    NAIVE_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight"))
        })
        .map(FileTime::Naive)
}

/// Why a naive time has no single instant in its zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    /// The clock jumped over it (spring forward).
    #[error("{0} does not exist in {1} (the clocks skip it for daylight saving time)")]
    Skipped(NaiveDateTime, Tz),
}

/// Resolves a naive time in `tz`. In the repeated hour of a fall-back change
/// the first occurrence is taken unless it is not after `prev` (the file has
/// moved on to the second pass), so a file's rows stay in order.
pub fn resolve_local(
    naive: NaiveDateTime,
    tz: Tz,
    prev: Option<i64>,
) -> Result<i64, LocalTimeError> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(d) => Ok(d.timestamp_millis()),
        LocalResult::Ambiguous(first, second) => {
            let first = first.timestamp_millis();
            match prev {
                Some(p) if first <= p => Ok(second.timestamp_millis()),
                _ => Ok(first),
            }
        }
        LocalResult::None => Err(LocalTimeError::Skipped(naive, tz)),
    }
}

/// Whether US equities trade at `t` (Unix ms): Monday to Friday, 09:30
/// to 16:00 America/New_York (exchange holidays not known).
pub fn us_market_open(t: i64) -> bool {
    use chrono::{Datelike, Timelike, Weekday};
    let Some(utc) = DateTime::<Utc>::from_timestamp_millis(t) else {
        return false;
    };
    let ny = utc.with_timezone(&chrono_tz::America::New_York);
    let minute = ny.hour() * 60 + ny.minute();
    !matches!(ny.weekday(), Weekday::Sat | Weekday::Sun) && (570..960).contains(&minute)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    #[test]
    fn the_us_market_is_open_on_weekdays_from_0930_to_1600_new_york() {
        let at = |s: &str| parse_instant(s).unwrap();
        // Wednesday 2026-12-02, EST (UTC-5).
        assert!(!us_market_open(at("2026-12-02T14:29:59Z")));
        assert!(us_market_open(at("2026-12-02T14:30:00Z")));
        assert!(us_market_open(at("2026-12-02T20:59:59Z")));
        assert!(!us_market_open(at("2026-12-02T21:00:00Z")));
        // Summer time (UTC-4), and a Saturday.
        assert!(us_market_open(at("2026-07-01T13:30:00Z")));
        assert!(!us_market_open(at("2026-07-04T15:00:00Z")));
    }

    #[test]
    fn instants_are_rfc3339_or_unix_ms() {
        assert_eq!(parse_instant("1294065000000"), Some(1_294_065_000_000));
        assert_eq!(
            parse_instant("2011-01-03T14:30:00Z"),
            Some(1_294_065_000_000)
        );
        assert_eq!(
            parse_instant("2011-01-03T09:30:00-05:00"),
            Some(1_294_065_000_000)
        );
        assert_eq!(parse_instant("yesterday"), None);
        assert_eq!(format_ms(1_294_065_000_000), "2011-01-03T14:30:00Z");
    }

    #[test]
    fn file_times_in_common_layouts() {
        let want = NaiveDate::from_ymd_opt(2019, 11, 5)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap();
        for s in [
            "11/5/2019 9:30",
            "2019-11-05 09:30:00",
            "2019-11-05T09:30",
            "20191105 093000",
        ] {
            assert_eq!(parse_file_time(s), Some(FileTime::Naive(want)), "{s}");
        }
        assert_eq!(
            parse_file_time("1294065000"),
            Some(FileTime::Absolute(1_294_065_000_000))
        );
        assert_eq!(parse_file_time("not a time"), None);
    }

    #[test]
    fn dst_gaps_are_errors_and_repeats_follow_the_file() {
        let d = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert!(resolve_local(d("2011-03-13 02:30"), New_York, None).is_err());
        let first = resolve_local(d("2011-11-06 01:30"), New_York, None).unwrap();
        let second = resolve_local(d("2011-11-06 01:30"), New_York, Some(first)).unwrap();
        assert_eq!(second - first, 3_600_000);
    }
}
