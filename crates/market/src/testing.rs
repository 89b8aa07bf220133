//! Helpers of this crate's unit tests.

/// The `(event, data)` of every message in SSE bytes the hub wrote; panics
/// on anything else.
pub(crate) fn read_sse(bytes: &[u8]) -> Vec<(String, serde_json::Value)> {
    spotlight_wire::sse_messages(bytes)
        .map(|m| {
            let event = std::str::from_utf8(m.event.expect("event present")).expect("UTF-8");
            let data = serde_json::from_slice(m.data.expect("data present")).expect("JSON");
            (event.to_string(), data)
        })
        .collect()
}
