//! The request-head check of the accept loop (before the lean path or the
//! router sees a request).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = spotlight_server::check_head(data);
});
