//! The hub: one epoch, one gap-free seq over every symbol's 1m events, each
//! event serialized once per timeframe into its SSE frame, a ring for resume,
//! and fan-out into every subscriber's bounded queue.

mod catch_up;
mod client_queue;
mod error;
mod fanout;
mod marks;
mod mirror;
mod persist;
mod queries;
mod replay_mode;
mod ring;
mod series;
mod subscription;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use fanout::flush;

use rand::Rng;

pub use catch_up::{CatchUp, Caught};
pub use client_queue::{ClientQueue, DirectWrite, Pushed, QueueItem, BROADCAST_KEY};
pub use error::{BatchError, PublishError, SubscribeError, UnknownSymbol};
pub use marks::{LiveTail, Mark, MarkKind, Preload};
pub use mirror::{MirrorError, Mirrored};
pub use ring::{Ring, RingEntry};
pub use series::{Emit, Series};
pub use subscription::Subscription;

use crate::symbol;
use crate::time::now_ms;
use spotlight_wire::bar::{Bar, Candle};
use spotlight_wire::timeframe::Timeframe;
use spotlight_wire::{ClientLag, History, ResetReason, SymbolInfo};

/// Sizes the hub is built with.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Events kept for resume.
    pub ring: usize,
    /// Bytes of events kept for resume.
    pub ring_bytes: usize,
    /// Events a subscriber may have waiting before it is closed.
    pub client_queue: usize,
    /// Bytes a subscriber may have waiting before it is closed.
    pub client_queue_bytes: usize,
    /// Final 1m bars kept per symbol for history.
    pub retain: usize,
    /// Symbols the hub holds at most.
    pub max_symbols: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            ring: 100_000,
            ring_bytes: 256 * 1024 * 1024,
            client_queue: 4096,
            client_queue_bytes: 1024 * 1024,
            retain: 200_000,
            max_symbols: 1000,
        }
    }
}

/// Bars validated or applied per hold of the hub's lock in a batch.
const BATCH_CHUNK: usize = 256;

/// Counters the hub keeps (read by diag and metrics).
#[derive(Debug, Default)]
pub struct HubStats {
    /// Base events published.
    pub events: AtomicU64,
    /// Bars published one at a time (a live source).
    pub published: AtomicU64,
    /// Bars published in batches (ingest).
    pub ingested: AtomicU64,
    /// Bars loaded as history (backfill, files).
    pub loaded: AtomicU64,
    /// In-progress updates conflated in subscriber queues.
    pub conflated: AtomicU64,
    /// Subscribers closed because their queue stayed full.
    pub slow_disconnects: AtomicU64,
    /// Subscribers connected now.
    pub subscribers: AtomicU64,
    /// Subscribers ever connected.
    pub subscribers_total: AtomicU64,
    /// Wall time of the newest event, Unix ms (0 before the first).
    pub last_event_ms: std::sync::atomic::AtomicI64,
}

/// Where a subscriber wants to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// From now on.
    Live,
    /// After `seq` of `epoch` (the current epoch when `None`).
    After {
        /// The epoch the seq belongs to.
        epoch: Option<String>,
        /// The last seq the client has.
        seq: u64,
    },
}

/// How a subscription started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Live from now.
    Live,
    /// Every missed event is in the backlog.
    Resumed,
    /// The position could not be resumed: the client must refetch history.
    Reset(ResetReason),
}

/// Subscribers of one symbol, per timeframe: `(subscription id, queue)`.
type SymbolSubscribers = [Vec<(u64, Arc<ClientQueue>)>; Timeframe::COUNT];

struct Inner {
    /// The epoch the seqs belong to (a bus edge takes a new one when the
    /// shared log was lost).
    epoch: Arc<str>,
    head: u64,
    ring: Ring,
    series: Vec<Series>,
    index: HashMap<Arc<str>, u32>,
    subscribers: Vec<SymbolSubscribers>,
    clients: HashMap<u64, ClientInfo>,
    next_id: u64,
    /// Live series of symbols being replayed, set aside until the replay ends.
    stashed: HashMap<u32, Series>,
    /// The head seq when a replay last started or stopped, and which: a
    /// resume from before it gets a `reset` instead of mixed events.
    boundary: Option<(u64, ResetReason)>,
    /// What happened outside the seq space, for the bus (a producer's hub).
    journal: Option<marks::MarkLog>,
}

impl Inner {
    /// The series keys of `symbols` (every symbol when none), sorted,
    /// once each.
    fn keys(&self, symbols: &[String]) -> Result<Vec<u32>, SubscribeError> {
        if symbols.is_empty() {
            return Ok((0..self.series.len() as u32).collect());
        }
        let mut keys = symbols
            .iter()
            .map(|s| {
                self.index
                    .get(s.as_str())
                    .copied()
                    .ok_or_else(|| SubscribeError::UnknownSymbol(s.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    /// Where a subscription starts: live, after `seq` (read from the ring
    /// through a cursor as the stream drains, [`Hub::catch_up`]: nothing is
    /// copied now), or with a reset.
    fn start(&self, resume: &Resume) -> Result<(Start, Option<u64>), SubscribeError> {
        let head = self.head;
        let low = self.ring.low_seq(head);
        Ok(match resume {
            Resume::Live => (Start::Live, None),
            Resume::After { epoch: Some(e), .. } if **e != *self.epoch => {
                (Start::Reset(ResetReason::EpochChanged), None)
            }
            Resume::After { seq, .. } if self.boundary.is_some_and(|(b, _)| *seq < b) => {
                let reason = self.boundary.map_or(ResetReason::GapTooOld, |(_, r)| r);
                (Start::Reset(reason), None)
            }
            Resume::After { seq, .. } if *seq > head => {
                return Err(SubscribeError::AheadOfHead { seq: *seq, head })
            }
            Resume::After { seq, .. } if seq + 1 < low => {
                (Start::Reset(ResetReason::GapTooOld), None)
            }
            Resume::After { seq, .. } => (Start::Resumed, Some(*seq)),
        })
    }

    fn new(config: &HubConfig) -> Inner {
        Inner {
            epoch: Arc::from(""),
            head: 0,
            ring: Ring::new(config.ring, config.ring_bytes),
            series: Vec::new(),
            index: HashMap::new(),
            subscribers: Vec::new(),
            clients: HashMap::new(),
            next_id: 1,
            stashed: HashMap::new(),
            boundary: None,
            journal: None,
        }
    }
}

/// What the hub remembers of a subscriber, for diag.
#[derive(Debug, Clone)]
struct ClientInfo {
    queue: Arc<ClientQueue>,
    since: std::time::Instant,
    tf: Timeframe,
    symbols: usize,
    /// Receiving live events (not still catching up from the ring).
    live: bool,
}

/// The hub's journal: its events and marks in seq order, as a bus
/// producer ships them to the shared log ([`Journal::events_after`],
/// [`Journal::marks_after`]) and a follower applies them to its own hub
/// ([`Journal::mirror`] and the rest). See [`Hub::journal`].
pub struct Journal<'a>(&'a Hub);

/// The hub's replay mode: replayed symbols get a fresh series the
/// replayed bars flow through while their live series is set aside. See
/// [`Hub::replay_mode`].
pub struct ReplayMode<'a>(&'a Hub);

impl std::ops::Deref for Journal<'_> {
    type Target = Hub;
    fn deref(&self) -> &Hub {
        self.0
    }
}

impl std::ops::Deref for ReplayMode<'_> {
    type Target = Hub;
    fn deref(&self) -> &Hub {
        self.0
    }
}

/// The market hub. See the module docs.
pub struct Hub {
    started_ms: i64,
    config: HubConfig,
    inner: Mutex<Inner>,
    /// Held by whoever publishes, for a whole batch: publishers take turns,
    /// while the hub's own lock is only ever held for a bounded step.
    writer: Mutex<()>,
    stats: HubStats,
    /// Woken once per event kept in the ring (a permit waits if nobody
    /// does): what a bus producer's pump waits on.
    appended: tokio::sync::Notify,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field(
                "epoch",
                &self.inner.try_lock().map(|i| i.epoch.clone()).ok(),
            )
            .finish_non_exhaustive()
    }
}

/// A short random epoch id (8 lowercase letters and digits).
pub fn new_epoch() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

impl Hub {
    /// A hub with a fresh epoch.
    pub fn new(config: HubConfig) -> Arc<Hub> {
        let inner = Inner::new(&config);
        Hub::build(config, new_epoch(), inner)
    }

    fn build(config: HubConfig, epoch: String, mut inner: Inner) -> Arc<Hub> {
        inner.epoch = Arc::from(epoch);
        Arc::new(Hub {
            started_ms: now_ms(),
            inner: Mutex::new(inner),
            config,
            writer: Mutex::new(()),
            stats: HubStats::default(),
            appended: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn writer(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The hub's journal (what the bus ships and applies).
    pub fn journal(&self) -> Journal<'_> {
        Journal(self)
    }

    /// The hub's replay mode.
    pub fn replay_mode(&self) -> ReplayMode<'_> {
        ReplayMode(self)
    }

    /// This server start's epoch id.
    pub fn epoch(&self) -> Arc<str> {
        self.lock().epoch.clone()
    }

    /// When this epoch started, Unix ms.
    pub fn started_ms(&self) -> i64 {
        self.started_ms
    }

    /// Waits until an event has been kept in the ring since the last wait
    /// (at once if one has).
    pub async fn appended(&self) {
        self.appended.notified().await;
    }

    /// Wakes every subscriber's writer from its wait for events, so that
    /// each looks at what else it waits for (a shutdown wave): the queues
    /// are collected under the lock and nudged outside it.
    pub fn nudge_all(&self) {
        let queues: Vec<Arc<ClientQueue>> = {
            let inner = self.lock();
            inner.clients.values().map(|c| c.queue.clone()).collect()
        };
        for queue in queues {
            queue.nudge();
        }
    }

    /// The hub's counters.
    pub fn stats(&self) -> &HubStats {
        &self.stats
    }

    /// `(lowSeq, headSeq)` of the ring.
    pub fn ring_bounds(&self) -> (u64, u64) {
        let inner = self.lock();
        (inner.ring.low_seq(inner.head), inner.head)
    }

    /// The head seq when a replay last started or stopped (a resume from
    /// before it gets `reset`).
    pub fn boundary_seq(&self) -> Option<u64> {
        self.lock().boundary.map(|(seq, _)| seq)
    }

    /// Whether any symbol has a bar yet.
    pub fn has_data(&self) -> bool {
        self.lock().series.iter().any(Series::has_data)
    }

    /// Known symbols, sorted.
    pub fn symbol_names(&self) -> Vec<String> {
        let inner = self.lock();
        let names: BTreeSet<String> = inner.series.iter().map(|s| s.name.to_string()).collect();
        names.into_iter().collect()
    }

    /// Replaces a symbol's history with sorted final 1m candles (a backfill or
    /// a recorded file), without events.
    pub fn load(&self, symbol: &str, candles: Vec<Candle>) -> Result<(), PublishError> {
        let _writer = self.writer();
        let mut inner = self.lock();
        let i = self.symbol_index(&mut inner, symbol)?;
        self.stats
            .loaded
            .fetch_add(candles.len() as u64, Ordering::Relaxed);
        inner.series[i as usize].load(candles);
        Ok(())
    }

    /// Whether `symbol` could be added (a valid name, room under
    /// `max_symbols`), or is known already.
    fn admits_symbol(
        &self,
        inner: &Inner,
        symbol: &str,
        adding: usize,
    ) -> Result<(), PublishError> {
        if inner.index.contains_key(symbol) {
            return Ok(());
        }
        symbol::check(symbol)?;
        if inner.series.len() + adding >= self.config.max_symbols {
            return Err(PublishError::TooManySymbols(self.config.max_symbols));
        }
        Ok(())
    }

    fn symbol_index(&self, inner: &mut Inner, symbol: &str) -> Result<u32, PublishError> {
        if let Some(i) = inner.index.get(symbol) {
            return Ok(*i);
        }
        self.admits_symbol(inner, symbol, 0)?;
        let name: Arc<str> = Arc::from(symbol);
        let i = inner.series.len() as u32;
        inner
            .series
            .push(Series::new(name.clone(), self.config.retain));
        inner.subscribers.push(Default::default());
        inner.index.insert(name, i);
        Ok(i)
    }

    /// Publishes a 1m bar (in progress or final) and returns its seq.
    pub fn publish(
        &self,
        symbol: &str,
        candle: Candle,
        is_final: bool,
    ) -> Result<u64, PublishError> {
        candle.check()?;
        let _writer = self.writer();
        let mut inner = self.lock();
        let i = self.symbol_index(&mut inner, symbol)?;
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        if let Some(live) = inner.stashed.get_mut(&i) {
            // Being replayed: the live history moves on, without events.
            live.check_order(candle.t)?;
            live.apply(candle, is_final);
            return Ok(inner.head);
        }
        self.emit(inner, i, candle, is_final)
    }

    /// Publishes `candle` into series `i` as an event (when in order),
    /// releasing the lock before the subscribers' sockets are written.
    /// Returns its seq.
    fn emit(
        &self,
        mut inner: MutexGuard<'_, Inner>,
        i: u32,
        candle: Candle,
        is_final: bool,
    ) -> Result<u64, PublishError> {
        inner.series[i as usize].check_order(candle.t)?;
        let mut due = Vec::new();
        let seq = self.apply(&mut inner, i, candle, is_final, &mut due);
        drop(inner);
        flush(due);
        Ok(seq)
    }

    /// Publishes a batch of 1m bars atomically: all of them, in order, or —
    /// when any is invalid or out of order — none. Returns the head seq.
    ///
    /// Other publishers wait for the whole batch; the hub's lock (which
    /// subscribers, history and diag need) is taken for [`BATCH_CHUNK`] bars
    /// at a time, so a large batch never holds it for long.
    pub fn publish_batch(&self, bars: &[Bar]) -> Result<u64, BatchError> {
        let _writer = self.writer();
        // Dry run against the hub's state plus the batch so far.
        let mut latest: HashMap<&str, (i64, bool)> = HashMap::new();
        let mut new_symbols = 0;
        for (c, chunk) in bars.chunks(BATCH_CHUNK).enumerate() {
            let inner = self.lock();
            for (j, bar) in chunk.iter().enumerate() {
                let fail = |error| BatchError {
                    index: c * BATCH_CHUNK + j,
                    error,
                };
                if bar.tf != Timeframe::M1 {
                    return Err(fail(PublishError::NotBase(bar.tf)));
                }
                let candle = bar.candle();
                candle.check().map_err(|e| fail(e.into()))?;
                match latest.get(&*bar.symbol) {
                    Some(&(t, was_final)) if bar.t < t || (bar.t == t && was_final) => {
                        return Err(fail(PublishError::Stale {
                            symbol: bar.symbol.to_string(),
                            t: bar.t,
                            latest: t,
                        }));
                    }
                    Some(_) => {}
                    None => match inner.index.get(&*bar.symbol) {
                        Some(i) => {
                            let series = inner.stashed.get(i).unwrap_or(&inner.series[*i as usize]);
                            series.check_order(bar.t).map_err(fail)?;
                        }
                        None => {
                            self.admits_symbol(&inner, &bar.symbol, new_symbols)
                                .map_err(fail)?;
                            new_symbols += 1;
                        }
                    },
                }
                latest.insert(&bar.symbol, (bar.t, bar.is_final));
            }
        }
        self.stats
            .ingested
            .fetch_add(bars.len() as u64, Ordering::Relaxed);
        let mut head = 0;
        for chunk in bars.chunks(BATCH_CHUNK) {
            let mut due = Vec::new();
            let mut inner = self.lock();
            for bar in chunk {
                let i = match self.symbol_index(&mut inner, &bar.symbol) {
                    Ok(i) => i,
                    Err(_) => continue, // checked in the dry run
                };
                match inner.stashed.get_mut(&i) {
                    Some(live) => {
                        live.apply(bar.candle(), bar.is_final);
                    }
                    None => {
                        self.apply(&mut inner, i, bar.candle(), bar.is_final, &mut due);
                    }
                }
            }
            head = inner.head;
            drop(inner);
            flush(due);
        }
        Ok(head)
    }

    /// Subscribes to `symbols` (every known symbol when empty) at `tf`,
    /// starting as `resume` asks.
    pub fn subscribe(
        self: &Arc<Self>,
        symbols: &[String],
        tf: Timeframe,
        resume: &Resume,
    ) -> Result<Subscription, SubscribeError> {
        let mut inner = self.lock();
        let keys = inner.keys(symbols)?;
        let head = inner.head;
        let low = inner.ring.low_seq(head);
        let (start, cursor) = inner.start(resume)?;
        let id = inner.next_id;
        inner.next_id += 1;
        let queue = Arc::new(ClientQueue::new(
            self.config.client_queue,
            self.config.client_queue_bytes,
        ));
        if cursor.is_none() {
            for k in &keys {
                inner.subscribers[*k as usize][tf.index()].push((id, queue.clone()));
            }
        }
        let info = ClientInfo {
            queue: queue.clone(),
            since: std::time::Instant::now(),
            tf,
            symbols: keys.len(),
            live: cursor.is_none(),
        };
        inner.clients.insert(id, info);
        let mut names: Vec<String> = keys
            .iter()
            .map(|k| inner.series[*k as usize].name.to_string())
            .collect();
        names.sort();
        let epoch = inner.epoch.clone();
        drop(inner);
        self.stats.subscribers.fetch_add(1, Ordering::Relaxed);
        self.stats.subscribers_total.fetch_add(1, Ordering::Relaxed);
        Ok(Subscription {
            epoch,
            id,
            hub: self.clone(),
            keys,
            tf,
            symbols: names,
            queue,
            cursor,
            start,
            head,
            low,
        })
    }

    pub(super) fn unsubscribe(&self, id: u64, keys: &[u32], tf: Timeframe) {
        let mut inner = self.lock();
        for k in keys {
            inner.subscribers[*k as usize][tf.index()].retain(|(i, _)| *i != id);
        }
        inner.clients.remove(&id);
        drop(inner);
        self.stats.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
