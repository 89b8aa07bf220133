//! The `file:` source: recorded 1m bars from a file or a folder of files.
//!
//! Three formats, detected per file: the NinjaTrader minute export (no header,
//! `yyyyMMdd HHmmss;o;h;l;c;v`, UTC, stamped at bar end), CSV with a header
//! (columns found by name in any order) and NDJSON in the wire bar shape.
//! A malformed row is an error naming file and line; gaps stay gaps.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::time::{format_ms, parse_file_time, resolve_local, FileTime};
use spotlight_wire::bar::Candle;
use spotlight_wire::timeframe::{Timeframe, MINUTE_MS};

/// Whether a file's timestamps mark the start or the end of each bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// The timestamp is the bucket start (the wire convention).
    Start,
    /// The timestamp is the bucket end (NinjaTrader and many exports).
    End,
}

/// How to read files whose formats leave something open.
#[derive(Debug, Clone, Default)]
pub struct FileOptions {
    /// Zone of naive date-times; the format's own default when `None`
    /// (New York for CSV, UTC for NinjaTrader).
    pub tz: Option<Tz>,
    /// Start or end stamping; the format's own default when `None`.
    pub stamp: Option<Stamp>,
    /// Symbol for files that name none.
    pub symbol: Option<String>,
}

/// The formats the file source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// NinjaTrader minute export.
    NinjaTrader,
    /// CSV with a header row.
    Csv,
    /// One wire-shaped JSON bar per line.
    Ndjson,
}

/// A file that could not be read, with where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when the problem is on one.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// 1m candles per symbol, each list sorted and without duplicates.
pub type Loaded = BTreeMap<String, Vec<Candle>>;

/// What a folder load read and what it passed over.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// The bars, per symbol.
    pub bars: Loaded,
    /// Files read, with their detected format.
    pub read: Vec<(PathBuf, Format)>,
    /// Files in a folder that are not bar files (by extension), not read.
    pub skipped: Vec<PathBuf>,
}

/// Extensions a folder load reads.
const BAR_EXTENSIONS: &[&str] = &["csv", "txt", "ndjson", "jsonl"];

/// Loads a file, or every bar file (`.csv .txt .ndjson .jsonl`) in a folder,
/// merging the bars of each symbol.
pub fn load(path: &Path, opts: &FileOptions) -> Result<LoadReport, FileError> {
    let err = |message: String| FileError {
        path: path.to_path_buf(),
        line: None,
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    let mut report = LoadReport::default();
    let files = if meta.is_dir() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| err(e.to_string()))? {
            let p = entry.map_err(|e| err(e.to_string()))?.path();
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            if p.is_file() && ext.is_some_and(|e| BAR_EXTENSIONS.contains(&e.as_str())) {
                files.push(p);
            } else {
                report.skipped.push(p);
            }
        }
        files.sort();
        report.skipped.sort();
        if files.is_empty() {
            return Err(err(
                "folder holds no bar files (.csv, .txt, .ndjson, .jsonl)".into(),
            ));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut origin: BTreeMap<(String, i64), PathBuf> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| FileError {
            path: file.clone(),
            line: None,
            message: e.to_string(),
        })?;
        let (format, bars) = parse(&file, &text, opts)?;
        for (symbol, candles) in bars {
            for c in &candles {
                if let Some(other) = origin.insert((symbol.clone(), c.t), file.clone()) {
                    return Err(FileError {
                        path: file.clone(),
                        line: None,
                        message: format!(
                            "{symbol} bar at {} is also in {}",
                            format_ms(c.t),
                            other.display()
                        ),
                    });
                }
            }
            report.bars.entry(symbol).or_default().extend(candles);
        }
        report.read.push((file, format));
    }
    for candles in report.bars.values_mut() {
        candles.sort_by_key(|c| c.t);
    }
    Ok(report)
}

/// Parses one file's text, detecting its format.
pub fn parse(path: &Path, text: &str, opts: &FileOptions) -> Result<(Format, Loaded), FileError> {
    let format = detect(path, text);
    let mut reader = Reader {
        path,
        opts,
        out: Loaded::new(),
    };
    match format {
        Format::NinjaTrader => reader.ninjatrader(text)?,
        Format::Csv => reader.csv(text)?,
        Format::Ndjson => reader.ndjson(text)?,
    }
    if reader.out.is_empty() {
        return Err(FileError {
            path: path.to_path_buf(),
            line: None,
            message: "no bars in file".into(),
        });
    }
    Ok((format, reader.out))
}

fn detect(path: &Path, text: &str) -> Format {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if ext.eq_ignore_ascii_case("ndjson")
        || ext.eq_ignore_ascii_case("jsonl")
        || first.starts_with('{')
    {
        Format::Ndjson
    } else if is_ninjatrader_line(first) {
        Format::NinjaTrader
    } else {
        Format::Csv
    }
}

fn is_ninjatrader_line(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b' '
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b';'
}

/// A row's cells before they become a candle.
struct Row<'a> {
    line: u64,
    symbol: Option<&'a str>,
    time: &'a str,
    o: &'a str,
    h: &'a str,
    l: &'a str,
    c: &'a str,
    v: Option<&'a str>,
}

struct Reader<'p> {
    path: &'p Path,
    opts: &'p FileOptions,
    out: Loaded,
}

impl Reader<'_> {
    fn err(&self, line: u64, message: impl Into<String>) -> FileError {
        FileError {
            path: self.path.to_path_buf(),
            line: Some(line),
            message: message.into(),
        }
    }

    fn ninjatrader(&mut self, text: &str) -> Result<(), FileError> {
        let tz = self.opts.tz.unwrap_or(Tz::UTC);
        let stamp = self.opts.stamp.unwrap_or(Stamp::End);
        for (i, raw) in text.lines().enumerate() {
            let line = i as u64 + 1;
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let cells: Vec<&str> = raw.split(';').collect();
            if cells.len() != 6 {
                return Err(self.err(
                    line,
                    format!("expected 6 ';'-separated fields, found {}", cells.len()),
                ));
            }
            let row = Row {
                line,
                symbol: None,
                time: cells[0],
                o: cells[1],
                h: cells[2],
                l: cells[3],
                c: cells[4],
                v: Some(cells[5]),
            };
            self.push(row, tz, stamp)?;
        }
        Ok(())
    }

    fn csv(&mut self, text: &str) -> Result<(), FileError> {
        let tz = self.opts.tz.unwrap_or(chrono_tz::America::New_York);
        let stamp = self.opts.stamp.unwrap_or(Stamp::Start);
        let header_line = text.lines().next().unwrap_or("");
        let delimiter = [b',', b';', b'\t']
            .into_iter()
            .max_by_key(|d| header_line.bytes().filter(|b| b == d).count())
            .unwrap_or(b',');
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = rdr
            .headers()
            .map_err(|e| self.err(1, e.to_string()))?
            .clone();
        let cols = Columns::find(&headers).map_err(|m| self.err(1, m))?;
        let mut record = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    return Err(self.err(line, e.to_string()));
                }
            }
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.iter().all(str::is_empty) {
                continue;
            }
            let cell = |i: usize| record.get(i).unwrap_or("");
            let joined;
            let time = match cols.time_of_day {
                Some(tcol) => {
                    joined = format!("{} {}", cell(cols.time), cell(tcol));
                    joined.as_str()
                }
                None => cell(cols.time),
            };
            let row = Row {
                line,
                symbol: cols.symbol.map(cell),
                time,
                o: cell(cols.open),
                h: cell(cols.high),
                l: cell(cols.low),
                c: cell(cols.close),
                v: cols.volume.map(cell),
            };
            self.push(row, tz, stamp)?;
        }
        Ok(())
    }

    fn ndjson(&mut self, text: &str) -> Result<(), FileError> {
        let stamp = self.opts.stamp.unwrap_or(Stamp::Start);
        for (i, raw) in text.lines().enumerate() {
            let line = i as u64 + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let bar: NdjsonBar =
                serde_json::from_str(raw).map_err(|e| self.err(line, e.to_string()))?;
            if let Some(tf) = bar.tf.as_deref() {
                if tf != "1m" {
                    return Err(self.err(
                        line,
                        format!("timeframe {tf:?}: the file source reads 1m bars"),
                    ));
                }
            }
            let candle = Candle {
                t: bar.t,
                o: bar.o,
                h: bar.h,
                l: bar.l,
                c: bar.c,
                v: bar.v,
            };
            let symbol = self.symbol_for(bar.symbol.as_deref(), line)?;
            self.accept(symbol, candle, stamp, line)?;
        }
        Ok(())
    }

    fn symbol_for(&self, from_file: Option<&str>, line: u64) -> Result<String, FileError> {
        match (from_file.filter(|s| !s.is_empty()), &self.opts.symbol) {
            (Some(s), _) => Ok(s.to_string()),
            (None, Some(s)) => Ok(s.clone()),
            (None, None) => Err(self.err(line, "the file names no symbol: pass --symbol")),
        }
    }

    fn push(&mut self, row: Row<'_>, tz: Tz, stamp: Stamp) -> Result<(), FileError> {
        let line = row.line;
        let symbol = self.symbol_for(row.symbol, line)?;
        let price = |name: &str, s: &str| {
            f64::from_str(s).map_err(|_| self.err(line, format!("{name} {s:?} is not a number")))
        };
        let (o, h, l, c) = (
            price("open", row.o)?,
            price("high", row.h)?,
            price("low", row.l)?,
            price("close", row.c)?,
        );
        let v = match row.v {
            Some(s) => parse_volume(s)
                .ok_or_else(|| self.err(line, format!("volume {s:?} is not a whole number")))?,
            None => 0,
        };
        let prev = self.out.get(&symbol).and_then(|b| b.last()).map(|b| b.t);
        let t = match parse_file_time(row.time) {
            Some(FileTime::Absolute(t)) => t,
            Some(FileTime::Naive(n)) => {
                // Compare in stamp space: `prev` is a bucket start.
                let prev_stamp = prev.map(|p| {
                    if stamp == Stamp::End {
                        p + MINUTE_MS
                    } else {
                        p
                    }
                });
                resolve_local(n, tz, prev_stamp).map_err(|e| self.err(line, e.to_string()))?
            }
            None => return Err(self.err(line, format!("time {:?} is not a date-time", row.time))),
        };
        self.accept(symbol, Candle { t, o, h, l, c, v }, stamp, line)
    }

    fn accept(
        &mut self,
        symbol: String,
        mut candle: Candle,
        stamp: Stamp,
        line: u64,
    ) -> Result<(), FileError> {
        if stamp == Stamp::End {
            candle.t -= MINUTE_MS;
        }
        candle.check().map_err(|e| self.err(line, e.to_string()))?;
        let bars = self.out.entry(symbol).or_default();
        if let Some(prev) = bars.last() {
            if candle.t <= prev.t {
                let message = format!(
                    "bar at {} is not after the previous bar at {} (rows must be in time order, one per minute)",
                    format_ms(candle.t),
                    format_ms(prev.t)
                );
                return Err(self.err(line, message));
            }
        }
        debug_assert_eq!(Timeframe::M1.bucket_start(candle.t), candle.t);
        bars.push(candle);
        Ok(())
    }
}

fn parse_volume(s: &str) -> Option<u64> {
    if s.is_empty() {
        return Some(0);
    }
    s.parse::<u64>().ok().or_else(|| {
        let f = s.parse::<f64>().ok()?;
        (f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64).then_some(f as u64)
    })
}

#[derive(Deserialize)]
struct NdjsonBar {
    symbol: Option<String>,
    tf: Option<String>,
    t: i64,
    o: f64,
    h: f64,
    l: f64,
    c: f64,
    #[serde(default)]
    v: u64,
}

/// Where each field sits in a CSV header.
struct Columns {
    time: usize,
    time_of_day: Option<usize>,
    open: usize,
    high: usize,
    low: usize,
    close: usize,
    volume: Option<usize>,
    symbol: Option<usize>,
}

impl Columns {
    fn find(headers: &csv::StringRecord) -> Result<Columns, String> {
        let names: Vec<String> = headers
            .iter()
            .map(|h| {
                h.trim_start_matches('\u{feff}')
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase()
            })
            .collect();
        let find =
            |candidates: &[&str]| names.iter().position(|n| candidates.contains(&n.as_str()));
        let date = find(&["date", "day"]);
        let time = find(&["time"]);
        let stamp = find(&[
            "datetime",
            "timestamp",
            "t",
            "ts",
            "dateutc",
            "datetimeutc",
            "timeutc",
        ]);
        let (time, time_of_day) = match (stamp, date, time) {
            (Some(s), _, _) => (Some(s), None),
            (None, Some(d), Some(t)) => (Some(d), Some(t)),
            (None, Some(d), None) => (Some(d), None),
            (None, None, t) => (t, None),
        };
        let open = find(&["open", "o"]);
        let high = find(&["high", "h"]);
        let low = find(&["low", "l"]);
        let close = find(&["close", "c", "last"]);
        let missing: Vec<&str> = [
            ("date/time", time),
            ("open", open),
            ("high", high),
            ("low", low),
            ("close", close),
        ]
        .into_iter()
        .filter_map(|(name, col)| col.is_none().then_some(name))
        .collect();
        if !missing.is_empty() {
            return Err(format!(
                "header {:?} has no {} column (looked for columns by name, in any order)",
                headers.iter().collect::<Vec<_>>().join(","),
                missing.join(", ")
            ));
        }
        Ok(Columns {
            time: time.expect("checked"),
            time_of_day,
            open: open.expect("checked"),
            high: high.expect("checked"),
            low: low.expect("checked"),
            close: close.expect("checked"),
            volume: find(&["volume", "vol", "v"]),
            symbol: find(&["symbol", "ticker", "sym"]),
        })
    }
}

#[cfg(test)]
mod tests;
