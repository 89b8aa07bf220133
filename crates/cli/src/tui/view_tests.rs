//! Snapshots of the screen drawn from fixed states.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::state::{update, Action, Conn, Key, State};
use super::view::draw;
use spotlight_market::{Candle, Timeframe};

const T: i64 = 1_294_065_000_000; // 2011-01-03T14:30:00Z
const MIN: i64 = 60_000;

/// Up and down candles, a doji, and a gap (no bars for minutes 20–24).
fn state(size: (u16, u16)) -> State {
    let mut s = State::new("SPY", Timeframe::M1, size);
    let mut price = 127.0;
    for i in (0..60).filter(|i| !(20..25).contains(i)) {
        let step = ((i * 37) % 11) as f64 / 20.0 - 0.25;
        let (o, c) = if i == 30 {
            (price, price)
        } else {
            (price, price + step)
        };
        s.candles.push(Candle {
            t: T + i * MIN,
            o,
            h: o.max(c) + 0.1,
            l: o.min(c) - 0.1,
            c,
            v: 1000 + ((i * 53) % 17) as u64 * 300,
        });
        price = c;
    }
    s.forming = true;
    s.conn = Conn::Live;
    s.epoch = Some("k3x9q2ab".into());
    s.source = Some("sim".into());
    s.last_seq = Some(1234);
    s.latency_ms = Some(3);
    s.last_event_ms = Some(9_000);
    s
}

fn render(s: &State, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(s, f, 10_000)).unwrap();
    let buf = terminal.backend().buffer().clone();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn chart_80x24() {
    insta::assert_snapshot!(render(&state((80, 24)), 80, 24));
}

#[test]
fn chart_160x48() {
    insta::assert_snapshot!(render(&state((160, 48)), 160, 48));
}

#[test]
fn help_overlay() {
    let mut s = state((80, 24));
    update(&mut s, Action::Key(Key::Help));
    insta::assert_snapshot!(render(&s, 80, 24));
}

#[test]
fn reconnecting_and_scrolled_back() {
    let mut s = state((80, 24));
    s.conn = Conn::Reconnecting {
        attempt: 2,
        at_ms: 12_000,
    };
    update(&mut s, Action::Key(Key::Left));
    insta::assert_snapshot!(render(&s, 80, 24));
}

#[test]
fn a_tiny_terminal_says_so() {
    let out = render(&state((20, 5)), 20, 5);
    assert!(out.starts_with("terminal too small"), "{out}");
}

#[test]
fn empty_chart_waits() {
    let s = State::new("SPY", Timeframe::M5, (80, 24));
    assert!(render(&s, 80, 24).contains("waiting for bars"));
}

/// The header's first line for a state that took `events`.
fn header_after(events: Vec<spotlight_client::follow::FollowEvent>) -> String {
    let mut s = state((100, 24));
    for e in events {
        update(&mut s, Action::Follow(e, 9_000));
    }
    render(&s, 100, 24).lines().next().unwrap().to_string()
}

fn replay(state: spotlight_wire::ReplayState, speed: f64) -> spotlight_client::follow::FollowEvent {
    spotlight_client::follow::FollowEvent::Replay(spotlight_wire::ReplayStatus {
        state,
        speed,
        clock: Some(T),
        progress: spotlight_wire::Progress { done: 1, total: 10 },
        symbols: vec!["SPY".into()],
        from: Some(T),
        to: Some(T + 10 * MIN),
    })
}

#[test]
fn the_header_follows_the_replay_and_goes_back_to_live() {
    use spotlight_wire::ReplayState::*;
    assert!(header_after(vec![]).contains("sim  ● live"));
    assert!(header_after(vec![replay(Running, 60.0)]).contains("replay ×60  ● live"));
    assert!(
        header_after(vec![replay(Running, 60.0), replay(Paused, 60.0)])
            .contains("replay ×60 paused")
    );
    assert!(header_after(vec![replay(Finished, 60.0)]).contains("replay finished"));
    assert!(
        header_after(vec![replay(Running, 60.0), replay(Stopped, 60.0)]).contains("sim  ● live")
    );
}
