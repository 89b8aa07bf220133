//! The producer's pump: what its hub keeps in the ring goes to the log in
//! batches, with the hub's own seqs (the log refuses a batch that does not
//! start where it ends), until the lease is lost or the pump falls so far
//! behind that the events have left the ring.

use redis::aio::ConnectionLike;
use tokio_util::sync::CancellationToken;

use super::event::encode;
use super::log::Log;
use super::BusError;
use crate::market::Hub;

/// Events per append.
const BATCH: usize = 256;

/// Ships the hub's events after seq `from` to the log as `holder`, until
/// stopped (`Ok` with the last seq shipped) or until it cannot go on.
pub async fn pump<C: ConnectionLike>(
    hub: &Hub,
    log: &Log,
    con: &mut C,
    holder: &str,
    from: u64,
    stop: &CancellationToken,
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
        let encoded: Vec<(String, Vec<u8>)> = events
            .iter()
            .map(|e| (e.symbol.clone(), encode(e)))
            .collect();
        let batch: Vec<(&str, &[u8])> = encoded
            .iter()
            .map(|(k, b)| (k.as_str(), b.as_slice()))
            .collect();
        log.append_at(con, holder, hub.epoch(), events[0].seq, &batch)
            .await?;
        shipped = events[events.len() - 1].seq;
    }
}
