//! SSE as this server writes it ([`write_sse`]: one `data:` line of JSON
//! per message), and the one reader of what it wrote ([`sse_messages`]),
//! for the bus, the mirror and the load generator. Clients of any server
//! read streams with eventsource-stream.

use serde::Serialize;

/// Appends one SSE message (`id:` when given as `{epoch}:{seq}`, `event:`,
/// one `data:` line of JSON, blank line) to `buf`.
pub fn write_sse(buf: &mut Vec<u8>, event: &str, id: Option<(&str, u64)>, data: &impl Serialize) {
    use std::io::Write;
    if let Some((epoch, seq)) = id {
        let _ = writeln!(buf, "id: {epoch}:{seq}");
    }
    let _ = writeln!(buf, "event: {event}");
    buf.extend_from_slice(b"data: ");
    // Serializing these plain structs cannot fail; JSON never holds a raw newline.
    let _ = serde_json::to_writer(&mut *buf, data);
    buf.extend_from_slice(b"\n\n");
}

/// One SSE message: its `event` and `data` fields (the last of each), as
/// written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseMessage<'a> {
    /// The event name.
    pub event: Option<&'a [u8]>,
    /// The data (one line of JSON as this server writes it).
    pub data: Option<&'a [u8]>,
}

impl<'a> SseMessage<'a> {
    /// The fields of one message (its lines, without the blank line).
    pub fn parse(message: &'a [u8]) -> SseMessage<'a> {
        let mut m = SseMessage {
            event: None,
            data: None,
        };
        for line in message.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(v) = field(line, b"event") {
                m.event = Some(v);
            } else if let Some(v) = field(line, b"data") {
                m.data = Some(v);
            }
        }
        m
    }
}

/// The value of `name:` on `line` (one leading space dropped).
fn field<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let value = line.strip_prefix(name)?.strip_prefix(b":")?;
    Some(value.strip_prefix(b" ").unwrap_or(value))
}

/// The messages of `bytes`, in order; comments and blank messages are
/// skipped.
pub fn sse_messages(bytes: &[u8]) -> impl Iterator<Item = SseMessage<'_>> {
    let mut rest = bytes;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let end = rest.windows(2).position(|w| w == b"\n\n");
        let (message, after) = match end {
            Some(i) => (&rest[..i], &rest[i + 2..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = after;
        let m = SseMessage::parse(message);
        if m.event.is_some() || m.data.is_some() {
            return Some(m);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_wrote() {
        let mut buf = Vec::new();
        write_sse(
            &mut buf,
            "bar",
            Some(("ab12", 7)),
            &serde_json::json!({"seq": 7}),
        );
        buf.extend_from_slice(b": a comment\n\n");
        write_sse(&mut buf, "replay", None, &serde_json::json!({}));
        let all: Vec<_> = sse_messages(&buf).collect();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].event, Some(&b"bar"[..]));
        assert_eq!(all[0].data, Some(&b"{\"seq\":7}"[..]));
        assert_eq!(all[1].event, Some(&b"replay"[..]));
        assert_eq!(SseMessage::parse(b"data:{}").data, Some(&b"{}"[..]));
    }
}
