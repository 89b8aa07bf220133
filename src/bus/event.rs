//! A hub event as the log keeps it: the entry's key is the symbol, its
//! bytes are the finals mask and the six timeframes' SSE frames, each
//! after its length (4 bytes, big-endian).

use bytes::Bytes;

use crate::market::hub::Mirrored;
use crate::market::{Candle, Timeframe};
use crate::wire::BarEvent;

/// The final 1m bars an event carries (most carry none), for the history
/// the log keeps beside the events.
pub fn final_minutes(event: &Mirrored) -> Vec<Candle> {
    let m1 = Timeframe::M1.index();
    if event.finals & (1 << m1) == 0 {
        return Vec::new();
    }
    let Ok(text) = std::str::from_utf8(&event.frames[m1]) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<BarEvent>(d).ok())
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
}
