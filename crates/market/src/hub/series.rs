//! One symbol's bars: the stored 1m history, the forming minute, and the open
//! bucket of every higher timeframe.

use std::sync::Arc;

use super::PublishError;
use crate::rollup::{rollup, start_of_last_buckets};
use spotlight_wire::bar::Candle;
use spotlight_wire::timeframe::{Timeframe, MINUTE_MS};

/// What one 1m event means for one timeframe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Emit {
    /// A bar this event closed without it having been sent final (a gap
    /// skipped the rest of its bucket): sent as final just before `bar`.
    pub closed: Option<Candle>,
    /// The timeframe's bar after the event.
    pub bar: Candle,
    /// Whether `bar` is closed by this event.
    pub is_final: bool,
}

/// The open bucket of a higher timeframe.
#[derive(Debug, Clone, Copy)]
struct OpenBucket {
    t: i64,
    /// Rollup of the bucket's final 1m bars so far.
    finals: Option<Candle>,
    /// The bucket's final bar has been sent.
    closed: bool,
}

/// A symbol's state in the hub.
#[derive(Debug)]
pub struct Series {
    /// The ticker.
    pub name: Arc<str>,
    finals: Vec<Candle>,
    forming: Option<Candle>,
    open: [Option<OpenBucket>; Timeframe::COUNT],
    retain: usize,
}

impl Series {
    /// An empty series keeping at most `retain` final 1m bars.
    pub fn new(name: Arc<str>, retain: usize) -> Series {
        Series {
            name,
            finals: Vec::new(),
            forming: None,
            open: [None; Timeframe::COUNT],
            retain: retain.max(1),
        }
    }

    /// Replaces the history with `candles` (sorted final 1m bars), as a
    /// backfill or a recorded file does, without events.
    pub fn load(&mut self, candles: Vec<Candle>) {
        self.finals = candles;
        self.forming = None;
        self.trim();
        self.open = [None; Timeframe::COUNT];
        if let Some(last) = self.finals.last().copied() {
            for tf in &Timeframe::ALL[1..] {
                let t = tf.bucket_start(last.t);
                let first = self.finals.partition_point(|c| c.t < t);
                self.open[tf.index()] = Some(OpenBucket {
                    t,
                    finals: rollup(&self.finals[first..], *tf).first().copied(),
                    closed: last.t + MINUTE_MS == tf.bucket_end(last.t),
                });
            }
        }
    }

    /// A series as saved: its final bars, then its forming one.
    pub fn restore(
        name: Arc<str>,
        retain: usize,
        finals: Vec<Candle>,
        forming: Option<Candle>,
    ) -> Series {
        let mut s = Series::new(name, retain);
        s.load(finals);
        s.forming = forming;
        s
    }

    /// The forming 1m bar, if a minute is in progress.
    pub fn forming(&self) -> Option<Candle> {
        self.forming
    }

    /// Whether a 1m bar at `t` may still be published: not before the
    /// forming minute, and after the newest final minute.
    pub fn check_order(&self, t: i64) -> Result<(), PublishError> {
        let latest = self
            .forming
            .map(|f| f.t)
            .or(self.finals.last().map(|c| c.t + 1));
        match latest {
            Some(latest) if t < latest => Err(PublishError::Stale {
                symbol: self.name.to_string(),
                t,
                latest: self
                    .forming
                    .map(|f| f.t)
                    .or(self.finals.last().map(|c| c.t))
                    .unwrap_or(t),
            }),
            _ => Ok(()),
        }
    }

    /// Applies a 1m bar (checked with [`Series::check_order`]) and returns
    /// what it means for every timeframe, in [`Timeframe::ALL`] order.
    pub fn apply(&mut self, m: Candle, is_final: bool) -> [Emit; Timeframe::COUNT] {
        let closed_minute = match self.forming {
            Some(f) if f.t < m.t => {
                self.push_final(f);
                Some(f)
            }
            _ => None,
        };
        if is_final {
            self.push_final(m);
            self.forming = None;
        } else {
            self.forming = Some(m);
        }
        let mut out = [Emit {
            closed: closed_minute,
            bar: m,
            is_final,
        }; Timeframe::COUNT];
        for tf in &Timeframe::ALL[1..] {
            out[tf.index()] = self.apply_higher(*tf, m, is_final, closed_minute);
        }
        out
    }

    fn apply_higher(
        &mut self,
        tf: Timeframe,
        m: Candle,
        is_final: bool,
        closed_minute: Option<Candle>,
    ) -> Emit {
        let slot = &mut self.open[tf.index()];
        if let (Some(c), Some(open)) = (closed_minute, slot.as_mut()) {
            if open.t == tf.bucket_start(c.t) {
                fold(&mut open.finals, c);
            }
        }
        let bucket = tf.bucket_start(m.t);
        let mut closed = None;
        if let Some(open) = *slot {
            if open.t != bucket {
                if !open.closed {
                    closed = open.finals;
                }
                *slot = None;
            }
        }
        let open = slot.get_or_insert(OpenBucket {
            t: bucket,
            finals: None,
            closed: false,
        });
        let mut bar = open.finals.unwrap_or(Candle { t: bucket, ..m });
        if open.finals.is_some() {
            bar.merge(&m);
        }
        let bar_final = is_final && m.t + MINUTE_MS == tf.bucket_end(m.t);
        if is_final {
            open.finals = Some(bar);
        }
        open.closed = bar_final;
        Emit {
            closed,
            bar,
            is_final: bar_final,
        }
    }

    fn push_final(&mut self, c: Candle) {
        self.finals.push(c);
        if self.finals.len() > self.retain + self.retain / 8 {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.finals.len() > self.retain {
            let excess = self.finals.len() - self.retain;
            self.finals.drain(..excess);
        }
    }

    /// The final 1m bars held, oldest first.
    pub fn finals(&self) -> &[Candle] {
        &self.finals
    }

    /// The newest 1m bar (forming, else the last final one).
    pub fn last(&self) -> Option<Candle> {
        self.forming.or(self.finals.last().copied())
    }

    /// Whether the series holds any bar.
    pub fn has_data(&self) -> bool {
        self.last().is_some()
    }

    /// The close this symbol's change is measured from: the last close
    /// before the newest bar's New York session date, else that date's open.
    pub fn reference(&self) -> Option<f64> {
        let last = self.last()?;
        let day = Timeframe::D1.bucket_start(last.t);
        let i = self.finals.partition_point(|c| c.t < day);
        match i.checked_sub(1) {
            Some(prev) => Some(self.finals[prev].c),
            None => Some(self.finals.get(i).copied().unwrap_or(last).o),
        }
    }

    /// The newest `limit` bars of `tf` whose bucket starts before `before`,
    /// oldest first, each with whether it is closed.
    pub fn history(&self, tf: Timeframe, before: Option<i64>, limit: usize) -> Vec<(Candle, bool)> {
        let before = before.unwrap_or(i64::MAX);
        let in_range = |c: &Candle| tf.bucket_start(c.t) < before;
        let end = self.finals.partition_point(in_range);
        let start = start_of_last_buckets(&self.finals, end, tf, limit);
        let mut bars = rollup(&self.finals[start..end], tf);
        if let Some(f) = self.forming.filter(in_range) {
            let bucket = tf.bucket_start(f.t);
            match bars.last_mut() {
                Some(last) if last.t == bucket => last.merge(&f),
                _ => bars.push(Candle { t: bucket, ..f }),
            }
        }
        if bars.len() > limit {
            bars.drain(..bars.len() - limit);
        }
        let frontier = match (self.forming, self.finals.last()) {
            (Some(f), _) => f.t,
            (None, Some(l)) => l.t + MINUTE_MS,
            (None, None) => i64::MIN,
        };
        bars.into_iter()
            .map(|b| (b, tf.bucket_end(b.t) <= frontier))
            .collect()
    }
}

fn fold(acc: &mut Option<Candle>, c: Candle) {
    match acc {
        Some(a) => a.merge(&c),
        None => *acc = Some(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_294_065_000_000; // 2011-01-03T14:30:00Z

    fn candle(t: i64, c: f64) -> Candle {
        Candle {
            t,
            o: c,
            h: c + 1.0,
            l: c - 1.0,
            c,
            v: 10,
        }
    }

    fn series() -> Series {
        Series::new("SPY".into(), 1000)
    }

    #[test]
    fn the_last_minute_of_a_bucket_closes_it_once() {
        let mut s = series();
        let mut finals = Vec::new();
        for i in 0..5 {
            let t = T + i * MINUTE_MS;
            let partial = s.apply(candle(t, 100.0 + i as f64), false);
            assert!(!partial[Timeframe::M5.index()].is_final);
            let emits = s.apply(candle(t, 100.5 + i as f64), true);
            finals.push(candle(t, 100.5 + i as f64));
            let m5 = emits[Timeframe::M5.index()];
            assert_eq!(m5.is_final, i == 4);
            assert!(m5.closed.is_none());
        }
        let m5 = s.history(Timeframe::M5, None, 10);
        assert_eq!(m5, vec![(rollup(&finals, Timeframe::M5)[0], true)]);
    }

    #[test]
    fn a_gap_closes_the_open_bucket_with_the_next_event() {
        let mut s = series();
        s.apply(candle(T, 100.0), true);
        s.apply(candle(T + MINUTE_MS, 101.0), false);
        // Nothing more in this 5m bucket: the next bar is two buckets later.
        let emits = s.apply(candle(T + 10 * MINUTE_MS, 102.0), false);
        let m1 = emits[Timeframe::M1.index()];
        assert_eq!(m1.closed, Some(candle(T + MINUTE_MS, 101.0)));
        let m5 = emits[Timeframe::M5.index()];
        let closed = m5.closed.expect("the 14:30 bucket closes");
        assert_eq!((closed.t, closed.o, closed.c), (T, 100.0, 101.0));
        assert_eq!(m5.bar.t, T + 10 * MINUTE_MS);
        let hist = s.history(Timeframe::M5, None, 10);
        assert_eq!(hist.len(), 2);
        assert!(hist[0].1 && !hist[1].1);
    }

    #[test]
    fn load_continues_the_open_buckets() {
        let mut s = series();
        s.load(vec![candle(T, 100.0), candle(T + MINUTE_MS, 101.0)]);
        let emits = s.apply(candle(T + 2 * MINUTE_MS, 102.0), false);
        let m5 = emits[Timeframe::M5.index()].bar;
        assert_eq!((m5.t, m5.o, m5.c, m5.v), (T, 100.0, 102.0, 30));
    }

    #[test]
    fn order_is_enforced() {
        let mut s = series();
        s.apply(candle(T, 100.0), true);
        assert!(s.check_order(T).is_err());
        assert!(s.check_order(T + MINUTE_MS).is_ok());
        s.apply(candle(T + MINUTE_MS, 100.0), false);
        assert!(s.check_order(T + MINUTE_MS).is_ok());
        assert!(s.check_order(T).is_err());
    }

    #[test]
    fn history_honours_before_limit_and_forming() {
        let mut s = series();
        s.load((0..30).map(|i| candle(T + i * MINUTE_MS, 100.0)).collect());
        s.apply(candle(T + 30 * MINUTE_MS, 100.0), false);
        let all = s.history(Timeframe::M5, None, 100);
        assert_eq!(all.len(), 7);
        assert!(all[..6].iter().all(|(_, f)| *f) && !all[6].1);
        let two = s.history(Timeframe::M5, Some(T + 10 * MINUTE_MS), 2);
        assert_eq!(
            two.iter().map(|(c, _)| c.t).collect::<Vec<_>>(),
            vec![T, T + 5 * MINUTE_MS]
        );
        assert_eq!(s.history(Timeframe::M1, None, 3).len(), 3);
    }

    #[test]
    fn retention_drops_the_oldest_bars() {
        let mut s = Series::new("X".into(), 8);
        for i in 0..20 {
            s.apply(candle(T + i * MINUTE_MS, 1.0), true);
        }
        let kept = s.history(Timeframe::M1, None, 100);
        assert!(kept.len() <= 9 && kept.len() >= 8);
        assert_eq!(kept.last().unwrap().0.t, T + 19 * MINUTE_MS);
    }
}
