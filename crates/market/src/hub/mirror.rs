//! Mirroring another hub (the scale-out bus): the producer's events as it
//! made them — seq, symbol, frames — are applied to this hub's history and
//! handed to its subscribers byte for byte, so every instance serves the
//! same ids and bytes and resumes any client's `Last-Event-ID`.

use std::sync::Arc;

use bytes::Bytes;

use super::fanout::flush;
use super::{Hub, HubConfig, Inner, Journal, PublishError, RingEntry};
use crate::time::now_ms;
use spotlight_wire::timeframe::Timeframe;
use spotlight_wire::BarEvent;

/// One event as a producer's hub made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mirrored {
    /// Its seq.
    pub seq: u64,
    /// Its symbol.
    pub symbol: String,
    /// SSE bytes per timeframe, in [`Timeframe::ALL`] order.
    pub frames: [Bytes; Timeframe::COUNT],
    /// Bit `i` set: the frame of timeframe `i` carries a final bar.
    pub finals: u8,
}

/// Why a mirrored event was not applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MirrorError {
    /// Not the next seq: the mirror must start over from the log.
    #[error("event {got} does not follow {head}: events are missing")]
    Gap {
        /// This hub's head.
        head: u64,
        /// The event's seq.
        got: u64,
    },
    /// The 1m frame holds no bar this hub can read.
    #[error("event {0}: its 1m frame holds no readable bar")]
    Unreadable(u64),
    /// The bar was refused (symbol, order, prices).
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// The last `bar` of a frame (a frame may close the previous minute first).
fn last_bar(frame: &[u8]) -> Option<BarEvent> {
    let last = spotlight_wire::sse_messages(frame).last()?;
    serde_json::from_slice(last.data?).ok()
}

/// The 1m bar an event carries (read back from its 1m frame), checked,
/// and whether it is final.
fn minute_of(event: &Mirrored) -> Result<(crate::Candle, bool), MirrorError> {
    let bar =
        last_bar(&event.frames[Timeframe::M1.index()]).ok_or(MirrorError::Unreadable(event.seq))?;
    let candle = bar.bar.candle();
    candle.check().map_err(PublishError::from)?;
    Ok((candle, bar.bar.is_final))
}

impl Hub {
    /// An empty hub that mirrors a log in `epoch` whose events so far end
    /// at `head` (an instance joining the bus).
    pub fn mirror_of(config: HubConfig, epoch: &str, head: u64) -> Arc<Hub> {
        let mut inner = Inner::new(&config);
        inner.head = head;
        Hub::build(config, epoch.to_string(), inner)
    }
}

impl Journal<'_> {
    /// Joins a new log: `epoch`, whose events so far end at `head`. The
    /// ring empties (its events belong to the old log), the history stays
    /// (the market did not change), and every subscriber gets `reset`
    /// (`epoch_changed`) so it refetches and continues in the new epoch.
    pub fn rebase(&self, epoch: &str, head: u64) {
        let _writer = self.writer();
        let mut inner = self.lock();
        inner.epoch = Arc::from(epoch);
        inner.ring = super::Ring::new(self.config.ring, self.config.ring_bytes);
        inner.head = head;
        inner.boundary = None;
        let frame = Hub::reset_frame(&inner, spotlight_wire::ResetReason::EpochChanged);
        let due = Hub::push_to_all(&inner.clients, inner.head, frame);
        drop(inner);
        flush(due);
    }

    /// Up to `max` events after `seq`, as the bus ships them; `None` when
    /// some of them have left the ring already (the bus must start over).
    pub fn events_after(&self, seq: u64, max: usize) -> Option<Vec<Mirrored>> {
        let inner = self.lock();
        if seq < inner.head && inner.ring.low_seq(inner.head) > seq + 1 {
            return None;
        }
        Some(
            inner
                .ring
                .after(seq)
                .take(max)
                .map(|e| Mirrored {
                    seq: e.seq,
                    symbol: inner.series[e.symbol as usize].name.to_string(),
                    frames: e.frames.clone(),
                    finals: e.finals,
                })
                .collect(),
        )
    }

    /// Applies an event another hub made: only the next seq; its 1m bar
    /// goes into this hub's history (read back from the 1m frame), its
    /// frames go to the ring and the subscribers as they are.
    pub fn mirror(&self, event: &Mirrored) -> Result<(), MirrorError> {
        let (candle, is_final) = minute_of(event)?;
        let _writer = self.writer();
        let mut inner = self.lock();
        if event.seq != inner.head + 1 {
            return Err(MirrorError::Gap {
                head: inner.head,
                got: event.seq,
            });
        }
        let i = self.symbol_index(&mut inner, &event.symbol)?;
        inner.series[i as usize].check_order(candle.t)?;
        inner.series[i as usize].apply(candle, is_final);
        inner.head = event.seq;
        let entry = RingEntry {
            seq: event.seq,
            symbol: i,
            frames: event.frames.clone(),
            finals: event.finals,
        };
        let mut due = Vec::new();
        self.deliver(
            &mut inner,
            entry,
            now_ms(),
            std::time::Instant::now(),
            &mut due,
        );
        drop(inner);
        flush(due);
        Ok(())
    }

    /// Applies an event's 1m bar to this hub's history only — no ring, no
    /// subscriber: a hub joining during a replay catching the replayed
    /// series up on the bars played before it joined.
    pub fn mirror_history(&self, event: &Mirrored) -> Result<(), MirrorError> {
        let (candle, is_final) = minute_of(event)?;
        let _writer = self.writer();
        let mut inner = self.lock();
        let i = self.symbol_index(&mut inner, &event.symbol)? as usize;
        inner.series[i].check_order(candle.t)?;
        inner.series[i].apply(candle, is_final);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Candle;

    fn candle(t: i64, c: f64) -> Candle {
        Candle {
            t,
            o: 100.0,
            h: c.max(100.0) + 1.0,
            l: c.min(100.0) - 1.0,
            c,
            v: 10,
        }
    }

    /// Ten minutes of SPY and QQQ: in-progress updates, then finals.
    fn producer() -> Arc<Hub> {
        let hub = Hub::new(HubConfig::default());
        let t0 = 1_700_000_000_000 - 1_700_000_000_000 % 300_000;
        for m in 0..10 {
            for s in ["SPY", "QQQ"] {
                for tick in 0..3 {
                    let c = candle(t0 + m * 60_000, 100.0 + f64::from(tick));
                    hub.publish(s, c, tick == 2).unwrap();
                }
            }
        }
        hub
    }

    #[test]
    fn a_mirror_holds_the_same_events_bytes_and_history() {
        let a = producer();
        let b = Hub::mirror_of(HubConfig::default(), &a.epoch(), 0);
        for event in a.journal().events_after(0, usize::MAX).unwrap() {
            b.journal().mirror(&event).unwrap();
        }
        assert_eq!(b.epoch(), a.epoch());
        assert_eq!(b.ring_bounds(), a.ring_bounds());
        assert_eq!(
            b.journal().events_after(0, usize::MAX),
            a.journal().events_after(0, usize::MAX)
        );
        for tf in [Timeframe::M1, Timeframe::M5] {
            let (ha, hb) = (
                a.history("SPY", tf, None, 100).unwrap(),
                b.history("SPY", tf, None, 100).unwrap(),
            );
            assert_eq!(ha.bars, hb.bars, "{tf:?} history");
        }
    }

    #[test]
    fn a_mirror_takes_only_the_next_seq() {
        let a = producer();
        let events = a.journal().events_after(0, usize::MAX).unwrap();
        let b = Hub::mirror_of(HubConfig::default(), &a.epoch(), 0);
        b.journal().mirror(&events[0]).unwrap();
        assert_eq!(
            b.journal().mirror(&events[2]),
            Err(MirrorError::Gap { head: 1, got: 3 })
        );
        assert!(matches!(
            b.journal().mirror(&events[0]),
            Err(MirrorError::Gap { .. })
        ));
        b.journal().mirror(&events[1]).unwrap();
        assert_eq!(b.ring_bounds().1, 2);
    }

    #[test]
    fn events_older_than_the_ring_are_not_offered() {
        let hub = Hub::new(HubConfig {
            ring: 10,
            ..HubConfig::default()
        });
        for m in 0..20 {
            hub.publish("SPY", candle(m * 60_000, 100.0), true).unwrap();
        }
        assert!(
            hub.journal().events_after(2, 100).is_none(),
            "seq 3..10 are gone"
        );
        let tail = hub.journal().events_after(15, 100).unwrap();
        assert_eq!(
            tail.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [16, 17, 18, 19, 20]
        );
    }
}
