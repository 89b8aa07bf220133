//! Our candlestick widget: one column per candle, two price levels per cell
//! (half-cell resolution from `┃ ╻ ╹ │ ╷ ╵ ╽ ╿`), bodies from open to close,
//! wicks to high and low, green up and red down. Plus the axis helpers.

use chrono::{DateTime, Utc};
use chrono_tz::America::New_York;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::Widget;

use spotlight_market::{Candle, Timeframe};

/// Candles drawn into an area, priced between `low` and `high`.
pub struct Candles<'a> {
    /// The candles, one per column, oldest left.
    pub candles: &'a [Candle],
    /// Price at the bottom edge.
    pub low: f64,
    /// Price at the top edge.
    pub high: f64,
}

/// What half a cell shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Half {
    Empty,
    Wick,
    Body,
}

fn glyph(upper: Half, lower: Half) -> char {
    match (upper, lower) {
        (Half::Body, Half::Body) => '┃',
        (Half::Body, Half::Empty) => '╹',
        (Half::Empty, Half::Body) => '╻',
        (Half::Wick, Half::Wick) => '│',
        (Half::Wick, Half::Empty) => '╵',
        (Half::Empty, Half::Wick) => '╷',
        (Half::Body, Half::Wick) => '╿',
        (Half::Wick, Half::Body) => '╽',
        (Half::Empty, Half::Empty) => ' ',
    }
}

impl Widget for Candles<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.height == 0 || self.high <= self.low {
            return;
        }
        let halves = f64::from(area.height) * 2.0;
        let per_half = (self.high - self.low) / halves;
        for (x, c) in (area.left()..area.right()).zip(self.candles) {
            let color = if c.c >= c.o { Color::Green } else { Color::Red };
            let (body_lo, body_hi) = (c.o.min(c.c), c.o.max(c.c));
            // A doji still shows its body in the half holding its price.
            let body_hi = body_hi.max(body_lo + per_half * 1e-6);
            let half_at = |k: f64| {
                let (lo, hi) = (self.low + per_half * k, self.low + per_half * (k + 1.0));
                if body_lo < hi && body_hi > lo {
                    Half::Body
                } else if c.l < hi && c.h > lo {
                    Half::Wick
                } else {
                    Half::Empty
                }
            };
            for row in 0..area.height {
                // Half index counted from the bottom.
                let k = f64::from(area.height - 1 - row) * 2.0;
                let ch = glyph(half_at(k + 1.0), half_at(k));
                if ch != ' ' {
                    buf[(x, area.top() + row)]
                        .set_char(ch)
                        .set_style(Style::default().fg(color));
                }
            }
        }
    }
}

/// A round step for about `target` labels across `span` (1, 2 or 5 × 10ⁿ).
pub fn nice_step(span: f64, target: usize) -> f64 {
    if span <= 0.0 || target == 0 {
        return 1.0;
    }
    let raw = span / target as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let scaled = raw / magnitude;
    let nice = if scaled <= 1.0 {
        1.0
    } else if scaled <= 2.0 {
        2.0
    } else if scaled <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Round-number price labels between `low` and `high`, about `target` of them.
pub fn price_ticks(low: f64, high: f64, target: usize) -> Vec<f64> {
    let step = nice_step(high - low, target);
    let mut v = (low / step).ceil() * step;
    let mut out = Vec::new();
    while v <= high + step * 1e-9 {
        out.push((v / step).round() * step);
        v += step;
    }
    out
}

/// A price label with as many decimals as the step needs.
pub fn price_label(price: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    format!("{price:.decimals$}")
}

/// A time label fitting the timeframe, in New York time: `HH:MM` intraday,
/// `MM-DD` daily; the first bar of a new day shows its date.
pub fn time_label(t: i64, tf: Timeframe, new_day: bool) -> String {
    let local = DateTime::<Utc>::from_timestamp_millis(t)
        .unwrap_or_default()
        .with_timezone(&New_York);
    match tf {
        Timeframe::D1 => local.format("%m-%d").to_string(),
        _ if new_day => local.format("%m-%d").to_string(),
        _ => local.format("%H:%M").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_ticks_are_round() {
        assert_eq!(nice_step(10.0, 5), 2.0);
        assert_eq!(nice_step(0.9, 4), 0.5);
        assert_eq!(nice_step(130.0, 4), 50.0);
        assert_eq!(price_ticks(99.3, 101.2, 4), vec![99.5, 100.0, 100.5, 101.0]);
        assert_eq!(price_label(100.5, 0.5), "100.5");
        assert_eq!(price_label(450.0, 50.0), "450");
        assert_eq!(price_label(12.25, 0.05), "12.25");
    }

    #[test]
    fn time_labels_fit_the_timeframe() {
        let t = 1_294_065_000_000; // 2011-01-03T14:30:00Z = 09:30 New York
        assert_eq!(time_label(t, Timeframe::M1, false), "09:30");
        assert_eq!(time_label(t, Timeframe::M5, true), "01-03");
        assert_eq!(time_label(t, Timeframe::D1, false), "01-03");
    }

    #[test]
    fn half_cells_draw_body_and_wicks() {
        let c = Candle {
            t: 0,
            o: 2.0,
            h: 4.0,
            l: 0.0,
            c: 3.0,
            v: 1,
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 1, 2));
        Candles {
            candles: &[c],
            low: 0.0,
            high: 4.0,
        }
        .render(Rect::new(0, 0, 1, 2), &mut buf);
        // Top cell: wick 3..4 above body 2..3; bottom cell: wick 0..2.
        assert_eq!(buf[(0, 0)].symbol(), "╽");
        assert_eq!(buf[(0, 1)].symbol(), "│");
    }
}
