//! Voice control messages as a client sends them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<spotlight_wire::voice::ClientMessage>(data);
});
