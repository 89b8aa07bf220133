//! Save and load of a full default ring (100,000 events, 3 symbols, two
//! days of sim history each) through `--state-dir`'s file, including the
//! fsync: snapshot + write, then read + check + rebuild the hub.
//! Run: `cargo bench --bench state` (prints medians of 5 runs and the range).

use std::time::Instant;

use spotlight_market::state_file;
use spotlight_market::{Candle, Hub, HubConfig};

fn main() {
    let hub = Hub::new(HubConfig::default());
    let symbols = ["SPY", "QQQ", "IWM"];
    let t0 = 1_700_000_000_000 - 1_700_000_000_000 % 60_000;
    // Two days of finals each, then in-progress updates until the ring is full.
    for (k, s) in symbols.iter().enumerate() {
        let history: Vec<Candle> = (0..2880)
            .map(|i| candle(t0 + i * 60_000, 100.0 + k as f64))
            .collect();
        hub.load(s, history).unwrap();
    }
    let mut minute = 2880;
    let mut events = 0;
    while events < 100_000 {
        for (k, s) in symbols.iter().enumerate() {
            for tick in 0..10 {
                let mut c = candle(t0 + minute * 60_000, 100.0 + k as f64);
                c.c += f64::from(tick) / 100.0;
                hub.publish(s, c, tick == 9).unwrap();
                events += 1;
            }
        }
        minute += 1;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut saves = Vec::new();
    let mut loads = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let snapshot = hub.snapshot("bench", 0).unwrap();
        size = state_file::save(dir.path(), &snapshot).unwrap();
        saves.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let loaded = state_file::load(dir.path(), "bench").unwrap();
        let restored = Hub::restore(HubConfig::default(), loaded).unwrap();
        loads.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(restored.ring_bounds(), hub.ring_bounds());
    }
    let (low, head) = hub.ring_bounds();
    println!(
        "state of {} events (seq {low}…{head}), {:.1} MiB on disk",
        head + 1 - low,
        size as f64 / (1 << 20) as f64
    );
    println!("save (snapshot + write + fsync): {}", summary(&mut saves));
    println!("load (read + check + rebuild):   {}", summary(&mut loads));
}

fn candle(t: i64, price: f64) -> Candle {
    Candle {
        t,
        o: price,
        h: price + 1.0,
        l: price - 1.0,
        c: price,
        v: 100,
    }
}

fn summary(ms: &mut [f64]) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "median {:.0} ms (range {:.0}–{:.0}, {} runs)",
        ms[ms.len() / 2],
        ms[0],
        ms[ms.len() - 1],
        ms.len()
    )
}
