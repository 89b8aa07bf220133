//! One instance on the bus: a task that keeps the producer lease while it
//! can (taking it when free, renewing it at a third of its time, giving
//! it up on the way out), and a task that follows the log on a connection
//! of its own, handing entries on in order and reconnecting on the shared
//! policy.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::lease::Lease;
use super::log::{Log, LogEntry, Position};
use super::Role;
use spotlight_market::time::now_ms;
use spotlight_reconnect::Backoff;
use spotlight_wire::{ReplayState, ReplayStatus};

/// What the instance's bus tasks know, for readiness, diag and metrics.
#[derive(Debug)]
pub struct NodeState {
    /// Whether this instance holds the lease (watched by the producer).
    producer: tokio::sync::watch::Sender<bool>,
    lease_changes: AtomicU64,
    following: AtomicBool,
    reconnects: AtomicU64,
    followed: AtomicU64,
    /// When the follower last read an entry (event or heartbeat), Unix ms.
    heard_ms: AtomicI64,
    events_in: AtomicU64,
    events_out: AtomicU64,
    /// Seconds from the producer's append to this instance's fan-out
    /// (registered by the server's metrics; unregistered it only counts).
    pub lag: prometheus::Histogram,
    /// The producer's last replay status and when it came.
    replay: Mutex<Option<(ReplayStatus, Instant)>>,
    /// The last seq applied to this instance's hub.
    applied: tokio::sync::watch::Sender<u64>,
}

impl Default for NodeState {
    fn default() -> Self {
        let opts = prometheus::HistogramOpts::new(
            "spotlight_bus_lag_seconds",
            "Time from the producer's append to the shared log to this instance's fan-out",
        )
        .buckets(vec![
            0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
        ]);
        NodeState {
            producer: tokio::sync::watch::Sender::new(false),
            lease_changes: AtomicU64::default(),
            following: AtomicBool::default(),
            reconnects: AtomicU64::default(),
            followed: AtomicU64::default(),
            heard_ms: AtomicI64::default(),
            events_in: AtomicU64::default(),
            events_out: AtomicU64::default(),
            lag: prometheus::Histogram::with_opts(opts).expect("a static, valid histogram"),
            replay: Mutex::new(None),
            applied: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl NodeState {
    /// Whether this instance holds the lease now.
    pub fn is_producer(&self) -> bool {
        *self.producer.borrow()
    }

    /// Waits until this instance holds the lease (`true`) or does not
    /// (`false`).
    pub async fn producer_is(&self, held: bool) {
        let mut watch = self.producer.subscribe();
        // The sender lives in `self`: the wait cannot fail while we borrow it.
        let _ = watch.wait_for(|now| *now == held).await;
    }

    /// Times this instance took or lost the lease.
    pub fn lease_changes(&self) -> u64 {
        self.lease_changes.load(Ordering::Relaxed)
    }

    /// Whether the follower is connected and reading.
    pub fn is_following(&self) -> bool {
        self.following.load(Ordering::SeqCst)
    }

    /// Times the follower connected again after a failure.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }

    /// The last seq the follower handed on.
    pub fn followed(&self) -> u64 {
        self.followed.load(Ordering::SeqCst)
    }

    /// Events read from the log and applied here.
    pub fn events_in(&self) -> u64 {
        self.events_in.load(Ordering::Relaxed)
    }

    /// Events this instance appended to the log as producer.
    pub fn events_out(&self) -> u64 {
        self.events_out.load(Ordering::Relaxed)
    }

    /// Counts event `seq` applied here, appended at `appended_ms` (Redis's
    /// clock; 0: unknown, not timed).
    pub fn received(&self, seq: u64, appended_ms: i64) {
        self.events_in.fetch_add(1, Ordering::Relaxed);
        self.applied.send_replace(seq);
        if appended_ms > 0 {
            self.lag
                .observe((now_ms() - appended_ms).max(0) as f64 / 1000.0);
        }
    }

    /// The log started again in a new epoch: nothing of it applied yet.
    pub fn restarted(&self) {
        self.applied.send_replace(0);
    }

    /// Waits until event `seq` has been applied here, for `wait` at most;
    /// whether it has.
    pub async fn applied(&self, seq: u64, wait: Duration) -> bool {
        let mut applied = self.applied.subscribe();
        let reached = tokio::time::timeout(wait, applied.wait_for(|s| *s >= seq)).await;
        matches!(reached, Ok(Ok(_)))
    }

    /// Keeps the replay status the producer broadcast.
    pub fn replay_changed(&self, status: ReplayStatus) {
        *self.replay.lock().unwrap_or_else(|e| e.into_inner()) = Some((status, Instant::now()));
    }

    /// The replay as the producer last told it, its clock moved on by the
    /// time since when running (`None`: nothing told yet).
    pub fn replay(&self) -> Option<ReplayStatus> {
        let kept = self.replay.lock().unwrap_or_else(|e| e.into_inner());
        let (status, at) = kept.as_ref()?;
        let mut status = status.clone();
        if status.state == ReplayState::Running {
            let moved = (at.elapsed().as_secs_f64() * 1000.0 * status.speed) as i64;
            status.clock = status
                .clock
                .map(|c| (c + moved).min(status.to.unwrap_or(i64::MAX)));
        }
        Some(status)
    }

    /// Counts `n` events appended by this instance.
    pub fn shipped(&self, n: usize) {
        self.events_out.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Milliseconds since the follower last read an entry.
    pub fn silent_ms(&self) -> i64 {
        (now_ms() - self.heard_ms.load(Ordering::SeqCst)).max(0)
    }

    /// Why this instance is not receiving, if it is not: Redis cannot be
    /// reached, or nothing (not even a heartbeat) came for `stall`.
    pub fn problem(&self, stall: Duration) -> Option<String> {
        if !self.is_following() {
            return Some("the bus (Redis) cannot be reached: reconnecting".into());
        }
        let silent = self.silent_ms();
        (silent > stall.as_millis() as i64).then(|| {
            format!(
                "nothing heard from the bus for {:.1}s (the producer writes a heartbeat every second)",
                silent as f64 / 1000.0
            )
        })
    }

    fn heard(&self) {
        self.heard_ms.store(now_ms(), Ordering::SeqCst);
    }

    fn set_producer(&self, now: bool) {
        if self.producer.send_replace(now) != now {
            self.lease_changes.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Keeps the lease as `role` allows until `stop`: an edge never takes it;
/// `auto` and `producer` take it when free and renew it while they hold
/// it. A failed renewal (Redis unreachable, or the lease expired and went
/// to another) means not the producer until it is taken again. Gives the
/// lease up when stopped, so a standby need not wait out its time.
pub async fn keep_lease(
    client: redis::Client,
    lease: Lease,
    role: Role,
    state: Arc<NodeState>,
    stop: CancellationToken,
) {
    if role == Role::Edge {
        return;
    }
    let mut con = None;
    let mut tick = tokio::time::interval(lease.renew_every());
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => break,
        }
        if con.is_none() {
            con = client.get_multiplexed_async_connection().await.ok();
        }
        let Some(c) = con.as_mut() else {
            state.set_producer(false);
            continue;
        };
        let held = if state.is_producer() {
            lease.renew(c).await
        } else {
            lease.acquire(c).await
        };
        match held {
            Ok(held) => state.set_producer(held),
            Err(_) => {
                state.set_producer(false);
                con = None;
            }
        }
    }
    // Given up whatever this instance believes: after Redis was paused or
    // restarted, a renewal's answer may have been lost while the lease is
    // still ours there. The release is a compare-and-delete, safe either way.
    release(&client, &lease, con).await;
    state.set_producer(false);
}

/// Gives the lease up on `con`, or on a new connection when that fails
/// (it may have died with a Redis restart), within [`RELEASE_WITHIN`].
async fn release(
    client: &redis::Client,
    lease: &Lease,
    con: Option<redis::aio::MultiplexedConnection>,
) {
    let attempt = async {
        if let Some(mut c) = con {
            if lease.release(&mut c).await.is_ok() {
                return;
            }
        }
        let mut backoff = Backoff::attempts_at_most(3);
        loop {
            if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                if lease.release(&mut c).await.is_ok() {
                    return;
                }
            }
            match backoff.next_delay() {
                Some(wait) => tokio::time::sleep(wait.min(Duration::from_millis(500))).await,
                None => return,
            }
        }
    };
    if tokio::time::timeout(RELEASE_WITHIN, attempt).await.is_err() {
        tracing::warn!("could not give the bus lease up: a standby takes over when it expires");
    }
}

/// How long a stopping instance tries to give its lease up.
pub const RELEASE_WITHIN: Duration = Duration::from_secs(3);

/// What the follower hands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followed {
    /// The next event of the log.
    Event(LogEntry),
    /// A mark between events: its kind's name and bytes.
    Mark(String, bytes::Bytes),
    /// The log was started again in a new epoch (Redis lost the old one):
    /// its events follow from its start.
    Epoch(String),
}

/// Follows the log of `epoch` after seq `from`, handing each event on `tx`
/// in order (the channel bounds what waits), on a connection of its own
/// with `XREAD BLOCK`; heartbeats count as hearing from the producer.
/// After a failure it connects again on the shared policy and continues
/// from where it was, so nothing that reached the log is skipped; a new
/// epoch is handed on and followed from its start. Ends when stopped or
/// when `tx` is closed.
pub async fn follow(
    client: redis::Client,
    log: Log,
    epoch: String,
    from: u64,
    tx: mpsc::Sender<Followed>,
    state: Arc<NodeState>,
    stop: CancellationToken,
) {
    let mut cursor = Cursor {
        epoch,
        at: Position::after(from),
    };
    state.followed.store(from, Ordering::SeqCst);
    state.heard();
    let mut backoff = Backoff::attempts_at_most(u32::MAX);
    let mut failed = false;
    // The blocking read outlasts the client's default response timeout
    // (500 ms): this connection times its reads itself.
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    loop {
        let con = tokio::select! {
            c = client.get_multiplexed_async_connection_with_config(&config) => c,
            () = stop.cancelled() => break,
        };
        let ended = match con {
            Ok(mut con) => {
                if std::mem::take(&mut failed) {
                    state.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                backoff.reset();
                state.following.store(true, Ordering::SeqCst);
                read(&mut con, &log, &mut cursor, &tx, &state, &stop).await
            }
            Err(_) => {
                let wait = backoff.next_delay().unwrap_or(backoff.cap);
                tokio::select! {
                    () = tokio::time::sleep(wait) => Ended::Failed,
                    () = stop.cancelled() => Ended::Done,
                }
            }
        };
        state.following.store(false, Ordering::SeqCst);
        match ended {
            Ended::Done => break,
            Ended::Failed => failed = true,
        }
    }
    state.following.store(false, Ordering::SeqCst);
}

/// Where a follower is: the epoch it reads and the last entry it read.
struct Cursor {
    epoch: String,
    at: Position,
}

/// Why a follower's reads on one connection ended.
enum Ended {
    /// Stopped, or nobody takes what it reads any more.
    Done,
    /// The connection failed or Redis stalled: connect again.
    Failed,
}

/// Reads the log on `con` from `cursor` on, handing entries on `tx`,
/// until the connection fails or the follower is done.
async fn read(
    con: &mut redis::aio::MultiplexedConnection,
    log: &Log,
    cursor: &mut Cursor,
    tx: &mpsc::Sender<Followed>,
    state: &NodeState,
    stop: &CancellationToken,
) -> Ended {
    const BLOCK_MS: u64 = 1000;
    const BATCH: usize = 512;
    let mut checked = tokio::time::Instant::now();
    loop {
        // A stalled Redis answers nothing: give up on the read after its
        // block time and a margin, and connect again.
        let wait = Duration::from_millis(BLOCK_MS + 2000);
        let read = tokio::select! {
            r = tokio::time::timeout(wait, log.read_from(con, cursor.at, BLOCK_MS, BATCH)) => r,
            () = stop.cancelled() => return Ended::Done,
        };
        let Ok(Ok(entries)) = read else {
            return Ended::Failed;
        };
        let mut new_epoch = None;
        for entry in entries {
            state.heard();
            if entry.epoch != cursor.epoch {
                new_epoch = Some(entry.epoch);
                break;
            }
            cursor.at = entry.at;
            let mark = entry.mark.map(|(name, bytes)| Followed::Mark(name, bytes));
            let event = entry.event.map(|e| (e.seq, Followed::Event(e)));
            if let Some(mark) = mark {
                if tx.send(mark).await.is_err() {
                    return Ended::Done;
                }
            }
            if let Some((seq, event)) = event {
                if tx.send(event).await.is_err() {
                    return Ended::Done;
                }
                state.followed.store(seq, Ordering::SeqCst);
            }
        }
        if new_epoch.is_none() && checked.elapsed() >= Duration::from_millis(BLOCK_MS) {
            checked = tokio::time::Instant::now();
            match log.current_epoch(con).await {
                Ok(current) => new_epoch = current.filter(|e| *e != cursor.epoch),
                Err(_) => return Ended::Failed,
            }
        }
        if let Some(e) = new_epoch {
            cursor.epoch = e.clone();
            cursor.at = Position::default();
            state.followed.store(0, Ordering::SeqCst);
            if tx.send(Followed::Epoch(e)).await.is_err() {
                return Ended::Done;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_wait_for_an_event_ends_when_it_is_applied_or_gives_up() {
        let node = Arc::new(NodeState::default());
        let waiting = tokio::spawn({
            let node = node.clone();
            async move { node.applied(5, Duration::from_secs(2)).await }
        });
        tokio::task::yield_now().await;
        node.received(4, 0);
        node.received(5, 0);
        assert!(waiting.await.unwrap(), "event 5 was applied");
        assert!(node.applied(3, Duration::ZERO).await, "already there");
        assert!(
            !node.applied(9, Duration::from_secs(2)).await,
            "not within the wait"
        );
    }
}
