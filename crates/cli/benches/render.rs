//! Render time of the watch screen: 160×48, 500 candles, into a test
//! backend (the terminal's own output cost is not included).
//! Run: `cargo bench --bench render`.

use std::time::Instant;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use spotlight_cli::tui::state::{Conn, State};
use spotlight_cli::tui::view::draw;
use spotlight_market::{Candle, Timeframe};

fn main() {
    let mut s = State::new("SPY", Timeframe::M1, (160, 48));
    let mut price = 450.0;
    for i in 0..500i64 {
        let step = ((i * 37) % 11) as f64 / 10.0 - 0.5;
        let (o, c) = (price, price + step);
        s.candles.push(Candle {
            t: 1_294_065_000_000 + i * 60_000,
            o,
            h: o.max(c) + 0.2,
            l: o.min(c) - 0.2,
            c,
            v: 1000 + (i as u64 * 53) % 9000,
        });
        price = c;
    }
    s.conn = Conn::Live;
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let frames = 5_000u32;
    for _ in 0..200 {
        terminal.draw(|f| draw(&s, f, 0)).unwrap();
    }
    let start = Instant::now();
    for i in 0..frames {
        // A new forming price each frame, as live updates do.
        if let Some(last) = s.candles.last_mut() {
            last.c = last.o + f64::from(i % 7) / 10.0;
            last.h = last.h.max(last.c);
        }
        terminal.draw(|f| draw(&s, f, 0)).unwrap();
    }
    let per_frame = start.elapsed() / frames;
    println!("render 160x48, 500 candles: {per_frame:?} per frame ({frames} frames)");
}
