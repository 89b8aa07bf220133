//! One instance on the bus: a task that keeps the producer lease while it
//! can (taking it when free, renewing it at a third of its time, giving
//! it up on the way out), and a task that follows the log on a connection
//! of its own, handing entries on in order and reconnecting on the shared
//! policy.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::lease::Lease;
use super::log::{Log, LogEntry};
use super::Role;
use crate::client::reconnect::Backoff;

/// What the instance's bus tasks know, for readiness, diag and metrics.
#[derive(Debug, Default)]
pub struct NodeState {
    producer: AtomicBool,
    lease_changes: AtomicU64,
    following: AtomicBool,
    reconnects: AtomicU64,
    followed: AtomicU64,
}

impl NodeState {
    /// Whether this instance holds the lease now.
    pub fn is_producer(&self) -> bool {
        self.producer.load(Ordering::SeqCst)
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

    fn set_producer(&self, now: bool) {
        if self.producer.swap(now, Ordering::SeqCst) != now {
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
    if state.is_producer() {
        if let Some(c) = con.as_mut() {
            let _ = lease.release(c).await;
        }
        state.set_producer(false);
    }
}

/// Follows the log after seq `from`, handing each entry on `tx` in order
/// (the channel bounds what waits), on a connection of its own with
/// `XREAD BLOCK`; after a failure it connects again on the shared policy
/// and continues from the last seq it handed on, so nothing that reached
/// the log is skipped. Ends when stopped or when `tx` is closed.
pub async fn follow(
    client: redis::Client,
    log: Log,
    from: u64,
    tx: mpsc::Sender<LogEntry>,
    state: Arc<NodeState>,
    stop: CancellationToken,
) {
    const BLOCK_MS: u64 = 1000;
    const BATCH: usize = 512;
    state.followed.store(from, Ordering::SeqCst);
    let mut backoff = Backoff::attempts_at_most(u32::MAX);
    let mut failed = false;
    'connect: loop {
        let con = tokio::select! {
            c = client.get_multiplexed_async_connection() => c,
            () = stop.cancelled() => break,
        };
        let mut con = match con {
            Ok(c) => c,
            Err(_) => {
                state.following.store(false, Ordering::SeqCst);
                failed = true;
                let wait = backoff.next_delay().unwrap_or(backoff.cap);
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    () = stop.cancelled() => break,
                }
            }
        };
        if std::mem::take(&mut failed) {
            state.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        backoff.reset();
        state.following.store(true, Ordering::SeqCst);
        loop {
            let after = state.followed();
            let read = tokio::select! {
                r = log.read(&mut con, after, BLOCK_MS, BATCH) => r,
                () = stop.cancelled() => break 'connect,
            };
            match read {
                Ok(entries) => {
                    for entry in entries {
                        let seq = entry.seq;
                        if tx.send(entry).await.is_err() {
                            break 'connect;
                        }
                        state.followed.store(seq, Ordering::SeqCst);
                    }
                }
                Err(_) => {
                    state.following.store(false, Ordering::SeqCst);
                    failed = true;
                    continue 'connect;
                }
            }
        }
    }
    state.following.store(false, Ordering::SeqCst);
}
