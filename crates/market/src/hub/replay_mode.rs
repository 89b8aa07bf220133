//! The hub's replay mode: replayed symbols get a fresh series that replayed
//! bars flow through (same events, seq space and ring as live), while their
//! live series is set aside and kept current without events.

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;

use super::{
    ClientQueue, Hub, MarkKind, PublishError, QueueItem, ReplayMode, Series, BROADCAST_KEY,
};
use spotlight_wire::bar::Candle;
use spotlight_wire::{Reset, ResetReason};

impl ReplayMode<'_> {
    /// Switches `symbols` to replay, each starting from `preload` (final 1m
    /// bars before the replay window, for context). Every subscriber gets
    /// `reset` (`replay_started`).
    pub fn begin(&self, symbols: Vec<(String, Vec<Candle>)>) -> Result<(), PublishError> {
        let _writer = self.writer();
        let mut inner = self.lock();
        for (symbol, _) in &symbols {
            self.admits_symbol(&inner, symbol, 0)?;
        }
        let began = inner.journal.is_some().then(|| symbols.clone());
        for (symbol, preload) in symbols {
            let i = self.symbol_index(&mut inner, &symbol)?;
            let mut fresh = Series::new(inner.series[i as usize].name.clone(), self.config.retain);
            fresh.load(preload);
            let live = std::mem::replace(&mut inner.series[i as usize], fresh);
            // A replay replacing a finished one keeps the live series it set aside.
            inner.stashed.entry(i).or_insert(live);
            inner.note_set_aside(i);
        }
        if let Some(began) = began {
            inner.note(|| MarkKind::ReplayBegan(began));
            self.appended.notify_one();
        }
        let reason = ResetReason::ReplayStarted;
        inner.boundary = Some((inner.head, reason));
        let frame = Hub::reset_frame(&inner, reason);
        let due = Hub::push_to_all(&inner.clients, inner.head, frame);
        drop(inner);
        super::flush(due);
        Ok(())
    }

    /// Ends replay mode: live series come back, every subscriber gets
    /// `reset` (`replay_stopped`). Does nothing when no replay is on.
    pub fn end(&self) {
        let _writer = self.writer();
        let mut inner = self.lock();
        if inner.stashed.is_empty() {
            return;
        }
        let stashed: Vec<(u32, Series)> = inner.stashed.drain().collect();
        let restored: Vec<u32> = stashed.iter().map(|(i, _)| *i).collect();
        for (i, live) in stashed {
            inner.series[i as usize] = live;
        }
        if inner.journal.is_some() {
            let tails = inner.live_tails(&restored);
            inner.note(|| MarkKind::ReplayEnded(tails));
            self.appended.notify_one();
        }
        let reason = ResetReason::ReplayStopped;
        inner.boundary = Some((inner.head, reason));
        let frame = Hub::reset_frame(&inner, reason);
        let due = Hub::push_to_all(&inner.clients, inner.head, frame);
        drop(inner);
        super::flush(due);
    }

    /// The live final 1m bars of `symbol` (set aside ones while it is
    /// replayed); `None` for an unknown symbol.
    pub fn live_minutes(&self, symbol: &str) -> Option<Vec<Candle>> {
        let inner = self.lock();
        let i = *inner.index.get(symbol)?;
        let series = inner.stashed.get(&i).unwrap_or(&inner.series[i as usize]);
        Some(series.finals().to_vec())
    }

    /// Whether a replay holds any symbol.
    pub fn is_on(&self) -> bool {
        !self.lock().stashed.is_empty()
    }

    /// Publishes a replayed 1m bar of a symbol in replay mode: a `bar` event
    /// like a live one. Returns its seq.
    pub fn publish(
        &self,
        symbol: &str,
        candle: Candle,
        is_final: bool,
    ) -> Result<u64, PublishError> {
        candle.check()?;
        let _writer = self.writer();
        let inner = self.lock();
        let i = *inner
            .index
            .get(symbol)
            .filter(|i| inner.stashed.contains_key(i))
            .ok_or(PublishError::NotReplaying(symbol.to_string()))?;
        self.emit(inner, i, candle, is_final)
    }
}

impl Hub {
    /// Sends an event outside the seq space (e.g. `replay` state changes)
    /// to every subscriber; never conflated, not kept in the ring.
    pub fn broadcast(&self, event: &str, data: &impl Serialize) {
        let mut buf = Vec::with_capacity(256);
        spotlight_wire::write_sse(&mut buf, event, None, data);
        self.broadcast_frame(Bytes::from(buf));
    }

    /// Sends a ready SSE frame outside the seq space to every subscriber
    /// (as [`Hub::broadcast`]; a bus edge passing on the producer's).
    pub fn broadcast_frame(&self, frame: Bytes) {
        let mut inner = self.lock();
        if inner.journal.is_some() {
            inner.note(|| MarkKind::Broadcast(frame.clone()));
            self.appended.notify_one();
        }
        let due = Hub::push_to_all(&inner.clients, inner.head, frame);
        drop(inner);
        super::flush(due);
    }

    pub(super) fn reset_frame(inner: &super::Inner, reason: ResetReason) -> Bytes {
        let reset = Reset {
            reason,
            epoch: inner.epoch.to_string(),
            head_seq: inner.head,
            low_seq: inner.ring.low_seq(inner.head),
        };
        let mut buf = Vec::with_capacity(160);
        spotlight_wire::write_sse(&mut buf, "reset", None, &reset);
        Bytes::from(buf)
    }

    /// Queues `frame` for every live subscriber (one still catching up
    /// finds a replay's boundary itself); returns the queues to flush.
    pub(super) fn push_to_all(
        clients: &std::collections::HashMap<u64, super::ClientInfo>,
        head: u64,
        frame: Bytes,
    ) -> Vec<Arc<ClientQueue>> {
        let produced = std::time::Instant::now();
        let mut due = Vec::new();
        for c in clients.values().filter(|c| c.live) {
            let pushed = c.queue.push(QueueItem {
                key: BROADCAST_KEY,
                seq: head,
                is_final: true,
                bytes: frame.clone(),
                produced,
            });
            if pushed == super::Pushed::Due {
                due.push(c.queue.clone());
            }
        }
        due
    }
}
