//! A subscriber's handle on the hub.

use std::sync::Arc;

use super::{ClientQueue, Hub, Start};
use spotlight_wire::timeframe::Timeframe;

/// A live subscription. Dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    pub(super) id: u64,
    pub(super) epoch: Arc<str>,
    pub(super) hub: Arc<Hub>,
    pub(super) keys: Vec<u32>,
    pub(super) tf: Timeframe,
    /// The subscribed symbols' names.
    pub symbols: Vec<String>,
    /// Live events, after `head`.
    pub queue: Arc<ClientQueue>,
    /// While resuming: the last seq read from the ring (see
    /// [`Hub::catch_up`]); `None` once live.
    pub(super) cursor: Option<u64>,
    /// How the subscription started.
    pub start: Start,
    /// The head seq when it started.
    pub head: u64,
    /// The ring's low seq when it started.
    pub low: u64,
}

impl Subscription {
    /// The subscribed timeframe.
    pub fn timeframe(&self) -> Timeframe {
        self.tf
    }

    /// The epoch the hub was in when it started.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Whether missed events are still to be read from the ring.
    pub fn catching_up(&self) -> bool {
        self.cursor.is_some()
    }

    /// The next missed events (see [`Hub::catch_up`]).
    pub fn catch_up(&mut self, max_bytes: usize) -> super::CatchUp {
        let hub = self.hub.clone();
        hub.catch_up(self, max_bytes)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // No direct write may reach the socket once the stream is over.
        self.queue.close();
        self.hub.unsubscribe(self.id, &self.keys, self.tf);
    }
}
