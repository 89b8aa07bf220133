//! A hub event as the log keeps it: the entry's key is the symbol, its
//! bytes are the finals mask and the six timeframes' SSE frames, each
//! after its length (4 bytes, big-endian). A mark (replay began or ended, a
//! broadcast frame) is kept as its kind's name and its bytes: JSON, or the
//! frame as it is.

use bytes::Bytes;

use spotlight_market::hub::{MarkKind, Mirrored};
use spotlight_market::{Candle, Timeframe};
use spotlight_wire::{sse_messages, BarEvent};

/// The final 1m bars an event carries (most carry none), for the history
/// the log keeps beside the events.
pub fn final_minutes(event: &Mirrored) -> Vec<Candle> {
    let m1 = Timeframe::M1.index();
    if event.finals & (1 << m1) == 0 {
        return Vec::new();
    }
    sse_messages(&event.frames[m1])
        .filter_map(|m| serde_json::from_slice::<BarEvent>(m.data?).ok())
        .filter(|b| b.bar.is_final)
        .map(|b| b.bar.candle())
        .collect()
}

/// The entry bytes of an event.
pub fn encode(event: &Mirrored) -> Vec<u8> {
    let size: usize = event.frames.iter().map(|f| 4 + f.len()).sum();
    let mut out = Vec::with_capacity(1 + size);
    out.push(event.finals);
    for frame in &event.frames {
        out.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        out.extend_from_slice(frame);
    }
    out
}

/// The event an entry holds (`None`: not an event this build can read).
pub fn decode(seq: u64, symbol: &str, bytes: &Bytes) -> Option<Mirrored> {
    let finals = *bytes.first()?;
    let mut at = 1;
    let mut frames: [Bytes; Timeframe::COUNT] = Default::default();
    for frame in &mut frames {
        let len = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        let end = at + 4 + len;
        if end > bytes.len() {
            return None;
        }
        *frame = bytes.slice(at + 4..end);
        at = end;
    }
    (at == bytes.len()).then(|| Mirrored {
        seq,
        symbol: symbol.to_string(),
        frames,
        finals,
    })
}

/// The kind name and bytes a mark is kept as.
pub fn encode_mark(kind: &MarkKind) -> (&'static str, Vec<u8>) {
    match kind {
        MarkKind::ReplayBegan(symbols) => ("began", json(symbols)),
        MarkKind::ReplayEnded(tails) => ("ended", json(tails)),
        MarkKind::Broadcast(frame) => ("frame", frame.to_vec()),
    }
}

fn json(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// The mark an entry of kind `name` holds (`None`: not one this build reads).
pub fn decode_mark(name: &str, bytes: &Bytes) -> Option<MarkKind> {
    match name {
        "began" => serde_json::from_slice(bytes)
            .ok()
            .map(MarkKind::ReplayBegan),
        "ended" => serde_json::from_slice(bytes)
            .ok()
            .map(MarkKind::ReplayEnded),
        "frame" => Some(MarkKind::Broadcast(bytes.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_damage_is_refused() {
        let event = Mirrored {
            seq: 7,
            symbol: "SPY".into(),
            frames: std::array::from_fn(|i| Bytes::from(format!("frame {i}\n\n"))),
            finals: 0b101,
        };
        let bytes = Bytes::from(encode(&event));
        assert_eq!(decode(7, "SPY", &bytes), Some(event));
        assert_eq!(decode(7, "SPY", &bytes.slice(..bytes.len() - 1)), None);
        assert_eq!(decode(7, "SPY", &Bytes::new()), None);
    }

    #[test]
    fn marks_round_trip() {
        let c = Candle {
            t: 60_000,
            o: 1.0,
            h: 2.0,
            l: 0.5,
            c: 1.5,
            v: 3,
        };
        let marks = [
            MarkKind::ReplayBegan(vec![("SPY".into(), vec![c])]),
            MarkKind::ReplayEnded(vec![spotlight_market::hub::LiveTail {
                symbol: "SPY".into(),
                finals: vec![c],
                forming: None,
            }]),
            MarkKind::Broadcast(Bytes::from_static(b"event: replay\ndata: {}\n\n")),
        ];
        for mark in marks {
            let (name, bytes) = encode_mark(&mark);
            assert_eq!(decode_mark(name, &Bytes::from(bytes)), Some(mark));
        }
        assert_eq!(decode_mark("began", &Bytes::from_static(b"{")), None);
        assert_eq!(decode_mark("other", &Bytes::new()), None);
    }
}
