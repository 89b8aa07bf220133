//! Resume through a cursor: a resuming subscriber reads the events it
//! missed straight from the ring, a bounded batch at a time as its stream
//! drains, and joins the live fan-out once it has caught up with the head.
//! It holds no copy of its backlog, and the hub's lock is held for one
//! bounded step per batch.

use bytes::Bytes;

use super::{Hub, Subscription};
use spotlight_wire::ResetReason;

/// Ring entries looked at per step at most (entries of other symbols are
/// skipped, so a step may find nothing and still move the cursor on).
const SCAN: usize = 4096;

/// One step of catching up.
#[derive(Debug, Default)]
pub struct CatchUp {
    /// Frames of missed events, oldest first.
    pub frames: Vec<Bytes>,
    /// How the step ended: still behind (`None`), or live from here.
    pub done: Option<Caught>,
}

/// How catching up ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caught {
    /// Every missed event was read; live events follow.
    Live,
    /// The ring moved past the cursor (or a replay started or stopped):
    /// the client must refetch history; live events follow.
    Reset {
        /// Why.
        reason: ResetReason,
        /// The head seq at the reset.
        head: u64,
        /// The ring's low seq at the reset.
        low: u64,
    },
}

impl Hub {
    /// The next missed events of a resuming subscription, up to about
    /// `max_bytes`. Once it has caught up (or can no longer), it joins the
    /// live fan-out and later calls return empty, done steps.
    pub fn catch_up(&self, sub: &mut Subscription, max_bytes: usize) -> CatchUp {
        let Some(cursor) = sub.cursor else {
            return CatchUp {
                frames: Vec::new(),
                done: Some(Caught::Live),
            };
        };
        let mut inner = self.lock();
        let head = inner.head;
        let low = inner.ring.low_seq(head);
        let reset = |reason| Caught::Reset { reason, head, low };
        let mut step = CatchUp::default();
        if let Some((_, reason)) = inner.boundary.filter(|(b, _)| cursor < *b) {
            step.done = Some(reset(reason));
        } else if cursor + 1 < low {
            step.done = Some(reset(ResetReason::GapTooOld));
        } else {
            let tf = sub.tf.index();
            let mut bytes = 0;
            let mut last = cursor;
            for entry in inner.ring.after(cursor).take(SCAN) {
                if sub.keys.binary_search(&entry.symbol).is_ok() {
                    if bytes > 0 && bytes + entry.frames[tf].len() > max_bytes {
                        break;
                    }
                    bytes += entry.frames[tf].len();
                    step.frames.push(entry.frames[tf].clone());
                }
                last = entry.seq;
            }
            sub.cursor = Some(last);
            if last == head {
                step.done = Some(Caught::Live);
            }
        }
        if step.done.is_some() {
            // Join the live fan-out: every event after `head` reaches the queue.
            sub.cursor = None;
            for k in &sub.keys {
                inner.subscribers[*k as usize][sub.tf.index()].push((sub.id, sub.queue.clone()));
            }
            if let Some(info) = inner.clients.get_mut(&sub.id) {
                info.live = true;
            }
        }
        step
    }
}
