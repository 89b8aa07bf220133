//! The state file's body decoder: any bytes give a state or an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(state) = spotlight::market::state::decode_body(data) {
        let _ = spotlight::market::Hub::restore(spotlight::market::HubConfig::default(), state);
    }
});
