//! A subscriber's bounded queue: conflates in-progress updates under
//! pressure, never drops a final bar, and closes when it stays full.
//!
//! A queue may have a direct writer (the subscriber's socket). While the
//! subscriber's own writer is parked with nothing pending, the publishing
//! side writes new events straight into the socket ([`ClientQueue::flush`]):
//! one non-blocking send, no task woken. Whatever does not fit stays queued
//! and the subscriber's writer takes over, so the order of the bytes is the
//! queue's order whoever writes them.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::{Mutex, OnceLock};

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;

/// Key of events sent to every subscriber outside the seq space.
pub const BROADCAST_KEY: u32 = u32::MAX;

/// Events written per direct send at most.
const DIRECT_SLICES: usize = 16;

/// Where a queue can write without waiting: a subscriber's socket.
pub trait DirectWrite: Send + Sync {
    /// Writes what fits now (a non-blocking vectored send); `WouldBlock`
    /// when nothing does.
    fn try_write(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Told of each event written in full through [`DirectWrite::try_write`].
    fn written(&self, item: &QueueItem);
}

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

impl QueueItem {
    /// Whether the event is outside the seq space (a `reset`, a `replay`
    /// state change), sent to every subscriber.
    pub fn is_broadcast(&self) -> bool {
        self.key == BROADCAST_KEY
    }
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
    /// Queued for a parked writer: the publisher is to call
    /// [`ClientQueue::flush`] once it has let go of its own locks.
    Due,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<QueueItem>,
    /// Bytes of the items.
    bytes: usize,
    closed: bool,
    conflated: u64,
    /// The subscriber's writer waits: direct writes are allowed. Events
    /// queued while it is parked wait for a publisher's flush.
    parked: bool,
    /// The subscriber's writer is to look up from its wait (a shutdown
    /// wave fired): [`ClientQueue::next_batch`] returns an empty batch.
    nudged: bool,
}

/// A bounded, conflating queue between the hub and one subscriber.
///
/// Laid out in this order on purpose: a fan-out touches `state`, `direct`
/// and the capacities of thousands of queues in a row, and keeping them in
/// the queue's first two cache lines saves a miss per delivery.
#[repr(C)]
pub struct ClientQueue {
    state: Mutex<State>,
    direct: OnceLock<Box<dyn DirectWrite>>,
    capacity: usize,
    capacity_bytes: usize,
    notify: Notify,
    overflow: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for ClientQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientQueue")
            .field("capacity", &self.capacity)
            .field("direct", &self.direct.get().is_some())
            .finish_non_exhaustive()
    }
}

impl ClientQueue {
    /// A queue holding at most `capacity` events and `capacity_bytes` bytes.
    pub fn new(capacity: usize, capacity_bytes: usize) -> ClientQueue {
        ClientQueue {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            capacity: capacity.max(1),
            capacity_bytes,
            direct: OnceLock::new(),
            overflow: OnceLock::new(),
        }
    }

    /// Gives the queue a direct writer (once; later calls are ignored).
    pub fn attach(&self, direct: Box<dyn DirectWrite>) {
        let _ = self.direct.set(direct);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives the queue what to call when it closes on overflow (once): the
    /// subscriber's connection is then shut at once, even mid-write. The
    /// hook runs under the queue's lock: it must not use the queue.
    pub fn on_overflow(&self, hook: Box<dyn Fn() + Send + Sync>) {
        let _ = self.overflow.set(hook);
    }

    /// Queues an event. A pending in-progress update of the same key is
    /// superseded by it (the newest is kept, counted as conflated).
    pub fn push(&self, item: QueueItem) -> Pushed {
        let mut st = self.lock();
        if st.closed {
            return Pushed::Ignored;
        }
        let mut outcome = Pushed::Queued;
        // Parked with events pending: a flush is on its way already.
        let flush_pending = st.parked && !st.items.is_empty();
        // At most one in-progress update per key is ever pending, and it is
        // the newest item of that key: stop at the first item of the key.
        if let Some(pos) = st.items.iter().rposition(|i| i.key == item.key) {
            if !st.items[pos].is_final {
                if let Some(old) = st.items.remove(pos) {
                    st.bytes -= old.bytes.len();
                }
                st.conflated += 1;
                outcome = Pushed::Conflated;
            }
        }
        if st.items.len() >= self.capacity || st.bytes + item.bytes.len() > self.capacity_bytes {
            self.shut(st);
            return Pushed::Closed;
        }
        st.bytes += item.bytes.len();
        st.items.push_back(item);
        if st.parked {
            // Nobody to wake: the first push since the queue emptied makes a
            // flush due, later ones ride along with it.
            return if flush_pending { outcome } else { Pushed::Due };
        }
        drop(st);
        self.notify.notify_one();
        outcome
    }

    /// Writes what is queued straight to the direct writer while the
    /// subscriber's writer is parked; hands the rest (a full socket, a
    /// partly written event, an error) to that writer.
    pub fn flush(&self) {
        let mut st = self.lock();
        let Some(direct) = self.direct.get() else {
            return;
        };
        loop {
            if !st.parked || st.closed || st.items.is_empty() {
                return;
            }
            let (written, offered) = {
                let mut slices = [IoSlice::new(&[]); DIRECT_SLICES];
                let mut count = 0;
                for (slot, item) in slices.iter_mut().zip(&st.items) {
                    *slot = IoSlice::new(&item.bytes);
                    count += 1;
                }
                let offered: usize = slices[..count].iter().map(|s| s.len()).sum();
                (direct.try_write(&slices[..count]), offered)
            };
            let Ok(written) = written else {
                break;
            };
            let mut n = written;
            while let Some(first) = st.items.front_mut() {
                if n < first.bytes.len() {
                    if n > 0 {
                        // Part of an event is out: the rest goes next,
                        // whatever else arrives (never conflated away).
                        first.bytes = first.bytes.slice(n..);
                        first.is_final = true;
                        st.bytes -= n;
                    }
                    break;
                }
                n -= first.bytes.len();
                if let Some(done) = st.items.pop_front() {
                    st.bytes -= done.bytes.len();
                    direct.written(&done);
                }
            }
            if written < offered {
                break;
            }
        }
        // The socket is full or failed: the subscriber's writer takes over.
        st.parked = false;
        drop(st);
        self.notify.notify_one();
    }

    /// Waits for events and returns them as one buffer of at most about
    /// `max_bytes` (a single event is returned without copying), with the
    /// seq of the last one; `on_item` sees each event taken. `None` once the
    /// queue is closed. While it waits with nothing pending, the writer is
    /// parked: new events may be written directly.
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
                if let Some(batch) = take(&mut st, max_bytes, &mut on_item) {
                    return Some(batch);
                }
                if std::mem::take(&mut st.nudged) {
                    st.parked = false;
                    return Some((Bytes::new(), 0));
                }
                st.parked = self.direct.get().is_some();
            }
            notified.await;
        }
    }

    /// Unparks the writer before it writes something of its own (a ping):
    /// returns what is pending, to be written first (part of an event may
    /// be out already), as [`ClientQueue::next_batch`] would.
    pub fn claim(
        &self,
        max_bytes: usize,
        mut on_item: impl FnMut(&QueueItem),
    ) -> Option<(Bytes, u64)> {
        let mut st = self.lock();
        st.parked = false;
        take(&mut st, max_bytes, &mut on_item)
    }

    /// Bytes waiting.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Wakes the subscriber's writer from [`ClientQueue::next_batch`]
    /// (with an empty batch, when nothing is waiting): something outside
    /// the queue wants to be looked at, such as a shutdown wave.
    pub fn nudge(&self) {
        self.lock().nudged = true;
        self.notify.notify_one();
    }

    /// Closes the queue (the subscriber's stream ends).
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_one();
    }

    /// Closes the queue, frees what it held and shuts the subscriber's
    /// connection at once through the overflow hook, as an overflow does:
    /// for a stream whose peer is judged gone.
    pub fn cut(&self) {
        self.shut(self.lock());
    }

    /// What an overflow and a cut do, under the queue's lock.
    fn shut(&self, mut st: std::sync::MutexGuard<'_, State>) {
        st.closed = true;
        let held = std::mem::take(&mut st.items);
        st.bytes = 0;
        // Before the lock goes: the subscriber, which needs it to see the
        // queue closed, finds the hook's work done (its server knows why
        // the stream ended).
        if let Some(hook) = self.overflow.get() {
            hook();
        }
        drop(st);
        drop(held);
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

/// Takes pending events as one buffer (see [`ClientQueue::next_batch`]).
fn take(
    st: &mut State,
    max_bytes: usize,
    on_item: &mut impl FnMut(&QueueItem),
) -> Option<(Bytes, u64)> {
    st.parked = false;
    let first = st.items.pop_front()?;
    st.bytes -= first.bytes.len();
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
        st.bytes -= next.bytes.len();
        st.items.pop_front();
    }
    Some((buf.freeze(), seq))
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
        let q = ClientQueue::new(8, usize::MAX);
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
        let q = ClientQueue::new(3, usize::MAX);
        for seq in 1..=3 {
            assert_eq!(q.push(item(0, seq, true)), Pushed::Queued);
        }
        assert_eq!(q.push(item(0, 4, true)), Pushed::Closed);
        assert!(q.is_closed() && q.is_empty());
        assert_eq!(q.push(item(0, 5, true)), Pushed::Ignored);
        assert_eq!(q.next_batch(1024, |_| {}).await, None);
    }

    #[tokio::test]
    async fn a_queue_over_its_byte_bound_closes() {
        let q = ClientQueue::new(100, 10);
        assert_eq!(q.push(item(0, 1, true)), Pushed::Queued);
        assert_eq!(q.push(item(0, 22, true)), Pushed::Queued);
        assert_eq!(q.bytes(), 5);
        assert_eq!(q.push(item(0, 33333, true)), Pushed::Closed);
        assert_eq!(q.bytes(), 0);
    }

    #[tokio::test]
    async fn batches_respect_the_byte_budget() {
        let q = ClientQueue::new(16, usize::MAX);
        for seq in 1..=5 {
            q.push(item(seq as u32, seq, true));
        }
        let (first, last) = q.next_batch(4, |_| {}).await.unwrap();
        assert_eq!((&first[..], last), (&b"1;2;"[..], 2));
        let (rest, last) = q.next_batch(1024, |_| {}).await.unwrap();
        assert_eq!((&rest[..], last), (&b"3;4;5;"[..], 5));
    }

    /// A reader of `q` in `next_batch`, spawned and given a turn to reach
    /// its wait.
    async fn waiting_reader(
        q: &std::sync::Arc<ClientQueue>,
    ) -> tokio::task::JoinHandle<Option<(Bytes, u64)>> {
        let reader = tokio::spawn({
            let q = q.clone();
            async move { q.next_batch(64, |_| {}).await }
        });
        tokio::task::yield_now().await;
        reader
    }

    #[tokio::test]
    async fn a_nudge_wakes_a_waiting_reader_with_an_empty_batch_once() {
        let q = std::sync::Arc::new(ClientQueue::new(4, usize::MAX));
        let reader = waiting_reader(&q).await;
        q.nudge();
        let (bytes, _) = reader.await.unwrap().unwrap();
        assert!(bytes.is_empty());
        // Consumed: events come next, and pending ones before a nudge.
        q.push(item(0, 7, true));
        q.nudge();
        assert_eq!(q.next_batch(64, |_| {}).await.map(|(_, s)| s), Some(7));
        let (bytes, _) = q.next_batch(64, |_| {}).await.unwrap();
        assert!(bytes.is_empty());
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_on_push() {
        let q = std::sync::Arc::new(ClientQueue::new(4, usize::MAX));
        let reader = waiting_reader(&q).await;
        q.push(item(0, 9, true));
        assert_eq!(reader.await.unwrap().map(|(_, s)| s), Some(9));
    }

    /// A socket stand-in taking at most `room` bytes.
    #[derive(Default)]
    struct Sink {
        out: Mutex<Vec<u8>>,
        room: Mutex<usize>,
        written: Mutex<Vec<u64>>,
    }

    impl DirectWrite for std::sync::Arc<Sink> {
        fn try_write(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut room = self.room.lock().unwrap();
            if *room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(*room - n);
                self.out.lock().unwrap().extend_from_slice(&b[..take]);
                n += take;
            }
            *room -= n;
            Ok(n)
        }

        fn written(&self, item: &QueueItem) {
            self.written.lock().unwrap().push(item.seq);
        }
    }

    type Reader<'a> =
        std::pin::Pin<Box<dyn std::future::Future<Output = Option<(Bytes, u64)>> + 'a>>;

    /// The stream's writer, waiting on `q` with nothing pending: parked.
    async fn park(q: &ClientQueue) -> Reader<'_> {
        let mut reader: Reader<'_> = Box::pin(q.next_batch(1024, |_| {}));
        assert!(futures::poll!(&mut reader).is_pending());
        reader
    }

    fn direct(room: usize) -> (ClientQueue, std::sync::Arc<Sink>) {
        let sink = std::sync::Arc::new(Sink::default());
        *sink.room.lock().unwrap() = room;
        let q = ClientQueue::new(8, usize::MAX);
        q.attach(Box::new(sink.clone()));
        (q, sink)
    }

    #[tokio::test]
    async fn a_parked_writer_gets_events_written_for_it() {
        let (q, sink) = direct(1024);
        let mut reader = park(&q).await;
        assert_eq!(q.push(item(0, 1, true)), Pushed::Due);
        // Until the flush, later events ride along without another one.
        assert_eq!(q.push(item(1, 2, false)), Pushed::Queued);
        assert_eq!(q.push(item(1, 3, false)), Pushed::Conflated);
        q.flush();
        assert_eq!(&sink.out.lock().unwrap()[..], b"1;3;");
        assert_eq!(*sink.written.lock().unwrap(), [1, 3]);
        assert!(q.is_empty());
        assert!(
            futures::poll!(&mut reader).is_pending(),
            "nothing left to wake for"
        );
        assert_eq!(q.push(item(0, 3, true)), Pushed::Due);
    }

    #[tokio::test]
    async fn a_short_write_hands_the_rest_to_the_writer_in_order() {
        let (q, sink) = direct(2);
        let reader = park(&q).await;
        assert_eq!(q.push(item(0, 10, false)), Pushed::Due);
        assert_eq!(q.push(item(1, 11, true)), Pushed::Queued);
        q.flush();
        assert_eq!(&sink.out.lock().unwrap()[..], b"10");
        // An in-progress update of key 0 does not replace an event partly out,
        // and the writer is no longer parked: it is woken, not flushed for.
        assert_eq!(q.push(item(0, 12, false)), Pushed::Queued);
        let (rest, last) = reader.await.unwrap();
        assert_eq!((&rest[..], last), (&b";11;12;"[..], 12));
    }

    #[tokio::test]
    async fn a_full_socket_wakes_the_writer_with_everything() {
        let (q, sink) = direct(0);
        let reader = park(&q).await;
        assert_eq!(q.push(item(0, 5, true)), Pushed::Due);
        q.flush();
        assert!(sink.out.lock().unwrap().is_empty());
        assert_eq!(
            reader.await.map(|(b, _)| b),
            Some(Bytes::from_static(b"5;"))
        );
    }

    #[tokio::test]
    async fn a_claim_unparks_and_returns_what_is_pending() {
        let (q, _sink) = direct(1024);
        let _reader = park(&q).await;
        assert_eq!(q.push(item(0, 7, true)), Pushed::Due);
        let (pending, _) = q.claim(1024, |_| {}).unwrap();
        assert_eq!(&pending[..], b"7;");
        assert_eq!(q.push(item(0, 8, true)), Pushed::Queued);
        assert_eq!(q.claim(1024, |_| {}).map(|(_, s)| s), Some(8));
        assert_eq!(q.claim(1024, |_| {}), None);
    }

    #[tokio::test]
    async fn a_closed_queue_writes_nothing_more() {
        let (q, sink) = direct(1024);
        let reader = park(&q).await;
        assert_eq!(q.push(item(0, 1, true)), Pushed::Due);
        q.close();
        q.flush();
        assert!(sink.out.lock().unwrap().is_empty());
        assert_eq!(reader.await, None);
    }
}
