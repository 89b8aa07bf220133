//! The ring buffer of recent events, kept for resume.

use std::collections::VecDeque;

use bytes::Bytes;

use spotlight_wire::timeframe::Timeframe;

/// One base (1m) event: its seq, its symbol and its SSE frames per timeframe.
#[derive(Debug, Clone)]
pub struct RingEntry {
    /// The event's seq.
    pub seq: u64,
    /// The symbol's index in the hub.
    pub symbol: u32,
    /// SSE bytes per timeframe, in [`crate::Timeframe::ALL`] order.
    pub frames: [Bytes; Timeframe::COUNT],
    /// Bit `i` set: the frame of timeframe `i` carries a final bar.
    pub finals: u8,
}

impl RingEntry {
    /// Bytes of its frames.
    pub fn size(&self) -> usize {
        self.frames.iter().map(Bytes::len).sum()
    }
}

/// The last `capacity` events (and at most `capacity_bytes` of frames),
/// contiguous in seq.
#[derive(Debug)]
pub struct Ring {
    entries: VecDeque<RingEntry>,
    capacity: usize,
    capacity_bytes: usize,
    bytes: usize,
}

impl Ring {
    /// An empty ring holding at most `capacity` events and `capacity_bytes`
    /// bytes of frames (the newest event is always kept).
    pub fn new(capacity: usize, capacity_bytes: usize) -> Ring {
        Ring {
            entries: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            capacity_bytes,
            bytes: 0,
        }
    }

    /// Appends the next event (its seq must follow the newest one), letting
    /// the oldest go while either bound is exceeded.
    pub fn push(&mut self, entry: RingEntry) {
        debug_assert!(self.entries.back().is_none_or(|b| b.seq + 1 == entry.seq));
        self.bytes += entry.size();
        self.entries.push_back(entry);
        while self.entries.len() > 1
            && (self.entries.len() > self.capacity || self.bytes > self.capacity_bytes)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.size();
            }
        }
    }

    /// Bytes of frames held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The oldest seq held, or `head + 1` when empty.
    pub fn low_seq(&self, head: u64) -> u64 {
        self.entries.front().map_or(head + 1, |e| e.seq)
    }

    /// Every entry with a seq above `after`, oldest first.
    pub fn after(&self, after: u64) -> impl Iterator<Item = &RingEntry> {
        let skip = match self.entries.front() {
            Some(first) => (after + 1).saturating_sub(first.seq) as usize,
            None => 0,
        };
        self.entries.iter().skip(skip)
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the ring is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64) -> RingEntry {
        RingEntry {
            seq,
            symbol: 0,
            frames: Default::default(),
            finals: 0,
        }
    }

    #[test]
    fn keeps_the_newest_and_finds_by_seq() {
        let mut ring = Ring::new(3, usize::MAX);
        assert_eq!(ring.low_seq(0), 1);
        for seq in 1..=5 {
            ring.push(entry(seq));
        }
        assert_eq!(ring.len(), 3);
        assert_eq!(ring.low_seq(5), 3);
        let after: Vec<u64> = ring.after(3).map(|e| e.seq).collect();
        assert_eq!(after, vec![4, 5]);
        assert_eq!(ring.after(0).count(), 3);
        assert_eq!(ring.after(5).count(), 0);
    }

    #[test]
    fn is_bounded_in_bytes_too() {
        let sized = |seq| RingEntry {
            frames: std::array::from_fn(|_| Bytes::from(vec![b'x'; 10])),
            ..entry(seq)
        };
        let mut ring = Ring::new(1000, 150);
        for seq in 1..=10 {
            ring.push(sized(seq));
        }
        assert_eq!(ring.len(), 2, "60 bytes an event, 150 at most");
        assert_eq!(ring.bytes(), 120);
        assert_eq!(ring.low_seq(10), 9);
    }
}
