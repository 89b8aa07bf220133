//! Draws the watch screen from a [`State`]: header, candlestick chart with a
//! price axis, volume, time axis, footer, and the help overlay.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;
use spotlight_wire::ReplayState;

use super::chart::{nice_step, price_label, price_ticks, time_label, Candles};
use super::state::{Conn, State};
use spotlight_market::{Candle, Timeframe};

/// Smallest usable terminal.
pub const MIN_SIZE: (u16, u16) = (40, 10);
/// Width of the price axis.
const AXIS: u16 = 10;

/// Draws everything; `now_ms` is the wall time for ages and countdowns.
pub fn draw(s: &State, f: &mut Frame, now_ms: i64) {
    let area = f.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let msg = format!(
            "terminal too small: {}×{} (need {}×{})",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        f.render_widget(Paragraph::new(msg), area);
        return;
    }
    let volume_rows = (area.height / 6).max(2);
    let [header, chart, volume, times, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(volume_rows),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(header_line(s, now_ms)), header);
    let plot_width = chart.width.saturating_sub(AXIS);
    let visible = visible(s.shown(), s.scroll, plot_width as usize);
    if visible.is_empty() {
        let waiting =
            Paragraph::new("waiting for bars…").style(Style::default().fg(Color::DarkGray));
        f.render_widget(waiting, chart);
    } else {
        draw_chart(f, chart, visible);
        draw_volume(
            f,
            Rect {
                width: plot_width,
                ..volume
            },
            visible,
        );
        draw_times(
            f,
            Rect {
                width: plot_width,
                ..times
            },
            visible,
            s.timeframe,
        );
    }
    f.render_widget(Paragraph::new(footer_line(s, now_ms)), footer);
    if s.help {
        draw_help(f, area);
    }
}

/// The candles that fit `width` columns, `scroll` back from the newest.
pub fn visible(candles: &[Candle], scroll: usize, width: usize) -> &[Candle] {
    let end = candles.len().saturating_sub(scroll);
    &candles[end.saturating_sub(width)..end]
}

fn header_line(s: &State, now_ms: i64) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!(" {} ", s.symbol),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    if let Some((last, change, pct)) = s.last_and_change() {
        let color = if change >= 0.0 {
            Color::Green
        } else {
            Color::Red
        };
        spans.push(Span::raw(format!(" {last:.2} ")));
        spans.push(Span::styled(
            format!("{change:+.2} ({pct:+.2}%)"),
            Style::default().fg(color),
        ));
    }
    spans.push(Span::raw(format!("  {}", s.timeframe)));
    let source = match (s.replay, s.source.as_deref()) {
        (Some((ReplayState::Paused, speed)), _) => format!("  replay ×{speed} paused"),
        (Some((ReplayState::Finished, _)), _) => "  replay finished".to_string(),
        (Some((_, speed)), _) => format!("  replay ×{speed}"),
        (None, Some(src)) => format!("  {src}"),
        (None, None) => String::new(),
    };
    spans.push(Span::raw(source));
    let (conn, color) = match &s.conn {
        Conn::Connecting => ("connecting".to_string(), Color::Yellow),
        Conn::Live => ("live".to_string(), Color::Green),
        Conn::Reconnecting { attempt, at_ms } => {
            let secs = ((at_ms - now_ms).max(0) as f64 / 1000.0).ceil();
            (
                format!("reconnecting in {secs}s (#{attempt})"),
                Color::Yellow,
            )
        }
        Conn::Reset => ("reset".to_string(), Color::Magenta),
        Conn::Down(reason) => (format!("down: {reason}"), Color::Red),
    };
    spans.push(Span::styled(
        format!("  ● {conn}"),
        Style::default().fg(color),
    ));
    if s.frozen.is_some() {
        spans.push(Span::styled("  [paused]", Style::default().fg(Color::Cyan)));
    }
    if s.scroll > 0 {
        spans.push(Span::styled(
            format!("  [-{} bars]", s.scroll),
            Style::default().fg(Color::Cyan),
        ));
    }
    if let Some(epoch) = &s.epoch {
        spans.push(Span::styled(
            format!("  epoch {epoch}"),
            Style::default().fg(Color::DarkGray),
        ));
    }
    Line::from(spans)
}

fn footer_line(s: &State, now_ms: i64) -> Line<'static> {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let heartbeat = s
        .last_event_ms
        .map(|t| format!("{}s", (now_ms - t).max(0) / 1000));
    let stats = format!(
        " {:.1} ev/s  seq {}  lat {}  hb {}  reconn {}  resets {}  confl {} ",
        s.events_per_second(now_ms),
        opt(s.last_seq.map(|q| q.to_string())),
        opt(s.latency_ms.map(|l| format!("{l}ms"))),
        opt(heartbeat),
        s.reconnects,
        s.resets,
        s.conflated
    );
    Line::from(vec![
        Span::raw(stats),
        Span::styled(
            "│ q quit  1 5 f h d tf  ←→ End  p pause  ? help",
            Style::default().fg(Color::DarkGray),
        ),
    ])
}

fn price_range(candles: &[Candle]) -> (f64, f64) {
    let low = candles.iter().map(|c| c.l).fold(f64::MAX, f64::min);
    let high = candles.iter().map(|c| c.h).fold(f64::MIN, f64::max);
    let pad = ((high - low) * 0.05).max(high.abs() * 0.0005).max(0.01);
    (low - pad, high + pad)
}

fn draw_chart(f: &mut Frame, area: Rect, candles: &[Candle]) {
    let (low, high) = price_range(candles);
    let plot = Rect {
        width: area.width.saturating_sub(AXIS),
        ..area
    };
    f.render_widget(Candles { candles, low, high }, plot);
    let axis_x = plot.right();
    let target = (area.height / 3).max(2) as usize;
    let step = nice_step(high - low, target);
    let rows = f64::from(area.height.saturating_sub(1));
    let buf = f.buffer_mut();
    for row in area.top()..area.bottom() {
        buf[(axis_x, row)]
            .set_char('┤')
            .set_style(Style::default().fg(Color::DarkGray));
    }
    for p in price_ticks(low, high, target) {
        let row = area.top() + ((high - p) / (high - low) * rows).round() as u16;
        if row < area.bottom() {
            let label = price_label(p, step);
            buf.set_string(axis_x + 1, row, &label, Style::default().fg(Color::Gray));
        }
    }
}

fn draw_volume(f: &mut Frame, area: Rect, candles: &[Candle]) {
    const PARTS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = candles.iter().map(|c| c.v).max().unwrap_or(0).max(1) as f64;
    let buf = f.buffer_mut();
    for (x, c) in (area.left()..area.right()).zip(candles) {
        let color = if c.c >= c.o { Color::Green } else { Color::Red };
        let mut eighths = (c.v as f64 / max * f64::from(area.height) * 8.0).round() as u16;
        if c.v > 0 {
            eighths = eighths.max(1);
        }
        for row in (area.top()..area.bottom()).rev() {
            let here = eighths.min(8);
            if here > 0 {
                buf[(x, row)]
                    .set_char(PARTS[here as usize - 1])
                    .set_style(Style::default().fg(color).add_modifier(Modifier::DIM));
            }
            eighths -= here;
        }
    }
}

fn draw_times(f: &mut Frame, area: Rect, candles: &[Candle], tf: Timeframe) {
    let buf = f.buffer_mut();
    let every = if tf == Timeframe::D1 { 10 } else { 12 };
    let mut next_free = area.left();
    for (i, c) in candles.iter().enumerate() {
        let x = area.left() + i as u16;
        let new_day = i > 0
            && Timeframe::D1.bucket_start(c.t) != Timeframe::D1.bucket_start(candles[i - 1].t);
        if (i % every == 0 || new_day) && x >= next_free {
            let label = time_label(c.t, tf, new_day);
            if x + label.len() as u16 <= area.right() {
                buf.set_string(x, area.top(), &label, Style::default().fg(Color::Gray));
                next_free = x + label.len() as u16 + 1;
            }
        }
    }
}

fn draw_help(f: &mut Frame, area: Rect) {
    let lines = [
        "q, Ctrl-C   quit",
        "1 5 f h d   timeframe 1m 5m 15m 1h 1d",
        "← →         scroll back / forward",
        "End         back to live",
        "p           freeze the view (data keeps flowing)",
        "r / s       start / stop a replay of the symbol",
        "+ / -       replay faster / slower",
        "?           this help",
    ];
    let width = 50.min(area.width);
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    f.render_widget(Clear, rect);
    let text: Vec<Line> = lines.iter().map(|l| Line::from(*l)).collect();
    f.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" keys ")),
        rect,
    );
}
