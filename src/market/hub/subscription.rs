//! A subscriber's handle on the hub.

use std::sync::Arc;

use bytes::Bytes;

use super::{ClientQueue, Hub, Start};
use crate::market::timeframe::Timeframe;

/// A live subscription. Dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    pub(super) id: u64,
    pub(super) hub: Arc<Hub>,
    pub(super) keys: Vec<u32>,
    pub(super) tf: Timeframe,
    /// The subscribed symbols' names.
    pub symbols: Vec<String>,
    /// Live events, after `head`.
    pub queue: Arc<ClientQueue>,
    /// Missed events (`Start::Resumed`), oldest first, before the live ones.
    pub backlog: Vec<Bytes>,
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

    /// The hub's epoch.
    pub fn epoch(&self) -> &str {
        self.hub.epoch()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // No direct write may reach the socket once the stream is over.
        self.queue.close();
        self.hub.unsubscribe(self.id, &self.keys, self.tf);
    }
}
