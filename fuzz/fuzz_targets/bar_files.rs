//! The file loaders (CSV, NinjaTrader text, NDJSON), chosen by the first byte.
#![no_main]
use libfuzzer_sys::fuzz_target;
use spotlight_market::source::file::{parse, FileOptions};

fuzz_target!(|data: &[u8]| {
    let Some((kind, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let name = ["bars.csv", "bars.txt", "bars.ndjson"][usize::from(*kind) % 3];
    let opts = FileOptions {
        symbol: Some("FUZZ".into()),
        ..FileOptions::default()
    };
    let _ = parse(std::path::Path::new(name), text, &opts);
});
