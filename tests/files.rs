//! Every 1m file in `../shared/data` loads as it is, with the right bars in
//! the right UTC buckets. Skips with a note when the folder is absent (the
//! format tests in `src/market/source/file/tests.rs` carry their own fixtures).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Timelike};
use chrono_tz::America::New_York;
use spotlight_market::source::file::{load, FileOptions, Format};
use spotlight_market::{Candle, Hub, HubConfig, Timeframe};

fn data(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if !dir.is_dir() {
        eprintln!(
            "note: {} is absent; skipping the recorded-data test",
            dir.display()
        );
        return None;
    }
    Some(dir.join(name))
}

fn ms(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

fn load_one(path: &Path, symbol: &str) -> (Format, Vec<Candle>) {
    let opts = FileOptions {
        symbol: Some(symbol.into()),
        ..FileOptions::default()
    };
    let mut report = load(path, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.read.len(), 1);
    (report.read[0].1, report.bars.remove(symbol).unwrap())
}

/// Bars per New York date inside the regular session (09:30–16:00).
fn regular_session_counts(bars: &[Candle]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for b in bars {
        let local = DateTime::from_timestamp_millis(b.t)
            .unwrap()
            .with_timezone(&New_York);
        let minute = local.hour() * 60 + local.minute();
        if (570..960).contains(&minute) {
            *counts.entry(local.date_naive().to_string()).or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn ninjatrader_january_file() {
    let Some(path) = data("nt-spy-minute-2011.csv") else {
        return;
    };
    let (format, bars) = load_one(&path, "SPY");
    assert_eq!(format, Format::NinjaTrader);
    assert_eq!(bars.len(), 14_180);
    // First row `20110103 090100;126.35;126.39;126.35;126.39;1579`: stamped at bar end.
    let first = bars[0];
    assert_eq!(first.t, ms("2011-01-03T09:00:00Z"));
    assert_eq!(
        (first.o, first.h, first.l, first.c, first.v),
        (126.35, 126.39, 126.35, 126.39, 1579)
    );
    let last = bars[bars.len() - 1];
    assert_eq!(last.t, ms("2011-02-01T00:59:00Z"));
    assert_eq!(
        (last.o, last.h, last.l, last.c, last.v),
        (128.82, 128.83, 128.82, 128.83, 2415)
    );
    // The heavy opening bar, stamped 14:31 UTC, is the 09:30 New York bucket.
    let open = bars
        .iter()
        .find(|b| b.t == ms("2011-01-03T14:30:00Z"))
        .unwrap();
    assert!(open.v > 1_000_000);
    let sessions = regular_session_counts(&bars);
    assert_eq!(sessions.len(), 20);
    assert!(sessions.values().all(|n| *n == 390), "{sessions:?}");
}

#[test]
fn ninjatrader_march_file_crosses_dst() {
    let Some(path) = data("nt-spy-minute-2011-03.csv") else {
        return;
    };
    let (_, bars) = load_one(&path, "SPY");
    assert_eq!(bars.len(), 17_577);
    assert_eq!(bars[0].t, ms("2011-03-01T09:00:00Z"));
    assert_eq!(
        (bars[0].o, bars[0].h, bars[0].l, bars[0].c, bars[0].v),
        (133.9, 134.01, 133.9, 133.98, 3778)
    );
    assert_eq!(bars[bars.len() - 1].t, ms("2011-03-31T23:58:00Z"));
    // 09:30 New York is 14:30 UTC before the change and 13:30 UTC after it.
    let sessions = regular_session_counts(&bars);
    assert_eq!(sessions.len(), 23);
    assert!(
        sessions.values().all(|n| *n == 390),
        "every session complete in New York time: {sessions:?}"
    );
    let before = bars
        .iter()
        .filter(|b| b.t >= ms("2011-03-11T14:30:00Z") && b.t < ms("2011-03-11T21:00:00Z"))
        .count();
    let after = bars
        .iter()
        .filter(|b| b.t >= ms("2011-03-14T13:30:00Z") && b.t < ms("2011-03-14T20:00:00Z"))
        .count();
    assert_eq!((before, after), (390, 390));

    // Daily rollups follow New York dates: one bar per session date.
    let hub = Hub::new(HubConfig::default());
    hub.load("SPY", bars).unwrap();
    let daily = hub.history("SPY", Timeframe::D1, None, 100).unwrap().bars;
    assert_eq!(daily.len(), 23);
    assert_eq!(daily[0].t, ms("2011-03-01T05:00:00Z"));
    assert_eq!(
        daily
            .iter()
            .find(|d| d.t == ms("2011-03-14T04:00:00Z"))
            .map(|d| d.tf),
        Some(Timeframe::D1)
    );
}

#[test]
fn sp500_csv_with_reordered_columns_and_naive_new_york_times() {
    let Some(path) = data("SP500_NOV2019_IDay.csv") else {
        return;
    };
    let (format, bars) = load_one(&path, "SPX");
    assert_eq!(format, Format::Csv);
    assert_eq!(bars.len(), 1563);
    // `11/5/2019 9:30,3080.8,3080.49,3081.47,3080.3,0` — Open, Close, High, Low.
    let first = bars[0];
    assert_eq!(first.t, ms("2019-11-05T14:30:00Z"));
    assert_eq!(
        (first.o, first.h, first.l, first.c, first.v),
        (3080.8, 3081.47, 3080.3, 3080.49, 0)
    );
    let last = bars[bars.len() - 1];
    assert_eq!(last.t, ms("2019-11-08T20:59:00Z"));
    assert_eq!(
        (last.o, last.h, last.l, last.c),
        (3091.16, 3092.91, 3090.96, 3092.91)
    );
    let sessions = regular_session_counts(&bars);
    assert_eq!(
        sessions.values().copied().collect::<Vec<_>>(),
        vec![390, 390, 390, 390]
    );
}

#[test]
fn the_shared_folder_loads_its_bar_files_and_names_what_it_skips() {
    let Some(path) = data("") else { return };
    let opts = FileOptions {
        symbol: Some("X".into()),
        ..FileOptions::default()
    };
    let report = load(&path, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.read.len(), 3);
    assert_eq!(report.bars["X"].len(), 14_180 + 17_577 + 1563);
    let skipped: Vec<String> = report
        .skipped
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(skipped.contains(&"README.md".to_string()));
    assert!(skipped.iter().any(|s| s.ends_with(".json")), "{skipped:?}");
}
