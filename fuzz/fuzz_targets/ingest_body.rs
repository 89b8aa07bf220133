//! An ingest body: NDJSON bars decoded and published as one batch into a
//! hub (the validation and ordering checks), as `POST /api/ingest` does.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spotlight_market::{Bar, Hub, HubConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let bars: Vec<Bar> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let hub = Hub::new(HubConfig {
        max_symbols: 8,
        ..HubConfig::default()
    });
    let _ = hub.publish_batch(&bars);
});
