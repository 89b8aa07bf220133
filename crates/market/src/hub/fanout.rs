//! Fan-out: an applied bar becomes one event, serialized once per
//! timeframe, kept in the ring and queued for every subscriber; parked
//! subscribers' sockets are then written directly, outside the hub's lock.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use super::{ClientQueue, Hub, Inner, Pushed, QueueItem, RingEntry};
use crate::time::now_ms;
use spotlight_wire::bar::{Bar, Candle};
use spotlight_wire::timeframe::Timeframe;
use spotlight_wire::BarEvent;

impl Hub {
    /// Applies a checked bar: new seq, frames, ring, fan-out into the
    /// queues; those whose writer is parked are added to `due`, for the
    /// caller to [`flush`] once the hub is unlocked.
    pub(super) fn apply(
        &self,
        inner: &mut Inner,
        symbol: u32,
        candle: Candle,
        is_final: bool,
        due: &mut Vec<Arc<ClientQueue>>,
    ) -> u64 {
        let emits = inner.series[symbol as usize].apply(candle, is_final);
        inner.head += 1;
        let seq = inner.head;
        let ts = now_ms();
        let produced = std::time::Instant::now();
        let name = inner.series[symbol as usize].name.clone();
        let mut finals = 0u8;
        let frames: [Bytes; Timeframe::COUNT] = std::array::from_fn(|i| {
            let tf = Timeframe::ALL[i];
            let emit = emits[i];
            if emit.is_final || emit.closed.is_some() {
                finals |= 1 << i;
            }
            let mut buf = Vec::with_capacity(if emit.closed.is_some() { 512 } else { 256 });
            let id = (&*inner.epoch, seq);
            if let Some(closed) = emit.closed {
                let event = BarEvent {
                    bar: Bar::new(name.clone(), tf, closed, true),
                    seq,
                    ts,
                };
                spotlight_wire::write_sse(&mut buf, "bar", Some(id), &event);
            }
            let event = BarEvent {
                bar: Bar::new(name.clone(), tf, emit.bar, emit.is_final),
                seq,
                ts,
            };
            spotlight_wire::write_sse(&mut buf, "bar", Some(id), &event);
            Bytes::from(buf)
        });
        let entry = RingEntry {
            seq,
            symbol,
            frames,
            finals,
        };
        self.deliver(inner, entry, ts, produced, due);
        seq
    }

    /// Hands an event's frames to the subscribers of its symbol, then keeps
    /// it in the ring (its seq is the new head).
    pub(super) fn deliver(
        &self,
        inner: &mut Inner,
        entry: RingEntry,
        ts: i64,
        produced: std::time::Instant,
        due: &mut Vec<Arc<ClientQueue>>,
    ) {
        let (symbol, seq) = (entry.symbol, entry.seq);
        for (i, subs) in inner.subscribers[symbol as usize].iter().enumerate() {
            for (_, queue) in subs {
                let item = QueueItem {
                    key: symbol,
                    seq,
                    is_final: entry.finals & (1 << i) != 0,
                    bytes: entry.frames[i].clone(),
                    produced,
                };
                match queue.push(item) {
                    Pushed::Due => due.push(queue.clone()),
                    Pushed::Conflated => {
                        self.stats.conflated.fetch_add(1, Ordering::Relaxed);
                    }
                    Pushed::Closed => {
                        self.stats.slow_disconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    Pushed::Queued | Pushed::Ignored => {}
                }
            }
        }
        inner.ring.push(entry);
        self.appended.notify_one();
        self.stats.events.fetch_add(1, Ordering::Relaxed);
        self.stats.last_event_ms.store(ts, Ordering::Relaxed);
    }
}

/// Queues flushed between yields to other tasks.
const FLUSH_CHUNK: usize = 256;

/// Writes queued events straight to the sockets of parked subscribers,
/// outside the hub's lock. In a runtime the writes are a task of their own:
/// the publisher does not wait for them, and events published while they
/// run ride along in the same sends (under load a send carries several).
pub(super) fn flush(mut due: Vec<Arc<ClientQueue>>) {
    let now = due.len().min(FLUSH_CHUNK);
    due.iter().take(now).for_each(|q| q.flush());
    if due.len() == now {
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            due.drain(..now);
            runtime.spawn(async move {
                for chunk in due.chunks(FLUSH_CHUNK) {
                    tokio::task::yield_now().await;
                    chunk.iter().for_each(|q| q.flush());
                }
            });
        }
        Err(_) => due[now..].iter().for_each(|q| q.flush()),
    }
}
