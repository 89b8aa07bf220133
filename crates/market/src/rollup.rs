//! Rolling 1m candles up into higher timeframes.
//!
//! The result equals pandas `resample(tf).agg(first, max, min, last, sum)` on
//! the same 1m bars, minus the empty buckets pandas would fill with NaN: a gap
//! stays a gap.

use super::bar::Candle;
use super::timeframe::Timeframe;

/// Rolls sorted 1m candles up into `tf` buckets, oldest first.
pub fn rollup(minutes: &[Candle], tf: Timeframe) -> Vec<Candle> {
    let mut out: Vec<Candle> = Vec::new();
    for m in minutes {
        let start = tf.bucket_start(m.t);
        match out.last_mut() {
            Some(last) if last.t == start => last.merge(m),
            _ => out.push(Candle { t: start, ..*m }),
        }
    }
    out
}

/// Index in `minutes` (sorted) where the newest `limit` buckets of `tf` begin,
/// considering only `minutes[..end]`.
pub fn start_of_last_buckets(minutes: &[Candle], end: usize, tf: Timeframe, limit: usize) -> usize {
    let mut buckets = 0;
    let mut current = None;
    for i in (0..end).rev() {
        let b = tf.bucket_start(minutes[i].t);
        if current != Some(b) {
            if buckets == limit {
                return i + 1;
            }
            buckets += 1;
            current = Some(b);
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use spotlight_wire::timeframe::MINUTE_MS;
    use std::collections::BTreeMap;

    /// The naive definition: group by bucket, then first/max/min/last/sum.
    fn naive(minutes: &[Candle], tf: Timeframe) -> Vec<Candle> {
        let mut groups: BTreeMap<i64, Vec<Candle>> = BTreeMap::new();
        for m in minutes {
            groups.entry(tf.bucket_start(m.t)).or_default().push(*m);
        }
        groups
            .into_iter()
            .map(|(t, g)| Candle {
                t,
                o: g[0].o,
                h: g.iter().map(|c| c.h).fold(f64::MIN, f64::max),
                l: g.iter().map(|c| c.l).fold(f64::MAX, f64::min),
                c: g[g.len() - 1].c,
                v: g.iter().map(|c| c.v).sum(),
            })
            .collect()
    }

    fn minutes() -> impl Strategy<Value = Vec<Candle>> {
        // Sorted, unique minutes with gaps, spanning up to ~3 days, from a
        // start near a DST change so 1d buckets get exercised.
        prop::collection::vec(
            (
                1i64..400,
                1.0f64..500.0,
                0.0f64..5.0,
                0.0f64..5.0,
                0u64..10_000,
            ),
            1..400,
        )
        .prop_map(|rows| {
            let mut t = 1_299_970_800_000; // 2011-03-12T23:00:00Z
            rows.into_iter()
                .map(|(step, o, up, down, v)| {
                    t += step * MINUTE_MS;
                    let c = (o + up - down).max(0.01);
                    Candle {
                        t,
                        o,
                        h: o.max(c) + up,
                        l: (o.min(c) - down).max(0.001),
                        c,
                        v,
                    }
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn rollup_equals_naive_aggregation(ms in minutes()) {
            for tf in Timeframe::ALL {
                prop_assert_eq!(rollup(&ms, tf), naive(&ms, tf));
            }
        }

        #[test]
        fn last_buckets_start_where_the_rollup_says(ms in minutes(), limit in 1usize..50) {
            for tf in Timeframe::ALL {
                let all = rollup(&ms, tf);
                let start = start_of_last_buckets(&ms, ms.len(), tf, limit);
                let tail = rollup(&ms[start..], tf);
                let want = &all[all.len().saturating_sub(limit)..];
                prop_assert_eq!(tail.as_slice(), want);
            }
        }
    }
}
