//! A producer hub's journal of what happens outside the seq space — a
//! replay starting or ending, an event broadcast to every subscriber —
//! each placed after the event it followed, so that the scale-out bus can
//! ship them to other hubs in order with the events. Off unless asked for
//! ([`Hub::keep_marks`]); bounded.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{Inner, Journal, PublishError};
use spotlight_wire::bar::Candle;

/// Marks kept for the reader; one that falls further behind starts over.
const KEPT: usize = 1024;

/// The live side of a replayed symbol when its replay ended: what a hub
/// that set the same series aside has to catch up on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveTail {
    /// The symbol.
    pub symbol: String,
    /// Final 1m bars made while it was replayed, oldest first.
    pub finals: Vec<Candle>,
    /// The forming 1m bar.
    pub forming: Option<Candle>,
}

/// Replayed symbols, each with the final 1m bars before its window.
pub type Preload = Vec<(String, Vec<Candle>)>;

/// What happened outside the seq space.
#[derive(Debug, Clone, PartialEq)]
pub enum MarkKind {
    /// A replay began: its symbols, each with its preload.
    ReplayBegan(Preload),
    /// The replay ended: the live tails of its symbols.
    ReplayEnded(Vec<LiveTail>),
    /// An SSE frame went to every subscriber.
    Broadcast(Bytes),
}

/// One entry of the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Its number (1, 2, …; a reader asks for those after the last it took).
    pub n: u64,
    /// The seq of the event it came after.
    pub after: u64,
    /// What happened.
    pub kind: MarkKind,
}

#[derive(Debug, Default)]
pub(super) struct MarkLog {
    marks: VecDeque<Mark>,
    next: u64,
    /// The last live final's time of each replayed symbol when it was set
    /// aside: where its tail begins.
    set_aside: HashMap<u32, Option<i64>>,
}

impl MarkLog {
    fn push(&mut self, after: u64, kind: MarkKind) {
        self.next += 1;
        if self.marks.len() == KEPT {
            self.marks.pop_front();
        }
        self.marks.push_back(Mark {
            n: self.next,
            after,
            kind,
        });
    }
}

impl Inner {
    /// Journals a mark after the current head (when the journal is on).
    pub(super) fn note(&mut self, kind: impl FnOnce() -> MarkKind) {
        let head = self.head;
        if let Some(j) = self.journal.as_mut() {
            j.push(head, kind());
        }
    }

    /// Notes where the live side of series `i` stood when set aside.
    pub(super) fn note_set_aside(&mut self, i: u32) {
        let last = self
            .stashed
            .get(&i)
            .and_then(|s| s.finals().last().map(|c| c.t));
        if let Some(j) = self.journal.as_mut() {
            j.set_aside.entry(i).or_insert(last);
        }
    }

    /// The live tails of the series just brought back (when journaling).
    pub(super) fn live_tails(&mut self, restored: &[u32]) -> Vec<LiveTail> {
        let Some(j) = self.journal.as_mut() else {
            return Vec::new();
        };
        let mut tails = Vec::with_capacity(restored.len());
        for i in restored {
            let since = j.set_aside.remove(i).flatten().unwrap_or(i64::MIN);
            let s = &self.series[*i as usize];
            tails.push(LiveTail {
                symbol: s.name.to_string(),
                finals: s.finals().iter().filter(|c| c.t > since).copied().collect(),
                forming: s.forming(),
            });
        }
        tails
    }
}

impl Journal<'_> {
    /// Starts journaling marks (a bus producer's hub).
    pub fn keep_marks(&self) {
        let mut inner = self.lock();
        if inner.journal.is_none() {
            inner.journal = Some(MarkLog::default());
        }
    }

    /// Journals `kind` after the current head (when journaling).
    pub fn note(&self, kind: MarkKind) {
        self.lock().note(|| kind);
        self.appended.notify_one();
    }

    /// The marks after mark `n`, oldest first (none while the journal is
    /// off); `None` when some of them are no longer kept.
    pub fn marks_after(&self, n: u64) -> Option<Vec<Mark>> {
        let inner = self.lock();
        let Some(j) = inner.journal.as_ref() else {
            return Some(Vec::new());
        };
        if j.marks.front().is_some_and(|m| m.n > n + 1) {
            return None;
        }
        Some(j.marks.iter().filter(|m| m.n > n).cloned().collect())
    }

    /// Catches the live series of a replay that ended elsewhere up with its
    /// tails there: finals newer than this hub's, then the forming bar.
    pub fn catch_up_live(&self, tails: &[LiveTail]) -> Result<(), PublishError> {
        let _writer = self.writer();
        let mut inner = self.lock();
        for tail in tails {
            let i = self.symbol_index(&mut inner, &tail.symbol)?;
            let series = &mut inner.series[i as usize];
            let finals = tail.finals.iter().map(|c| (c, true));
            for (c, is_final) in finals.chain(tail.forming.as_ref().map(|c| (c, false))) {
                if c.check().is_ok() && series.check_order(c.t).is_ok() {
                    series.apply(*c, is_final);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Hub, HubConfig};

    fn candle(minute: i64) -> Candle {
        Candle {
            t: 1_700_000_040_000 + minute * 60_000,
            o: 10.0,
            h: 11.0,
            l: 9.0,
            c: 10.5,
            v: 1,
        }
    }

    #[test]
    fn marks_are_kept_only_when_asked_each_after_the_event_it_followed() {
        let hub = Hub::new(HubConfig::default());
        hub.publish("SPY", candle(0), true).unwrap();
        hub.replay_mode()
            .begin(vec![("SPY".into(), Vec::new())])
            .unwrap();
        assert_eq!(
            hub.journal().marks_after(0),
            Some(Vec::new()),
            "journal off"
        );
        hub.replay_mode().end();

        hub.journal().keep_marks();
        hub.replay_mode()
            .begin(vec![("SPY".into(), vec![candle(-5)])])
            .unwrap();
        hub.broadcast("replay", &serde_json::json!({"state": "running"}));
        hub.replay_mode().publish("SPY", candle(-4), true).unwrap();
        // Live data of the replayed symbol goes on, set aside.
        hub.publish("SPY", candle(1), true).unwrap();
        hub.publish("SPY", candle(2), false).unwrap();
        hub.replay_mode().end();
        let marks = hub.journal().marks_after(0).unwrap();
        let at: Vec<(u64, u64)> = marks.iter().map(|m| (m.n, m.after)).collect();
        assert_eq!(at, [(1, 1), (2, 1), (3, 2)]);
        assert_eq!(
            marks[0].kind,
            MarkKind::ReplayBegan(vec![("SPY".into(), vec![candle(-5)])])
        );
        assert!(
            matches!(&marks[1].kind, MarkKind::Broadcast(f) if f.starts_with(b"event: replay\n"))
        );
        assert_eq!(
            marks[2].kind,
            MarkKind::ReplayEnded(vec![LiveTail {
                symbol: "SPY".into(),
                finals: vec![candle(1)],
                forming: Some(candle(2)),
            }]),
            "the live bars made while it was replayed"
        );
        assert_eq!(hub.journal().marks_after(2).unwrap().len(), 1);
    }

    #[test]
    fn a_reader_too_far_behind_is_told() {
        let hub = Hub::new(HubConfig::default());
        hub.journal().keep_marks();
        for _ in 0..KEPT + 1 {
            hub.journal()
                .note(MarkKind::Broadcast(Bytes::from_static(b"x")));
        }
        assert_eq!(hub.journal().marks_after(0), None, "mark 1 is gone");
        assert_eq!(hub.journal().marks_after(1).map(|m| m.len()), Some(KEPT));
    }

    #[test]
    fn a_hub_catches_its_live_series_up_with_tails() {
        let hub = Hub::new(HubConfig::default());
        hub.publish("SPY", candle(0), true).unwrap();
        let tail = LiveTail {
            symbol: "SPY".into(),
            finals: vec![candle(0), candle(1), candle(2)],
            forming: Some(candle(3)),
        };
        hub.journal().catch_up_live(&[tail]).unwrap();
        let bars = hub
            .history("SPY", crate::Timeframe::M1, None, 10)
            .unwrap()
            .bars;
        let times: Vec<i64> = bars.iter().map(|b| b.t).collect();
        assert_eq!(times, [0, 1, 2, 3].map(|m| candle(m).t), "none twice");
        assert!(!bars[3].is_final);
    }
}
