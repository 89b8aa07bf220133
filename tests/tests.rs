//! The integration tests: one binary (as ripgrep's `tests/tests.rs`), one
//! module per area, one harness ([`common`]). Each starts real servers on
//! 127.0.0.1:0 and talks to them as an outside client would.

mod common;

mod admission;
mod auth;
mod backpressure;
mod bad_input;
mod bench_tool;
mod bus;
mod chaos;
mod cli;
mod defences;
mod deploy;
mod drain;
mod files;
mod http2;
mod http_api;
mod liveness;
mod observability;
mod ops_cli;
mod polygon;
mod probe;
mod replay;
mod restart;
mod scale_out;
mod serve_cli;
mod smoke;
mod sse;
mod telemetry;
mod tls;
mod tls_streams;
mod voice;
mod voice_admission;
mod watch;
