//! An instance's side of the log: what its follower reads — events,
//! marks — applied to the hub its clients are served from, in order.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::event::{decode, decode_mark};
use super::node::{Followed, NodeState};
use spotlight_market::hub::{MarkKind, MirrorError};
use spotlight_market::Hub;
use spotlight_wire::ReplayStatus;

/// Applies a mark of the log to the serving hub: a replay beginning or
/// ending, a broadcast (a `replay` one also updates the status kept).
pub fn apply_mark(hub: &Hub, node: &NodeState, name: &str, bytes: &bytes::Bytes) {
    let Some(mark) = decode_mark(name, bytes) else {
        tracing::warn!(name, "a mark of the shared log cannot be read");
        return;
    };
    match mark {
        MarkKind::ReplayBegan(symbols) => {
            if let Err(e) = hub.replay_mode().begin(symbols) {
                tracing::warn!(error = %e, "a replay of the shared log could not begin here");
            }
        }
        MarkKind::ReplayEnded(tails) => {
            hub.replay_mode().end();
            if let Err(e) = hub.journal().catch_up_live(&tails) {
                tracing::warn!(error = %e, "live bars made during the replay were not applied");
            }
        }
        MarkKind::Broadcast(frame) => {
            if let Some(status) = replay_status_of(&frame) {
                node.replay_changed(status);
            }
            hub.broadcast_frame(frame);
        }
    }
}

/// The status a `replay` SSE frame carries.
fn replay_status_of(frame: &[u8]) -> Option<ReplayStatus> {
    let first = spotlight_wire::sse_messages(frame).next()?;
    (first.event? == b"replay").then_some(())?;
    serde_json::from_slice(first.data?).ok()
}

/// Applies what the follower reads to the serving hub.
pub async fn apply(hub: Arc<Hub>, mut rx: mpsc::Receiver<Followed>, node: Arc<NodeState>) {
    while let Some(item) = rx.recv().await {
        match item {
            Followed::Event(entry) => {
                let Some(event) = decode(entry.seq, &entry.key, &entry.bytes) else {
                    tracing::warn!(seq = entry.seq, "an entry of the shared log cannot be read");
                    continue;
                };
                match hub.journal().mirror(&event) {
                    Ok(()) => node.received(entry.seq, entry.appended_ms),
                    Err(MirrorError::Gap { head, got }) => {
                        // The log was trimmed past this instance while it
                        // was away: its clients start over from here.
                        tracing::warn!(
                            head,
                            got,
                            "events left the shared log before this instance read them"
                        );
                        hub.journal().rebase(&entry.epoch, got - 1);
                        if hub.journal().mirror(&event).is_ok() {
                            node.received(entry.seq, entry.appended_ms);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(seq = entry.seq, error = %e, "an event of the shared log was not applied")
                    }
                }
            }
            Followed::Mark(name, bytes) => apply_mark(&hub, &node, &name, &bytes),
            Followed::Epoch(epoch) => {
                tracing::warn!(%epoch, "the shared log started again in a new epoch: clients get reset");
                hub.journal().rebase(&epoch, 0);
                node.restarted();
            }
        }
    }
}
