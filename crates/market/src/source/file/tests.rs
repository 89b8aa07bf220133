//! Format tests on small fixtures written here (the recorded files in
//! `../shared/data` are covered by `tests/files.rs`).

use super::*;
use chrono::DateTime;

fn ms(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

fn with_symbol(symbol: &str) -> FileOptions {
    FileOptions {
        symbol: Some(symbol.into()),
        ..FileOptions::default()
    }
}

#[test]
fn ninjatrader_is_utc_and_stamped_at_bar_end() {
    let text = "20110103 143100;127.05;127.31;127.03;127.29;2478244\r\n20110103 143200;127.29;127.3;127.2;127.21;414386\r\n";
    let (format, bars) = parse(Path::new("spy.csv"), text, &with_symbol("SPY")).unwrap();
    assert_eq!(format, Format::NinjaTrader);
    let spy = &bars["SPY"];
    assert_eq!(spy.len(), 2);
    assert_eq!(spy[0].t, ms("2011-01-03T14:30:00Z"));
    assert_eq!(
        (spy[0].o, spy[0].h, spy[0].l, spy[0].c, spy[0].v),
        (127.05, 127.31, 127.03, 127.29, 2_478_244)
    );
}

#[test]
fn csv_columns_are_found_by_name_and_naive_times_are_new_york() {
    let text = "Date,Open,Close,High,Low,Volume\r\n11/5/2019 9:30,3080.8,3080.49,3081.47,3080.3,0\r\n11/5/2019 9:31,3080.33,3079.36,3080.33,3079.15,0\r\n";
    let (format, bars) = parse(Path::new("sp.csv"), text, &with_symbol("SPX")).unwrap();
    assert_eq!(format, Format::Csv);
    let b = bars["SPX"][0];
    assert_eq!(b.t, ms("2019-11-05T14:30:00Z"));
    assert_eq!(
        (b.o, b.h, b.l, b.c, b.v),
        (3080.8, 3081.47, 3080.3, 3080.49, 0)
    );
}

#[test]
fn naive_times_cross_spring_forward_correctly() {
    // 01:59 EST is followed by 03:00 EDT: one minute later in UTC.
    let text = "timestamp;symbol;open;high;low;close;volume\n2011-03-13 01:59:00;ABC;10;10;10;10;5\n2011-03-13 03:00:00;ABC;10;11;9;10.5;7\n";
    let (_, bars) = parse(Path::new("x.csv"), text, &FileOptions::default()).unwrap();
    let abc = &bars["ABC"];
    assert_eq!(abc[0].t, ms("2011-03-13T06:59:00Z"));
    assert_eq!(abc[1].t, ms("2011-03-13T07:00:00Z"));
}

#[test]
fn repeated_fall_back_hour_keeps_file_order() {
    let text = "date,time,open,high,low,close\n2011-11-06,01:59,10,10,10,10\n2011-11-06,01:00,10,10,10,10\n";
    let (_, bars) = parse(Path::new("x.csv"), text, &with_symbol("ABC")).unwrap();
    // First 01:59 is EDT (05:59Z); the next 01:00 is the EST pass (06:00Z).
    assert_eq!(bars["ABC"][0].t, ms("2011-11-06T05:59:00Z"));
    assert_eq!(bars["ABC"][1].t, ms("2011-11-06T06:00:00Z"));
}

#[test]
fn ndjson_reads_the_wire_shape() {
    let text = r#"{"symbol":"SPY","tf":"1m","t":1294065000000,"o":1,"h":2,"l":0.5,"c":1.5,"v":10,"final":true}
{"symbol":"QQQ","t":1294065000000,"o":1,"h":2,"l":0.5,"c":1.5,"v":3}
"#;
    let (format, bars) = parse(Path::new("bars.ndjson"), text, &FileOptions::default()).unwrap();
    assert_eq!(format, Format::Ndjson);
    assert_eq!(bars.len(), 2);
    assert_eq!(bars["SPY"][0].t, 1_294_065_000_000);
}

#[test]
fn stamp_and_tz_override_the_format_defaults() {
    let text = "datetime,open,high,low,close\n2011-01-03 09:31,1,1,1,1\n";
    let opts = FileOptions {
        tz: Some(Tz::UTC),
        stamp: Some(Stamp::End),
        symbol: Some("X".into()),
    };
    let (_, bars) = parse(Path::new("x.csv"), text, &opts).unwrap();
    assert_eq!(bars["X"][0].t, ms("2011-01-03T09:30:00Z"));
}

#[test]
fn bad_rows_name_file_and_line() {
    let cases = [
        (
            "20110103 143100;127;127.3;127;127.2;100\n20110103 143200;127;oops;127;127.2;100\n",
            2,
            "high",
        ),
        (
            "20110103 143100;127;127.3;127;127.2;100\n20110103 143100;127;127.3;127;127.2;100\n",
            2,
            "not after",
        ),
        (
            "20110103 143100;127;127.3;127;127.2\n",
            1,
            "6 ';'-separated",
        ),
        ("20110103 143100;127;126;127;127.2;100\n", 1, "inconsistent"),
        (
            "20110103 143130;127;127.3;127;127.2;100\n",
            1,
            "minute boundary",
        ),
        (
            "Date,Open,High,Low,Close\n2011-03-13 02:30,1,1,1,1\n",
            2,
            "does not exist",
        ),
        (
            "Date,Open,High,Low,Close\nsoon,1,1,1,1\n",
            2,
            "not a date-time",
        ),
        (
            "Date,Open,High,Low,Close,Volume\n2011-01-03 09:30,1,1,1,1,1.5\n",
            2,
            "whole number",
        ),
        (
            "Date,Open,High,Close\n2011-01-03 09:30,1,1,1\n",
            1,
            "no low column",
        ),
        (
            "{\"t\":0,\"o\":1,\"h\":1,\"l\":1,\"c\":1,\"tf\":\"5m\"}\n",
            1,
            "reads 1m bars",
        ),
    ];
    for (text, line, needle) in cases {
        let err = parse(Path::new("bad.csv"), text, &with_symbol("X")).unwrap_err();
        assert_eq!(err.line, Some(line), "{text:?}: {err}");
        assert!(
            err.to_string().contains(needle),
            "{err} should mention {needle:?}"
        );
        assert!(
            err.to_string().starts_with(&format!("bad.csv:{line}: ")),
            "{err}"
        );
    }
}

#[test]
fn a_file_without_symbol_needs_one() {
    let err = parse(
        Path::new("x.csv"),
        "20110103 143100;1;1;1;1;1\n",
        &FileOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("--symbol"), "{err}");
}

#[test]
fn folders_merge_files_and_report_what_they_skip() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "20110103 143100;1;1;1;1;1\n").unwrap();
    std::fs::write(dir.path().join("b.csv"), "20110103 143300;2;2;2;2;2\n").unwrap();
    std::fs::write(dir.path().join("README.md"), "# notes\n").unwrap();
    let report = load(dir.path(), &with_symbol("SPY")).unwrap();
    assert_eq!(report.bars["SPY"].len(), 2);
    assert_eq!(report.read.len(), 2);
    assert_eq!(report.skipped, vec![dir.path().join("README.md")]);

    std::fs::write(dir.path().join("c.csv"), "20110103 143100;1;1;1;1;1\n").unwrap();
    let err = load(dir.path(), &with_symbol("SPY")).unwrap_err();
    assert!(err.to_string().contains("is also in"), "{err}");
}
