//! The replay engine: plays recorded 1m bars through the hub "like live", at
//! a chosen speed on a virtual clock (speed × wall time, on tokio time).
//!
//! Each bar plays over its minute: in-progress updates follow its path
//! (open → low → high → close for an up bar, open → high → low → close for a
//! down bar) while the clock is inside the minute, and the recorded bar
//! itself, unchanged, is the final one at the minute's end. Gaps in the
//! recording stay gaps: the clock passes over them without events.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::Hub;
use spotlight_wire::bar::{Candle, MAX_T, MIN_T};
use spotlight_wire::timeframe::MINUTE_MS;
use spotlight_wire::{Progress, ReplayState, ReplayStatus};

/// Slowest and fastest speeds.
pub const SPEEDS: std::ops::RangeInclusive<f64> = 0.25..=1000.0;
/// Real time between in-progress updates (as the live sim's default tick).
pub const UPDATE_EVERY: Duration = Duration::from_millis(250);
/// Final bars before the window loaded as context for charts.
const PRELOAD: usize = 5000;

/// Why a replay request was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    /// Not allowed in the current state (409).
    #[error("{0}")]
    WrongState(String),
    /// A bad parameter (400).
    #[error("{0}")]
    BadRequest(String),
}

/// What `start` asks for, times already parsed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StartRequest {
    /// Symbols; `None`: those with a recording, else every symbol.
    pub symbols: Option<Vec<String>>,
    /// Window start, Unix ms.
    pub from: Option<i64>,
    /// Window end (exclusive), Unix ms.
    pub to: Option<i64>,
    /// Speed; `None`: 1.
    pub speed: Option<f64>,
}

struct Control {
    state: ReplayState,
    speed: f64,
    /// Virtual time at `anchor_real`.
    anchor_virtual: i64,
    anchor_real: Instant,
    from: Option<i64>,
    to: Option<i64>,
    symbols: Vec<String>,
    done: u64,
    total: u64,
    /// Bumped by every start and stop: an older playing task ends.
    generation: u64,
}

impl Control {
    fn clock(&self) -> i64 {
        match self.state {
            ReplayState::Running => {
                self.anchor_virtual
                    + (self.anchor_real.elapsed().as_secs_f64() * 1000.0 * self.speed) as i64
            }
            _ => self.anchor_virtual,
        }
    }

    /// Re-anchors the clock at now (before a speed or state change).
    fn reanchor(&mut self) {
        self.anchor_virtual = self.clock();
        self.anchor_real = Instant::now();
    }
}

/// The server-wide replay.
pub struct Replayer {
    hub: Arc<Hub>,
    recordings: HashMap<String, Vec<Candle>>,
    control: Mutex<Control>,
    wake: Notify,
    /// Final bars replayed, all replays together.
    pub bars_total: AtomicU64,
}

impl std::fmt::Debug for Replayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replayer")
            .field("recordings", &self.recordings.len())
            .finish_non_exhaustive()
    }
}

impl Replayer {
    /// A replayer over `hub` with recorded 1m bars per symbol (`--replay`).
    pub fn new(hub: Arc<Hub>, recordings: HashMap<String, Vec<Candle>>) -> Arc<Replayer> {
        Arc::new(Replayer {
            hub,
            recordings,
            control: Mutex::new(Control {
                state: ReplayState::Idle,
                speed: 1.0,
                anchor_virtual: 0,
                anchor_real: Instant::now(),
                from: None,
                to: None,
                symbols: Vec::new(),
                done: 0,
                total: 0,
                generation: 0,
            }),
            wake: Notify::new(),
            bars_total: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current status.
    pub fn status(&self) -> ReplayStatus {
        status_of(&self.lock())
    }

    fn changed(&self, status: &ReplayStatus) {
        self.hub.broadcast("replay", status);
        self.wake.notify_waiters();
    }

    /// Starts a replay (not while one is running or paused).
    pub fn start(self: &Arc<Self>, req: StartRequest) -> Result<ReplayStatus, ReplayError> {
        let speed = check_speed(req.speed.unwrap_or(1.0))?;
        if matches!(
            self.lock().state,
            ReplayState::Running | ReplayState::Paused
        ) {
            return Err(ReplayError::WrongState(
                "a replay is already running: stop it first".into(),
            ));
        }
        let symbols = self.symbols(req.symbols)?;
        for (name, t) in [("from", req.from), ("to", req.to)] {
            if let Some(t) = t.filter(|t| !(MIN_T..=MAX_T).contains(t)) {
                return Err(ReplayError::BadRequest(format!(
                    "`{name}` {t} is outside the years 1900 to 9999 (Unix ms expected)"
                )));
            }
        }
        let per_symbol = self.recorded(&symbols)?;
        let Window {
            from,
            to,
            mut bars,
            preload,
        } = window(per_symbol, req.from, req.to)?;
        bars.sort_by(|a, b| a.1.t.cmp(&b.1.t).then_with(|| a.0.cmp(&b.0)));
        self.hub
            .replay_mode()
            .begin(preload)
            .map_err(|e| ReplayError::BadRequest(e.to_string()))?;
        let status = {
            let mut c = self.lock();
            *c = Control {
                state: ReplayState::Running,
                speed,
                anchor_virtual: from,
                anchor_real: Instant::now(),
                from: Some(from),
                to: Some(to),
                symbols,
                done: 0,
                total: bars.len() as u64,
                generation: c.generation + 1,
            };
            let generation = c.generation;
            tokio::spawn(self.clone().play(generation, bars));
            status_of(&c)
        };
        self.changed(&status);
        Ok(status)
    }

    /// The symbols a start asks for: given, else every recording's, else
    /// every symbol the hub holds.
    fn symbols(&self, asked: Option<Vec<String>>) -> Result<Vec<String>, ReplayError> {
        let symbols = match asked {
            Some(s) if s.is_empty() => {
                return Err(ReplayError::BadRequest("symbols must not be empty".into()))
            }
            Some(s) => s,
            None if !self.recordings.is_empty() => {
                let mut s: Vec<String> = self.recordings.keys().cloned().collect();
                s.sort();
                s
            }
            None => self.hub.symbol_names(),
        };
        for s in &symbols {
            crate::symbol::check(s).map_err(|e| ReplayError::BadRequest(e.to_string()))?;
        }
        Ok(symbols)
    }

    /// Each symbol's 1m bars: its recording, else its live history.
    fn recorded(&self, symbols: &[String]) -> Result<Vec<(String, Vec<Candle>)>, ReplayError> {
        symbols
            .iter()
            .map(|s| {
                let bars = match self.recordings.get(s) {
                    Some(b) => b.clone(),
                    None => self.hub.replay_mode().live_minutes(s).ok_or_else(|| {
                        ReplayError::BadRequest(format!("no recording and no history for {s:?}"))
                    })?,
                };
                Ok((s.clone(), bars))
            })
            .collect()
    }

    /// Stops the replay (running, paused or finished); live data comes back.
    pub fn stop(&self) -> Result<ReplayStatus, ReplayError> {
        let status = {
            let mut c = self.lock();
            if matches!(c.state, ReplayState::Idle | ReplayState::Stopped) {
                return Err(ReplayError::WrongState(format!(
                    "no replay to stop (state: {})",
                    name(c.state)
                )));
            }
            c.reanchor();
            c.state = ReplayState::Stopped;
            c.generation += 1;
            status_of(&c)
        };
        self.hub.replay_mode().end();
        self.changed(&status);
        Ok(status)
    }

    /// Holds a running replay; the clock stands still.
    pub fn pause(&self) -> Result<ReplayStatus, ReplayError> {
        self.transition(ReplayState::Running, ReplayState::Paused)
    }

    /// Continues a paused replay from where its clock stood.
    pub fn resume(&self) -> Result<ReplayStatus, ReplayError> {
        self.transition(ReplayState::Paused, ReplayState::Running)
    }

    fn transition(&self, from: ReplayState, to: ReplayState) -> Result<ReplayStatus, ReplayError> {
        let status = {
            let mut c = self.lock();
            if c.state != from {
                return Err(ReplayError::WrongState(format!(
                    "the replay is {}, not {}",
                    name(c.state),
                    name(from)
                )));
            }
            c.reanchor();
            c.state = to;
            status_of(&c)
        };
        self.changed(&status);
        Ok(status)
    }

    /// Changes the speed of a running or paused replay; the clock goes on
    /// from where it stands (no jump, no repeat).
    pub fn set_speed(&self, speed: f64) -> Result<ReplayStatus, ReplayError> {
        let speed = check_speed(speed)?;
        let status = {
            let mut c = self.lock();
            if !matches!(c.state, ReplayState::Running | ReplayState::Paused) {
                return Err(ReplayError::WrongState(format!(
                    "no replay is running (state: {})",
                    name(c.state)
                )));
            }
            c.reanchor();
            c.speed = speed;
            status_of(&c)
        };
        self.changed(&status);
        Ok(status)
    }

    /// Plays `bars` (sorted by time) until done or superseded.
    async fn play(self: Arc<Self>, generation: u64, bars: Vec<(Arc<str>, Candle)>) {
        let mut next = 0;
        let mut forming: Vec<(Arc<str>, Candle)> = Vec::new();
        loop {
            let notified = self.wake.notified();
            let (clock, speed, state) = {
                let c = self.lock();
                if c.generation != generation {
                    return;
                }
                (c.clock(), c.speed, c.state)
            };
            if state != ReplayState::Running {
                notified.await;
                continue;
            }
            // Close the minute that has passed, then open the ones that began.
            if forming
                .first()
                .is_some_and(|(_, c)| c.t + MINUTE_MS <= clock)
            {
                for (s, c) in forming.drain(..) {
                    self.emit(&s, c, true);
                }
            }
            while next < bars.len() && bars[next].1.t <= clock {
                if bars[next].1.t + MINUTE_MS <= clock {
                    // Its whole minute passed within one step (high speed).
                    self.emit(&bars[next].0, bars[next].1, true);
                } else {
                    forming.push(bars[next].clone());
                }
                next += 1;
            }
            self.count_done(generation, next - forming.len());
            let step = (UPDATE_EVERY.as_secs_f64() * 1000.0 * speed) as i64;
            let fine = step < MINUTE_MS;
            if fine {
                for (s, c) in &forming {
                    self.emit(
                        s,
                        along_path(c, (clock - c.t) as f64 / MINUTE_MS as f64),
                        false,
                    );
                }
            }
            let wake_at = match (forming.first(), bars.get(next)) {
                (Some((_, c)), _) => {
                    let end = c.t + MINUTE_MS;
                    if fine {
                        end.min(clock + step)
                    } else {
                        end
                    }
                }
                (None, Some((_, c))) => c.t,
                (None, None) => {
                    self.finish(generation);
                    return;
                }
            };
            let real = Duration::from_secs_f64(((wake_at - clock).max(1)) as f64 / 1000.0 / speed);
            tokio::select! {
                _ = tokio::time::sleep(real) => {}
                _ = notified => {}
            }
        }
    }

    fn emit(&self, symbol: &str, candle: Candle, is_final: bool) {
        match self.hub.replay_mode().publish(symbol, candle, is_final) {
            Ok(_) if is_final => {
                self.bars_total.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(%symbol, error = %e, "replayed bar not published"),
        }
    }

    fn count_done(&self, generation: u64, done: usize) {
        let mut c = self.lock();
        if c.generation == generation {
            c.done = done as u64;
        }
    }

    fn finish(&self, generation: u64) {
        let status = {
            let mut c = self.lock();
            if c.generation != generation {
                return;
            }
            c.anchor_virtual = c.to.unwrap_or(c.anchor_virtual);
            c.done = c.total;
            c.state = ReplayState::Finished;
            status_of(&c)
        };
        self.changed(&status);
    }
}

fn status_of(c: &Control) -> ReplayStatus {
    ReplayStatus {
        state: c.state,
        speed: c.speed,
        clock: c.from.map(|_| c.clock()),
        progress: Progress {
            done: c.done,
            total: c.total,
        },
        symbols: c.symbols.clone(),
        from: c.from,
        to: c.to,
    }
}

fn name(state: ReplayState) -> &'static str {
    match state {
        ReplayState::Idle => "idle",
        ReplayState::Running => "running",
        ReplayState::Paused => "paused",
        ReplayState::Finished => "finished",
        ReplayState::Stopped => "stopped",
    }
}

fn check_speed(speed: f64) -> Result<f64, ReplayError> {
    if speed.is_finite() && SPEEDS.contains(&speed) {
        Ok(speed)
    } else {
        Err(ReplayError::BadRequest(format!(
            "speed {speed} is outside 0.25 … 1000"
        )))
    }
}

/// The bar as it stood a fraction `f` (0 … 1) into its minute: the path goes
/// open → low → high → close for an up bar and open → high → low → close for
/// a down bar, a third of the minute per leg; volume grows evenly.
pub fn along_path(c: &Candle, f: f64) -> Candle {
    let f = f.clamp(0.0, 1.0);
    let (x1, x2) = if c.c >= c.o { (c.l, c.h) } else { (c.h, c.l) };
    let points = [c.o, x1, x2, c.c];
    let leg = (f * 3.0).min(2.999_999);
    let i = leg as usize;
    let price = points[i] + (points[i + 1] - points[i]) * (leg - i as f64);
    let price = (price * 100.0).round() / 100.0;
    let mut h = c.o.max(price);
    let mut l = c.o.min(price);
    for p in &points[1..=i] {
        h = h.max(*p);
        l = l.min(*p);
    }
    Candle {
        t: c.t,
        o: c.o,
        h: h.min(c.h),
        l: l.max(c.l),
        c: price.clamp(c.l, c.h),
        v: (c.v as f64 * f).floor() as u64,
    }
}

/// The bars to play: `from`…`to` (default: everything recorded), all
/// symbols together, with the bars before `from` each symbol's chart
/// starts with.
fn window(
    per_symbol: Vec<(String, Vec<Candle>)>,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Window, ReplayError> {
    let first = per_symbol
        .iter()
        .filter_map(|(_, b)| b.first())
        .map(|c| c.t)
        .min();
    let last = per_symbol
        .iter()
        .filter_map(|(_, b)| b.last())
        .map(|c| c.t + MINUTE_MS)
        .max();
    let (Some(from), Some(to)) = (from.or(first), to.or(last)) else {
        return Err(ReplayError::BadRequest(
            "nothing to replay: the symbols have no bars".into(),
        ));
    };
    if from >= to {
        return Err(ReplayError::BadRequest("`from` must be before `to`".into()));
    }
    let mut bars: Vec<(Arc<str>, Candle)> = Vec::new();
    let mut preload = Vec::with_capacity(per_symbol.len());
    for (s, all) in per_symbol {
        let name: Arc<str> = Arc::from(s.as_str());
        let start = all.partition_point(|c| c.t < from);
        let end = all.partition_point(|c| c.t < to);
        bars.extend(all[start..end].iter().map(|c| (name.clone(), *c)));
        preload.push((s, all[start.saturating_sub(PRELOAD)..start].to_vec()));
    }
    if bars.is_empty() {
        return Err(ReplayError::BadRequest(
            "no bars between `from` and `to`".into(),
        ));
    }
    Ok(Window {
        from,
        to,
        bars,
        preload,
    })
}

/// What a replay plays.
struct Window {
    from: i64,
    to: i64,
    /// Every symbol's bars in time order.
    bars: Vec<(Arc<str>, Candle)>,
    /// The bars each symbol's chart starts with.
    preload: Vec<(String, Vec<Candle>)>,
}

#[cfg(test)]
mod tests;
