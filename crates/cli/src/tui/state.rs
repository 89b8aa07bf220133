//! The watch screen's state, and how events, keys and resizes change it.
//! Pure: no terminal, no network, no clock (times come in with the action).

use std::collections::VecDeque;

use spotlight_client::follow::FollowEvent;
use spotlight_market::{Candle, Timeframe};
use spotlight_wire::ReplayState;

/// Candles kept in memory.
pub const MAX_CANDLES: usize = 5000;

/// The connection as the header shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Conn {
    /// Fetching history or opening the stream.
    Connecting,
    /// Streaming.
    Live,
    /// Waiting to reconnect; the next attempt at `at_ms`.
    Reconnecting {
        /// Attempt number.
        attempt: u32,
        /// Wall time of the next attempt, Unix ms.
        at_ms: i64,
    },
    /// The server reset the stream; history is reloading.
    Reset,
    /// The follower gave up.
    Down(String),
}

/// A key the watch screen understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `q`, Ctrl-C.
    Quit,
    /// `1 5 f h d`.
    Timeframe(Timeframe),
    /// `←`: back in history.
    Left,
    /// `→`: towards now.
    Right,
    /// `End`: back to live.
    End,
    /// `p`: freeze the view.
    Pause,
    /// `?`: help overlay.
    Help,
    /// `r`: replay the symbol.
    ReplayStart,
    /// `s`: stop the replay.
    ReplayStop,
    /// `+`: faster replay.
    Faster,
    /// `-`: slower replay.
    Slower,
}

/// What changes the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Something from the stream, at wall time `now_ms`.
    Follow(FollowEvent, i64),
    /// A key.
    Key(Key),
    /// The terminal's new size.
    Resize(u16, u16),
}

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Nothing.
    None,
    /// Leave.
    Quit,
    /// Refetch and resubscribe at this timeframe.
    Resubscribe(Timeframe),
    /// Send a replay command: `start`, `stop`, or a new speed.
    Replay(ReplayCommand),
}

/// A replay command from the keyboard.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayCommand {
    /// Start replaying the symbol.
    Start,
    /// Stop the replay.
    Stop,
    /// Change the speed.
    Speed(f64),
}

/// Everything the view draws.
#[derive(Debug, Clone)]
pub struct State {
    /// Symbol.
    pub symbol: String,
    /// Timeframe.
    pub timeframe: Timeframe,
    /// Candles, oldest first; the last may be forming.
    pub candles: Vec<Candle>,
    /// Whether the last candle is still forming.
    pub forming: bool,
    /// The candles the view shows while paused.
    pub frozen: Option<Vec<Candle>>,
    /// Connection.
    pub conn: Conn,
    /// Server epoch.
    pub epoch: Option<String>,
    /// Market source (`sim`, `file`, …).
    pub source: Option<String>,
    /// The replay's state and speed while one is running, paused or finished.
    pub replay: Option<(ReplayState, f64)>,
    /// Last seq seen.
    pub last_seq: Option<u64>,
    /// Server → client latency of the last bar, ms.
    pub latency_ms: Option<i64>,
    /// Wall time of the last event (bar or ping), ms.
    pub last_event_ms: Option<i64>,
    /// Wall times of recent bar events, for events/s.
    pub recent: VecDeque<i64>,
    /// Reconnects so far.
    pub reconnects: u32,
    /// Resets so far.
    pub resets: u32,
    /// Conflated updates the server reported.
    pub conflated: u64,
    /// Candles scrolled back from the newest.
    pub scroll: usize,
    /// Help overlay shown.
    pub help: bool,
    /// Terminal size.
    pub size: (u16, u16),
}

impl State {
    /// A fresh screen for `symbol` at `timeframe`.
    pub fn new(symbol: &str, timeframe: Timeframe, size: (u16, u16)) -> State {
        State {
            symbol: symbol.to_string(),
            timeframe,
            candles: Vec::new(),
            forming: false,
            frozen: None,
            conn: Conn::Connecting,
            epoch: None,
            source: None,
            replay: None,
            last_seq: None,
            latency_ms: None,
            last_event_ms: None,
            recent: VecDeque::new(),
            reconnects: 0,
            resets: 0,
            conflated: 0,
            scroll: 0,
            help: false,
            size,
        }
    }

    /// The candles to draw (the frozen ones while paused).
    pub fn shown(&self) -> &[Candle] {
        self.frozen.as_deref().unwrap_or(&self.candles)
    }

    /// Last price and change since the first candle's open of the newest
    /// session in view.
    pub fn last_and_change(&self) -> Option<(f64, f64, f64)> {
        let last = self.candles.last()?;
        let day = spotlight_market::Timeframe::D1.bucket_start(last.t);
        let open = self
            .candles
            .iter()
            .find(|c| c.t >= day)
            .map_or(last.o, |c| c.o);
        let change = last.c - open;
        Some((last.c, change, change / open * 100.0))
    }

    /// Bar events per second over the last 5 s before `now_ms`.
    pub fn events_per_second(&self, now_ms: i64) -> f64 {
        self.recent.iter().filter(|t| now_ms - **t <= 5000).count() as f64 / 5.0
    }

    fn apply_candle(&mut self, c: Candle, is_final: bool) {
        match self.candles.last_mut() {
            Some(last) if last.t == c.t => {
                *last = c;
                self.forming = !is_final;
            }
            Some(last) if last.t > c.t => {
                if let Ok(i) = self.candles.binary_search_by_key(&c.t, |x| x.t) {
                    self.candles[i] = c;
                }
            }
            _ => {
                self.candles.push(c);
                self.forming = !is_final;
                if self.scroll > 0 {
                    self.scroll += 1;
                }
                if self.candles.len() > MAX_CANDLES {
                    self.candles.remove(0);
                }
            }
        }
    }
}

/// Applies one action; returns what the loop must do.
pub fn update(s: &mut State, action: Action) -> Effect {
    match action {
        Action::Resize(w, h) => s.size = (w, h),
        Action::Key(key) => return on_key(s, key),
        Action::Follow(event, now) => on_event(s, event, now),
    }
    Effect::None
}

fn on_key(s: &mut State, key: Key) -> Effect {
    match key {
        Key::Quit => return Effect::Quit,
        Key::Help => s.help = !s.help,
        Key::Pause => {
            s.frozen = if s.frozen.is_some() {
                None
            } else {
                Some(s.candles.clone())
            }
        }
        Key::Left => s.scroll = (s.scroll + 10).min(s.candles.len().saturating_sub(1)),
        Key::Right => s.scroll = s.scroll.saturating_sub(10),
        Key::End => {
            s.scroll = 0;
            s.frozen = None;
        }
        Key::Timeframe(tf) if tf != s.timeframe => {
            s.timeframe = tf;
            s.candles.clear();
            s.frozen = None;
            s.scroll = 0;
            s.conn = Conn::Connecting;
            return Effect::Resubscribe(tf);
        }
        Key::Timeframe(_) => {}
        Key::ReplayStart => return Effect::Replay(ReplayCommand::Start),
        Key::ReplayStop => return Effect::Replay(ReplayCommand::Stop),
        Key::Faster | Key::Slower => {
            let now = s.replay.map_or(1.0, |(_, speed)| speed);
            let next = if key == Key::Faster {
                now * 2.0
            } else {
                now / 2.0
            };
            return Effect::Replay(ReplayCommand::Speed(next.clamp(0.25, 1000.0)));
        }
    }
    Effect::None
}

fn on_event(s: &mut State, event: FollowEvent, now: i64) {
    match event {
        FollowEvent::Connecting => {
            if !matches!(s.conn, Conn::Reconnecting { .. } | Conn::Reset) {
                s.conn = Conn::Connecting;
            }
        }
        FollowEvent::History(h) => {
            s.candles = h.bars.iter().map(|b| b.candle()).collect();
            s.forming = h.bars.last().is_some_and(|b| !b.is_final);
            s.epoch = Some(h.epoch);
            s.last_seq = Some(h.seq);
        }
        FollowEvent::Live(hello) => {
            s.conn = Conn::Live;
            s.epoch = Some(hello.epoch);
            s.source = Some(hello.source);
        }
        FollowEvent::Bar(b) => {
            s.apply_candle(b.bar.candle(), b.bar.is_final);
            s.last_seq = Some(b.seq);
            s.latency_ms = Some((now - b.ts).max(0));
            s.last_event_ms = Some(now);
            s.recent.push_back(now);
            while s.recent.front().is_some_and(|t| now - *t > 5000) {
                s.recent.pop_front();
            }
        }
        FollowEvent::Ping(p) => {
            s.last_event_ms = Some(now);
            s.conflated = p.conflated;
        }
        FollowEvent::Reset(_) => {
            s.resets += 1;
            s.conn = Conn::Reset;
        }
        FollowEvent::Reconnecting { attempt, delay, .. } => {
            s.reconnects += 1;
            s.conn = Conn::Reconnecting {
                attempt,
                at_ms: now + delay.as_millis() as i64,
            };
        }
        FollowEvent::GaveUp(reason) => s.conn = Conn::Down(reason),
        FollowEvent::Replay(status) => {
            s.replay = Some((status.state, status.speed))
                .filter(|(state, _)| !matches!(state, ReplayState::Idle | ReplayState::Stopped));
        }
        FollowEvent::Other { .. } => {}
    }
}

#[cfg(test)]
mod tests;
