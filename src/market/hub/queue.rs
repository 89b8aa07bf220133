//! A subscriber's bounded queue: conflates in-progress updates under
//! pressure, never drops a final bar, and closes when it stays full.

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;

/// One event waiting for a subscriber.
#[derive(Debug, Clone)]
pub struct QueueItem {
    /// Conflation key: the symbol index (a subscription has one timeframe).
    pub key: u32,
    /// The event's seq.
    pub seq: u64,
    /// Whether the frames carry a final bar (never conflated).
    pub is_final: bool,
    /// The SSE frames, shared with every other subscriber.
    pub bytes: Bytes,
    /// When the hub produced the event.
    pub produced: std::time::Instant,
}

/// What [`ClientQueue::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued behind the others.
    Queued,
    /// Queued, replacing a pending in-progress update of the same key.
    Conflated,
    /// The queue was full of events that cannot be conflated: it is now
    /// closed and emptied; the subscriber resumes from the ring.
    Closed,
    /// The queue was already closed; nothing was queued.
    Ignored,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<QueueItem>,
    closed: bool,
    conflated: u64,
}

/// A bounded, conflating queue between the hub and one subscriber.
#[derive(Debug)]
pub struct ClientQueue {
    state: Mutex<State>,
    notify: Notify,
    capacity: usize,
}

impl ClientQueue {
    /// A queue holding at most `capacity` events.
    pub fn new(capacity: usize) -> ClientQueue {
        ClientQueue {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an event. A pending in-progress update of the same key is
    /// superseded by it (the newest is kept, counted as conflated).
    pub fn push(&self, item: QueueItem) -> Pushed {
        let mut st = self.lock();
        if st.closed {
            return Pushed::Ignored;
        }
        let mut outcome = Pushed::Queued;
        // At most one in-progress update per key is ever pending, and it is
        // the newest item of that key: stop at the first item of the key.
        if let Some(pos) = st.items.iter().rposition(|i| i.key == item.key) {
            if !st.items[pos].is_final {
                st.items.remove(pos);
                st.conflated += 1;
                outcome = Pushed::Conflated;
            }
        }
        if st.items.len() >= self.capacity {
            st.closed = true;
            st.items = VecDeque::new();
            drop(st);
            self.notify.notify_one();
            return Pushed::Closed;
        }
        st.items.push_back(item);
        drop(st);
        self.notify.notify_one();
        outcome
    }

    /// Waits for events and returns them as one buffer of at most about
    /// `max_bytes` (a single event is returned without copying), with the
    /// seq of the last one; `on_item` sees each event taken. `None` once the
    /// queue is closed.
    pub async fn next_batch(
        &self,
        max_bytes: usize,
        mut on_item: impl FnMut(&QueueItem),
    ) -> Option<(Bytes, u64)> {
        loop {
            let notified = self.notify.notified();
            {
                let mut st = self.lock();
                if st.closed {
                    return None;
                }
                if let Some(first) = st.items.pop_front() {
                    on_item(&first);
                    if st.items.is_empty() {
                        return Some((first.bytes, first.seq));
                    }
                    let mut buf = BytesMut::with_capacity(max_bytes.min(64 * 1024));
                    let mut seq = first.seq;
                    buf.extend_from_slice(&first.bytes);
                    while let Some(next) = st.items.front() {
                        if buf.len() + next.bytes.len() > max_bytes {
                            break;
                        }
                        on_item(next);
                        buf.extend_from_slice(&next.bytes);
                        seq = next.seq;
                        st.items.pop_front();
                    }
                    return Some((buf.freeze(), seq));
                }
            }
            notified.await;
        }
    }

    /// Closes the queue (the subscriber's stream ends).
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_one();
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue was closed.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// In-progress updates conflated so far.
    pub fn conflated(&self) -> u64 {
        self.lock().conflated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: u32, seq: u64, is_final: bool) -> QueueItem {
        QueueItem {
            key,
            seq,
            is_final,
            bytes: Bytes::from(format!("{seq};")),
            produced: std::time::Instant::now(),
        }
    }

    #[tokio::test]
    async fn in_progress_updates_conflate_finals_stay() {
        let q = ClientQueue::new(8);
        assert_eq!(q.push(item(0, 1, false)), Pushed::Queued);
        assert_eq!(q.push(item(1, 2, false)), Pushed::Queued);
        assert_eq!(q.push(item(0, 3, false)), Pushed::Conflated);
        assert_eq!(q.push(item(0, 4, true)), Pushed::Conflated);
        assert_eq!(q.push(item(0, 5, false)), Pushed::Queued);
        assert_eq!(q.conflated(), 2);
        let (bytes, last) = q.next_batch(1024, |_| {}).await.unwrap();
        // seq order is kept: 2 (key 1), then 4 (final), then 5.
        assert_eq!(&bytes[..], b"2;4;5;");
        assert_eq!(last, 5);
    }

    #[tokio::test]
    async fn a_queue_full_of_finals_closes_and_frees_its_memory() {
        let q = ClientQueue::new(3);
        for seq in 1..=3 {
            assert_eq!(q.push(item(0, seq, true)), Pushed::Queued);
        }
        assert_eq!(q.push(item(0, 4, true)), Pushed::Closed);
        assert!(q.is_closed() && q.is_empty());
        assert_eq!(q.push(item(0, 5, true)), Pushed::Ignored);
        assert_eq!(q.next_batch(1024, |_| {}).await, None);
    }

    #[tokio::test]
    async fn batches_respect_the_byte_budget() {
        let q = ClientQueue::new(16);
        for seq in 1..=5 {
            q.push(item(seq as u32, seq, true));
        }
        let (first, last) = q.next_batch(4, |_| {}).await.unwrap();
        assert_eq!((&first[..], last), (&b"1;2;"[..], 2));
        let (rest, last) = q.next_batch(1024, |_| {}).await.unwrap();
        assert_eq!((&rest[..], last), (&b"3;4;5;"[..], 5));
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_on_push() {
        let q = std::sync::Arc::new(ClientQueue::new(4));
        let reader = tokio::spawn({
            let q = q.clone();
            async move { q.next_batch(64, |_| {}).await }
        });
        tokio::task::yield_now().await;
        q.push(item(0, 9, true));
        assert_eq!(reader.await.unwrap().map(|(_, s)| s), Some(9));
    }
}
