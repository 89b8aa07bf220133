use std::time::Duration;

use super::*;
use spotlight_market::Bar;
use spotlight_wire::{BarEvent, Hello, History, Ping, Reset, ResetReason};

const T: i64 = 1_294_065_000_000; // 2011-01-03T14:30:00Z
const MIN: i64 = 60_000;

fn candle(i: i64, o: f64, c: f64) -> Candle {
    Candle {
        t: T + i * MIN,
        o,
        h: o.max(c) + 0.2,
        l: o.min(c) - 0.2,
        c,
        v: 100 + i as u64,
    }
}

fn bar_event(seq: u64, c: Candle, is_final: bool) -> FollowEvent {
    FollowEvent::Bar(BarEvent {
        bar: Bar::new("SPY".into(), Timeframe::M1, c, is_final),
        seq,
        ts: 1_000,
    })
}

fn history(seq: u64, candles: &[Candle], forming_last: bool) -> FollowEvent {
    let n = candles.len();
    let bars = candles
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Bar::new(
                "SPY".into(),
                Timeframe::M1,
                *c,
                !(forming_last && i == n - 1),
            )
        })
        .collect();
    FollowEvent::History(History {
        symbol: "SPY".into(),
        timeframe: Timeframe::M1,
        epoch: "ep".into(),
        seq,
        bars,
    })
}

fn hello() -> FollowEvent {
    FollowEvent::Live(Hello {
        epoch: "ep".into(),
        seq: 3,
        server_time: 0,
        symbols: vec!["SPY".into()],
        timeframe: Timeframe::M1,
        resumed: true,
        heartbeat_ms: 10_000,
        source: "sim".into(),
    })
}

/// Feeds events at one wall time.
fn feed(s: &mut State, events: Vec<FollowEvent>, now: i64) {
    for e in events {
        assert_eq!(update(s, Action::Follow(e, now)), Effect::None);
    }
}

#[test]
fn a_recorded_session_with_updates_reset_and_reconnect_gives_the_right_candles() {
    let mut s = State::new("SPY", Timeframe::M1, (80, 24));
    feed(
        &mut s,
        vec![
            FollowEvent::Connecting,
            history(
                3,
                &[
                    candle(0, 10.0, 11.0),
                    candle(1, 11.0, 10.5),
                    candle(2, 10.5, 10.6),
                ],
                true,
            ),
            hello(),
        ],
        2_000,
    );
    assert_eq!(s.conn, Conn::Live);
    assert!(s.forming);
    updates_then_the_next_minute(&mut s);
    a_reconnect_with_resume(&mut s);
    a_reset_then_a_ping(&mut s);
}

/// In-progress updates of the forming minute replace it in place, then it
/// closes and the next minute starts.
fn updates_then_the_next_minute(s: &mut State) {
    // In-progress updates of the forming minute replace it in place (a
    // conflated stream simply skips some of them), then it closes.
    feed(
        s,
        vec![
            bar_event(4, candle(2, 10.5, 10.7), false),
            bar_event(6, candle(2, 10.5, 10.9), false),
            bar_event(7, candle(2, 10.5, 10.8), true),
        ],
        2_100,
    );
    assert_eq!(s.candles.len(), 3);
    assert_eq!(s.candles[2], candle(2, 10.5, 10.8));
    assert!(!s.forming);
    // The next minute starts.
    feed(s, vec![bar_event(8, candle(3, 10.8, 10.9), false)], 2_200);
    assert_eq!(s.candles.len(), 4);
    assert_eq!(s.latency_ms, Some(1_200));
}

/// Connection lost, reconnect with resume: missed events replay in order.
fn a_reconnect_with_resume(s: &mut State) {
    feed(
        s,
        vec![FollowEvent::Reconnecting {
            attempt: 1,
            delay: Duration::from_secs(1),
            reason: "gone".into(),
        }],
        3_000,
    );
    assert_eq!(
        s.conn,
        Conn::Reconnecting {
            attempt: 1,
            at_ms: 4_000
        }
    );
    feed(
        s,
        vec![
            FollowEvent::Connecting,
            hello(),
            bar_event(9, candle(3, 10.8, 11.0), true),
            bar_event(10, candle(4, 11.0, 11.1), false),
        ],
        4_100,
    );
    assert_eq!(s.conn, Conn::Live);
    assert_eq!(
        (s.reconnects, s.candles.len(), s.last_seq),
        (1, 5, Some(10))
    );
}

/// A reset: history is reloaded and replaces everything.
fn a_reset_then_a_ping(s: &mut State) {
    let reset = Reset {
        reason: ResetReason::GapTooOld,
        epoch: "ep".into(),
        head_seq: 20,
        low_seq: 15,
    };
    feed(s, vec![FollowEvent::Reset(reset)], 5_000);
    assert_eq!((s.conn.clone(), s.resets), (Conn::Reset, 1));
    feed(
        s,
        vec![
            FollowEvent::Connecting,
            history(20, &[candle(5, 12.0, 12.5)], false),
            hello(),
        ],
        5_100,
    );
    assert_eq!(s.candles, vec![candle(5, 12.0, 12.5)]);
    feed(
        s,
        vec![FollowEvent::Ping(Ping {
            server_time: 0,
            queued: 0,
            conflated: 7,
        })],
        6_000,
    );
    assert_eq!((s.conflated, s.last_event_ms), (7, Some(6_000)));
}

#[test]
fn keys_scroll_pause_switch_timeframe_and_quit() {
    let mut s = State::new("SPY", Timeframe::M1, (80, 24));
    feed(
        &mut s,
        vec![history(
            30,
            &(0..30).map(|i| candle(i, 10.0, 10.5)).collect::<Vec<_>>(),
            false,
        )],
        0,
    );
    update(&mut s, Action::Key(Key::Left));
    assert_eq!(s.scroll, 10);
    update(&mut s, Action::Key(Key::Right));
    update(&mut s, Action::Key(Key::Right));
    assert_eq!(s.scroll, 0);
    update(&mut s, Action::Key(Key::Pause));
    feed(&mut s, vec![bar_event(31, candle(30, 10.0, 9.0), true)], 0);
    assert_eq!(
        (s.shown().len(), s.candles.len()),
        (30, 31),
        "frozen view, data keeps flowing"
    );
    update(&mut s, Action::Key(Key::End));
    assert_eq!(s.shown().len(), 31);
    assert_eq!(
        update(&mut s, Action::Key(Key::Timeframe(Timeframe::M5))),
        Effect::Resubscribe(Timeframe::M5)
    );
    assert!(s.candles.is_empty() && s.conn == Conn::Connecting);
    assert_eq!(
        update(&mut s, Action::Key(Key::Timeframe(Timeframe::M5))),
        Effect::None
    );
    assert_eq!(
        update(&mut s, Action::Key(Key::Faster)),
        Effect::Replay(ReplayCommand::Speed(2.0))
    );
    update(&mut s, Action::Key(Key::Help));
    assert!(s.help);
    update(&mut s, Action::Resize(100, 30));
    assert_eq!(s.size, (100, 30));
    assert_eq!(update(&mut s, Action::Key(Key::Quit)), Effect::Quit);
}
