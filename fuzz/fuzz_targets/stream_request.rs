//! A stream's query and `Last-Event-ID`: `symbols`, `timeframe`,
//! `sinceSeq`, `epoch` and the header, split at the first newline.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (query, id) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_bytes(id) {
        headers.insert("last-event-id", v);
    }
    let _ = spotlight_server::StreamRequest::parse(&headers, query, 1000);
});
