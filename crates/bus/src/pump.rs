//! The producer's pump: what its hub keeps in the ring goes to the log in
//! batches, with the hub's own seqs (the log refuses a batch that does not
//! start where it ends), and its marks (a replay beginning or ending, a
//! broadcast) each after the event it followed, until the lease is lost
//! or the pump falls so far behind that the events have left the ring.

use std::collections::HashSet;

use redis::aio::ConnectionLike;
use tokio_util::sync::CancellationToken;

use super::event::{encode, encode_mark, final_minutes};
use super::log::{Log, Outgoing, OutgoingMark};
use super::node::NodeState;
use super::snapshot::json_lines;
use super::BusError;
use spotlight_market::hub::{Mark, MarkKind};
use spotlight_market::Hub;

/// Events per append.
const BATCH: usize = 256;

/// Ships the hub's events after seq `from` (and its marks) to the log as
/// `holder`, until stopped (`Ok` with the last seq shipped) or until it
/// cannot go on, counting what it ships in `node`. Call
/// [`Hub::keep_marks`] on the hub before it makes any.
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
    let mut marked = 0;
    // Replayed bars are not the live history the log keeps.
    let mut replayed: HashSet<String> = HashSet::new();
    loop {
        let marks = hub.journal().marks_after(marked).ok_or(BusError::Behind)?;
        if let Some(mark) = marks.first().filter(|m| m.after <= shipped) {
            ship_mark(log, con, holder, &hub.epoch(), mark, &mut replayed).await?;
            marked = mark.n;
            continue;
        }
        let until = marks.first().map_or(u64::MAX, |m| m.after);
        let mut events = hub
            .journal()
            .events_after(shipped, BATCH)
            .ok_or(BusError::Behind)?;
        events.retain(|e| e.seq <= until);
        if events.is_empty() {
            if !marks.is_empty() {
                continue;
            }
            tokio::select! {
                () = hub.appended() => continue,
                () = stop.cancelled() => return Ok(shipped),
            }
        }
        let encoded: Vec<(Vec<u8>, String)> = events
            .iter()
            .map(|e| {
                let finals = if replayed.contains(&e.symbol) {
                    String::new()
                } else {
                    json_lines(&final_minutes(e))
                };
                (encode(e), finals)
            })
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

/// Appends one mark, keeping track of the symbols a replay holds.
async fn ship_mark<C: ConnectionLike>(
    log: &Log,
    con: &mut C,
    holder: &str,
    epoch: &str,
    mark: &Mark,
    replayed: &mut HashSet<String>,
) -> Result<(), BusError> {
    let (name, bytes) = encode_mark(&mark.kind);
    let finals: Vec<(String, String)> = match &mark.kind {
        MarkKind::ReplayEnded(tails) => tails
            .iter()
            .map(|t| (t.symbol.clone(), json_lines(&t.finals)))
            .collect(),
        _ => Vec::new(),
    };
    let outgoing = OutgoingMark {
        after: mark.after,
        name,
        bytes: &bytes,
        finals: &finals,
    };
    log.append_mark(con, holder, epoch, outgoing).await?;
    match &mark.kind {
        MarkKind::ReplayBegan(symbols) => replayed.extend(symbols.iter().map(|(s, _)| s.clone())),
        MarkKind::ReplayEnded(_) => replayed.clear(),
        MarkKind::Broadcast(_) => {}
    }
    Ok(())
}
