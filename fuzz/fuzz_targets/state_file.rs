//! The state file's body decoder: any bytes give a state or an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(state) = spotlight_market::state_file::decode_body(data) {
        let _ = spotlight_market::Hub::restore(spotlight_market::HubConfig::default(), state);
    }
});
