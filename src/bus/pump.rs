//! The producer's pump: what its hub keeps in the ring goes to the log in
//! batches, with the hub's own seqs (the log refuses a batch that does not
//! start where it ends), until the lease is lost or the pump falls so far
//! behind that the events have left the ring.

use redis::aio::ConnectionLike;
use tokio_util::sync::CancellationToken;

use super::event::{encode, final_minutes};
use super::log::{Log, Outgoing};
use super::node::NodeState;
use super::snapshot::json_lines;
use super::BusError;
use crate::market::Hub;

/// Events per append.
const BATCH: usize = 256;

/// Ships the hub's events after seq `from` to the log as `holder`, until
/// stopped (`Ok` with the last seq shipped) or until it cannot go on,
/// counting what it ships in `node`.
pub async fn pump<C: ConnectionLike>(
    hub: &Hub,
    log: &Log,
    con: &mut C,
    holder: &str,
    from: u64,
    stop: &CancellationToken,
    node: &NodeState,
) -> Result<u64, BusError> {
    let mut shipped = from;
    loop {
        let events = hub.events_after(shipped, BATCH).ok_or(BusError::Behind)?;
        if events.is_empty() {
            tokio::select! {
                () = hub.appended() => continue,
                () = stop.cancelled() => return Ok(shipped),
            }
        }
        let encoded: Vec<(Vec<u8>, String)> = events
            .iter()
            .map(|e| (encode(e), json_lines(&final_minutes(e))))
            .collect();
        let batch: Vec<Outgoing> = events
            .iter()
            .zip(&encoded)
            .map(|(e, (bytes, finals))| Outgoing {
                key: &e.symbol,
                bytes,
                finals,
            })
            .collect();
        log.append_events(con, holder, &hub.epoch(), events[0].seq, &batch)
            .await?;
        node.shipped(events.len());
        shipped = events[events.len() - 1].seq;
    }
}
