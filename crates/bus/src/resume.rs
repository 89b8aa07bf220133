//! A resume older than an instance's ring, served from the shared log: the
//! events the client missed that this instance never held (it joined
//! later, or its ring moved on) are read from the stream with `XRANGE`,
//! up to where the ring begins, so the ring and the live fan-out carry on
//! from there. Bounded: past `max_bytes` of frames the client gets
//! `reset` instead, as it would from a ring that moved past it.

use bytes::Bytes;
use redis::aio::ConnectionLike;

use super::event::decode;
use super::log::Log;
use super::BusError;
use spotlight_market::Timeframe;

/// Entries read per `XRANGE`.
const BATCH: usize = 1000;

/// What the log gives a resuming client before the ring takes over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    /// Its frames of the subscribed symbols and timeframe, oldest first.
    pub frames: Vec<Bytes>,
    /// The last seq read (the ring continues after it).
    pub last: u64,
}

/// The frames after `seq` up to seq `until` (the ring's low seq minus one)
/// of `symbols` (all when empty) in `tf`; `None` when the log no longer
/// holds seq + 1, or the frames would pass `max_bytes`.
pub async fn backlog<C: ConnectionLike>(
    log: &Log,
    con: &mut C,
    seq: u64,
    until: u64,
    symbols: &[String],
    tf: Timeframe,
    max_bytes: usize,
) -> Result<Option<Backlog>, BusError> {
    let mut out = Backlog {
        frames: Vec::new(),
        last: seq,
    };
    let mut bytes = 0;
    while out.last < until {
        let entries = log.after(con, out.last, BATCH).await?;
        if entries.first().is_none_or(|e| e.seq != out.last + 1) {
            return Ok(None);
        }
        for entry in entries.into_iter().take_while(|e| e.seq <= until) {
            if entry.seq != out.last + 1 {
                return Ok(None);
            }
            out.last = entry.seq;
            if !symbols.is_empty() && !symbols.contains(&entry.key) {
                continue;
            }
            let Some(event) = decode(entry.seq, &entry.key, &entry.bytes) else {
                return Ok(None);
            };
            let frame = event.frames[tf.index()].clone();
            bytes += frame.len();
            if bytes > max_bytes {
                return Ok(None);
            }
            out.frames.push(frame);
        }
    }
    Ok(Some(out))
}
